// main.cc — the `fstx` command: option parsing (CLI11), help text, exit
// codes, and dispatch to the subcommands in cmd_*.cc.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

#include "cli.h"
#include "context.h"
#include "help.h"
#include "render.h"
#include "text.h"

namespace fstx::cli {

void PrintError(const std::string& what, const std::string& why) {
  std::cerr << "fstx: " << (what.empty() ? "" : Printable(what) + ": ") << Printable(why) << "\n";
}

int ExitFor(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return kExitOk;
    case Code::kInvalidArgument:
    case Code::kOutsideRoot: return kExitUsage;
    case Code::kNeedsAttention: return kExitAttention;
    default: return kExitFailed;
  }
}

namespace {

constexpr const char* kDescription =
    "fstx: atomic multi-file changes on Linux. A transaction of renames, file writes,\n"
    "symlinks, removals and mkdirs is journaled before anything changes, then applied\n"
    "all or nothing; after a crash, `fstx recover` rolls unfinished ones forward or back.\n";

constexpr const char* kFooter = R"(Examples:
  fstx --root /etc/libvirt --root /var/lib/libvirt apply rename-vm.json
                          run the transaction in rename-vm.json ('-' reads stdin)
  fstx recover --dry-run  say what recovery would do, change nothing
  fstx recover            finish or roll back transactions of dead processes
  fstx resolve 42 --retry after fixing its files by hand, recover tx 42 now
  fstx resolve 42 --abandon
                          close tx 42 as the tree is; nothing is deleted
  fstx status --json      unfinished transactions, their locks, journal health
  fstx list --all         every transaction, finished ones too
  fstx show 42            one transaction with every operation it records
  fstx verify             checksums, format version, orphan staging files
  fstx crashtest vm.json --tree fixtures/host
                          crash the workload at every point (process kill, power
                          loss, I/O errors, recovery crash) and check recovery
  fstx help virt rename   the help of one subcommand (as `fstx virt rename --help`)

Environment:
  FSTX_JOURNAL     journal directory when --journal is not given
                   (default /var/lib/fstx as root, else $XDG_STATE_HOME/fstx
                   or ~/.local/state/fstx)
  FSTX_ROOTS       colon-separated roots when no --root is given
  FSTX_FAILPOINTS  fault injection for apply/recover, for tests only,
                   e.g. 'fs.rename:3=crash' (see README, "Fault injection")

Exit codes:
  0  success; nothing left to do (recover, verify: clean)
  1  failure: the transaction was rolled back (the message says why), the
     journal is busy, unreadable or corrupt, verify found problems
  2  usage error or bad input (spec, option, root, FSTX_FAILPOINTS); nothing
     was journaled or changed
  3  a transaction needs attention: recovery found files changed behind its
     back and left them for a human (see `fstx status`, `fstx show ID`,
     then `fstx resolve ID --retry | --abandon`)
  4  status only: unfinished transactions of dead processes are waiting for
     `fstx recover`
With --json, every command prints one JSON object, also when it fails: its
"error" member is then {"code", "message", "exit"}.

The spec format and JSON outputs are described in README.md.)";

// The subcommand footers: one example each.
constexpr const char* kApplyFooter = R"(Example:
  fstx --root /srv/a apply vm.json
  echo '{"label":"mk","ops":[{"op":"mkdir","path":"/srv/a/new"}]}' | fstx --root /srv/a apply -
A bad spec exits 2 before anything is journaled; a failed transaction is rolled
back and exits 1.)";

