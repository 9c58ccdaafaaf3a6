#include "fault-injection/world.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "journal/store.h"
#include "src/testing.h"

namespace fstx::explore {
namespace {

std::shared_ptr<spdlog::logger> QuietLogger() {
  static auto log = std::make_shared<spdlog::logger>("fstx-explore", std::make_shared<spdlog::sinks::null_sink_mt>());
  return log;
}

Status ReadWhole(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno ? errno : ENOENT, "read", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return Status();
}

Result<bool> WaitKilled(pid_t pid) {
  if (pid < 0) return Status::FromErrno(errno, "fork", "");
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return Status::FromErrno(errno, "waitpid", "");
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return true;
  if (WIFEXITED(status) && WEXITSTATUS(status) <= 1) return false;
  return Status(Code::kIoError, "explorer child failed (status " + std::to_string(status) + ")");
}

void Remap(Fingerprint* fp, const std::map<std::pair<uint64_t, uint64_t>, std::string>& recorded,
           const std::map<std::string, Ident>& now) {
  if (!fp->present()) return;
  auto r = recorded.find({fp->dev, fp->ino});
  if (r == recorded.end()) return;
  auto n = now.find(r->second);
  if (n == now.end()) return;
  fp->dev = n->second.dev;
  fp->ino = n->second.ino;
  fp->btime_ns = n->second.btime_ns;
}

}  // namespace

std::vector<uint64_t> CrashPoints(const std::vector<std::string>& trace) {
  static const std::set<std::string> kMutating = {
      "fs.create", "fs.symlink", "fs.mkdir", "fs.rename", "fs.link", "fs.unlink", "fs.rmdir",
      "fs.syncdir", "journal.commit.before", "journal.commit.after"};
  std::vector<uint64_t> out;
  for (size_t i = 0; i < trace.size(); ++i)
    if (kMutating.count(trace[i].substr(0, trace[i].find(' ')))) out.push_back(i + 1);
  out.push_back(trace.size() + 1);
  return out;
}

fstx::Options World::JournalOptions(Fs* fs) const {
  fstx::Options o;
  o.dir = jdir_;
  o.roots = {root_};
  o.fs = fs;
  o.logger = QuietLogger();
  return o;
}

World::World(const Options& opt, const Image& pre, std::string base)
    : opt_(opt), pre_(pre), base_(std::move(base)), root_(base_ + "/tree"), jdir_(base_ + "/journal") {}

Status World::Reset() {
  boost::system::error_code ec;
  boost::filesystem::create_directories(root_, ec);
  if (ec) return Status(Code::kIoError, "create " + root_ + ": " + ec.message());
  boost::filesystem::remove_all(jdir_, ec);
  return Restore(pre_, root_);
}

Status World::RunWorkload(Fs* fs, std::function<Status(std::string_view)> hook, Status* commit) {
  auto j = testing::OpenWithHook(JournalOptions(fs), std::move(hook));
  if (!j.ok()) {
    *commit = j.status();
    return Status();
  }
  *commit = Invoke(*j.value());
  return Status();
}

Status World::Invoke(Journal& j) const {
  if (opt_.run) return opt_.run(j, root_);
  Transaction tx = j.Begin(opt_.label, opt_.policy);
  opt_.workload(tx, root_);
  return tx.Commit();
}

Status World::Prepare() {
  Status s = Reset();
  if (!s.ok()) return s;
  {
    auto posix = PosixFs::Open({root_});
    if (!posix.ok()) return posix.status();
    Status commit;
    RunWorkload(posix.value().get(), nullptr, &commit);
    if (!commit.ok()) return commit.Annotate("the workload does not commit on the pre-image");
    s = Capture(root_, &post_);
    if (!s.ok()) return s;
  }
  s = Reset();
  std::map<std::string, Ident> ids;
  if (s.ok()) s = Identities(root_, &ids);
  if (!s.ok()) return s;
  for (const auto& [rel, id] : ids) recorded_ids_[{id.dev, id.ino}] = rel;

  auto posix = PosixFs::Open({root_});
  if (!posix.ok()) return posix.status();
  fault::RecordingFs rec(posix.value().get());
  fault::Failpoints fp;
  fp.EnableTrace(true);
  fault::FaultFs faulty(&rec, &fp);
  auto record_sync = rec.Hook();
  bool recording = true;
  auto hook = [&](std::string_view point) {
    Status h = fp.Hit(point);
    if (recording && point == "journal.commit.after") {
      record_sync(point);
      std::string bytes;
      Status r = ReadWhole(jdir_ + "/data.mdb", &bytes);
      if (!r.ok()) return r;
      snaps_.push_back(std::move(bytes));
    }
    return h;
  };
  auto j = testing::OpenWithHook(JournalOptions(&faulty), hook);
  if (!j.ok()) return j.status();
  Status commit = Invoke(*j.value());
  recording = false;
  trace_ = fp.trace();
  events_ = rec.events();
  committed_ = commit.ok();
  return commit.Annotate("recording run");
}

// In a child process: a journal whose seam kills the process at failpoint
// hit `crash_at`; then `body` runs; the child exits without destructors
// (a crash right after, as far as anything unsynced is concerned).
template <class Body>
Result<bool> World::InCrashingChild(uint64_t crash_at, Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    fault::Failpoints fp;
    fp.SetQuiet(true);
    fp.Add({"*", crash_at, fault::Action::kCrash, 0, 0});
    auto posix = PosixFs::Open({root_});
    if (!posix.ok()) ::_exit(3);
    fault::FaultFs faulty(posix.value().get(), &fp);
    auto j = testing::OpenWithHook(JournalOptions(&faulty), fault::JournalHook(&fp));
    if (!j.ok()) ::_exit(1);
    ::_exit(body(*j.value()) ? 0 : 1);
  }
  return WaitKilled(pid);
}

