// store.cc — reading and writing an open journal store (store.h); opening
// it lives in store_open.cc, the shared state in store_impl.h.
//
// Write: one LMDB write transaction per batch, retried after growing the
// map on MDB_MAP_FULL. Reads: MDB_RDONLY transactions (MDB_NOTLS, so many
// threads may read at once). A shared_mutex keeps mdb_env_set_mapsize away
// from live transactions of this process, as LMDB requires.
//
// A store is bound to the pid that opened it: in a fork() child every call
// returns kInvalidArgument. history_max_age_s <= 0 disables the age bound.
#include <lmdb.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
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

constexpr uint64_t kMaxMapSize = 1ull << 40;
constexpr int kMaxTries = 40;
// Room for LMDB's own pages around a write: branch pages, the free list,
// one run of MDB_COMMIT_PAGES (64) pages.
constexpr uint64_t kWriteMargin = 1ull << 20;

}  // namespace

namespace store_detail {

Status WriteStatus(int rc, const std::string& what, const std::string& dir, uint64_t bytes) {
  if (rc != EIO) return LmdbStatus(rc, what, dir);
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) != 0) return LmdbStatus(rc, what, dir);
  // Root may use the blocks reserved for it (ext4's 5%); others may not.
  const uint64_t blocks = ::geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail;
  const uint64_t free_bytes = blocks * vfs.f_frsize;
  if (free_bytes >= bytes + kWriteMargin) return LmdbStatus(rc, what, dir);
  return Status(Code::kNoSpace,
                what + " in journal " + dir + ": no space left on the journal's filesystem (" +
                    std::to_string(free_bytes) + " bytes free, the write needed about " +
                    std::to_string(bytes) + "; LMDB reports the short write as EIO)",
                ENOSPC);
}

}  // namespace store_detail

Status JournalStore::Impl::CheckPid() const {
  if (::getpid() == owner_pid) return Status::Ok();
  return Status(Code::kInvalidArgument, "journal " + dir + " was opened by pid " +
                                            std::to_string(owner_pid) +
                                            "; a fork() child must open its own store");
}

