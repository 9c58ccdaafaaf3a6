// store.cc — the LMDB environment behind the journal (store.h).
//
// Open: check/create the directory, take writer.lock (writers only), open
// LMDB, clear stale readers, open or initialise the "meta" / "active" /
// "history" databases and refuse anything that is not an fstx journal.
// Write: one LMDB write transaction per batch, retried after growing the
// map on MDB_MAP_FULL. Reads: MDB_RDONLY transactions (MDB_NOTLS, so many
// threads may read at once). A shared_mutex keeps mdb_env_set_mapsize away
// from live transactions of this process, as LMDB requires.
//
// Beyond store.h: a process-wide registry refuses (kBusy) a second open of
// the same journal directory in one process, read-only or not, because
// LMDB breaks if one process opens an environment twice. A store is bound
// to the pid that opened it: in a fork() child every call returns
// kInvalidArgument, and destroying it there leaves the parent's LMDB state
// alone. history_max_age_s <= 0 disables the age bound.
#include "journal/store.h"

#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "journal/codec.h"

namespace fstx {

namespace {

constexpr std::string_view kMetaMagic = "fstx-journal";
constexpr uint64_t kMaxMapSize = 1ull << 40;
constexpr int kMaxTries = 40;

std::string Octal(mode_t m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0%o", static_cast<unsigned>(m & 07777));
  return buf;
}

std::string BeKey(uint64_t v, int bytes = 8) {
  std::string s(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; i--, v >>= 8)
    s[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

bool FromBe(const MDB_val& v, uint64_t* out) {
  if (v.mv_size != 8 && v.mv_size != 4) return false;
  const auto* p = static_cast<const unsigned char*>(v.mv_data);
  uint64_t x = 0;
  for (size_t i = 0; i < v.mv_size; i++) x = (x << 8) | p[i];
  *out = x;
  return true;
}

MDB_val Val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view View(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Journals open in this process, by directory identity, with the pid that
// opened them (entries inherited across fork() belong to the parent).
std::mutex g_open_mu;
std::map<std::pair<dev_t, ino_t>, pid_t> g_open;

Status CheckDir(const std::string& dir, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) {
    return Status(Code::kPermission, "journal directory " + dir + " is a symlink (mode " +
                                         Octal(st.st_mode) + "); refusing to follow it");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(Code::kPermission, "journal directory " + dir + " is not a directory (mode " +
                                         Octal(st.st_mode) + ")");
  }
  if (st.st_uid != geteuid() && st.st_uid != 0) {
    return Status(Code::kPermission, "journal directory " + dir + " (mode " + Octal(st.st_mode) +
                                         ") is owned by uid " + std::to_string(st.st_uid) +
                                         ", not by this user or root");
  }
  if ((st.st_mode & 022) != 0) {
    return Status(Code::kPermission, "journal directory " + dir + " has mode " + Octal(st.st_mode) +
                                         ": group or others can write it (chmod 700 it)");
  }
  return Status::Ok();
}

Status PrepareDir(const StoreOptions& o, struct stat* st) {
  const std::string& dir = o.dir;
  if (::lstat(dir.c_str(), st) == 0) return CheckDir(dir, *st);
  if (errno != ENOENT) return Status::FromErrno(errno, "stat journal directory", dir);
  if (o.read_only) return Status(Code::kNotFound, "no fstx journal at " + dir, ENOENT);
  for (size_t pos = dir.find('/', 1); pos != std::string::npos; pos = dir.find('/', pos + 1)) {
    std::string parent = dir.substr(0, pos);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "mkdir", parent);
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "mkdir journal directory", dir);
  }
  if (::lstat(dir.c_str(), st) != 0) return Status::FromErrno(errno, "stat journal directory", dir);
  return CheckDir(dir, *st);
}

Status LockWriter(const std::string& dir, int* fd_out) {
  std::string path = dir + "/writer.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "open", path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      char buf[32] = {};
      ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      ::close(fd);
      return Status(Code::kBusy,
                    "journal " + dir + " is in use by another process (pid " + pid + ")", err);
    }
    ::close(fd);
    return Status::FromErrno(err, "flock", path);
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "write", path);
  }
  *fd_out = fd;
  return Status::Ok();
}

