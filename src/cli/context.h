// context.h — where a command's journal, roots and filesystem come from,
// and what the command can learn about the journal's processes.
//
// - The journal directory: --journal, else $FSTX_JOURNAL, else /var/lib/fstx
//   for root and $XDG_STATE_HOME/fstx (else ~/.local/state/fstx) otherwise.
// - Roots: every --root, else $FSTX_ROOTS split on ':'.
// - WriterSession: the filesystem seam (a PosixFs, wrapped in a
//   fault::FaultFs when $FSTX_FAILPOINTS is set) and the open Journal, torn
//   down in the right order.
// - Read-only inspection: opening the store without the writer lock,
//   whether a transaction's owner still runs, who holds writer.lock.
//
// Functions return a Status naming the path and never throw. Not
// thread-safe (a command is single-threaded).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fstx/fault.h"
#include "fstx/fs.h"
#include "fstx/fstx.h"
#include "fstx/status.h"
#include "fstx/inspect.h"
#include "fstx/record.h"

namespace fstx::cli {

// Sends spdlog's default logger (which the journal logs to) to stderr, as
// "fstx: ..." lines with control characters escaped (Printable: a label
// logged by the engine cannot forge lines either), so that stdout carries
// only results (and JSON stays parseable). verbosity 0: warnings and
// errors; 1: info; 2: debug.
void SetupLogging(int verbosity);

std::string DefaultJournalDir();
// Makes `p` absolute (relative to the working directory) and normal.
Result<std::string> AbsolutePath(const std::string& p);
// `flags` if any, else $FSTX_ROOTS: *roots each made absolute and normal
// (lexically), *args each only made absolute (relative to the working
// directory), for CheckRootsExist.
Status ResolveRoots(const std::vector<std::string>& flags, std::vector<std::string>* roots,
                    std::vector<std::string>* args);
// Every root must be an existing directory as the kernel resolves it
// (realpath(3) of the root as given), and the normalised form must name the
// same directory: "/a/missing/../b" is not "/a/b". kNotFound for a root that
// does not exist, kInvalidArgument otherwise; the message names the root as
// given.
Status CheckRootsExist(const std::vector<std::string>& args, const std::vector<std::string>& roots);

// Whether `dir` holds a journal (data.mdb). A missing directory or one
// without data.mdb is "no journal" (*exists false, ok); anything that keeps
// us from knowing (EACCES, ENOTDIR, ...) is an error naming the path.
Status ProbeJournal(const std::string& dir, bool* exists);
// Opens the journal read-only (no writer lock): fstx::Inspector::Open.
Result<std::unique_ptr<Inspector>> OpenReadOnly(const std::string& dir);

// How long transactions wait for paths another one holds (`--wait`).
void SetLockWaitMs(int64_t ms);

class WriterSession {
 public:
  WriterSession() = default;
  ~WriterSession();
  WriterSession(const WriterSession&) = delete;
  WriterSession& operator=(const WriterSession&) = delete;

  // Reads $FSTX_FAILPOINTS; a malformed value is kInvalidArgument (exit 2).
  Status LoadFailpoints();
  // Opens the journal over `roots` (fault-wrapped if failpoints are set).
  Status Open(const std::string& dir, const std::vector<std::string>& roots,
              bool recover_on_open);
  Journal* journal() { return journal_.get(); }
  // Closes the journal (its destructor flushes completion records).
  void Close();

 private:
  bool faults_ = false;
  fault::Failpoints failpoints_;
  std::unique_ptr<PosixFs> posix_;
  std::unique_ptr<fault::FaultFs> fault_fs_;
  std::unique_ptr<Journal> journal_;  // last: destroyed first
};

// Microseconds since the epoch, wall clock.
int64_t NowMicros();

}  // namespace fstx::cli
