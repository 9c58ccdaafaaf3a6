// cli.h — what the files of the `fstx` command share: exit codes, the
// global options every subcommand sees, error printing, and one entry point
// per subcommand.
//
// Each Cmd* function does its whole job, prints to stdout (results) and
// stderr (errors, as "fstx: <what>: <why>"), and returns the process exit
// code. None throws. Single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fstx/fstx.h"
#include "fstx/status.h"

namespace fstx::cli {

// Exit codes, documented in `fstx --help` and the README.
enum ExitCode : int {
  kExitOk = 0,         // success / clean
  kExitFailed = 1,     // failure: transaction rolled back, journal busy, findings
  kExitUsage = 2,      // usage error or bad input (spec, options, env)
  kExitAttention = 3,  // recovery left a transaction needs_attention
  kExitPending = 4,    // status: unfinished transactions of dead owners await recovery
};

struct Globals {
  std::string journal;             // absolute journal directory
  std::vector<std::string> roots;  // absolute, normalised roots (may be empty)
  // The same roots as given (relative ones made absolute, nothing else), so
  // that CheckRootsExist can let the kernel resolve them.
  std::vector<std::string> root_args;
};

// Prints "fstx: <what>: <why>" (or "fstx: <why>" if `what` is empty), with
// control characters escaped (Printable).
void PrintError(const std::string& what, const std::string& why);
// The exit code for a failed Status: bad input -> 2, needs attention -> 3,
// anything else -> 1.
int ExitFor(const Status& s);

struct ApplyArgs {
  std::string spec;  // file name, "-" for stdin
  bool no_recover = false;
  bool json = false;
};

int CmdApply(const Globals& g, const ApplyArgs& args);
int CmdRecover(const Globals& g, bool dry_run, bool json);
int CmdStatus(const Globals& g, bool json);
int CmdList(const Globals& g, bool all, bool json);
int CmdShow(const Globals& g, const std::string& txid, bool json);
int CmdVerify(const Globals& g, bool json);

struct ResolveArgs {
  std::string txid;
  bool retry = false;
  bool abandon = false;
  std::string reason;  // recorded with --abandon
  bool json = false;
};
// fstx resolve TXID --retry | --abandon [--reason TEXT] [--json]
int CmdResolve(const Globals& g, const ResolveArgs& args);

struct CrashtestArgs {
  std::string spec;    // paths relative to the tree
  std::string tree;
  std::string models;  // comma-separated; empty = all
  int jobs = 2;
  bool json = false;
  std::string replay;
  bool keep = false;
  bool self_check = false;
  uint64_t max_weak = 64;
  uint64_t inline_max = fstx::Options().inline_content_max;
};
int CmdCrashtest(const CrashtestArgs& args);
struct VirtRenameArgs {
  std::string old_name, new_name;
  std::string prefix;  // "" or an absolute directory without a trailing '/'
  bool rename_images = false;
  bool dry_run = false;
  bool json = false;
};
// fstx virt rename (g.journal and g.roots already default to libvirt's).
int CmdVirtRename(const Globals& g, const VirtRenameArgs& args);
// fstx virt check [NAME] [--json] [--prefix DIR]: read-only, no journal.
// name "" = every domain; prefix "" = the host's own directories.
int CmdVirtCheck(const std::string& name, const std::string& prefix, bool json);

// Prints each file's content hash (for a spec's "expect"); a symlink's is
// its target's text.
int CmdHash(const std::vector<std::string>& files, bool json);

}  // namespace fstx::cli