// LMDB error -> Status, naming the step and the journal.
Status LmdbStatus(int rc, const std::string& what, const std::string& dir) {
  std::string msg = what + " in journal " + dir + ": " + mdb_strerror(rc);
  if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT)
    return Status(Code::kNoSpace, msg, rc > 0 ? rc : 0);
  if (rc == EACCES || rc == EROFS || rc == EPERM) return Status(Code::kPermission, msg, rc);
  return Status(Code::kIoError, msg, rc > 0 ? rc : 0);
}

}  // namespace

struct JournalStore::Impl {
  StoreOptions opts;
  std::string dir;
  bool read_only = false;
  int lock_fd = -1;
  pid_t owner_pid = 0;  // the process that opened the store
  MDB_env* env = nullptr;
  MDB_dbi meta_dbi = 0, active_dbi = 0, history_dbi = 0;
  uint32_t format_version = 0;
  int readers_cleared = 0;
  std::pair<dev_t, ino_t> dir_id{};
  bool registered = false;
  // Held shared by every transaction of this process, exclusively while the
  // map is resized (LMDB forbids mdb_env_set_mapsize with live txns).
  // `gate` is taken around every acquisition so that a waiting resize is not
  // starved by a stream of readers (glibc rwlocks prefer readers).
  mutable std::shared_mutex map_mu;
  mutable std::mutex gate;
  std::shared_lock<std::shared_mutex> Shared() const {
    std::lock_guard<std::mutex> g(gate);
    return std::shared_lock<std::shared_mutex>(map_mu);
  }
  std::unique_lock<std::shared_mutex> Exclusive() const {
    std::lock_guard<std::mutex> g(gate);
    return std::unique_lock<std::shared_mutex>(map_mu);
  }
  std::mutex write_mu;  // serialises Write()
  // finished_us of every decodable history record, by id: loaded by the
  // first prune, then kept in step with committed writes (this process is
  // the only writer: writer.lock).
  using HistoryAges = std::map<uint64_t, int64_t>;
  std::optional<HistoryAges> history_finished;

  ~Impl();
  Status CheckPid() const;
  Status BeginRead(MDB_txn** txn, std::shared_lock<std::shared_mutex>* lk) const;
  Status OpenDatabases(MDB_txn* txn);
  Status List(MDB_dbi dbi, const char* table, std::vector<TxRecord>* out,
              std::vector<BadRecord>* bad) const;
  int Apply(MDB_txn* txn, WriteBatch* batch, std::optional<HistoryAges>* hist, std::string* what);
  int Prune(MDB_txn* txn, std::optional<HistoryAges>* hist, std::string* what);
  Status Grow();
};

JournalStore::Impl::~Impl() {
  // In a fork() child the environment belongs to the parent: closing it
  // here would clear the parent's reader slots in lock.mdb, so leak it.
  if (env && ::getpid() == owner_pid) mdb_env_close(env);
  if (registered) {
    std::lock_guard<std::mutex> g(g_open_mu);
    g_open.erase(dir_id);
  }
  if (lock_fd >= 0) ::close(lock_fd);
}

Status JournalStore::Impl::CheckPid() const {
  if (::getpid() == owner_pid) return Status::Ok();
  return Status(Code::kInvalidArgument, "journal " + dir + " was opened by pid " +
                                            std::to_string(owner_pid) +
                                            "; a fork() child must open its own store");
}

