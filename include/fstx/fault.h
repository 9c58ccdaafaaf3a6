// fstx/fault.h — failpoints and the fault-injecting / recording seams.
//
// Failpoints are named points that count their hits and, on a chosen hit,
// act: crash the process for real (SIGKILL to itself: no destructors, no
// flushing), return an errno, write short, or delay. They sit before and
// after every call of the filesystem seam (FaultFs) and before and after
// every journal commit (JournalHook).
//
// Point names:
//   fs.stat fs.read fs.readlink fs.listdir fs.create fs.write fs.symlink fs.mkdir
//   fs.rename fs.link fs.unlink fs.rmdir fs.syncdir   — before the call
//   <any of the above>.after                          — after it succeeded
//   journal.commit.before  journal.commit.after       — around LMDB commits
//
// Spec syntax (FSTX_FAILPOINTS, or Failpoints::Parse), rules separated by
// ',' or ';':
//   POINT[:HIT]=ACTION
//   POINT   a point name, or '*' for any point (HIT then counts the hits of
//           all points together: '*:17=crash' crashes at the 17th failpoint)
//   HIT     1-based hit number of that point (default 1), or '*' for every hit
//   ACTION  crash | EIO | ENOSPC | EACCES | EXDEV | EROFS | ENAMETOOLONG | ...
//           | short (fs.create, fs.write: writes half the data, then EIO)
//           | delay(MS)
// Example: FSTX_FAILPOINTS='fs.rename:3=crash,journal.commit.after=crash'
//
// Thread safety: Failpoints, FaultFs and RecordingFs are safe for
// concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fstx/fs.h"
#include "fstx/fstx.h"
#include "fstx/status.h"

namespace fstx::fault {

enum class Action : uint8_t { kNone, kCrash, kError, kShortWrite, kDelay };

struct Rule {
  std::string point;
  uint64_t hit = 1;  // 0 = every hit
  Action action = Action::kNone;
  int err = 0;       // kError
  int delay_ms = 0;  // kDelay
};

class Failpoints {
 public:
  Failpoints() = default;
  // Parses a spec (syntax above); kInvalidArgument names the bad rule.
  static Result<std::vector<Rule>> Parse(std::string_view spec);
  // Rules from $FSTX_FAILPOINTS (none if unset); a bad spec is an error.
  static Result<std::vector<Rule>> FromEnv();

  void Add(const Rule& rule);
  void Clear();  // rules and counters

  // Counts a hit of `point` and carries out the matching rule: kCrash never
  // returns; kError returns that errno as a Status naming the point and
  // `path`; kDelay sleeps then returns ok; kShortWrite sets *short_write
  // (if given) and returns ok — the caller writes short.
  Status Hit(std::string_view point, const std::string& path = "", bool* short_write = nullptr);

  // No note on stderr before a crash (the crash explorer kills thousands).
  void SetQuiet(bool quiet);
  // Records "point path" for every hit, in order.
  void EnableTrace(bool on);
  std::vector<std::string> trace() const;

  uint64_t hits(std::string_view point) const;
  std::map<std::string, uint64_t> all_hits() const;
  // Total hits over every point so far (a crash-point counter).
  uint64_t total_hits() const;

 private:
  mutable std::mutex mu_;
  std::vector<Rule> rules_;
  std::map<std::string, uint64_t, std::less<>> hits_;
  uint64_t total_ = 0;
  bool quiet_ = false;
  bool trace_on_ = false;
  std::vector<std::string> trace_;
};

// Hits "fs.<call>" before and "fs.<call>.after" after every call.
class FaultFs : public FsWrapper {
 public:
  FaultFs(Fs* target, Failpoints* fp) : FsWrapper(target), fp_(fp) {}