Result<bool> World::CrashWorkload(uint64_t crash_at) {
  Status s = Reset();
  if (!s.ok()) return s;
  return InCrashingChild(crash_at, [this](Journal& j) { return Invoke(j).ok(); });
}

Result<bool> World::CrashRecovery(uint64_t crash_at) {
  return InCrashingChild(crash_at, [](Journal&) { return true; });
}

Status World::TraceRecovery(std::vector<std::string>* trace) {
  fault::Failpoints fp;
  fp.EnableTrace(true);
  auto posix = PosixFs::Open({root_});
  if (!posix.ok()) return posix.status();
  fault::FaultFs faulty(posix.value().get(), &fp);
  {
    auto j = testing::OpenWithHook(JournalOptions(&faulty), fault::JournalHook(&fp));
    if (!j.ok()) return j.status();
  }
  *trace = fp.trace();
  return Status();
}

Status World::FailWorkload(uint64_t at, int err) {
  Status s = Reset();
  if (!s.ok()) return s;
  fault::Failpoints fp;
  fp.Add({"*", at, fault::Action::kError, err, 0});
  auto posix = PosixFs::Open({root_});
  if (!posix.ok()) return posix.status();
  fault::FaultFs faulty(posix.value().get(), &fp);
  Status commit;
  RunWorkload(&faulty, fault::JournalHook(&fp), &commit);
  return commit;
}

int World::SnapshotBefore(size_t p) const {
  int snap = -1;
  for (size_t i = 0; i < p && i < events_.size(); ++i)
    if (events_[i].kind == fault::Event::kJournalSync) ++snap;
  return snap;
}

std::vector<fault::Event> World::PowerEvents(const std::vector<size_t>& persist, bool torn_last) const {
  std::vector<fault::Event> replay;
  for (size_t idx : persist) {
    fault::Event e = events_[idx];
    if (e.kind == fault::Event::kSyncDir || e.kind == fault::Event::kJournalSync) continue;
    // A torn last write: half its data reached the disk (for an in-place
    // write, the first half of the new bytes over the old ones).
    if (torn_last && idx == persist.back() && (e.kind == fault::Event::kCreate || e.kind == fault::Event::kWrite))
      e.data.resize(e.data.size() / 2);
    replay.push_back(std::move(e));
  }
  return replay;
}

bool World::PowerKey(const std::vector<size_t>& persist, int snap, bool torn_last, uint64_t* key) const {
  Image img = pre_;
  if (!Simulate(&img, PowerEvents(persist, torn_last), root_)) return false;
  *key = Fnv1a("snap" + std::to_string(snap), Hash(img));
  return true;
}

Status World::BuildPowerState(const std::vector<size_t>& persist, int snap, bool torn_last) {
  Status s = Reset();
  std::map<std::string, Ident> now;
  if (s.ok()) s = Identities(root_, &now);
  if (!s.ok()) return s;
  std::vector<fault::Event> replay = PowerEvents(persist, torn_last);
  auto posix = PosixFs::Open({root_});
  if (!posix.ok()) return posix.status();
  s = fault::Replay(posix.value().get(), replay, root_, root_);
  if (!s.ok()) return s.Annotate("building the crash state");
  return RestoreJournal(snap, now);
}