Status JournalStore::Impl::BeginRead(MDB_txn** txn, std::shared_lock<std::shared_mutex>* lk) const {
  if (Status s = CheckPid(); !s.ok()) return s;
  for (int i = 0; i < kMaxTries; i++) {
    *lk = Shared();
    int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, txn);
    if (rc == 0) return Status::Ok();
    lk->unlock();
    if (rc != MDB_MAP_RESIZED) return LmdbStatus(rc, "begin read transaction", dir);
    auto grow = Exclusive();
    rc = mdb_env_set_mapsize(env, 0);
    if (rc != 0) return LmdbStatus(rc, "adopt new map size", dir);
  }
  return Status(Code::kIoError,
                "begin read transaction in journal " + dir + ": map keeps resizing");
}

// Reads and validates meta; opens the three databases. `txn` is a write
// transaction when writable (creating everything on a brand-new env).
Status JournalStore::Impl::OpenDatabases(MDB_txn* txn) {
  MDB_dbi main_dbi;
  int rc = mdb_dbi_open(txn, nullptr, 0, &main_dbi);
  if (rc != 0) return LmdbStatus(rc, "open main database", dir);
  MDB_stat ms;
  rc = mdb_stat(txn, main_dbi, &ms);
  if (rc != 0) return LmdbStatus(rc, "stat main database", dir);
  const bool fresh = ms.ms_entries == 0;
  if (fresh && read_only) {
    return Status(Code::kNotFound,
                  "no fstx journal at " + dir + " (the LMDB environment is empty)");
  }
  if (!fresh) {
    MDB_val k = Val("meta"), v;
    rc = mdb_get(txn, main_dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
      return Status(
          Code::kCorruption,
          dir + " is not an fstx journal (an LMDB environment without a \"meta\" database)");
    }
    if (rc != 0) return LmdbStatus(rc, "look up meta", dir);
  }
  const unsigned create = read_only ? 0 : MDB_CREATE;
  rc = mdb_dbi_open(txn, "meta", create, &meta_dbi);
  if (rc == MDB_INCOMPATIBLE) {
    return Status(Code::kCorruption, dir + " is not an fstx journal (\"meta\" is not a database)");
  }
  if (rc != 0) return LmdbStatus(rc, "open meta database", dir);
  if (fresh) {
    std::string fmt = BeKey(kFormatVersion, 4), next = BeKey(1);
    MDB_val k1 = Val("magic"), v1 = Val(kMetaMagic), k2 = Val("format"), v2 = Val(fmt);
    MDB_val k3 = Val("next_id"), v3 = Val(next);
    if ((rc = mdb_put(txn, meta_dbi, &k1, &v1, 0)) != 0 ||
        (rc = mdb_put(txn, meta_dbi, &k2, &v2, 0)) != 0 ||
        (rc = mdb_put(txn, meta_dbi, &k3, &v3, 0)) != 0) {
      return LmdbStatus(rc, "initialise meta", dir);
    }
  } else {
    MDB_val k = Val("magic"), v;
    rc = mdb_get(txn, meta_dbi, &k, &v);
    if (rc != 0 && rc != MDB_NOTFOUND) return LmdbStatus(rc, "read meta magic", dir);
    if (rc == MDB_NOTFOUND || View(v) != kMetaMagic) {
      std::string got =
          rc == MDB_NOTFOUND ? "no magic" : "magic \"" + std::string(View(v).substr(0, 32)) + "\"";
      return Status(Code::kCorruption, dir + " is not an fstx journal (meta has " + got + ")");
    }
    k = Val("format");
    uint64_t fmt = 0;
    rc = mdb_get(txn, meta_dbi, &k, &v);
    if (rc != 0 || v.mv_size != 4 || !FromBe(v, &fmt)) {
      return Status(Code::kCorruption,
                    "journal " + dir + ": meta \"format\" is missing or malformed");
    }
    if (fmt > kFormatVersion) {
      return Status(Code::kNotSupported, "journal " + dir + " has format version " +
                                             std::to_string(fmt) +
                                             "; this fstx reads up to version " +
                                             std::to_string(kFormatVersion) + " (upgrade fstx)");
    }
    if (fmt != kFormatVersion) {
      return Status(Code::kCorruption,
                    "journal " + dir + ": unknown format version " + std::to_string(fmt));
    }
  }
  format_version = kFormatVersion;
  rc = mdb_dbi_open(txn, "active", create, &active_dbi);
  if (rc == 0) rc = mdb_dbi_open(txn, "history", create, &history_dbi);
  if (rc == MDB_NOTFOUND) {
    return Status(Code::kCorruption,
                  "journal " + dir + ": the active or history database is missing");
  }
  if (rc != 0) return LmdbStatus(rc, "open active/history databases", dir);
  return Status::Ok();
}