// Whether --json is among the arguments: error paths that come before (or
// instead of) a subcommand still print their JSON object then.
bool WantsJson(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return false;
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

// What the command line sets: the variable of every option, and each
// subcommand's CLI::App, to ask which one was given.
struct CommandLine {
  std::string journal;
  std::vector<std::string> root_flags;
  double wait_s = 5;  // --wait
  int verbosity = 0;

  ApplyArgs apply;
  bool dry_run = false, recover_json = false;
  ResolveArgs resolve;
  bool status_json = false;
  bool list_all = false, list_json = false;
  std::string show_id;
  bool show_json = false;
  bool verify_json = false;
  CrashtestArgs crash;
  VirtRenameArgs vrename;
  std::string vcheck_name, vcheck_prefix;
  bool vcheck_json = false;
  std::vector<std::string> hash_files;
  bool hash_json = false;
  HelpCommands help_cmds;

  CLI::App* c_apply = nullptr;
  CLI::App* c_recover = nullptr;
  CLI::App* c_resolve = nullptr;
  CLI::App* c_status = nullptr;
  CLI::App* c_list = nullptr;
  CLI::App* c_show = nullptr;
  CLI::App* c_verify = nullptr;
  CLI::App* c_crash = nullptr;
  CLI::App* c_vrename = nullptr;
  CLI::App* c_vcheck = nullptr;
  CLI::App* c_hash = nullptr;
};

// The top level: its help, --version, and the options every subcommand sees.
void AddGlobalOptions(CLI::App& app, CommandLine& cl) {
  app.footer(kFooter);
  app.get_formatter()->column_width(26);
  app.set_version_flag("--version", VersionText());
  app.require_subcommand(1);

  app.add_flag("-v,--verbose", cl.verbosity,
               "Log what the journal does to stderr (-vv: debug detail)");
  app.add_option("--journal", cl.journal,
                 "Journal directory (default: $FSTX_JOURNAL, /var/lib/fstx as root, "
                 "else ~/.local/state/fstx)")
      ->option_text("DIR");
  app.add_option("--wait", cl.wait_s,
                 "Seconds a transaction waits for paths another transaction (in any process) "
                 "holds before failing busy (default 5)")
      ->option_text("SECONDS")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--root", cl.root_flags,
                 "A directory transactions may touch; repeat for several "
                 "(default: $FSTX_ROOTS, colon-separated)")
      ->option_text("DIR ...")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// apply, recover, resolve: the subcommands that change files.
void AddTransactionCommands(CLI::App& app, CommandLine& cl) {
  ApplyArgs& apply = cl.apply;
  CLI::App* c_apply = cl.c_apply =
      app.add_subcommand("apply", "Run one transaction described in a JSON spec, all or nothing");
  c_apply->add_option("SPEC", apply.spec, "Spec file, or '-' for stdin")->required();
  c_apply->add_flag("--json", apply.json, "Print the result as JSON");
  c_apply->add_flag("--no-recover", apply.no_recover,
                    "For tests: do not recover unfinished transactions when opening the journal");
  c_apply->footer(kApplyFooter);

  CLI::App* c_recover = cl.c_recover =
      app.add_subcommand("recover", "Roll unfinished transactions of dead processes forward or back");
  c_recover->add_flag("--dry-run", cl.dry_run, "Decide and report, change nothing");
  c_recover->add_flag("--json", cl.recover_json, "Print the report as JSON");
  c_recover->footer("Example:\n  FSTX_ROOTS=/etc/libvirt:/var/lib/libvirt fstx recover --dry-run\n"
                    "Exit 0: clean or recovered; 3: something needs attention; 1: journal busy,\n"
                    "unreadable or corrupt. --dry-run reads the journal without the writer lock,\n"
                    "so it works while another process writes.");

  ResolveArgs& resolve = cl.resolve;
  CLI::App* c_resolve = cl.c_resolve = app.add_subcommand(
      "resolve", "End a transaction that needs attention: retry its recovery, or abandon it as it is");
  c_resolve->add_option("TXID", resolve.txid, "Transaction id (from `fstx status` or `fstx list`)")->required();
  c_resolve->add_flag("--retry", resolve.retry,
                      "Recover it now (after you put its files back into the before- or after-state)");
  c_resolve->add_flag("--abandon", resolve.abandon,
                      "Close it, leaving the tree as it is; its staging objects move to "
                      "<root>/.fstx/abandoned/TXID/, nothing is deleted");
  c_resolve->add_option("--reason", resolve.reason, "Recorded in history with --abandon")->option_text("TEXT");
  c_resolve->add_flag("--json", resolve.json, "Print the result as JSON");
  c_resolve->footer(
      "Example:\n  fstx show 42                    # what it did, and why it needs attention\n"
      "  fstx resolve 42 --retry         # after fixing the files by hand\n"
      "  fstx resolve 42 --abandon --reason 'restored from backup'\n"
      "Recovery reports every conflicting op of a transaction at once. Exit 0: resolved;\n"
      "3: a retry still needs attention; 1: not unfinished, owner alive, journal busy;\n"
      "2: bad usage (abandon of a transaction recovery has not given up on: run recover).");
}

// status, list, show, verify: the subcommands that only read the journal.
void AddInspectCommands(CLI::App& app, CommandLine& cl) {
  CLI::App* c_status = cl.c_status =
      app.add_subcommand("status", "Show unfinished transactions, their locks and journal health");
  c_status->add_flag("--json", cl.status_json, "Print as JSON");
  c_status->footer("Example:\n  fstx --journal /var/lib/fstx status --json\n"
                   "Exit 1 if the journal is unreadable or has corrupt records, 3 if a transaction\n"
                   "needs attention, 4 if transactions of dead processes await `fstx recover`.");

  CLI::App* c_list = cl.c_list =
      app.add_subcommand("list", "List unfinished transactions (with --all, finished ones too)");
  c_list->add_flag("--all", cl.list_all, "Include finished transactions (history)");
  c_list->add_flag("--json", cl.list_json, "Print as JSON");
  c_list->footer("Example:\n  fstx list --all");

  CLI::App* c_show = cl.c_show = app.add_subcommand("show", "Show one transaction and every operation it records");
  c_show->add_option("TXID", cl.show_id, "Transaction id (from `fstx list`)")->required();
  c_show->add_flag("--json", cl.show_json, "Print as JSON (file data as base64)");
  c_show->footer("Example:\n  fstx show 42 --json");

  CLI::App* c_verify = cl.c_verify =
      app.add_subcommand("verify", "Check record checksums, the format version and orphan staging files");
  c_verify->add_flag("--json", cl.verify_json, "Print findings as JSON");
  c_verify->footer("Example:\n  fstx --root /srv/a verify\nExit 0 if clean, 1 with each problem printed with its path.");
}

void AddCrashtestCommand(CLI::App& app, CommandLine& cl) {
  CrashtestArgs& crash = cl.crash;
  CLI::App* c_crash = cl.c_crash = app.add_subcommand(
      "crashtest", "Crash a workload at every point under five crash models and check recovery");
  c_crash->add_option("SPEC", crash.spec, "Spec whose paths are relative to the tree");
  c_crash->add_option("--tree", crash.tree, "The pre-image directory (copied, never modified)")
      ->option_text("DIR");
  c_crash->add_option("--model", crash.models,
                      "Comma-separated: process, power-ordered, power-weak, errors, recovery (default: all)")
      ->option_text("LIST");
  c_crash->add_option("--jobs", crash.jobs, "Worker processes (default 2)")->check(CLI::Range(1, 64));
  c_crash->add_flag("--json", crash.json, "Print the report as JSON");
  c_crash->add_option("--replay", crash.replay, "Rebuild and check only this state (from a report)")
      ->option_text("STATE");
  c_crash->add_flag("--keep", crash.keep, "With --replay: keep the recovered tree and print where");
  c_crash->add_option("--inline-max", crash.inline_max,
                      "write_file content bigger than this is staged before the record instead of "
                      "journaled (default 65536; 0 explores the staged path for every write_file)")
      ->option_text("BYTES");
  c_crash->add_option("--max-weak", crash.max_weak, "power-weak: subsets per crash point (default 64)")
      ->check(CLI::Range(1, 100000));
  c_crash->add_flag("--self-check", crash.self_check,
                    "Run the explorer against 4 deliberately broken engines: each must be caught");
  c_crash->footer(
      "Example:\n  fstx crashtest rename-vm.json --tree fixtures/host --jobs 2\n"
      "  fstx crashtest rename-vm.json --tree fixtures/host --replay power-weak:12:3 --keep\n"
      "Spec paths are relative to --tree. Exit 0: no violation; 1: violations; 2: bad input.");
}

// virt rename, virt check: the libvirt recipes.
void AddVirtCommands(CLI::App& app, CommandLine& cl) {
  CLI::App* c_virt = app.add_subcommand(
      "virt", "libvirt recipes: rename a QEMU domain with every file it owns, all or nothing");
  c_virt->require_subcommand(1);
  c_virt->footer("Example:\n  fstx virt check vm1\n  fstx virt rename vm1 vm2 --rename-images --dry-run\n"
                 "`fstx help virt rename` and `fstx help virt check` describe each.");

  VirtRenameArgs& vrename = cl.vrename;
  CLI::App* c_vrename = cl.c_vrename = c_virt->add_subcommand(
      "rename", "Rename a shut-off domain on disk: config, autostart link, snapshots, checkpoints, NVRAM, "
                "managed save (and with --rename-images its disk images and qcow2 backing chain)");
  c_vrename->add_option("OLD", vrename.old_name, "The domain's current name")->required();
  c_vrename->add_option("NEW", vrename.new_name, "The new name")->required();
  c_vrename->add_flag("--rename-images", vrename.rename_images,
                      "Also rename disk images whose file name carries OLD, and every reference to them "
                      "(XML <source>/<backingStore>, qcow2 overlay headers)");
  c_vrename->add_flag("--dry-run", vrename.dry_run, "Print the planned ops, change nothing");
  c_vrename->add_flag("--json", vrename.json, "Print the result as JSON");
  c_vrename->add_option("--prefix", vrename.prefix,
                        "Find libvirt's directories beneath DIR (an offline image, a test tree); paths written "
                        "into files and links stay as libvirt writes them on the host")
      ->option_text("DIR");
  c_vrename->footer(
      "Libvirt's daemon (libvirtd or virtqemud) must be stopped: it keeps definitions in memory.\n"
      "Defaults: roots /etc/libvirt and /var/lib/libvirt, journal /var/lib/fstx/libvirt\n"
      "(beneath --prefix; --root, --journal, FSTX_ROOTS and FSTX_JOURNAL override them).\n"
      "Example:\n  systemctl stop libvirtd\n  fstx virt rename vm1 vm2 --rename-images --dry-run\n"
      "  fstx virt rename vm1 vm2 --rename-images\n  systemctl start libvirtd\n"
      "Exit 0: renamed; 1: failed and rolled back (or a file changed since it was read);\n"
      "2: refused before anything changed (daemon or domain running, name taken, bad name);\n"
      "3: needs attention.");

  CLI::App* c_vcheck = cl.c_vcheck = c_virt->add_subcommand(
      "check", "Read-only: list each domain's files (config, autostart, snapshots, checkpoints, NVRAM, managed "
               "save, run status) and what is inconsistent");
  c_vcheck->add_option("NAME", cl.vcheck_name, "Only this domain (default: every domain)");
  c_vcheck->add_flag("--json", cl.vcheck_json, "Print the report as JSON");
  c_vcheck->add_option("--prefix", cl.vcheck_prefix, "Find libvirt's directories beneath DIR")->option_text("DIR");
  c_vcheck->footer(
      "Problems: dangling-autostart, duplicate-uuid, name-mismatch, bad-xml, orphan-snapshot-dir,\n"
      "orphan-checkpoint-dir, checkpoint-in-snapshot-dir, nvram-missing (errors); stale-embedded-name,\n"
      "nvram-other-name, orphan-nvram, running (warnings). Needs no journal.\n"
      "Example:\n  fstx virt check vm1\n  fstx virt check --json --prefix /mnt/host\n"
      "Exit 0: no errors; 1: errors found, NAME not found, or a directory unreadable; 2: bad --prefix.");
}

void AddHashCommand(CLI::App& app, CommandLine& cl) {
  CLI::App* c_hash = cl.c_hash = app.add_subcommand("hash", "Print the content hash of files, for a spec's \"expect\"");
  c_hash->add_option("FILE", cl.hash_files, "Regular files or symlinks (a symlink's target text is hashed)")
      ->required();
  c_hash->add_flag("--json", cl.hash_json, "Print as JSON");
  c_hash->footer("Example:\n  fstx hash /etc/libvirt/qemu/vm1.xml\n"
                 "  xxh128:...  /etc/libvirt/qemu/vm1.xml   (put it in the op's \"expect\")");
}

// Parses argv into cl. Returns the exit code if the command ends here (a
// parse error, --help, --version, `fstx help`, `fstx version`), else nullopt.
std::optional<int> Parse(CLI::App& app, const CommandLine& cl, int argc, char** argv, bool json) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help: the help of the subcommand it follows (CLI11's own would be
    // the top level's for `fstx virt rename --help`).
    if (e.get_name() == "CallForHelp" || e.get_name() == "CallForAllHelp") return PrintHelpFor(app, argc, argv);
    if (e.get_exit_code() == 0) return app.exit(e);  // --version
    return Fail(json, Json::object(), "", Status(Code::kInvalidArgument, ParseErrorMessage(app, e, argc, argv)),
                kExitUsage);
  }
  if (cl.help_cmds.help->parsed()) return CmdHelp(app, cl.help_cmds.words);
  if (cl.help_cmds.version->parsed()) {
    std::cout << VersionText() << "\n";
    return kExitOk;
  }
  return std::nullopt;
}

