// store_impl.h — internal: the state behind a JournalStore (store.h), shared
// by store_open.cc (directory checks, writer lock, per-process registry,
// Open) and store.cc (reads, writes, map growth, history pruning). Not part
// of the public contract; include it only from those two files.
//
// JournalStore::Impl is bound to the pid that opened it: every public call
// first checks CheckPid(), which fails with kInvalidArgument in a fork()
// child. The destructor (store_open.cc) closes the LMDB environment only in
// the opening process, leaves the per-process registry and drops
// writer.lock.
//
// Thread safety: map_mu (taken through Shared()/Exclusive()) keeps
// mdb_env_set_mapsize away from live transactions of this process;
// write_mu serialises writers. The fields set by Open are immutable after.
//
// The helpers below: LMDB key/value conversions and LMDB error -> Status
// (kNoSpace for a full map or disk, kPermission for EACCES/EROFS/EPERM,
// kCorruption for LMDB's own corruption codes, kIoError otherwise), each
// message naming the step and the journal; WriteStatus also looks at the
// journal filesystem's free space (statvfs) to tell a short write (EIO)
// on a full disk from an I/O error.
#pragma once

#include <lmdb.h>
#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "journal/store.h"

namespace fstx {

namespace store_detail {

// `v` as a `bytes`-long big-endian key (LMDB orders keys bytewise).
inline std::string BeKey(uint64_t v, int bytes = 8) {
  std::string s(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; i--, v >>= 8)
    s[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

// Decodes a 4- or 8-byte big-endian value; false for any other size.
inline bool FromBe(const MDB_val& v, uint64_t* out) {
  if (v.mv_size != 8 && v.mv_size != 4) return false;
  const auto* p = static_cast<const unsigned char*>(v.mv_data);
  uint64_t x = 0;
  for (size_t i = 0; i < v.mv_size; i++) x = (x << 8) | p[i];
  *out = x;
  return true;
}

inline MDB_val Val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view View(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// LMDB error -> Status, naming the step and the journal.
inline Status LmdbStatus(int rc, const std::string& what, const std::string& dir) {
  std::string msg = what + " in journal " + dir + ": " + mdb_strerror(rc);
  if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT)
    return Status(Code::kNoSpace, msg, rc > 0 ? rc : 0);
  if (rc == EACCES || rc == EROFS || rc == EPERM) return Status(Code::kPermission, msg, rc);
  if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
      rc == MDB_PAGE_NOTFOUND) {
    return Status(Code::kCorruption, msg);
  }
  return Status(Code::kIoError, msg, rc > 0 ? rc : 0);
}

// A failed LMDB write, `bytes` being about what it tried to add. LMDB
// reports a short write as EIO (mdb.c, mdb_page_flush: "short write,
// filesystem full?"; the meta write in mdb_env_write_meta likewise): a
// write(2) that runs out of space part-way returns a short count, not
// ENOSPC. So an EIO while the journal's filesystem has less room left than
// that write (plus a margin for LMDB's page runs) is kNoSpace.
Status WriteStatus(int rc, const std::string& what, const std::string& dir, uint64_t bytes);

}  // namespace store_detail

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
  // The open check (store_open.cc, DataFileCheck): the snapshot it covered
  // and how many records at the end of "history" (all for a writer). A
  // read-only store reads further into history only once history_checked:
  // BeginHistoryRead / CheckHistory.
  uint64_t checked_txnid = 0;
  uint64_t history_tail = UINT64_MAX;
  mutable std::atomic<bool> history_checked{false};
  mutable std::mutex history_mu;  // one CheckHistory at a time
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
  mutable std::mutex write_mu;  // serialises Write() (and CatchUp())
  Status CatchUp() const;
  ~Impl();                                   // store_open.cc
  // store_open.cc: the steps of Open.
  Status Register(const struct stat& st);
  Status OpenEnvironment(const struct stat* checked_data);
  Status OpenTables();
  Status CheckOpenSnapshot(MDB_txn* txn);
  Status OpenDatabases(MDB_txn* txn);
  Status ProbeFresh(MDB_txn* txn, bool* fresh);
  Status InitMeta(MDB_txn* txn);
  Status CheckMeta(MDB_txn* txn);
  Status CheckNextId(MDB_txn* txn);
  Status LastGoodId(MDB_txn* txn, MDB_dbi dbi, const char* table, uint64_t* top, bool* found);
  Status CheckHistory(MDB_txn* txn) const;   // store_open.cc
  Status CheckPid() const;                   // the rest: store.cc
  Status CheckWritable(const char* what) const;  // not read-only, and CheckPid
  Status BeginRead(MDB_txn** txn, std::shared_lock<std::shared_mutex>* lk) const;
  Status BeginHistoryRead(MDB_txn** txn, std::shared_lock<std::shared_mutex>* lk) const;
  Status Lookup(uint64_t id, bool with_history, TxRecord* out, bool* in_history) const;
  // `skip`, if set, names ids whose records are neither decoded nor listed.
  Status List(MDB_dbi dbi, const char* table, std::vector<TxRecord>* out,
              std::vector<BadRecord>* bad, const std::function<bool(uint64_t)>& skip = {}) const;
  int Apply(MDB_txn* txn, WriteBatch* batch, std::string* what, uint64_t* bytes);
  int MarkCommitted(MDB_txn* txn, const std::vector<uint64_t>& ids, std::string* what);
  int Prune(MDB_txn* txn, std::string* what);
  Status Grow();
};

}  // namespace fstx
