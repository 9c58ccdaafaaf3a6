// fstx/explorer.h — the crash explorer: run a workload, crash it at every
// point under several crash models, recover, and check the result.
//
//   fstx::explore::Options o;
//   o.tree = "/srv/fixtures/vm-tree";            // the pre-image; never modified
//   o.workload = [](fstx::Transaction& tx, const std::string& root) {
//     tx.Rename(root + "/a.xml", root + "/b.xml");
//   };
//   auto report = fstx::explore::Explore(o);     // report->violations empty = proof
//
// Models (see README "Fault injection"):
//   process        the workload is SIGKILLed at every failpoint (a child
//                  process per point, each opening its own journal);
//   power-ordered  power loss after every prefix of the recorded metadata
//                  operations (what ext4/xfs give: metadata in order);
//   power-weak     power loss where, since each directory's last barrier,
//                  any dependency-closed subset of the operations persisted
//                  (same-directory operations stay in order), plus a torn
//                  last write;
//   errors         every call fails once with each relevant errno (before it,
//                  and EIO after it took effect);
//   recovery       for each process crash state, recovery itself is killed at
//                  every one of its points, then recovery runs again.
// The journal in a power-loss state is the journal as of the last synced
// commit before the crash point.
//
// Oracle, after recovery: the tree equals the pre-image or the post-image
// (types, contents, modes, symlink targets), no staging objects remain, no
// transaction is unfinished, a transaction that reported success is
// post-image, and recovering a second time changes nothing. With
// concurrent transactions (Options::concurrent) each must be whole: the
// tree equals the pre-image with some subset of them applied (in any
// order), and a run that ended equals it with exactly those that reported
// success applied.
//
// The explorer copies the tree into a scratch directory (tmpfs when
// available: fsync is free there and durability is simulated anyway) and
// never touches `tree`. Explore() forks; call it from a process that has no
// journal open. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fstx/fstx.h"
#include "fstx/status.h"

namespace fstx::explore {

enum class Model : uint8_t { kProcess, kPowerOrdered, kPowerWeak, kErrors, kRecovery };
const char* model_name(Model m);
Result<std::vector<Model>> ParseModels(const std::string& csv);  // "process,power-weak"
std::vector<Model> AllModels();

// Reported as the workers go (from the calling process, between their
// messages).
struct Progress {
  Model model;            // the model a worker just advanced in
  uint64_t done = 0;      // its crash points done / total
  uint64_t total = 0;
  uint64_t violations = 0;
  uint64_t states = 0;    // states generated so far, every model
  double fraction = 0;    // of the whole run done (an estimate: models weighed by usual cost)
  double seconds = 0;     // since Explore() began
};

struct Options {
  std::string tree;  // pre-image directory
  // The workload, one of three forms (set exactly one); `root` is where the
  // tree copy lives.
  //   workload  adds ops to one transaction that the explorer commits;
  //   run       the daemon's own code: begins its transactions on
  //             `journal`, commits, takes its own fallbacks, and returns
  //             its result. An ok result must leave the post-image (the
  //             tree after a clean run), an error the pre-image; under
  //             the errors model every injected failure exercises the
  //             daemon's error paths.
  std::function<void(Transaction& tx, const std::string& root)> workload;
  std::function<Status(Journal& journal, const std::string& root)> run;
  //   concurrent  up to 4 transactions, each adding its ops to a
  //             transaction of its own; the explorer commits them all at
  //             once from separate threads on one journal (group commit;
  //             overlapping paths wait for each other's locks). Each must
  //             commit on the pre-image after any subset of the others, in
  //             any order. Thread interleavings differ from run to run, so:
  //             one worker (jobs is ignored), no replay, and a process
  //             kill at hit N of a re-run is wherever that run was at its
  //             Nth hit (every such state is still checked).
  std::vector<std::function<void(Transaction& tx, const std::string& root)>> concurrent;
  std::string label = "crashtest";
  TxPolicy policy = TxPolicy::kRollback;
  std::vector<Model> models = AllModels();
  int jobs = 1;                 // worker processes
  std::string scratch;          // default: /dev/shm, else $TMPDIR, else /tmp
  std::string replay;           // only this state id (see Violation)
  bool keep = false;            // keep the scratch tree of a replayed state
  uint64_t max_weak_subsets = 64;  // per crash point, power-weak
  // The journal's Options::inline_content_max (0: every write_file's
  // content is staged before the record, format 4).
  uint64_t inline_content_max = fstx::Options().inline_content_max;
  std::function<void(const Progress&)> progress;
};

struct Violation {
  Model model;
  std::string state;            // e.g. "power-weak:14:5" — for --replay
  std::string what;             // which oracle rule failed
  std::vector<std::string> persisted;  // what reached the disk / ran
  std::string diff;             // tree diff against the nearest expected image
};

struct ModelStats {
  Model model;
  uint64_t crash_points = 0;
  uint64_t generated = 0;
  uint64_t unique = 0;
  uint64_t checked = 0;
  // Concurrent transactions: states checked that recovered to a strict,
  // non-empty subset of them applied (whole, each; an all-or-nothing
  // oracle would have called them violations).
  uint64_t partial = 0;
  double seconds = 0;
};

struct Report {
  std::vector<ModelStats> models;
  std::vector<Violation> violations;
  double seconds = 0;
  uint64_t checked() const;
  bool ok() const { return violations.empty(); }
  std::string kept_dir;  // with keep + replay
  bool replayable = true;  // false with concurrent transactions: no replay lines
};

Result<Report> Explore(const Options& options);

// The report as text: a line per model (crash points, states generated /
// unique / checked, states per second), then each violation with its
// model, what persisted, the tree diff, and `replay_command --replay STATE`
// (at most `max_violations` of them, then how many more there are).
std::string FormatReport(const Report& report, const std::string& replay_command = "",
                         size_t max_violations = SIZE_MAX);

// The explorer checked against deliberately broken engines: each planted
// bug (no final barrier; undo skipped for renames; staging deleted before
// the commit point; completion recorded before the barrier) must produce
// violations, and the real engine none. An explorer that passes everything
// proves nothing; this shows that it does not.
struct SelfCheckResult {
  std::string bug;          // "none" for the real engine
  uint64_t violations = 0;
  uint64_t checked = 0;
  std::string example;      // the first violation: state and rule
  bool passed = false;      // caught (or, for "none", clean)
};
Result<std::vector<SelfCheckResult>> SelfCheck(int jobs = 2);

}  // namespace fstx::explore