Result<std::unique_ptr<JournalStore>> JournalStore::Open(const StoreOptions& opts) {
  if (opts.dir.empty() || opts.dir[0] != '/') {
    return Status(Code::kInvalidArgument,
                  "journal directory must be an absolute path: \"" + opts.dir + "\"");
  }
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->dir = opts.dir;
  while (impl->dir.size() > 1 && impl->dir.back() == '/') impl->dir.pop_back();
  impl->opts.dir = impl->dir;
  impl->read_only = opts.read_only;
  impl->owner_pid = ::getpid();
  const std::string& dir = impl->dir;

  struct stat st;
  Status s = PrepareDir(impl->opts, &st);
  if (!s.ok()) return s;
  if (opts.read_only && ::access((dir + "/data.mdb").c_str(), F_OK) != 0) {
    return Status(Code::kNotFound, "no fstx journal at " + dir, ENOENT);
  }
  {
    std::lock_guard<std::mutex> g(g_open_mu);
    auto key = std::make_pair(st.st_dev, st.st_ino);
    auto it = g_open.find(key);
    if (it != g_open.end() && it->second == ::getpid()) {
      return Status(Code::kBusy, "journal " + dir + " is already open in this process (pid " +
                                     std::to_string(::getpid()) +
                                     "); LMDB allows one environment per process: share the store");
    }
    g_open[key] = ::getpid();
    impl->dir_id = key;
    impl->registered = true;
  }
  if (!opts.read_only) {
    s = LockWriter(dir, &impl->lock_fd);
    if (!s.ok()) return s;
  }

  int rc = mdb_env_create(&impl->env);
  if (rc != 0) return LmdbStatus(rc, "create environment", dir);
  uint64_t map = opts.initial_map_size ? opts.initial_map_size : (8ull << 20);
  if ((rc = mdb_env_set_maxdbs(impl->env, 4)) != 0 ||
      (rc = mdb_env_set_mapsize(impl->env, map)) != 0) {
    return LmdbStatus(rc, "configure environment", dir);
  }
  rc = mdb_env_open(impl->env, dir.c_str(), MDB_NOTLS | (opts.read_only ? MDB_RDONLY : 0), 0600);
  if (rc != 0) return LmdbStatus(rc, "open environment", dir);
  rc = mdb_reader_check(impl->env, &impl->readers_cleared);
  if (rc != 0) return LmdbStatus(rc, "check stale readers", dir);

  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(impl->env, nullptr, opts.read_only ? MDB_RDONLY : 0, &txn);
  if (rc == MDB_MAP_RESIZED) {
    mdb_env_set_mapsize(impl->env, 0);
    rc = mdb_txn_begin(impl->env, nullptr, opts.read_only ? MDB_RDONLY : 0, &txn);
  }
  if (rc != 0) return LmdbStatus(rc, "begin open transaction", dir);
  s = impl->OpenDatabases(txn);
  if (!s.ok()) {
    mdb_txn_abort(txn);
    return s;
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbStatus(rc, "commit open transaction", dir);
  return std::unique_ptr<JournalStore>(new JournalStore(std::move(impl)));
}

JournalStore::JournalStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JournalStore::~JournalStore() = default;

const std::string& JournalStore::dir() const {
  return impl_->dir;
}

// Doubles the map. Caller has no live transaction in this process.
Status JournalStore::Impl::Grow() {
  auto g = Exclusive();
  MDB_envinfo info;
  int rc = mdb_env_info(env, &info);
  if (rc != 0) return LmdbStatus(rc, "read map size", dir);
  uint64_t want = static_cast<uint64_t>(info.me_mapsize) * 2;
  if (want > kMaxMapSize) {
    return Status(Code::kNoSpace, "journal " + dir + " is full: map size " +
                                      std::to_string(info.me_mapsize) +
                                      " bytes cannot grow past 1 TiB");
  }
  rc = mdb_env_set_mapsize(env, want);
  if (rc != 0) return LmdbStatus(rc, "grow map to " + std::to_string(want) + " bytes", dir);
  return Status::Ok();
}

// Applies the batch inside `txn`; returns an LMDB code and names the step.
int JournalStore::Impl::Apply(MDB_txn* txn, WriteBatch* batch, std::optional<HistoryAges>* hist,
                              std::string* what) {
  MDB_val k = Val("next_id"), v;
  int rc = mdb_get(txn, meta_dbi, &k, &v);
  uint64_t next = 0;
  if (rc != 0 || v.mv_size != 8 || !FromBe(v, &next)) {
    *what = "read meta next_id";
    return rc != 0 ? rc : MDB_CORRUPTED;
  }
  const uint64_t first = next;
  for (TxRecord& r : batch->put_active) {
    if (r.id == 0) r.id = next++;
    if (r.id >= next) next = r.id + 1;  // caller-chosen id: never hand it out again
    std::string key = BeKey(r.id), val = EncodeRecord(r);
    MDB_val kk = Val(key), vv = Val(val);
    if ((rc = mdb_put(txn, active_dbi, &kk, &vv, 0)) != 0) {
      *what = "put active record " + std::to_string(r.id);
      return rc;
    }
  }
  for (const TxRecord& r : batch->to_history) {
    std::string key = BeKey(r.id), val = EncodeRecord(r);
    MDB_val kk = Val(key), vv = Val(val);
    rc = mdb_del(txn, active_dbi, &kk, nullptr);
    if (rc == 0 || rc == MDB_NOTFOUND) rc = mdb_put(txn, history_dbi, &kk, &vv, 0);
    if (rc != 0) {
      *what = "move record " + std::to_string(r.id) + " to history";
      return rc;
    }
    if (hist->has_value()) (**hist)[r.id] = r.finished_us;
    if (r.id >= next) next = r.id + 1;
  }
  if (next != first) {
    std::string nv = BeKey(next);
    MDB_val vv = Val(nv);
    if ((rc = mdb_put(txn, meta_dbi, &k, &vv, 0)) != 0) {
      *what = "update meta next_id";
      return rc;
    }
  }
  for (uint64_t id : batch->drop_active) {
    std::string key = BeKey(id);
    MDB_val kk = Val(key);
    rc = mdb_del(txn, active_dbi, &kk, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      *what = "drop active record " + std::to_string(id);
      return rc;
    }
  }
  return batch->to_history.empty() ? 0 : Prune(txn, hist, what);
}

// Bounds history by count (oldest ids first) and by age. Records that do
// not decode are never deleted here: they stay for the operator to see.
int JournalStore::Impl::Prune(MDB_txn* txn, std::optional<HistoryAges>* hist, std::string* what) {
  *what = "prune history";
  int rc = 0;
  if (!hist->has_value()) {
    HistoryAges ages;
    MDB_cursor* cur = nullptr;
    if ((rc = mdb_cursor_open(txn, history_dbi, &cur)) != 0) return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      TxRecord rec;
      uint64_t id = 0;
      if (k.mv_size == 8 && FromBe(k, &id) && DecodeRecord(View(v), &rec).ok())
        ages[id] = rec.finished_us;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) return rc;
    *hist = std::move(ages);
  }
  MDB_stat st;
  if ((rc = mdb_stat(txn, history_dbi, &st)) != 0) return rc;
  uint64_t total = st.ms_entries;
  const int64_t age_s = opts.history_max_age_s;
  const bool by_age = age_s > 0 && age_s < INT64_MAX / 1000000;
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t cutoff = by_age ? now_us - age_s * 1000000 : 0;
  HistoryAges& ages = **hist;
  for (auto it = ages.begin(); it != ages.end();) {
    if (total > opts.history_max_count || (by_age && it->second < cutoff)) {
      std::string key = BeKey(it->first);
      MDB_val kk = Val(key);
      rc = mdb_del(txn, history_dbi, &kk, nullptr);
      if (rc != 0 && rc != MDB_NOTFOUND) return rc;
      total--;
      it = ages.erase(it);
    } else {
      ++it;
    }
  }
  return 0;
}