Status World::RestoreJournal(int snap, const std::map<std::string, Ident>& now) {
  boost::system::error_code ec;
  boost::filesystem::remove_all(jdir_, ec);
  if (snap < 0) return Status();
  if (::mkdir(jdir_.c_str(), 0700) != 0) return Status::FromErrno(errno, "mkdir", jdir_);
  {
    std::ofstream out(jdir_ + "/data.mdb", std::ios::binary);
    out << snaps_[static_cast<size_t>(snap)];
    if (!out) return Status(Code::kIoError, "write " + jdir_ + "/data.mdb");
  }
  auto store = JournalStore::Open({.dir = jdir_});
  if (!store.ok()) return store.status();
  std::vector<TxRecord> active;
  std::vector<BadRecord> bad;
  Status s = store.value()->ListActive(&active, &bad);
  if (!s.ok() || active.empty()) return s;
  WriteBatch b;
  for (auto& rec : active) {
    for (auto& in : rec.intents) {
      Remap(&in.moved, recorded_ids_, now);
      Remap(&in.before, recorded_ids_, now);
    }
    b.put_active.push_back(rec);
  }
  return store.value()->Write(&b);
}

uint64_t World::StateKey(int snap) {
  Image img;
  uint64_t h = Capture(root_, &img).ok() ? Hash(img) : 0;
  if (snap >= -1) return Fnv1a("snap" + std::to_string(snap), h);
  if (::access((jdir_ + "/data.mdb").c_str(), F_OK) != 0) return h;
  auto store = JournalStore::Open({.dir = jdir_, .read_only = true});
  if (!store.ok()) return Fnv1a("journal-unreadable", h);
  std::vector<TxRecord> active;
  std::vector<BadRecord> bad;
  (void)store.value()->ListActive(&active, &bad);
  for (const auto& r : active) h = Fnv1a(std::to_string(r.id) + ":" + tx_state_name(r.state), h);
  return h;
}

StateResult World::Check(bool reported_success, bool must_be_pre, const Image* must_equal) {
  StateResult r;
  fstx::Options o = JournalOptions(nullptr);
  auto fail = [&](const std::string& what, const Image* against) {
    if (r.what) return;
    r.what = what;
    if (against) r.diff = Diff(*against, r.after);
  };
  {
    auto j = Journal::Open(o);
    if (!j.ok()) {
      r.what = "recovery could not open the journal: " + j.status().ToString();
      return r;
    }
    for (const auto& t : j->open_report().txs)
      if (t.decision == Decision::kNeedsAttention || t.decision == Decision::kCorrupt)
        fail("recovery left tx " + std::to_string(t.id) + " " + decision_name(t.decision) + ": " + t.message, nullptr);
  }
  (void)Capture(root_, &r.after);
  const bool is_pre = r.after == pre_, is_post = r.after == post_;
  const Image& nearest = Distance(pre_, r.after) <= Distance(post_, r.after) ? pre_ : post_;
  if (must_equal && r.after != *must_equal)
    fail("recovery killed and run again ends elsewhere than an uninterrupted recovery", must_equal);
  if (must_be_pre && !is_pre) fail("a transaction that reported an error did not leave the pre-image", &pre_);
  if (reported_success && !is_post) fail("a transaction that reported success is not the post-image", &post_);
  if (!is_pre && !is_post) fail("the tree is neither the pre-image nor the post-image", &nearest);
  {
    // A second recovery must find nothing to do: no transaction left
    // unfinished (needs attention, or anything else), no tree change.
    auto j = Journal::Open(o);
    if (!j.ok()) {
      fail("a second recovery could not open the journal: " + j.status().ToString(), nullptr);
    } else if (!j->open_report().txs.empty()) {
      const auto& t = j->open_report().txs[0];
      fail("an unfinished transaction remains: tx " + std::to_string(t.id) + " (" + decision_name(t.decision) + ") " + t.message,
           nullptr);
    }
  }
  Image again;
  (void)Capture(root_, &again);
  if (again != r.after) {
    Image first = r.after;
    r.after = again;
    fail("a second recovery changed the tree", &first);
  }
  return r;
}

}  // namespace fstx::explore
