#include "fault-injection/world.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <algorithm>
#include <fstream>
#include <latch>
#include <map>
#include <mutex>
#include <thread>
#include <set>
#include <tuple>
#include <sstream>

#include "fstx/paths.h"
#include "journal/codec.h"
#include "journal/names.h"
#include "journal/store.h"
#include "src/engine/testing.h"

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

// A crashing child that was not killed exits with 0 or 1 (recovery; a
// journal that would not open), or with kExitReported + the subset of the
// workload's transactions that reported success (at most 4 transactions:
// the code stays below 128, where a shell would read a signal).
constexpr int kExitReported = 64;

// True if the child was killed; if not, *reported gets what its exit code
// says (a journal that would not open: nothing reported success).
Result<bool> WaitKilled(pid_t pid, uint32_t* reported = nullptr) {
  if (pid < 0) return Status::FromErrno(errno, "fork", "");
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return Status::FromErrno(errno, "waitpid", "");
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return true;
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code >= kExitReported && code < kExitReported + 16) {
    if (reported) *reported = static_cast<uint32_t>(code - kExitReported);
    return false;
  }
  if (code == 0 || code == 1) {
    if (reported) *reported = 0;
    return false;
  }
  return Status(Code::kIoError, "explorer child failed (status " + std::to_string(status) + ")");
}

// `img` without the staging directories' contents (journal/names.h).
Image WithoutStaging(const Image& img) {
  Image out;
  for (const auto& [rel, node] : img) {
    bool staged = false;
    for (size_t at = 0; at != std::string::npos && !staged; at = rel.find('/', at + 1))
      staged = IsStagingDirName(rel.substr(at + 1, rel.find('/', at + 1) - at - 1));
    if (!staged) out.emplace(rel, node);
  }
  return out;
}

bool Holds(const std::vector<Image>& images, const Image& img) {
  return std::find(images.begin(), images.end(), img) != images.end();
}

void Remap(Fingerprint* fp, const IdMap& moved) {
  if (!fp->present()) return;
  auto n = moved.find({fp->dev, fp->ino});
  if (n == moved.end()) return;
  fp->dev = n->second.dev;
  fp->ino = n->second.ino;
  fp->btime_ns = n->second.btime_ns;
}

// Between the journal and the recording: the identity of every object
// the recording run creates, by path, in the order of creation (two
// creations at one path never race: the path's lock, or one thread).
class CreatedIds : public FsWrapper {
 public:
  explicit CreatedIds(Fs* target) : FsWrapper(target) {}
  Status CreateFile(const std::string& path, std::string_view data, uint32_t mode, int64_t uid, int64_t gid) override {
    return Note(path, FsWrapper::CreateFile(path, data, mode, uid, gid));
  }
  Status Symlink(const std::string& target, const std::string& path) override {
    return Note(path, FsWrapper::Symlink(target, path));
  }
  Status Mkdir(const std::string& path, uint32_t mode) override { return Note(path, FsWrapper::Mkdir(path, mode)); }
  std::map<std::string, std::vector<Ident>> created() const {
    std::lock_guard<std::mutex> l(mu_);
    return created_;
  }

 private:
  // A zero identity if the object is gone already: the count stays right.
  Status Note(const std::string& path, Status s) {
    if (!s.ok()) return s;
    Ident id;
    (void)IdentityOf(path, &id);
    std::lock_guard<std::mutex> l(mu_);
    created_[path].push_back(id);
    return s;
  }
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Ident>> created_;
};

// The paths in `at` (path -> object) after a rename: the name at `to` is
// taken away, the names at and beneath `from` carried along.
void RenameIn(std::map<std::string, size_t>* at, const std::string& from, const std::string& to) {
  at->erase(to);
  std::vector<std::pair<std::string, size_t>> moved;
  for (auto it = at->begin(); it != at->end();) {
    if (!paths::IsSameOrAncestor(from, it->first)) {
      ++it;
      continue;
    }
    moved.emplace_back(paths::Rebase(it->first, from, to), it->second);
    it = at->erase(it);
  }
  for (auto& [path, object] : moved) (*at)[path] = object;
}