Status JournalStore::Impl::CheckWritable(const char* what) const {
  if (read_only)
    return Status(Code::kPermission, std::string(what) + " journal " + dir + ": the store is open read-only");
  return CheckPid();
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

// A read transaction that may read all of "history": on a read-only store
// CheckHistory covers its snapshot first (once per open; store_open.cc).
Status JournalStore::Impl::BeginHistoryRead(MDB_txn** txn, std::shared_lock<std::shared_mutex>* lk) const {
  Status s;
  for (int i = 0; i < kMaxTries; i++) {
    if (!(s = BeginRead(txn, lk)).ok()) return s;
    if ((s = CheckHistory(*txn)).ok()) return s;
    mdb_txn_abort(*txn);
    lk->unlock();
    if (s.code() != Code::kBusy) return s;  // kBusy: the snapshot was replaced; begin anew
  }
  return s;
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
int JournalStore::Impl::Apply(MDB_txn* txn, WriteBatch* batch, std::string* what, uint64_t* bytes) {
  MDB_val k = Val("next_id"), v;
  int rc = mdb_get(txn, meta_dbi, &k, &v);
  uint64_t next = 0;
  if (rc != 0 || v.mv_size != 8 || !FromBe(v, &next) || next == 0 || next == UINT64_MAX) {
    *what = "read meta next_id (" + std::to_string(next) + ")";
    return rc != 0 ? rc : MDB_CORRUPTED;
  }
  const uint64_t first = next;
  for (TxRecord& r : batch->put_active) {
    if (r.id == 0) {
      // A fresh id must be free in both tables: meta next_id may be behind
      // a record that does not decode (the open check only counts records
      // that do), and such a record must never be overwritten.
      for (MDB_dbi dbi : {active_dbi, history_dbi}) {
        std::string key = BeKey(next);
        MDB_val kk = Val(key), vv;
        rc = mdb_get(txn, dbi, &kk, &vv);
        if (rc == 0) {
          *what = "assign id " + std::to_string(next) + ": a stored " +
                  (dbi == active_dbi ? "active" : "history") +
                  " record already has it (meta next_id is behind)";
          return MDB_CORRUPTED;
        }
        if (rc != MDB_NOTFOUND) {
          *what = "look up id " + std::to_string(next);
          return rc;
        }
      }
      r.id = next++;
    }
    if (r.id == UINT64_MAX || next == UINT64_MAX) {  // ids exhausted: never wrap to 0
      *what = "assign id " + std::to_string(r.id) + " (ids exhausted)";
      return MDB_CORRUPTED;
    }
    if (r.id >= next) next = r.id + 1;  // caller-chosen id: never hand it out again
    std::string key = BeKey(r.id), val = EncodeRecord(r);
    *bytes += key.size() + val.size();
    MDB_val kk = Val(key), vv = Val(val);
    if ((rc = mdb_put(txn, active_dbi, &kk, &vv, 0)) != 0) {
      *what = "put active record " + std::to_string(r.id);
      return rc;
    }
  }
  for (const TxRecord& r : batch->to_history) {
    // History keeps what the operator needs, not the written content.
    TxRecord slim = r;
    StripContent(&slim);
    std::string key = BeKey(r.id), val = EncodeRecord(slim);
    *bytes += key.size() + val.size();
    MDB_val kk = Val(key), vv = Val(val);
    rc = mdb_del(txn, active_dbi, &kk, nullptr);
    if (rc == 0 || rc == MDB_NOTFOUND) rc = mdb_put(txn, history_dbi, &kk, &vv, 0);
    if (rc != 0) {
      *what = "move record " + std::to_string(r.id) + " to history";
      return rc;
    }
    if (r.id == UINT64_MAX) {
      *what = "move record " + std::to_string(r.id) + " to history (ids exhausted)";
      return MDB_CORRUPTED;
    }
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
  if ((rc = MarkCommitted(txn, batch->mark_committed, what)) != 0) return rc;
  return batch->to_history.empty() ? 0 : Prune(txn, what);
}

int JournalStore::Impl::MarkCommitted(MDB_txn* txn, const std::vector<uint64_t>& ids, std::string* what) {
  for (uint64_t id : ids) {
    std::string key = BeKey(id);
    MDB_val kk = Val(key), vv;
    int rc = mdb_get(txn, active_dbi, &kk, &vv);
    if (rc == MDB_NOTFOUND) continue;  // finished meanwhile
    if (rc != 0) {
      *what = "read active record " + std::to_string(id) + " to mark it committed";
      return rc;
    }
    TxRecord r;
    // One that does not decode is left for an operator, as it is.
    if (!DecodeRecord(View(vv), &r).ok() || r.state != TxState::kPrepared) continue;
    r.state = TxState::kCommitted;
    std::string val = EncodeRecord(r);
    vv = Val(val);
    if ((rc = mdb_put(txn, active_dbi, &kk, &vv, 0)) != 0) {
      *what = "mark record " + std::to_string(id) + " committed";
      return rc;
    }
  }
  return 0;
}

// Bounds history by count, bytes and age, oldest ids first, at most
// kPruneMax deletions per write (a lowered bound is reached over the next
// writes): the cost is that of the records deleted, never of the whole
// history. A write that finds history over its count or byte bound prunes
// it to a sixteenth below the bound (at most 64 records, 4 MiB), so that a
// full history is pruned once every few dozen writes, not by one record
// (and one more leaf page to write) on every write. The age bound stops at
// the first record young enough (ids follow start order, so a long
// transaction may keep an older neighbour behind it a little longer). Records that do not decode are never deleted
// here: they stay for the operator to see.
int JournalStore::Impl::Prune(MDB_txn* txn, std::string* what) {
  constexpr int kPruneMax = 10000;
  *what = "prune history";
  MDB_stat st;
  int rc = mdb_stat(txn, history_dbi, &st);
  if (rc != 0) return rc;
  auto bytes = [](const MDB_stat& s) {
    return (s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages) * uint64_t{s.ms_psize};
  };
  uint64_t total = st.ms_entries;
  const uint64_t low_count = opts.history_max_count - std::min<uint64_t>(64, opts.history_max_count / 16);
  const uint64_t low_bytes = opts.history_max_bytes - std::min<uint64_t>(4ull << 20, opts.history_max_bytes / 16);
  const bool high = total > opts.history_max_count || bytes(st) > opts.history_max_bytes;
  const int64_t age_s = opts.history_max_age_s;
  const bool by_age = age_s > 0 && age_s < INT64_MAX / 1000000;
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t cutoff = by_age ? now_us - age_s * 1000000 : 0;
  MDB_cursor* cur = nullptr;
  if ((rc = mdb_cursor_open(txn, history_dbi, &cur)) != 0) return rc;
  MDB_val k, v;
  int deleted = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && deleted < kPruneMax;) {
    const bool over = high && (total > low_count || bytes(st) > low_bytes);
    TxRecord rec;
    uint64_t id = 0;
    const bool decodes = k.mv_size == 8 && FromBe(k, &id) && DecodeRecord(View(v), &rec).ok();
    if (!decodes) {
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      continue;
    }
    if (!over && !(by_age && rec.finished_us < cutoff)) break;
    if ((rc = mdb_cursor_del(cur, 0)) != 0) break;
    total--, deleted++;
    if (opts.history_max_bytes != UINT64_MAX && (rc = mdb_stat(txn, history_dbi, &st)) != 0) break;
    const std::string after = BeKey(id + 1);
    k = Val(after);
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

Status JournalStore::Write(WriteBatch* batch) {
  Status s = Commit(batch);
  return s.ok() ? Sync() : s;
}

// The meta page of a commit is written without a sync (MDB_NOMETASYNC, set
// after open): LMDB still syncs the data pages before writing it, so the
// file always holds a whole commit, the new one or the one before. Sync()
// makes it durable, outside LMDB's writer lock, so that another process (or
// this process's next group) writes its commit while this one syncs, and
// one sync can cover several commits.
Status JournalStore::Sync() {
  Impl& m = *impl_;
  if (Status s = m.CheckWritable("sync"); !s.ok()) return s;
  int rc = mdb_env_sync(m.env, 1);
  if (rc != 0) return store_detail::WriteStatus(rc, "sync", m.dir, 0);
  if (m.opts.commit_hook) return m.opts.commit_hook("journal.commit.after");
  return Status::Ok();
}

Status JournalStore::Commit(WriteBatch* batch) {
  Impl& m = *impl_;
  if (Status s = m.CheckWritable("write to"); !s.ok()) return s;
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

    std::string what;
    uint64_t bytes = 0;
    rc = m.Apply(txn, batch, &what, &bytes);
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
      return store_detail::WriteStatus(rc, what, m.dir, bytes);
    }
    return Status::Ok();
  }
  reset_ids();
  return Status(Code::kNoSpace, "write to journal " + m.dir + ": still full after " +
                                    std::to_string(kMaxTries) + " attempts to grow the map");
}

Status JournalStore::ListActive(std::vector<TxRecord>* out, std::vector<BadRecord>* bad,
                                const std::function<bool(uint64_t id)>& skip) const {
  if (Status s = impl_->CatchUp(); !s.ok()) return s;
  return impl_->List(impl_->active_dbi, "active", out, bad, skip);
}

// LMDB publishes a commit to other processes' readers (mti_txnid in
// lock.mdb) just after its meta page reaches data.mdb. A process killed
// between the two leaves a commit that is in the file but that readers do
// not see until the next write transaction repairs the lock region (its
// robust mutex reports the dead owner; mdb_mutex_failed re-reads the
// newest meta). A reader that must see every record a dead process wrote
// (recovery, a transaction checking for others on its paths) compares the
// newest meta in the file with the published txnid and, if the file is
// ahead, opens and aborts a write transaction first.
Status JournalStore::Impl::CatchUp() const {
  if (read_only) return Status::Ok();
  MDB_txn* txn = nullptr;
  std::shared_lock<std::shared_mutex> lk;
  if (Status s = BeginRead(&txn, &lk); !s.ok()) return s;
  const uint64_t published = mdb_txn_id(txn);  // mti_txnid: what readers see
  mdb_txn_abort(txn);
  MDB_envinfo info;  // me_last_txnid: the newest meta page in the map
  if (mdb_env_info(env, &info) != 0 || static_cast<uint64_t>(info.me_last_txnid) <= published) return Status::Ok();
  lk.unlock();
  std::lock_guard<std::mutex> wl(write_mu);
  auto w = Shared();
  int rc = mdb_txn_begin(env, nullptr, 0, &txn);
  if (rc == MDB_MAP_RESIZED) return Status::Ok();  // the next read adopts the new size first
  if (rc != 0) return LmdbStatus(rc, "begin write transaction (catching up with a dead writer's commit)", dir);
  mdb_txn_abort(txn);
  return Status::Ok();
}

Status JournalStore::ListHistory(std::vector<TxRecord>* out, std::vector<BadRecord>* bad) const {
  return impl_->List(impl_->history_dbi, "history", out, bad);
}

Status JournalStore::Impl::List(MDB_dbi dbi, const char* table, std::vector<TxRecord>* out,
                                std::vector<BadRecord>* bad, const std::function<bool(uint64_t)>& skip) const {
  out->clear();
  if (bad) bad->clear();
  MDB_txn* txn = nullptr;
  std::shared_lock<std::shared_mutex> lk;
  Status s = dbi == history_dbi ? BeginHistoryRead(&txn, &lk) : BeginRead(&txn, &lk);
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
    if (skip && k.mv_size == 8 && FromBe(k, &id) && skip(id)) continue;
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

// History is read only on a miss in active while a read-only store has not
// checked it yet (BeginHistoryRead); that second look-up reads both tables
// again, as the transaction may have finished in between.
Status JournalStore::Get(uint64_t id, TxRecord* out, bool* in_history) const {
  const bool both = impl_->history_checked.load();
  Status s = impl_->Lookup(id, both, out, in_history);
  if (both || s.code() != Code::kNotFound) return s;
  return impl_->Lookup(id, true, out, in_history);
}

Status JournalStore::Impl::Lookup(uint64_t id, bool with_history, TxRecord* out, bool* in_history) const {
  MDB_txn* txn = nullptr;
  std::shared_lock<std::shared_mutex> lk;
  Status s = with_history ? BeginHistoryRead(&txn, &lk) : BeginRead(&txn, &lk);
  if (!s.ok()) return s;
  std::string key = BeKey(id);
  for (int h = 0; h < (with_history ? 2 : 1); h++) {
    MDB_val k = Val(key), v;
    int rc = mdb_get(txn, h ? history_dbi : active_dbi, &k, &v);
    if (rc == MDB_NOTFOUND) continue;
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbStatus(rc, "read record " + std::to_string(id), dir);
    }
    s = DecodeRecord(View(v), out);
    mdb_txn_abort(txn);
    if (!s.ok())
      return s.Annotate(std::string(h ? "history" : "active") + " record " + std::to_string(id));
    if (in_history) *in_history = h == 1;
    return Status::Ok();
  }
  mdb_txn_abort(txn);
  return Status(Code::kNotFound, "no transaction " + std::to_string(id) + " in journal " + dir);
}

Status JournalStore::GetActiveRaw(uint64_t id, std::string* bytes) const {
  MDB_txn* txn = nullptr;
  std::shared_lock<std::shared_mutex> lk;
  Status s = impl_->BeginRead(&txn, &lk);
  if (!s.ok()) return s;
  std::string key = BeKey(id);
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn, impl_->active_dbi, &k, &v);
  if (rc == 0) bytes->assign(View(v));
  mdb_txn_abort(txn);
  if (rc == MDB_NOTFOUND)
    return Status(Code::kNotFound, "no unfinished transaction " + std::to_string(id) + " in journal " + impl_->dir);
  if (rc != 0) return LmdbStatus(rc, "read record " + std::to_string(id), impl_->dir);
  return Status::Ok();
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