// virt rename's defaults: libvirt's roots and journal, beneath --prefix
// (--root, --journal, FSTX_ROOTS and FSTX_JOURNAL override them). False,
// with the error printed, if --prefix is bad.
bool SetVirtRenameDefaults(CommandLine& cl) {
  VirtRenameArgs& vrename = cl.vrename;
  Result<std::string> prefix = vrename.prefix.empty() ? Result<std::string>(std::string()) : AbsolutePath(vrename.prefix);
  if (!prefix.ok()) {
    PrintError("--prefix", prefix.status().message());
    return false;
  }
  vrename.prefix = *prefix == "/" ? std::string() : *prefix;
  if (cl.journal.empty() && std::getenv("FSTX_JOURNAL") == nullptr) cl.journal = vrename.prefix + "/var/lib/fstx/libvirt";
  if (cl.root_flags.empty() && std::getenv("FSTX_ROOTS") == nullptr)
    cl.root_flags = {vrename.prefix + "/etc/libvirt", vrename.prefix + "/var/lib/libvirt"};
  return true;
}

// Runs the subcommand given: first those that need no journal, then, with
// the journal directory and roots resolved, the others.
int Dispatch(const CommandLine& cl, bool json) {
  if (cl.c_crash->parsed()) return CmdCrashtest(cl.crash);  // needs no journal or roots
  if (cl.c_vcheck->parsed()) return CmdVirtCheck(cl.vcheck_name, cl.vcheck_prefix, cl.vcheck_json);  // read-only
  if (cl.c_hash->parsed()) return CmdHash(cl.hash_files, cl.hash_json);
  SetLockWaitMs(static_cast<int64_t>(cl.wait_s * 1000));
  Globals g;
  Result<std::string> dir = AbsolutePath(cl.journal.empty() ? DefaultJournalDir() : cl.journal);
  if (!dir.ok()) return Fail(json, Json::object(), "journal", dir.status(), kExitUsage);
  g.journal = *dir;
  Status rs = ResolveRoots(cl.root_flags, &g.roots, &g.root_args);
  if (!rs.ok()) return Fail(json, Json{{"journal", g.journal}}, "", rs, kExitUsage);

  if (cl.c_apply->parsed()) return CmdApply(g, cl.apply);
  if (cl.c_vrename->parsed()) return CmdVirtRename(g, cl.vrename);
  if (cl.c_recover->parsed()) return CmdRecover(g, cl.dry_run, cl.recover_json);
  if (cl.c_resolve->parsed()) return CmdResolve(g, cl.resolve);
  if (cl.c_status->parsed()) return CmdStatus(g, cl.status_json);
  if (cl.c_list->parsed()) return CmdList(g, cl.list_all, cl.list_json);
  if (cl.c_show->parsed()) return CmdShow(g, cl.show_id, cl.show_json);
  if (cl.c_verify->parsed()) return CmdVerify(g, cl.verify_json);
  return Fail(json, Json::object(), "",
              Status(Code::kInvalidArgument, "no subcommand (see `fstx --help`)"), kExitUsage);
}

