// store.h — the LMDB environment that holds the journal.
//
// One directory (created with mode 0700; a directory that group or others
// can write is refused) holding LMDB's data.mdb/lock.mdb and writer.lock.
// Named databases: "meta" (magic, format version, next transaction id),
// "active" (unfinished transactions) and "history" (finished ones, bounded
// by count, bytes and age). Keys of active/history are the 8-byte big-endian id.
//
// Write() is the only mutator: one LMDB write transaction, durable when it
// returns (never MDB_NOSYNC / MDB_WRITEMAP). It is Commit() then Sync():
// LMDB syncs the data pages, writes the meta page unsynced
// (MDB_NOMETASYNC, which LMDB documents as keeping the file whole), and
// Sync() flushes it after LMDB's writer lock is released, so concurrent
// writers overlap their syncs. MDB_MAP_FULL grows the map (doubling) and
// retries. mdb_reader_check runs at open.
//
// Writers: a store opened for writing holds flock(LOCK_SH) on writer.lock
// for its lifetime and writes its pid there (the last writer's pid is what
// `fstx status` shows). Many processes may write one journal at once: LMDB
// serialises their write transactions (its lock.mdb mutex); ids come from
// meta inside each write. Read-only opens take no lock.
//
// Open refuses what it cannot trust, before LMDB maps anything: a file in
// the directory that is a symlink (kPermission) or not a regular file
// (kCorruption); a data.mdb whose meta pages or reachable pages are damaged
// or lie past its end (kCorruption naming the file and the problem: LMDB
// would fault on it); an unreadable one is kPermission, not kNotFound; and
// a meta next_id that is 0, the largest u64 or not above the id of every
// record (kCorruption). Write never hands out an id a stored record holds.
// A writer's open checks every page; a read-only open only what Stats and
// ListActive read (all but the free list and most of "history", so that it
// costs nothing per history record). A read-only store checks the rest of
// "history" once, before the first ListHistory or Get that reads there:
// a damaged history page makes those kCorruption, as Open would have.
// A short write on a full filesystem (LMDB's EIO) is kNoSpace.
//
// Thread safety: all methods may be called concurrently; writes serialise.
// LMDB rule: do not use a store across fork(); the child opens its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fstx/inspect.h"
#include "fstx/status.h"
#include "journal/record.h"

namespace fstx {

struct StoreOptions {
  std::string dir;
  bool read_only = false;
  uint64_t initial_map_size = 8ull << 20;
  uint64_t history_max_count = 1000;     // 0 = keep none
  int64_t history_max_age_s = 30 * 86400;
  // Bound on the pages history occupies (LMDB's own count, mdb_stat).
  uint64_t history_max_bytes = 256ull << 20;
  // How long Open waits for writer.lock while someone holds it exclusively
  // (writers share it; `fstx status` probes it exclusively for a moment).
  int64_t lock_wait_ms = 5000;
  // Called with "journal.commit.before" before the LMDB commit and
  // "journal.commit.after" after it is durable (after Sync()). A non-ok status from "before" aborts
  // the write (nothing changes) and is returned; from "after" it is
  // returned (the write is durable). Used by fault injection.
  std::function<Status(std::string_view point)> commit_hook;
};

// One atomic, durable change to the journal.
struct WriteBatch {
  // Inserted or overwritten in "active". A record with id 0 gets the next
  // id from meta; Write() stores it back into the record.
  std::vector<TxRecord> put_active;
  // Deleted from "active" (if there) and stored in "history". The caller
  // sets state (kDone / kAborted) and finished_us.
  std::vector<TxRecord> to_history;
  // Deleted from "active" without a history entry (operator 'forget').
  std::vector<uint64_t> drop_active;
  // Set to state committed if still in "active" in state prepared, checked
  // inside the write (another process may finish them meanwhile): records
  // of a live process whose paths the writer holds, i.e. past their
  // commit point (see Journal::Impl::RecoverOverlapping).
  std::vector<uint64_t> mark_committed;
  // Appends `o`'s entries (group commit: many batches, one LMDB commit).
  void Append(const WriteBatch& o) {
    put_active.insert(put_active.end(), o.put_active.begin(), o.put_active.end());
    to_history.insert(to_history.end(), o.to_history.begin(), o.to_history.end());
    drop_active.insert(drop_active.end(), o.drop_active.begin(), o.drop_active.end());
    mark_committed.insert(mark_committed.end(), o.mark_committed.begin(), o.mark_committed.end());
  }
  bool empty() const {
    return put_active.empty() && to_history.empty() && drop_active.empty() && mark_committed.empty();
  }
};

// A stored value that failed to decode: BadRecord (fstx/inspect.h).

struct StoreStats {
  uint64_t map_size = 0;
  uint64_t used_bytes = 0;  // last page used * page size
  uint64_t active = 0;
  uint64_t history = 0;
  uint64_t next_id = 0;
  uint32_t format_version = 0;
  int readers_cleared = 0;  // stale reader slots cleared at open
};

class JournalStore {
 public:
  static Result<std::unique_ptr<JournalStore>> Open(const StoreOptions& opts);
  ~JournalStore();
  JournalStore(const JournalStore&) = delete;
  JournalStore& operator=(const JournalStore&) = delete;

  const std::string& dir() const;

  // Commit() then Sync(): the batch is durable on success.
  Status Write(WriteBatch* batch);
  // The batch, committed atomically and visible to every reader, but not
  // durable until a Sync() that starts after it returns (a power loss may
  // undo it; never half of it). Ids handed out stay in *batch when it
  // succeeds. On failure nothing changed.
  Status Commit(WriteBatch* batch);
  // Makes every commit that returned before it durable.
  Status Sync();

  // Every record in "active" (or "history"), ordered by id. Records that
  // fail to decode are not returned as records but listed in *bad.
  Status ListActive(std::vector<TxRecord>* out, std::vector<BadRecord>* bad) const {
    return ListActive(out, bad, {});
  }
  // The same without the records whose id `skip` returns true for: they
  // are not decoded (a writer leaves out its own, which it knows).
  Status ListActive(std::vector<TxRecord>* out, std::vector<BadRecord>* bad,
                    const std::function<bool(uint64_t id)>& skip) const;
  Status ListHistory(std::vector<TxRecord>* out, std::vector<BadRecord>* bad) const;
  // Looks in active, then history. kNotFound if neither has it.
  Status Get(uint64_t id, TxRecord* out, bool* in_history) const;
  // The stored bytes of active record `id`, decoded or not (kNotFound if
  // there is none): what `fstx resolve --abandon` saves of an unreadable one.
  Status GetActiveRaw(uint64_t id, std::string* bytes) const;
  Status Stats(StoreStats* out) const;

 private:
  struct Impl;
  explicit JournalStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fstx