Status JournalStore::Write(WriteBatch* batch) {
  Impl& m = *impl_;
  if (m.read_only) {
    return Status(Code::kPermission, "write to journal " + m.dir + ": the store is open read-only");
  }
  if (Status s = m.CheckPid(); !s.ok()) return s;
  if (batch->empty()) return Status::Ok();
  for (const TxRecord& r : batch->to_history) {
    if (r.id == 0)
      return Status(Code::kInvalidArgument,
                    "journal " + m.dir + ": to_history record without an id");
  }
  std::lock_guard<std::mutex> wl(m.write_mu);
  std::vector<size_t> unassigned;
  for (size_t i = 0; i < batch->put_active.size(); i++) {
    if (batch->put_active[i].id == 0) unassigned.push_back(i);
  }
  auto reset_ids = [&] {
    for (size_t i : unassigned) batch->put_active[i].id = 0;
  };
  for (int attempt = 0; attempt < kMaxTries; attempt++) {
    auto lk = m.Shared();
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(m.env, nullptr, 0, &txn);
    if (rc == MDB_MAP_RESIZED) {
      lk.unlock();
      auto g = m.Exclusive();
      if ((rc = mdb_env_set_mapsize(m.env, 0)) != 0)
        return LmdbStatus(rc, "adopt new map size", m.dir);
      continue;
    }
    if (rc != 0) return LmdbStatus(rc, "begin write transaction", m.dir);

    std::optional<Impl::HistoryAges> hist;
    if (!batch->to_history.empty()) hist = m.history_finished;
    std::string what;
    rc = m.Apply(txn, batch, &hist, &what);
    if (rc == 0 && m.opts.commit_hook) {
      Status hs = m.opts.commit_hook("journal.commit.before");
      if (!hs.ok()) {
        mdb_txn_abort(txn);
        reset_ids();
        return hs;
      }
    }
    if (rc == 0) {
      what = "commit";
      rc = mdb_txn_commit(txn);  // frees txn whatever the outcome
    } else {
      mdb_txn_abort(txn);
    }
    lk.unlock();
    if (rc == MDB_MAP_FULL) {
      reset_ids();
      Status gs = m.Grow();
      if (!gs.ok()) return gs;
      continue;
    }
    if (rc != 0) {
      reset_ids();
      return LmdbStatus(rc, what, m.dir);
    }
    if (hist.has_value()) m.history_finished = std::move(hist);
    if (m.opts.commit_hook) return m.opts.commit_hook("journal.commit.after");
    return Status::Ok();
  }
  reset_ids();
  return Status(Code::kNoSpace, "write to journal " + m.dir + ": still full after " +
                                    std::to_string(kMaxTries) + " attempts to grow the map");
}