// The journal's unfinished records (none if there is no journal).
Status ActiveRecords(const std::string& jdir, std::vector<TxRecord>* active) {
  if (::access((jdir + "/data.mdb").c_str(), F_OK) != 0) return Status();
  auto store = JournalStore::Open({.dir = jdir, .read_only = true});
  if (!store.ok()) return store.status();
  std::vector<BadRecord> bad;
  Status s = store.value()->ListActive(active, &bad);
  if (s.ok() && !bad.empty()) return Status(Code::kCorruption, "unreadable journal record in " + jdir);
  return s;
}

// What a state's fingerprint takes from the journal in `jdir`: each
// unfinished transaction and its state ("" if there is no journal).
std::string JournalSummary(const std::string& jdir) {
  if (::access((jdir + "/data.mdb").c_str(), F_OK) != 0) return "";
  auto store = JournalStore::Open({.dir = jdir, .read_only = true});
  if (!store.ok()) return "journal-unreadable";
  std::vector<TxRecord> active;
  std::vector<BadRecord> bad;
  (void)store.value()->ListActive(&active, &bad);
  std::string out;
  for (const auto& r : active) out += std::to_string(r.id) + ":" + tx_state_name(r.state);
  return out;
}

}  // namespace

std::string SubsetName(uint32_t subset) {
  std::string out;
  for (uint32_t i = 0; i < 32; ++i)
    if (subset >> i & 1) out += (out.empty() ? "tx " : ", ") + std::to_string(i);
  return out.empty() ? "none" : out;
}