int Run(int argc, char** argv) {
  const bool json = WantsJson(argc, argv);
  CLI::App app(kDescription, "fstx");
  CommandLine cl;
  AddGlobalOptions(app, cl);
  AddTransactionCommands(app, cl);
  AddInspectCommands(app, cl);
  AddCrashtestCommand(app, cl);
  AddVirtCommands(app, cl);
  AddHashCommand(app, cl);
  AddHelpCommands(app, &cl.help_cmds);
  for (CLI::App* sub : app.get_subcommands({})) sub->fallthrough();

  if (argc <= 1) {
    std::cerr << app.help();
    return kExitUsage;
  }
  if (std::optional<int> done = Parse(app, cl, argc, argv, json)) return *done;
  SetupLogging(cl.verbosity);
  if (cl.c_vrename->parsed() && !SetVirtRenameDefaults(cl)) return kExitUsage;
  return Dispatch(cl, json);
}

}  // namespace
}  // namespace fstx::cli

int main(int argc, char** argv) {
  try {
    return fstx::cli::Run(argc, argv);
  } catch (const std::exception& e) {
    // A bug, not an input error; still one JSON object with --json.
    return fstx::cli::Fail(fstx::cli::WantsJson(argc, argv), fstx::cli::Json::object(),
                           "internal error", fstx::Status(fstx::Code::kIoError, e.what()),
                           fstx::cli::kExitFailed);
  }
}