Status JournalStore::ListActive(std::vector<TxRecord>* out, std::vector<BadRecord>* bad) const {
  return impl_->List(impl_->active_dbi, "active", out, bad);
}

Status JournalStore::ListHistory(std::vector<TxRecord>* out, std::vector<BadRecord>* bad) const {
  return impl_->List(impl_->history_dbi, "history", out, bad);
}

Status JournalStore::Impl::List(MDB_dbi dbi, const char* table, std::vector<TxRecord>* out,
                                std::vector<BadRecord>* bad) const {
  out->clear();
  if (bad) bad->clear();
  MDB_txn* txn = nullptr;
  std::shared_lock<std::shared_mutex> lk;
  Status s = BeginRead(&txn, &lk);
  if (!s.ok()) return s;
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn, dbi, &cur);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return LmdbStatus(rc, std::string("open cursor on ") + table, dir);
  }
  MDB_val k, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    uint64_t id = 0;
    TxRecord rec;
    Status ds =
        FromBe(k, &id) && k.mv_size == 8
            ? DecodeRecord(View(v), &rec)
            : Status(Code::kCorruption, "key is " + std::to_string(k.mv_size) + " bytes, not 8");
    if (ds.ok()) {
      out->push_back(std::move(rec));
    } else if (bad) {
      bad->push_back(
          BadRecord{table, id, ds.Annotate(std::string(table) + " record " + std::to_string(id))});
    }
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  if (rc != MDB_NOTFOUND) return LmdbStatus(rc, std::string("read ") + table, dir);
  return Status::Ok();
}