  Status Stat(const std::string& path, FileInfo* out) override;
  Status ReadFile(const std::string& path, uint64_t limit, std::string* out) override;
  Status ReadLink(const std::string& path, std::string* out) override;
  Status ListDir(const std::string& path, std::vector<std::string>* names) override;
  Status ReadAt(const std::string& path, uint64_t offset, uint64_t len, std::string* out) override;
  Status CreateFile(const std::string& path, std::string_view data, uint32_t mode, int64_t uid,
                    int64_t gid) override;
  Status WriteAt(const std::string& path, uint64_t offset, std::string_view data) override;
  Status Symlink(const std::string& target, const std::string& path) override;
  Status Mkdir(const std::string& path, uint32_t mode) override;
  Status Rename(const std::string& from, const std::string& to, RenameMode mode) override;
  Status Link(const std::string& from, const std::string& to) override;
  Status Unlink(const std::string& path) override;
  Status Rmdir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;

 private:
  Failpoints* fp_;
};

// A journal hook that hits the journal points (the fault library's
// testing engine takes it; see OpenJournal).
std::function<Status(std::string_view)> JournalHook(Failpoints* fp);

// Journal::Open whose journal commits hit `fp`'s journal points
// (journal.commit.before / .after). Only in the fault library: it carries
// its own testing engine (README "ABI"); libfstx.so has no journal hook.
Result<std::unique_ptr<Journal>> OpenJournal(const fstx::Options& options, Failpoints* fp);

// Opt-in, for a daemon's own integration tests: Journal::Open honouring
// $FSTX_FAILPOINTS (syntax above), as `fstx apply` does. Set and not empty:
// the journal's filesystem calls go through a FaultFs over options.fs (or a
// PosixFs of options.roots) and its commits hit the journal points; the
// failpoints and seams live until the process ends. Unset or empty: plain
// Journal::Open. A bad spec, or roots that cannot be opened, is an error
// naming FSTX_FAILPOINTS, and nothing is opened.
//
//   auto journal = fstx::fault::OpenWithEnvFailpoints(MyDaemonJournalOptions());
//   // FSTX_FAILPOINTS='fs.rename:2=crash' ./my_daemon_it  -> killed at the 2nd rename
Result<std::unique_ptr<Journal>> OpenWithEnvFailpoints(fstx::Options options);

// One recorded mutation or barrier.
struct Event {
  enum Kind : uint8_t {
    kCreate,       // path, data, mode (file content fsynced by CreateFile)
    kSymlink,      // path, target (in data)
    kMkdir,        // path, mode
    kRename,       // path -> path2, replace
    kLink,         // path -> path2
    kUnlink,       // path
    kRmdir,        // path
    kSyncDir,      // path (a barrier for that directory)
    kJournalSync,  // a durable journal commit (recorded via RecordingFs::Hook)
    kWrite,        // path, data at offset (in place, fdatasynced by WriteAt)
  };
  Kind kind;
  std::string path;
  std::string path2;
  std::string data;
  uint32_t mode = 0;
  bool replace = false;
  uint64_t offset = 0;  // kWrite
  uint64_t seq = 0;
};
const char* event_kind_name(Event::Kind k);

// Records every successful mutation and barrier, in order.
class RecordingFs : public FsWrapper {
 public:
  explicit RecordingFs(Fs* target) : FsWrapper(target) {}

  Status CreateFile(const std::string& path, std::string_view data, uint32_t mode, int64_t uid,
                    int64_t gid) override;
  Status WriteAt(const std::string& path, uint64_t offset, std::string_view data) override;
  Status Symlink(const std::string& target, const std::string& path) override;
  Status Mkdir(const std::string& path, uint32_t mode) override;
  Status Rename(const std::string& from, const std::string& to, RenameMode mode) override;
  Status Link(const std::string& from, const std::string& to) override;
  Status Unlink(const std::string& path) override;
  Status Rmdir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;

  // Records a kJournalSync at "journal.commit.after".
  std::function<Status(std::string_view)> Hook();

  std::vector<Event> events() const;
  void Clear();

 private:
  void Record(Event e);
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

// Applies `events` in order to a tree through `fs`, with every path that
// begins with `from_root` rebased onto `to_root`. Barrier events are
// skipped. Stops at the first failure and returns it.
Status Replay(Fs* fs, const std::vector<Event>& events, const std::string& from_root,
              const std::string& to_root);

}  // namespace fstx::fault
