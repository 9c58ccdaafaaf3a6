// store_open.cc — opening a journal store (store.h): everything up to the
// first usable JournalStore, and its teardown.
//
// Open: check/create the directory (mode 0700, owned by this user or root,
// not a symlink, not writable by group or others), refuse a second open of
// the same directory in this process, take writer.lock (writers only),
// open LMDB, clear stale readers, open or initialise the "meta" / "active" /
// "history" databases and refuse anything that is not an fstx journal.
//
// Beyond store.h: a process-wide registry refuses (kBusy) a second open of
// the same journal directory in one process, read-only or not, because
// LMDB breaks if one process opens an environment twice. Entries inherited
// across fork() belong to the parent and do not block the child.
#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>
#include <utility>

#include "journal/codec.h"
#include "journal/store.h"
#include "journal/store_impl.h"

namespace fstx {

using store_detail::BeKey;
using store_detail::FromBe;
using store_detail::LmdbStatus;
using store_detail::Val;
using store_detail::View;

namespace {

constexpr std::string_view kMetaMagic = "fstx-journal";

std::string Octal(mode_t m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0%o", static_cast<unsigned>(m & 07777));
  return buf;
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

}  // namespace

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
    if (fmt < kOldestFormatVersion) {
      return Status(Code::kCorruption,
                    "journal " + dir + ": unknown format version " + std::to_string(fmt));
    }
    format_version = static_cast<uint32_t>(fmt);
    // An older journal is upgraded in place by the first writer: its
    // records stay readable (FORMAT.md "Versions"), new ones are written in
    // the current version, and the meta key says so from now on.
    if (fmt < kFormatVersion && !read_only) {
      std::string now = BeKey(kFormatVersion, 4);
      MDB_val kf = Val("format"), vf = Val(now);
      rc = mdb_put(txn, meta_dbi, &kf, &vf, 0);
      if (rc != 0) return LmdbStatus(rc, "upgrade meta format", dir);
      format_version = kFormatVersion;
    }
  }
  if (fresh) format_version = kFormatVersion;
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

}  // namespace fstx