std::vector<uint64_t> CrashPoints(const std::vector<std::string>& trace) {
  static const std::set<std::string> kMutating = {
      "fs.create", "fs.write", "fs.symlink", "fs.mkdir", "fs.rename", "fs.link", "fs.unlink", "fs.rmdir",
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
  o.inline_content_max = opt_.inline_content_max;
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

Status World::RunWorkload(Fs* fs, std::function<Status(std::string_view)> hook, Status* commit, uint32_t* ok) {
  auto j = testing::OpenWithHook(JournalOptions(fs), std::move(hook));
  if (!j.ok()) {
    *commit = j.status();
    return Status();
  }
  *commit = Invoke(*j.value(), ok);
  return Status();
}

Status World::Invoke(Journal& j, uint32_t* ok) const {
  uint32_t unused = 0;
  if (!ok) ok = &unused;
  if (concurrent()) return InvokeConcurrent(j, ok);
  Status s;
  if (opt_.run) {
    s = opt_.run(j, root_);
  } else {
    Transaction tx = j.Begin(opt_.label, opt_.policy);
    opt_.workload(tx, root_);
    s = tx.Commit();
  }
  *ok = s.ok() ? 1 : 0;
  return s;
}

// Each transaction on a thread of its own (a Transaction belongs to one
// thread), all released at once so that their commits meet in the
// engine: prepared records share a group commit, overlapping paths wait
// for each other's locks.
Status World::InvokeConcurrent(Journal& j, uint32_t* ok) const {
  const size_t k = opt_.concurrent.size();
  std::vector<Status> result(k);
  std::latch start(static_cast<std::ptrdiff_t>(k));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < k; ++i)
    threads.emplace_back([&, i] {
      Transaction tx = j.Begin(opt_.label + " #" + std::to_string(i), opt_.policy);
      opt_.concurrent[i](tx, root_);
      start.arrive_and_wait();
      result[i] = tx.Commit();
    });
  for (auto& t : threads) t.join();
  *ok = 0;
  Status first;
  for (size_t i = 0; i < k; ++i) {
    if (result[i].ok()) *ok |= 1u << i;
    else if (first.ok()) first = result[i].Annotate("concurrent transaction " + std::to_string(i));
  }
  return first;
}

Status World::ApplyInOrder(const std::vector<size_t>& order, Image* out) {
  Status s = Reset();
  auto posix = s.ok() ? PosixFs::Open({root_}) : Result<std::unique_ptr<PosixFs>>(s);
  if (!posix.ok()) return posix.status();
  {
    auto j = testing::OpenWithHook(JournalOptions(posix.value().get()), nullptr);
    if (!j.ok()) return j.status();
    std::string before;
    for (size_t i : order) {
      Transaction tx = j.value()->Begin(opt_.label + " #" + std::to_string(i), opt_.policy);
      opt_.concurrent[i](tx, root_);
      s = tx.Commit();
      if (!s.ok())
        return s.Annotate("concurrent transaction " + std::to_string(i) + " does not commit on the pre-image after " +
                          (before.empty() ? "none" : before) + " (concurrent transactions must commit in any order)");
      before += (before.empty() ? "" : ", ") + std::to_string(i);
    }
  }
  return Capture(root_, out);
}

// A transaction of a subset may run before or after another that touches
// the same paths (whichever takes the locks first): every order of every
// subset is an image the tree may end as.
Status World::AllowedImages() {
  images_.assign(size_t{1} << txs(), {});
  images_[0] = {pre_};
  for (uint32_t subset = 1; subset <= all(); ++subset) {
    std::vector<size_t> order;
    for (size_t i = 0; i < txs(); ++i)
      if (subset >> i & 1) order.push_back(i);
    do {
      Image img;
      Status s = ApplyInOrder(order, &img);
      if (!s.ok()) return s;
      if (!Holds(images_[subset], img)) images_[subset].push_back(std::move(img));
    } while (std::next_permutation(order.begin(), order.end()));
  }
  return Status();
}

// The post-image: the workload run once, uninterrupted. Concurrent
// transactions: the allowed images first (they also name a transaction
// that cannot commit in some order), and the clean run must end as one of
// the orders of all of them.
Status World::CleanRun() {
  Status s = concurrent() ? AllowedImages() : Status();
  if (s.ok()) s = Reset();
  if (!s.ok()) return s;
  auto posix = PosixFs::Open({root_});
  if (!posix.ok()) return posix.status();
  Status commit;
  RunWorkload(posix.value().get(), nullptr, &commit);
  if (!commit.ok()) return commit.Annotate("the workload does not commit on the pre-image");
  s = Capture(root_, &post_);
  if (!s.ok()) return s;
  if (!concurrent()) images_ = {{pre_}, {post_}};
  if (!Holds(images_[all()], post_))
    return Status(Code::kIoError, "a clean run of the concurrent transactions ends as no order of them does:\n" +
                                       Diff(Nearest(images_[all()], post_), post_));
  return Status();
}

Status World::Prepare() {
  Status s = CleanRun();
  if (s.ok()) s = Reset();
  std::map<std::string, Ident> ids;
  if (s.ok()) s = Identities(root_, &ids);
  if (!s.ok()) return s;
  for (const auto& [rel, id] : ids) recorded_ids_[{id.dev, id.ino}] = rel;

  auto posix = PosixFs::Open({root_});
  if (!posix.ok()) return posix.status();
  fault::RecordingFs rec(posix.value().get());
  CreatedIds created(&rec);
  fault::Failpoints fp;
  fp.EnableTrace(true);
  fault::FaultFs faulty(&created, &fp);
  auto record_sync = rec.Hook();
  // The hook runs after each journal sync, from the thread that synced.
  // Syncs of two groups may overlap (the next group commits while the
  // previous one syncs), so the sync's event and its snapshot of data.mdb
  // are recorded as one step under `sync_mu`: the n-th kJournalSync event
  // is paired with the n-th snapshot, which holds every commit made before
  // that sync, its own included (and perhaps a later one not yet synced:
  // a record whose transaction has not acted yet, a state a power loss can
  // leave too). With concurrent transactions another thread's call may be
  // recorded between a commit's fsync and this hook: the power models then
  // also try that call persisted without the commit. That state is a real
  // one: the call's thread waits for no commit but its own (a transaction
  // acts on the tree only after its own commit's hook has returned), so the
  // call could as well have run a moment earlier, before this commit was
  // durable.
  bool recording = true;
  std::mutex sync_mu;
  auto hook = [&](std::string_view point) {
    Status h = fp.Hit(point);
    if (recording && point == "journal.commit.after") {
      std::lock_guard<std::mutex> l(sync_mu);
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
  NoteCreated(created.created());
  committed_ = commit.ok();
  return commit.Annotate("recording run");
}

// In a child process: a journal whose seam kills the process at failpoint
// hit `crash_at` (torn: that hit, a write, writes half its bytes, and the
// process is killed at the next hit, before anything else reaches the
// disk); then `body` runs and gives the exit code (WaitKilled); the child
// exits without destructors (a crash right after, as far as anything
// unsynced is concerned).
template <class Body>
Result<bool> World::InCrashingChild(uint64_t crash_at, bool torn, uint32_t* reported, Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    fault::Failpoints fp;
    fp.SetQuiet(true);
    if (torn) fp.Add({"*", crash_at, fault::Action::kShortWrite, 0, 0});
    fp.Add({"*", crash_at + (torn ? 1 : 0), fault::Action::kCrash, 0, 0});
    auto posix = PosixFs::Open({root_});
    if (!posix.ok()) ::_exit(3);
    fault::FaultFs faulty(posix.value().get(), &fp);
    auto j = testing::OpenWithHook(JournalOptions(&faulty), fault::JournalHook(&fp));
    if (!j.ok()) ::_exit(1);
    ::_exit(body(*j.value()));
  }
  return WaitKilled(pid, reported);
}

Result<bool> World::CrashWorkload(uint64_t crash_at, bool torn, uint32_t* reported) {
  Status s = Reset();
  if (!s.ok()) return s;
  return InCrashingChild(crash_at, torn, reported, [this](Journal& j) {
    uint32_t ok = 0;
    (void)Invoke(j, &ok);
    return kExitReported + static_cast<int>(ok);
  });
}

Result<bool> World::CrashRecovery(uint64_t crash_at) {
  return InCrashingChild(crash_at, false, nullptr, [](Journal&) { return 0; });
}

Status World::TraceRecovery(RecoveryRecording* out) {
  out->journal = {JournalSummary(jdir_)};
  fault::Failpoints fp;
  fp.EnableTrace(true);
  auto posix = PosixFs::Open({root_});
  if (!posix.ok()) return posix.status();
  fault::RecordingFs rec(posix.value().get());
  fault::FaultFs faulty(&rec, &fp);
  std::vector<std::string> snaps;  // data.mdb after each commit
  auto hook = [&](std::string_view point) {
    Status h = fp.Hit(point);
    if (h.ok() && point == "journal.commit.after") h = ReadWhole(jdir_ + "/data.mdb", &snaps.emplace_back());
    return h;
  };
  {
    auto j = testing::OpenWithHook(JournalOptions(&faulty), hook);
    if (!j.ok()) return j.status();
  }
  out->trace = fp.trace();
  out->events = rec.events();
  const std::string scratch = base_ + "/journal-summary";
  for (const auto& bytes : snaps) {
    Status s = RestoreJournal(scratch, {{"data.mdb", bytes}}, {});
    if (!s.ok()) return s;
    out->journal.push_back(JournalSummary(scratch));
  }
  return Status();
}

bool World::RecoveryKey(const KeptState& kept, const RecoveryRecording& r, uint64_t m, uint64_t* key) const {
  // A hit of a mutation's ".after" point means that call took effect (and
  // was recorded); "journal.commit.after" that a commit did. A kill at a
  // hit comes before what it guards, except that a commit is done by its
  // ".after" hit.
  static const std::set<std::string> kDone = {
      "fs.create.after", "fs.write.after", "fs.symlink.after", "fs.mkdir.after", "fs.rename.after",
      "fs.link.after",   "fs.unlink.after", "fs.rmdir.after",  "fs.syncdir.after"};
  size_t done = 0, commits = 0;
  for (uint64_t h = 1; h <= m && h <= r.trace.size(); ++h) {
    const std::string point = r.trace[h - 1].substr(0, r.trace[h - 1].find(' '));
    if (h < m && kDone.count(point)) ++done;
    if (point == "journal.commit.after") ++commits;
  }
  if (done > r.events.size() || commits >= r.journal.size()) return false;
  Image img = kept.image;
  if (!Simulate(&img, {r.events.begin(), r.events.begin() + static_cast<std::ptrdiff_t>(done)}, root_)) return false;
  *key = Fnv1a(r.journal[commits], Hash(img));
  return true;
}

Status World::FailWorkload(uint64_t at, int err, uint32_t* reported) {
  Status s = Reset();
  if (!s.ok()) return s;
  fault::Failpoints fp;
  fp.Add({"*", at, fault::Action::kError, err, 0});
  auto posix = PosixFs::Open({root_});
  if (!posix.ok()) return posix.status();
  fault::FaultFs faulty(posix.value().get(), &fp);
  Status commit;
  *reported = 0;
  RunWorkload(&faulty, fault::JournalHook(&fp), &commit, reported);
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
  // The journal's fingerprints name the recording run's objects: re-point
  // them at the restored ones with the same pre-image path.
  IdMap moved;
  for (const auto& [id, rel] : recorded_ids_) {
    auto n = now.find(rel);
    if (n != now.end()) moved[id] = n->second;
  }
  Result<IdMap> created = CreatedMoves(persist);
  if (!created.ok()) return created.status();
  moved.merge(*created);  // the pre-image's objects first
  std::map<std::string, std::string> files;
  if (snap >= 0) files["data.mdb"] = snaps_[static_cast<size_t>(snap)];
  return RestoreJournal(jdir_, files, moved);
}

Status World::RestoreJournal(const std::string& jdir, const std::map<std::string, std::string>& files,
                             const IdMap& moved) {
  boost::system::error_code ec;
  boost::filesystem::remove_all(jdir, ec);
  if (files.empty()) return Status();
  if (::mkdir(jdir.c_str(), 0700) != 0) return Status::FromErrno(errno, "mkdir", jdir);
  for (const auto& [name, bytes] : files) {
    std::ofstream out(jdir + "/" + name, std::ios::binary);
    out << bytes;
    if (!out) return Status(Code::kIoError, "write " + jdir + "/" + name);
  }
  if (!files.count("data.mdb") || moved.empty()) return Status();
  auto store = JournalStore::Open({.dir = jdir});
  if (!store.ok()) return store.status();
  std::vector<TxRecord> active;
  std::vector<BadRecord> bad;
  Status s = store.value()->ListActive(&active, &bad);
  if (!s.ok() || active.empty()) return s;
  WriteBatch b;
  for (auto& rec : active) {
    for (auto& in : rec.intents) {
      Remap(&in.moved, moved);
      Remap(&in.before, moved);
    }
    b.put_active.push_back(rec);
  }
  return store.value()->Write(&b);
}

void World::NoteCreated(const std::map<std::string, std::vector<Ident>>& created) {
  created_at_.clear();
  std::map<std::string, size_t> nth;  // path -> creations there so far
  for (size_t i = 0; i < events_.size(); ++i) {
    const auto kind = events_[i].kind;
    if (kind != fault::Event::kCreate && kind != fault::Event::kSymlink && kind != fault::Event::kMkdir) continue;
    const size_t n = nth[events_[i].path]++;
    // One transaction's record names no object it created but its staged
    // content: the others need no re-pointing (nor a walk of every state).
    const std::string& path = events_[i].path;
    if (!concurrent() && !ParseContentLeaf(path.substr(path.rfind('/') + 1), nullptr)) continue;
    auto it = created.find(events_[i].path);
    if (it != created.end() && n < it->second.size() && it->second[n].ino != 0) created_at_[i] = it->second[n];
  }
}

Result<IdMap> World::CreatedMoves(const std::vector<size_t>& persist) const {
  std::map<std::string, size_t> at;  // path -> the event that created the object there
  for (size_t i : persist) {
    const fault::Event& e = events_[i];
    if (created_at_.count(i)) at[e.path] = i;
    if (e.kind == fault::Event::kLink && at.count(e.path)) at[e.path2] = at[e.path];
    if (e.kind == fault::Event::kUnlink || e.kind == fault::Event::kRmdir) at.erase(e.path);
    if (e.kind == fault::Event::kRename) RenameIn(&at, e.path, e.path2);
  }
  IdMap out;
  std::map<std::string, Ident> now;
  if (at.empty()) return out;
  if (Status s = Identities(root_, &now); !s.ok()) return s;
  for (const auto& [path, i] : at) {
    auto n = paths::IsAncestor(root_, path) ? now.find(path.substr(root_.size())) : now.end();
    const Ident& recorded = created_at_.at(i);
    if (n != now.end()) out.emplace(std::make_pair(recorded.dev, recorded.ino), n->second);
  }
  return out;
}

Status World::Keep(KeptState* out) const {
  Status s = Save(root_, &out->tree);
  out->image.clear();
  for (const auto& o : out->tree) out->image.emplace(o.rel, o.node);
  out->journal.clear();
  boost::system::error_code ec;
  for (boost::filesystem::directory_iterator it(jdir_, ec), end; s.ok() && !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    s = ReadWhole(jdir_ + "/" + name, &out->journal[name]);
  }
  return s;
}

Status World::PutBack(const KeptState& k) {
  IdMap moved;
  Status s = Rebuild(k.tree, root_, &moved);
  return s.ok() ? RestoreJournal(jdir_, k.journal, moved) : s;
}

uint64_t World::ExactKey() const {
  SavedTree tree;
  std::vector<TxRecord> active;
  Status s = Save(root_, &tree);
  if (s.ok()) s = ActiveRecords(jdir_, &active);
  if (!s.ok()) return Fnv1a(s.ToString());
  // identity -> (1 + the object's number in path order, birth time)
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> object;
  ContentRanks content;
  for (const auto& o : tree) content.Add(o.rel);
  for (const auto& rec : active)
    for (const auto& in : rec.intents) content.Add(in.content);
  uint64_t h = Fnv1a("exact");
  for (const auto& o : tree) {
    const auto n = object.emplace(std::make_pair(o.id.dev, o.id.ino), std::make_pair(object.size() + 1, o.id.btime_ns));
    h = Fnv1a(content.Canon(o.rel) + ":" + std::to_string(n.first->second.first) + ":" + DescribeNode(o.node), h);
    h = (h ^ std::hash<std::string>()(o.node.data)) * 1099511628211ull;
  }
  auto name = [&](Fingerprint* fp) {
    if (!fp->present()) return;
    auto it = object.find({fp->dev, fp->ino});
    fp->ino = it == object.end() ? 0 : it->second.first;  // 0: no object in the tree
    const bool same_birth = it != object.end() && fp->btime_ns == it->second.second;
    fp->dev = 0;
    fp->btime_ns = same_birth ? 1 : 0;
  };
  for (auto rec : active) {
    rec.owner = Owner();
    rec.created_us = 0;
    for (auto& in : rec.intents) {
      name(&in.moved);
      name(&in.before);
      in.content = content.Canon(in.content);
    }
    h = Fnv1a(EncodeRecord(rec), h);
  }
  return h;
}

uint64_t World::StateKey(int snap, const Image* tree) {
  Image img;
  uint64_t h = tree ? Hash(*tree) : Capture(root_, &img).ok() ? Hash(img) : 0;
  if (snap >= -1) return Fnv1a("snap" + std::to_string(snap), h);
  return Fnv1a(JournalSummary(jdir_), h);
}

int64_t World::SubsetOf(const Image& img) const {
  for (uint32_t subset = 0; subset <= all(); ++subset)
    for (const Image& allowed : images_[subset])
      if (allowed == img) return subset;
  return -1;
}

const Image& World::Nearest(const std::vector<Image>& candidates, const Image& img) const {
  const Image* best = &candidates.front();
  for (const Image& c : candidates)
    if (Distance(c, img) < Distance(*best, img)) best = &c;
  return *best;
}

// The rule a run that ended with `reported` succeeding must meet (one
// transaction: today's words).
std::string World::ReportedRule(uint32_t reported) const {
  if (!concurrent()) {
    return reported == all() ? "a transaction that reported success is not the post-image"
                             : "a transaction that reported an error did not leave the pre-image";
  }
  return "the tree is not the pre-image with exactly the transactions that reported success applied (" +
         SubsetName(reported) + ")";
}

// With one transaction that failed nothing may remain, staging objects
// included. When some succeeded, their staging objects may outlive them
// (a cleanup that failed is finished by a later barrier or recovery):
// those are left out of the comparison.
bool World::Unrecovered(uint32_t reported, const Image& now, StateResult* r) const {
  const Image seen = reported == 0 ? now : WithoutStaging(now);
  if (Holds(images_[reported], seen)) return true;
  r->what = concurrent() ? "the transactions that reported an error did not leave the tree as those that reported "
                           "success (" + SubsetName(reported) + ") left it (before any recovery)"
                         : "a transaction that reported an error did not leave the pre-image (before any recovery)";
  r->diff = Diff(Nearest(images_[reported], seen), seen);
  return false;
}

StateResult World::Check(std::optional<uint32_t> reported, const Image* must_equal) {
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
  // Allowed: the pre-image with some subset of the transactions applied,
  // each whole (one transaction: the pre-image or the post-image).
  r.applied = SubsetOf(r.after);
  if (must_equal && r.after != *must_equal)
    fail("recovery killed and run again ends elsewhere than an uninterrupted recovery", must_equal);
  if (reported && !Holds(images_[*reported], r.after)) fail(ReportedRule(*reported), &Nearest(images_[*reported], r.after));
  if (r.applied < 0) {
    std::vector<Image> every;
    for (const auto& images : images_) every.insert(every.end(), images.begin(), images.end());
    fail(concurrent() ? "the tree is not the pre-image with a subset of the transactions applied, each whole"
                      : "the tree is neither the pre-image nor the post-image",
         &Nearest(every, r.after));
  }
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