Status JournalStore::Get(uint64_t id, TxRecord* out, bool* in_history) const {
  MDB_txn* txn = nullptr;
  std::shared_lock<std::shared_mutex> lk;
  Status s = impl_->BeginRead(&txn, &lk);
  if (!s.ok()) return s;
  std::string key = BeKey(id);
  for (int h = 0; h < 2; h++) {
    MDB_val k = Val(key), v;
    int rc = mdb_get(txn, h ? impl_->history_dbi : impl_->active_dbi, &k, &v);
    if (rc == MDB_NOTFOUND) continue;
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbStatus(rc, "read record " + std::to_string(id), impl_->dir);
    }
    s = DecodeRecord(View(v), out);
    mdb_txn_abort(txn);
    if (!s.ok())
      return s.Annotate(std::string(h ? "history" : "active") + " record " + std::to_string(id));
    if (in_history) *in_history = h == 1;
    return Status::Ok();
  }
  mdb_txn_abort(txn);
  return Status(Code::kNotFound,
                "no transaction " + std::to_string(id) + " in journal " + impl_->dir);
}

Status JournalStore::Stats(StoreStats* out) const {
  MDB_txn* txn = nullptr;
  std::shared_lock<std::shared_mutex> lk;
  Status s = impl_->BeginRead(&txn, &lk);
  if (!s.ok()) return s;
  MDB_envinfo info;
  MDB_stat est, ast, hst;
  int rc = mdb_env_info(impl_->env, &info);
  if (rc == 0) rc = mdb_env_stat(impl_->env, &est);
  if (rc == 0) rc = mdb_stat(txn, impl_->active_dbi, &ast);
  if (rc == 0) rc = mdb_stat(txn, impl_->history_dbi, &hst);
  uint64_t next = 0;
  if (rc == 0) {
    MDB_val k = Val("next_id"), v;
    rc = mdb_get(txn, impl_->meta_dbi, &k, &v);
    if (rc == 0 && (v.mv_size != 8 || !FromBe(v, &next))) rc = MDB_CORRUPTED;
  }
  mdb_txn_abort(txn);
  if (rc != 0) return LmdbStatus(rc, "read statistics", impl_->dir);
  *out = StoreStats{};
  out->map_size = info.me_mapsize;
  out->used_bytes = (static_cast<uint64_t>(info.me_last_pgno) + 1) * est.ms_psize;
  out->active = ast.ms_entries;
  out->history = hst.ms_entries;
  out->next_id = next;
  out->format_version = impl_->format_version;
  out->readers_cleared = impl_->readers_cleared;
  return Status::Ok();
}

}  // namespace fstx
