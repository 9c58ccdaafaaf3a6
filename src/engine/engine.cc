// The transaction engine: Journal and Transaction (include/fstx/fstx.h).
//
// Commit protocol (README "On-disk guarantees"):
//   1. lock the paths, validate, capture fingerprints (plan.h);
//   2. one synced journal commit of the `prepared` record;
//   3. apply the ops in order, with a barrier only where an op depends on
//      an earlier one (barrier.h);
//   4. final barrier: fsync each touched directory once — the commit point;
//   5. delete staging objects; record completion lazily.
// Lazy completion: the `committed` state rides along with the next journal
// write; `done` (the move to history) once the staging deletions are
// durable, i.e. after some later barrier synced those directories, and
// eight such are ready (or Flush()). Until then the record stays in
// `active` and recovery would finish it forward.
#include <spdlog/spdlog.h>

#include <climits>
#include <cstdlib>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "fstx/fstx.h"
#include "journal/codec.h"
#include "journal/names.h"
#include "journal/store.h"
#include "recovery/abandon.h"
#include "recovery/recover.h"
#include "src/ops/barrier.h"
#include "src/fs/hash.h"
#include "src/engine/locks.h"
#include "src/ops/ops.h"
#include "src/ops/owner.h"
#include "src/fs/paths.h"
#include "src/fs/resolve.h"
#include "src/ops/plan.h"
#include "src/ops/planted.h"
#include "src/ops/stage.h"
#include "src/engine/content.h"
#include "src/engine/inspect_impl.h"
#include "src/engine/log_sink.h"
#include "src/engine/testing.h"

namespace fstx {

std::string ContentHash(std::string_view data) { return hash::ToText(hash::Raw(data)); }

const char* Version() { return FSTX_VERSION_STRING; }

const char* decision_name(Decision d) {
  switch (d) {
    case Decision::kRolledForward: return "rolled-forward";
    case Decision::kRolledBack: return "rolled-back";
    case Decision::kNeedsAttention: return "needs-attention";
    case Decision::kSkippedLiveOwner: return "skipped-live-owner";
    case Decision::kCorrupt: return "corrupt";
    case Decision::kWouldRollForward: return "would-roll-forward";
    case Decision::kWouldRollBack: return "would-roll-back";
    case Decision::kAbandoned: return "abandoned";
  }
  return "unknown";
}

bool RecoveryReport::needs_attention() const {
  for (const auto& t : txs)
    if (t.decision == Decision::kNeedsAttention || t.decision == Decision::kCorrupt) return true;
  return false;
}

struct Journal::Impl {
  // A committed transaction whose completion is not yet recorded.
  struct Pending {
    TxRecord rec;
    std::set<std::string> dirty;  // dirs with staging deletions not yet synced
    uint64_t since_seq = 0;       // syncs started after this count
    bool recorded_committed = false;
    bool cleanup_failed = false;  // Flush() retries; else recovery finishes it
    // Its completion is in group `riding` (0: none), not yet synced, as
    // `done` (the move to history) if riding_done, else as `committed`.
    uint64_t riding = 0;
    bool riding_done = false;
  };

  Options opts;
  std::vector<std::string> roots;
  std::vector<std::string> protect;  // the journal directory, as given and resolved
  std::unique_ptr<PosixFs> own_fs;
  Fs* fs = nullptr;
  std::unique_ptr<JournalStore> store;
  std::unique_ptr<Inspector> inspector;  // reads `store`
  std::shared_ptr<spdlog::logger> log;
  LockTable locks;
  RecoveryReport open_report;
  std::atomic<uint64_t> next_lock_key{1};
  std::atomic<uint64_t> sync_seq{0};
  std::mutex mu;  // guards pending, live and the write queue
  std::vector<Pending> pending;
  // Transactions of this Journal that are in flight or awaiting their
  // completion record. Recovery leaves exactly these alone: a record owned
  // by this process but not here was written by a journal instance that no
  // longer exists (one instance per process may have a journal open).
  std::set<uint64_t> live;

  void SetLive(uint64_t id, bool on) {
    std::lock_guard<std::mutex> l(mu);
    if (on) live.insert(id);
    else live.erase(id);
  }
  bool IsLive(uint64_t id) {
    std::lock_guard<std::mutex> l(mu);
    return live.count(id) > 0;
  }
  std::mutex recover_mu;
  // Path-lock keys held for transactions that need attention (taken over
  // by Resolve).
  std::map<uint64_t, uint64_t> attention_keys;  // tx id -> lock key; under mu

  void HoldForAttention(uint64_t id, uint64_t key) {
    uint64_t old = 0;
    {
      std::lock_guard<std::mutex> l(mu);
      uint64_t& slot = attention_keys[id];
      if (slot != key) old = slot;
      slot = key;
    }
    if (old) locks.Unlock(old);
  }
  // Releases what HoldForAttention kept for `id`; the transaction is no
  // longer ours to skip.
  void Release(uint64_t id) {
    uint64_t key = 0;
    {
      std::lock_guard<std::mutex> l(mu);
      auto it = attention_keys.find(id);
      if (it != attention_keys.end()) key = it->second, attention_keys.erase(it);
      live.erase(id);
    }
    if (key) locks.Unlock(key);
  }

  Status SyncDir(const std::string& dir) {
    uint64_t start = ++sync_seq;
    Status s = fs->SyncDir(dir);
    if (!s.ok()) return s;
    std::lock_guard<std::mutex> l(mu);
    for (auto& p : pending)
      if (p.since_seq < start) p.dirty.erase(dir);
    return s;
  }

  // Group commit: a writer queues its batch; the first one in becomes the
  // leader and writes every queued batch in one LMDB commit (with the
  // completions of committed transactions riding along), then syncs it;
  // the others wait for its result. Each batch's new ids are handed back
  // to it. The next group may commit while this one syncs (JournalStore::
  // Sync): a commit that follows is durable only with this one, so a sync
  // that returns first covers both.
  struct Request {
    WriteBatch* b = nullptr;
    bool taken = false;  // in a leader's group
    bool flush = false;
    bool done = false;
    Status status;
  };
  std::condition_variable write_cv;
  std::vector<Request*> queue;  // guarded by mu
  bool leader_busy = false;     // a group is committing; guarded by mu
  uint64_t groups = 0;          // groups formed so far; guarded by mu

  // `flush`: every finished transaction goes to history now, however few.
  Status Write(WriteBatch* b, bool flush = false) {
    Request req;
    req.b = b;
    req.flush = flush;
    std::unique_lock<std::mutex> l(mu);
    queue.push_back(&req);
    write_cv.wait(l, [&] { return req.done || (!req.taken && !leader_busy); });
    if (req.done) return req.status;
    leader_busy = true;
    std::vector<Request*> group;
    group.swap(queue);
    WriteBatch all;
    bool flush_all = false;
    for (Request* r : group) {
      r->taken = true;
      flush_all = flush_all || r->flush;
      all.Append(*r->b);
    }
    const uint64_t group_id = ++groups;
    AddCompletions(&all, group_id, flush_all);
    Status s;
    if (!all.empty()) {
      l.unlock();
      s = store->Commit(&all);
      l.lock();
    }
    size_t at = 0;
    for (Request* r : group)
      for (TxRecord& rec : r->b->put_active) rec.id = all.put_active[at++].id;
    leader_busy = false;
    write_cv.notify_all();
    if (s.ok() && !all.empty()) {
      l.unlock();
      s = store->Sync();
      l.lock();
    }
    for (Request* r : group) {
      r->status = s;
      r->done = true;
    }
    Landed(group_id, s.ok());
    write_cv.notify_all();
    return req.status;
  }

  // Puts the completion of committed transactions into *b (caller holds
  // mu). Those whose staging deletions are durable go to history as `done`
  // once there are kHistoryBatch of them, or on `flush`; until then each is
  // recorded `committed` (a rewrite in "active", whose leaf the write
  // dirties anyway), as are the others. History's pages, and those of its
  // pruning, are then written once per batch rather than on every commit.
  // Skips those riding on a group that has not synced yet, and marks the
  // ones it takes as riding on `group`.
  static constexpr size_t kHistoryBatch = 8;
  void AddCompletions(WriteBatch* b, uint64_t group, bool flush) {
    std::vector<Pending*> ready, mark;
    for (Pending& p : pending) {
      if (p.riding != 0) continue;
      if (!p.cleanup_failed && p.dirty.empty()) ready.push_back(&p);
      else if (!p.recorded_committed) mark.push_back(&p);
    }
    const bool move = flush || ready.size() >= kHistoryBatch;
    for (Pending* p : ready) {
      if (move) {
        TxRecord r = p->rec;
        r.state = TxState::kDone;
        r.finished_us = NowMicros();
        b->to_history.push_back(std::move(r));
        p->riding = group;
        p->riding_done = true;
      } else if (!p->recorded_committed) {
        mark.push_back(p);
      }
    }
    for (Pending* p : mark) {
      b->put_active.push_back(p->rec);
      p->riding = group;
      p->riding_done = false;
    }
  }

  // After a group's sync (caller holds mu): the completions it carried are
  // recorded if it succeeded, and are taken again by a later group if not.
  void Landed(uint64_t group, bool ok) {
    for (size_t i = pending.size(); i-- > 0;) {
      Pending& p = pending[i];
      if (p.riding != group) continue;
      p.riding = 0;
      if (!ok) continue;
      if (p.riding_done) {
        live.erase(p.rec.id);
        pending.erase(pending.begin() + static_cast<long>(i));
      } else {
        p.recorded_committed = true;
      }
    }
  }

  // Set when the tree holds staging objects of transactions the journal
  // never handed out: records were lost (a damaged journal). New
  // transactions could reuse those ids and take the objects for their own,
  // so Commit() refuses until an operator has looked.
  std::string lost_records;
  // Active records that do not decode (their paths are unknown): Commit
  // refuses while there are any. Under mu.
  std::set<uint64_t> unreadable;
  void SetUnreadable(const std::vector<BadRecord>& bad) {
    std::lock_guard<std::mutex> l(mu);
    unreadable.clear();
    for (const auto& b : bad) unreadable.insert(b.id);
  }
  std::string UnreadableIds() {
    std::lock_guard<std::mutex> l(mu);
    std::string ids;
    for (uint64_t id : unreadable) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    return ids;
  }

  // The names in each root's staging directory, sorted (a root without
  // one lists nothing).
  Status ListRootStages(std::vector<std::pair<std::string, std::vector<std::string>>>* listed) {
    for (const std::string& root : roots) {
      const std::string stage = StagingDirAt(root);
      std::vector<std::string> names;
      Status ls = fs->ListDir(stage, &names);
      if (ls.code() == Code::kNotFound) continue;
      if (!ls.ok()) return ls.Annotate("listing the staging directory");
      std::sort(names.begin(), names.end());
      listed->emplace_back(stage, std::move(names));
    }
    return Status();
  }

  // Staging objects in the roots' staging directories whose transaction id
  // is at or above the journal's next id.
  Status FindLostRecords(RecoveryReport* report) {
    // List first, then read next_id: another process may hand out ids and
    // stage objects meanwhile, and every object listed was staged under an
    // id handed out before the read.
    std::vector<std::pair<std::string, std::vector<std::string>>> listed;
    Status s = ListRootStages(&listed);
    if (!s.ok()) return s;
    StoreStats st;
    s = store->Stats(&st);
    if (!s.ok()) return s;
    for (const auto& [stage, names] : listed) {
      for (const std::string& leaf : names) {
        StagingName n;
        if (!ParseStagingLeaf(leaf, &n) || n.txid < st.next_id) continue;
        RecoveredTx t;
        t.id = n.txid;
        t.decision = Decision::kCorrupt;
        t.message = "staging object " + stage + "/" + leaf + " belongs to transaction " + std::to_string(n.txid) +
                    ", which this journal never handed out (next id " + std::to_string(st.next_id) +
                    "): journal records were lost; nothing was touched. Restore the journal, or move the "
                    "staging object away after checking the tree by hand";
        log->error("fstx: journal {}: {}", store->dir(), t.message);
        if (lost_records.empty()) lost_records = t.message;
        report->txs.push_back(std::move(t));
      }
    }
    return Status();
  }

  // Staged content of this process's transactions that no record names
  // yet (between StagedContent::Stage and the prepared record). Under mu.
  std::set<std::string> content_in_flight;
  void TrackContent(const std::string& path, bool staged) {
    std::lock_guard<std::mutex> l(mu);
    if (staged) content_in_flight.insert(path);
    else content_in_flight.erase(path);
  }
  bool ContentInFlight(const std::string& path) {
    std::lock_guard<std::mutex> l(mu);
    return content_in_flight.count(path) > 0;
  }
  void UntrackContent(const std::vector<Intent>& intents) {
    for (const Intent& in : intents)
      if (!in.content.empty()) TrackContent(in.content, false);
  }

  // Deletes staged content (format 4) of processes that died before their
  // prepared record was durable: no record names it, and none ever will.
  // The names are listed and found dead first, the records read after, so a
  // record its process wrote before dying is seen. Staging directories of
  // nested mounts are not listed here (`fstx verify` reports leftovers
  // there). Skipped while an unfinished record does not decode: it might
  // name one.
  void DropDeadContent() {
    std::vector<std::pair<std::string, std::vector<std::string>>> listed;
    (void)ListRootStages(&listed);  // one it cannot list (and those after it) keeps its leftovers
    std::vector<std::string> dead;
    for (const auto& [stage, names] : listed) {
      for (const std::string& leaf : names) {
        const ContentStager who = WhoStaged(leaf);
        const std::string path = stage + "/" + leaf;
        if (who == ContentStager::kDead || (who == ContentStager::kThisProcess && !ContentInFlight(path)))
          dead.push_back(path);
      }
    }
    if (dead.empty()) return;
    std::vector<TxRecord> recs;
    std::vector<BadRecord> bad;
    if (!store->ListActive(&recs, &bad).ok() || !bad.empty()) return;
    std::set<std::string> named;
    for (const TxRecord& rec : recs)
      for (const Intent& in : rec.intents)
        if (!in.content.empty()) named.insert(in.content);
    for (const std::string& path : dead) {
      if (named.count(path)) continue;
      Status s = fs->Unlink(path);
      if (s.ok()) log->info("fstx: deleted {}: content staged by a process that died before journaling it", path);
      else log->warn("fstx: could not delete leftover staged content {}: {}", path, s.ToString());
    }
  }

  Status Retry(const TxRecord& rec, ResolveResult* out) {
    out->tx = RecoverTransaction(Env(), rec, /*dry_run=*/false);
    if (out->tx.decision != Decision::kNeedsAttention) return Status::Ok();
    return Status(Code::kNeedsAttention,
                  "transaction " + std::to_string(rec.id) + " still needs attention: " + out->tx.message);
  }

  Status Abandon(TxRecord rec, const std::string& reason, ResolveResult* out) {
    Status s = KeepStaging(fs, roots, rec, &out->kept);
    if (!s.ok())
      return s.Annotate("abandoning transaction " + std::to_string(rec.id) +
                        " (still unfinished; what was kept so far stays kept)");
    std::string why = rec.note;
    rec.state = TxState::kAbandoned;
    rec.finished_us = NowMicros();
    rec.note = AbandonNote(reason, out->kept, "it needed attention: " + why);
    return Close(std::move(rec), out);
  }

  Status AbandonUnreadable(uint64_t id, const std::string& raw, const Status& bad, const std::string& reason,
                           ResolveResult* out) {
    Status s = SaveRawRecord(store->dir(), id, raw, &out->saved_record);
    if (s.ok()) s = KeepStagingById(fs, roots, id, &out->kept);
    if (!s.ok()) return s.Annotate("abandoning unreadable transaction " + std::to_string(id) + " (still unfinished)");
    {
      std::lock_guard<std::mutex> l(mu);
      unreadable.erase(id);
    }
    TxRecord rec;
    rec.id = id;
    rec.label = "(unreadable record)";
    rec.state = TxState::kAbandoned;
    rec.finished_us = NowMicros();
    rec.note = AbandonNote(reason, out->kept,
                           "its record did not decode (" + bad.message() + "); its bytes are in " + out->saved_record);
    return Close(std::move(rec), out);
  }

  static std::string AbandonNote(const std::string& reason, const std::vector<std::string>& kept,
                                 const std::string& what) {
    std::string note = "abandoned by " + WhoAndWhen();
    if (!reason.empty()) note += " (" + reason + ")";
    note += "; the tree was left as it was; " + what + "; ";
    if (kept.empty()) return note + "nothing was kept";
    note += "kept:";
    for (const auto& k : kept) note += " " + k;
    return note;
  }

  Status Close(TxRecord rec, ResolveResult* out) {
    out->tx.decision = Decision::kAbandoned;
    out->tx.message = rec.note;
    WriteBatch b;
    b.to_history.push_back(std::move(rec));
    Status s = Write(&b);
    if (s.ok()) log->warn("fstx: tx {}: {}", out->tx.id, out->tx.message);
    return s;
  }

  // Unfinished transactions of other owners (processes) that touch
  // `paths`, which the caller holds locked. A dead owner's is recovered
  // now (its locks died with it). A live owner's still-prepared record is
  // past its commit point: a process releases a transaction's path locks
  // only after its commit point or after recording its rollback (or it
  // keeps them: needs attention). Its completion record rides on that
  // process's next journal write, so if it died before that, recovery
  // would probe a tree this transaction has since changed (neither state:
  // needs attention, or an undo of a committed transaction). Its id goes
  // to *committed: our prepared record marks it committed in the same
  // LMDB commit, before we touch its paths.
  Status RecoverOverlapping(const std::set<std::string>& paths, std::vector<uint64_t>* committed) {
    std::vector<TxRecord> recs;
    std::vector<BadRecord> bad;
    std::set<uint64_t> ours;  // this journal's own: in flight or awaiting their completion
    {
      std::lock_guard<std::mutex> l(mu);
      ours = live;
    }
    Status s = store->ListActive(&recs, &bad, [&](uint64_t id) { return ours.count(id) > 0; });
    if (!s.ok()) return s.Annotate("journal " + store->dir() + ": reading unfinished transactions");
    const Owner self = CurrentOwner();
    const paths::PathSet held = SetOf(paths);
    for (const TxRecord& rec : recs) {
      if (rec.state == TxState::kCommitted || IsLive(rec.id) || !Overlaps(rec, held)) continue;
      if (SameOwner(rec.owner, self)) continue;  // ours: Recover / Resolve handle it
      if (OwnerAlive(rec.owner)) {
        if (rec.state == TxState::kPrepared) committed->push_back(rec.id);
        continue;
      }
      RecoveredTx t = RecoverTransaction(Env(), rec, /*dry_run=*/false);
      if (t.decision == Decision::kNeedsAttention || t.decision == Decision::kCorrupt)
        return Status(Code::kNeedsAttention, "tx " + std::to_string(rec.id) + " ('" + rec.label +
                                                 "') of dead pid " + std::to_string(rec.owner.pid) +
                                                 " needs attention: " + t.message);
    }
    return Status();
  }
  static paths::PathSet SetOf(const std::set<std::string>& paths) {
    paths::PathSet set;
    for (const auto& p : paths) set.Insert(p);
    return set;
  }
  // Does a path of `rec` lie at, above or beneath one of `paths`?
  static bool Overlaps(const TxRecord& rec, const paths::PathSet& paths) {
    for (const auto& in : rec.intents)
      for (const auto& p : ops::Paths(in))
        if (paths.Overlaps(p)) return true;
    return false;
  }
  // A lock held by another process: name its transaction if the journal
  // shows one on those paths.
  Status NameHolder(const Status& s, const std::set<std::string>& paths) {
    if (s.code() != Code::kBusy || s.message().find("another process") == std::string::npos) return s;
    std::vector<TxRecord> recs;
    std::vector<BadRecord> bad;
    if (!store->ListActive(&recs, &bad).ok()) return s;
    const paths::PathSet held = SetOf(paths);
    for (const TxRecord& rec : recs)
      if (!IsLive(rec.id) && rec.state != TxState::kCommitted && Overlaps(rec, held))
        return Status(s.code(), s.message() + ": tx " + std::to_string(rec.id) + " ('" + rec.label + "') of pid " +
                                    std::to_string(rec.owner.pid), s.err());
    return s;
  }

  RecoveryEnv Env() {
    RecoveryEnv env;
    env.fs = fs;
    env.store = store.get();
    env.log = log.get();
    env.sync_dir = [this](const std::string& d) { return SyncDir(d); };
    return env;
  }
};

struct Transaction::Impl {
  Journal::Impl* j = nullptr;
  std::string label;
  TxPolicy policy = TxPolicy::kRollback;
  std::vector<Op> ops;
  bool finished = false;
  bool expect_without_op = false;  // Expect() called before any op
  uint64_t id = 0;

  Status Prepare(std::vector<Op>* specs, std::vector<Intent>* intents, uint64_t* lock_key,
                 std::vector<uint64_t>* others_committed);
  Status RollBack(TxRecord* rec, size_t count, const Status& cause, BarrierTracker* bt, uint64_t lock_key);
  Status Commit();
  // The steps of Commit.
  Status CheckCommittable();
  Status WritePrepared(TxRecord* rec, std::vector<uint64_t> others_committed, uint64_t lock_key);
  Status ApplyAll(TxRecord* rec, BarrierTracker* bt, uint64_t lock_key);
  void Finish(TxRecord rec, uint64_t lock_key);
  Status RecordAborted(TxRecord* rec, const std::string& note);
};

Transaction::Transaction(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Transaction::Transaction(Transaction&&) noexcept = default;
Transaction& Transaction::operator=(Transaction&&) noexcept = default;
Transaction::~Transaction() = default;

namespace {
Op NewOp(OpKind kind, const std::string& path) {
  Op op;
  op.kind = kind;
  op.path = path;
  return op;
}
}  // namespace

Transaction& Transaction::Add(Op op) {
  impl_->ops.push_back(std::move(op));
  return *this;
}

Transaction& Transaction::Rename(const std::string& from, const std::string& to, RenameMode mode) {
  Op op = NewOp(OpKind::kRename, to);
  op.src = from;
  op.replace = mode;
  return Add(std::move(op));
}

Transaction& Transaction::WriteFile(const std::string& path, std::string_view data,
                                    std::optional<uint32_t> mode) {
  Op op = NewOp(OpKind::kWriteFile, path);
  op.data = std::string(data);
  op.mode = mode;
  return Add(std::move(op));
}

Transaction& Transaction::WriteFileFrom(const std::string& path, const std::string& content_file,
                                        std::optional<uint32_t> mode) {
  Op op = NewOp(OpKind::kWriteFile, path);
  op.content_file = content_file;
  op.mode = mode;
  return Add(std::move(op));
}

Transaction& Transaction::Symlink(const std::string& target, const std::string& path, RenameMode mode) {
  Op op = NewOp(OpKind::kSymlink, path);
  op.data = target;
  op.replace = mode;
  return Add(std::move(op));
}

Transaction& Transaction::Remove(const std::string& path) {
  return Add(NewOp(OpKind::kRemove, path));
}

Transaction& Transaction::Mkdir(const std::string& path, uint32_t mode) {
  Op op = NewOp(OpKind::kMkdir, path);
  op.mode = mode;
  return Add(std::move(op));
}

Transaction& Transaction::WriteRange(const std::string& path, uint64_t offset, std::string_view data) {
  Op op = NewOp(OpKind::kWriteRange, path);
  op.offset = offset;
  op.data = std::string(data);
  return Add(std::move(op));
}

Transaction& Transaction::Expect(Precondition precondition) {
  if (impl_->ops.empty()) {
    impl_->expect_without_op = true;
    return *this;
  }
  impl_->ops.back().expect = std::move(precondition);
  return *this;
}

Transaction& Transaction::SetPolicy(TxPolicy policy) {
  impl_->policy = policy;
  return *this;
}

size_t Transaction::size() const { return impl_->ops.size(); }
uint64_t Transaction::id() const { return impl_->id; }

Status Transaction::Validate() {
  if (impl_->expect_without_op)
    return Status(Code::kInvalidArgument, "Expect() was called before any op (it applies to the op added last)");
  std::vector<Op> specs = impl_->ops;
  StagedContent content(impl_->j->opts.inline_content_max, nullptr);  // checks content files; stages nothing
  Status s = content.Load(&specs);
  if (!s.ok()) return s;
  s = CheckLexical(impl_->j->roots, &specs, impl_->j->protect);
  if (!s.ok()) return s;
  std::vector<Intent> intents;
  return Plan(impl_->j->fs, impl_->j->roots, specs, &intents);
}

Status Transaction::Commit() { return impl_->Commit(); }

Status Transaction::Impl::Prepare(std::vector<Op>* specs, std::vector<Intent>* intents,
                                  uint64_t* lock_key, std::vector<uint64_t>* others_committed) {
  if (expect_without_op)
    return Status(Code::kInvalidArgument, "Expect() was called before any op (it applies to the op added last)");
  StagedContent content(j->opts.inline_content_max,
                        [this](const std::string& path, bool staged) { j->TrackContent(path, staged); });
  Status s = content.Load(specs);
  if (!s.ok()) return s;
  s = CheckLexical(j->roots, specs, j->protect);
  if (!s.ok()) return s;
  std::set<std::string> paths;
  for (const auto& op : *specs) {
    paths.insert(op.path);
    if (op.kind == OpKind::kRename) paths.insert(op.src);
  }
  *lock_key = j->next_lock_key++;
  s = j->locks.Lock(paths, *lock_key, "transaction '" + label + "'", j->opts.lock_wait_ms);
  if (!s.ok()) return j->NameHolder(s, paths);
  s = j->RecoverOverlapping(paths, others_committed);
  if (s.ok()) s = Plan(j->fs, j->roots, *specs, intents);
  if (s.ok()) {
    std::set<std::string> stages;
    for (const Intent& in : *intents)
      if (!in.stage.empty()) stages.insert(in.stage);
    s = EnsureStages(j->fs, stages);
  }
  // Big content goes to its staging file now, so that the record holds
  // only its path, size and hash.
  if (s.ok()) s = content.Stage(j->fs, intents, [this](const std::string& d) { return j->SyncDir(d); });
  if (!s.ok()) j->locks.Unlock(*lock_key);
  return s;
}

// Refused before anything: a second Commit, a journal with lost records,
// or an unfinished record that does not decode (its paths are unknown).
Status Transaction::Impl::CheckCommittable() {
  if (finished) return Status(Code::kInvalidArgument, "transaction '" + label + "' was already committed");
  finished = true;
  if (!j->lost_records.empty()) return Status(Code::kCorruption, "journal " + j->store->dir() + ": " + j->lost_records);
  if (std::string u = j->UnreadableIds(); !u.empty())
    return Status(Code::kCorruption, "journal " + j->store->dir() + ": unfinished transaction record " + u +
                                         " does not decode, so the paths it holds are unknown: nothing is "
                                         "committed until an operator resolves it (fstx resolve ID --abandon "
                                         "saves its bytes and closes it)");
  return Status();
}

// The prepared record, durable (one synced journal commit, shared with
// concurrent transactions'); sets rec->id. On failure nothing was applied.
Status Transaction::Impl::WritePrepared(TxRecord* rec, std::vector<uint64_t> others_committed, uint64_t lock_key) {
  WriteBatch b;
  b.put_active.push_back(*rec);
  b.mark_committed = std::move(others_committed);
  Status s = j->Write(&b);
  if (s.ok()) {
    rec->id = id = b.put_active[0].id;
    j->SetLive(rec->id, true);
    return s;
  }
  // The commit may still have reached the disk (an fsync error after the
  // write): make sure no recovery will ever apply it.
  if (b.put_active[0].id != 0) {
    rec->id = b.put_active[0].id;
    Status a = RecordAborted(rec, s.ToString());
    if (!a.ok()) {  // its staged content stays for recovery to drop
      // Not recovered by this process either; the paths stay locked (a
      // prepared record on unlocked paths reads as committed to other
      // processes, see RecoverOverlapping).
      j->SetLive(rec->id, true);
      j->HoldForAttention(rec->id, lock_key);
      return Status(Code::kNeedsAttention,
                    "journal " + j->store->dir() + ": the prepared record of tx " + std::to_string(rec->id) +
                        " may be durable and could not be withdrawn (" + a.ToString() +
                        "); nothing was applied; recovery will decide by its policy",
                    s.err());
    }
  }
  DiscardContent(j->fs, rec->intents);
  j->locks.Unlock(lock_key);
  return s.Annotate("journal " + j->store->dir() + ": writing the prepared record (nothing changed)");
}

// Moves the record to history as aborted (nothing of it is applied).
Status Transaction::Impl::RecordAborted(TxRecord* rec, const std::string& note) {
  rec->state = TxState::kAborted;
  rec->note = note;
  rec->finished_us = NowMicros();
  WriteBatch b;
  b.to_history.push_back(*rec);
  return j->Write(&b);
}

// Every op with its barriers, then the final barrier: the commit point.
// On a failure the transaction is rolled back (RollBack's status).
Status Transaction::Impl::ApplyAll(TxRecord* rec, BarrierTracker* bt, uint64_t lock_key) {
  const size_t n = rec->intents.size();
  for (size_t k = 0; k < n; ++k) {
    Status s = bt->Before(rec->intents[k]);
    if (s.ok()) s = ops::Apply(j->fs, rec->id, static_cast<uint32_t>(k), rec->intents[k]);
    bt->After(rec->intents[k]);
    if (s.ok() && planted::Is(planted::Bug::kEarlyStagingDelete))
      s = ops::Cleanup(j->fs, rec->id, static_cast<uint32_t>(k), rec->intents[k]);
    if (!s.ok()) {
      s = s.Annotate("op " + std::to_string(k + 1) + " of " + std::to_string(n) + " (" +
                     ops::Describe(rec->intents[k]) + ")");
      return RollBack(rec, k + 1, s, bt, lock_key);
    }
  }
  if (planted::Is(planted::Bug::kCompletionBeforeBarrier)) {
    TxRecord done = *rec;
    done.state = TxState::kDone;
    WriteBatch b;
    b.to_history.push_back(done);
    (void)j->Write(&b);
  }
  Status s = planted::Is(planted::Bug::kNoFinalBarrier) ? Status() : bt->Final();
  return s.ok() ? s : RollBack(rec, n, s.Annotate("commit barrier"), bt, lock_key);
}

// After the commit point: staging objects deleted, and the completion
// record queued to ride on the journal's next write.
void Transaction::Impl::Finish(TxRecord rec, uint64_t lock_key) {
  Journal::Impl::Pending p;
  for (size_t k = 0; k < rec.intents.size(); ++k) {
    Status c = ops::Cleanup(j->fs, rec.id, static_cast<uint32_t>(k), rec.intents[k]);
    if (!c.ok()) {
      j->log->warn("fstx: tx {} ({}) committed, but deleting its staging objects failed: {}; "
                   "recovery will finish it",
                   rec.id, label, c.ToString());
      p.cleanup_failed = true;
    }
    if (rec.intents[k].before.present() || rec.intents[k].kind == OpKind::kRemove)
      if (ops::UsesStaging(rec.intents[k])) p.dirty.insert(ops::StageDir(rec.intents[k]));
  }
  rec.state = TxState::kCommitted;
  p.rec = std::move(rec);
  {
    std::lock_guard<std::mutex> l(j->mu);
    p.since_seq = j->sync_seq.load();
    j->pending.push_back(std::move(p));
  }
  j->locks.Unlock(lock_key);
}

Status Transaction::Impl::Commit() {
  Status s = CheckCommittable();
  if (!s.ok()) return s;
  resolve::DirScope dirs;  // directories resolved under its locks, kept until they go (LockTable)
  std::vector<Op> specs = ops;
  std::vector<Intent> intents;
  uint64_t lock_key = 0;
  std::vector<uint64_t> others_committed;
  s = Prepare(&specs, &intents, &lock_key, &others_committed);
  if (!s.ok()) return s;

  TxRecord rec;
  rec.label = label;
  rec.owner = CurrentOwner();
  rec.policy = policy == TxPolicy::kRollforward ? Policy::kRollforward : Policy::kRollback;
  rec.state = TxState::kPrepared;
  rec.created_us = NowMicros();
  rec.intents = std::move(intents);
  s = WritePrepared(&rec, std::move(others_committed), lock_key);
  j->UntrackContent(rec.intents);  // named by a record now, or given up
  if (!s.ok()) return s;

  BarrierTracker bt([this](const std::string& d) { return j->SyncDir(d); });
  s = ApplyAll(&rec, &bt, lock_key);
  if (!s.ok()) return s;
  Finish(std::move(rec), lock_key);  // the commit point has passed
  return Status();
}

Status Transaction::Impl::RollBack(TxRecord* rec, size_t count, const Status& cause, BarrierTracker* bt,
                                   uint64_t lock_key) {
  Status s = ops::UndoReverse(j->fs, rec->id, rec->intents, count, bt);
  if (s.ok()) s = bt->Final();
  if (s.ok()) {
    // Content staged for the ops never reached (not durable: a leftover
    // after a crash is a dead process's, which recovery deletes).
    DiscardContent(j->fs, rec->intents);
    Status w = RecordAborted(rec, cause.ToString());
    if (!w.ok()) {
      // The record stays prepared (recovery will find nothing applied);
      // the paths stay locked until this process ends, for another
      // process reads a prepared record on unlocked paths as committed.
      j->log->warn("fstx: tx {} rolled back, but recording that failed: {}; its paths stay locked",
                   rec->id, w.ToString());
      j->HoldForAttention(rec->id, lock_key);
    } else {
      j->SetLive(rec->id, false);
      j->locks.Unlock(lock_key);
    }
    return Status(cause.code(), cause.message() + "; transaction rolled back, nothing changed", cause.err());
  }
  // Could not undo: leave it to an operator, paths stay locked.
  rec->state = TxState::kNeedsAttention;
  rec->note = cause.ToString() + "; rollback failed: " + s.ToString();
  WriteBatch b;
  b.put_active.push_back(*rec);
  (void)j->Write(&b);
  j->HoldForAttention(rec->id, lock_key);
  j->log->error("fstx: tx {} ({}) needs attention: {}", rec->id, label, rec->note);
  return Status(Code::kNeedsAttention, rec->note, cause.err());
}

Journal::Journal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Journal::~Journal() {
  Status s = Flush();
  if (!s.ok()) impl_->log->warn("fstx: flushing journal {} at close: {}", impl_->opts.dir, s.ToString());
}

// Journal::Open, and in the testing engine (FSTX_TESTING, never in
// libfstx.so) testing::OpenWithHook: the journal hook reaches the store only
// there.
struct JournalAccess {
  static Result<std::unique_ptr<Journal>> Open(const Options& options, testing::JournalHook hook);
};

Result<std::unique_ptr<Journal>> Journal::Open(const Options& options) {
  return JournalAccess::Open(options, nullptr);
}

#ifdef FSTX_TESTING
Result<std::unique_ptr<Journal>> testing::OpenWithHook(const Options& options, JournalHook hook) {
  return JournalAccess::Open(options, std::move(hook));
}
#endif

Result<std::unique_ptr<Journal>> JournalAccess::Open(const Options& options, testing::JournalHook hook) {
  using Impl = Journal::Impl;
  auto impl = std::make_unique<Impl>();
  impl->opts = options;
  impl->log = options.log      ? CallbackLogger(options.log)
              : options.logger ? options.logger
                               : spdlog::default_logger();
  if (options.roots.empty()) return Status(Code::kInvalidArgument, "no roots configured");
  for (const auto& r : options.roots) {
    auto n = paths::Normalize(r);
    if (!n.ok()) return n.status().Annotate("root");
    impl->roots.push_back(n.value());
  }
  if (options.fs) {
    impl->fs = options.fs;
  } else {
    auto fs = PosixFs::Open(impl->roots);
    if (!fs.ok()) return fs.status();
    impl->own_fs = std::move(fs.value());
    impl->fs = impl->own_fs.get();
  }
  StoreOptions so;
  so.dir = options.dir;
  so.history_max_count = options.history_max_count;
  so.history_max_age_s = options.history_max_age_s;
  so.history_max_bytes = options.history_max_bytes;
  so.lock_wait_ms = options.lock_wait_ms;
#ifdef FSTX_TESTING
  so.commit_hook = std::move(hook);
#else
  (void)hook;
#endif
  auto store = JournalStore::Open(so);
  if (!store.ok()) return store.status();
  if (auto d = paths::Normalize(options.dir); d.ok()) impl->protect.push_back(*d);
  if (char* real = ::realpath(options.dir.c_str(), nullptr)) {
    impl->protect.push_back(real);
    std::free(real);
  }
  impl->store = std::move(store.value());
  if (Status ls = impl->locks.SetLockFile(impl->store->dir() + "/paths.lock"); !ls.ok()) return ls;
  auto in = std::make_unique<Inspector::Impl>();
  in->dir = options.dir;
  in->store = impl->store.get();
  impl->inspector = std::make_unique<Inspector>(std::move(in));
  std::unique_ptr<Journal> journal(new Journal(std::move(impl)));
  if (options.recover_on_open) {
    Status s = journal->Recover(&journal->impl_->open_report);
    if (!s.ok()) return s;
  } else {
    std::vector<TxRecord> recs;
    std::vector<BadRecord> bad;
    Status s = journal->impl_->store->ListActive(&recs, &bad);
    if (!s.ok()) return s;
    journal->impl_->SetUnreadable(bad);
  }
  return journal;
}

Transaction Journal::Begin(std::string label, TxPolicy policy) {
  auto t = std::make_unique<Transaction::Impl>();
  t->j = impl_.get();
  t->label = std::move(label);
  t->policy = policy;
  return Transaction(std::move(t));
}

namespace {
// Every path a transaction's ops name: what its path locks cover.
std::set<std::string> TxPaths(const TxRecord& rec) {
  std::set<std::string> paths;
  for (const auto& in : rec.intents)
    for (const auto& p : ops::Paths(in)) paths.insert(p);
  return paths;
}

// At most this many transactions per recovery batch. Each holds its path
// locks until the batch's commit, and taking a lock costs time linear in
// the lock sets held: the kernel scans every byte-range lock on the lock
// file (each set keeps its own open description). LockTable's own check
// no longer does (it indexes held paths). bench_scale's recover phase
// (1000 transactions, tmpfs): B = 32 280-300 ms, 128 440-470 ms, 1024
// 4.3-4.6 s. 32 keeps the kernel's scan near the per-transaction cost and
// still divides the commits and syncs by 32.
constexpr size_t kMaxRecoveryBatch = 32;
}  // namespace

// Not dry run, transactions are recovered in batches (RecoveryBatch: one
// journal commit, and one sync per directory, for the whole batch). Each
// one's paths stay locked until its batch's history commit is durable:
// until then its record is still prepared, which another process reads, on
// unlocked paths, as committed (see RecoverOverlapping). If no transaction
// in any process holds a path (at boot, at open) one lock on the roots
// covers them all and there is one batch; else each transaction's paths
// are locked, up to kMaxRecoveryBatch per batch.
Status Journal::Recover(RecoveryReport* report, bool dry_run) {
  std::lock_guard<std::mutex> l(impl_->recover_mu);
  report->txs.clear();
  // When nothing else holds any path (at boot, at open), one lock on the
  // roots covers every transaction: one batch, however many there are.
  // Taken before the records are listed, so that none listed can change
  // meanwhile (no re-read of each, below).
  uint64_t whole = 0;
  if (StoreStats st; !dry_run && impl_->store->Stats(&st).ok() && st.active > 0) {
    const uint64_t key = impl_->next_lock_key++;
    const std::set<std::string> roots(impl_->roots.begin(), impl_->roots.end());
    if (impl_->locks.TryLock(roots, key, "recovery").ok()) whole = key;
  }
  std::vector<TxRecord> recs;
  std::vector<BadRecord> bad;
  Status s = impl_->store->ListActive(&recs, &bad);
  if (s.ok()) s = impl_->FindLostRecords(report);
  if (!s.ok()) {
    if (whole) impl_->locks.Unlock(whole);
    return s;
  }
  impl_->SetUnreadable(bad);
  for (const auto& b : bad) {
    RecoveredTx t;
    t.id = b.id;
    t.decision = Decision::kCorrupt;
    t.message = b.status.ToString() + " (record left untouched)";
    impl_->log->error("fstx: journal record {} in {} is unreadable: {}", b.id, b.table, b.status.ToString());
    report->txs.push_back(t);
  }
  const Owner self = CurrentOwner();
  // Each owner's liveness read once (a crash leaves many records of one
  // dead process; a process found alive is skipped, as it would be had
  // it been checked first).
  std::map<std::tuple<int64_t, uint64_t, std::string>, bool> liveness;
  auto alive = [&liveness](const Owner& o) {
    auto [it, fresh] = liveness.try_emplace({o.pid, o.start_time, o.boot_id}, false);
    if (fresh) it->second = OwnerAlive(o);
    return it->second;
  };
  RecoveryEnv env = impl_->Env();
  RecoveryBatch batch(env);
  // Directories resolved under the batches' locks are kept until a lock
  // is taken or let go (LockTable). A dry run holds no locks: it walks
  // every path afresh.
  std::optional<resolve::DirScope> dirs;
  if (!dry_run) dirs.emplace();
  std::vector<std::pair<uint64_t, size_t>> held;  // per batch member: lock key (0: whole), place in the report
  std::map<uint64_t, std::set<std::string>> attention_paths;  // under `whole`: each batch member's paths
  // Under `whole`, the paths of the batch: a transaction that overlaps
  // them ends the batch first, as its path lock would (RecoveryBatch
  // relies on its transactions being independent).
  paths::PathSet batch_paths;
  std::vector<uint64_t> attention;                              // under `whole`: those that need attention
  auto commit = [&] {
    std::vector<RecoveredTx> out = batch.Commit();
    for (size_t i = 0; i < out.size(); ++i) {
      const auto [key, slot] = held[i];
      if (out[i].decision == Decision::kNeedsAttention && key == 0) attention.push_back(out[i].id);
      else if (out[i].decision == Decision::kNeedsAttention) impl_->HoldForAttention(out[i].id, key);
      else if (key != 0) impl_->locks.Unlock(key);
      report->txs[slot] = std::move(out[i]);
    }
    held.clear();
    batch_paths.Clear();
  };
  for (auto& rec : recs) {
    if (impl_->IsLive(rec.id)) continue;  // ours: in flight or awaiting completion
    if (!SameOwner(rec.owner, self) && alive(rec.owner)) {
      report->txs.push_back({rec.id, rec.label, Decision::kSkippedLiveOwner, 0, 0,
                             "owner pid " + std::to_string(rec.owner.pid) + " is alive"});
      continue;
    }
    const std::set<std::string> paths = TxPaths(rec);
    const std::string who = "recovery of tx " + std::to_string(rec.id);
    // Hold the paths while recovering; keep holding them if it needs
    // attention. Never wait for locks while holding a batch's: a path of
    // this transaction held by the batch (an earlier transaction on the
    // same paths) or by another process (whose recovery may wait for ours)
    // first ends the batch. So a batch's transactions touch disjoint paths.
    if (whole && batch.size() > 0 && Impl::Overlaps(rec, batch_paths)) commit();
    uint64_t key = whole ? 0 : impl_->next_lock_key++;
    Status ls = whole ? Status() : impl_->locks.TryLock(paths, key, who);
    if (!ls.ok() && batch.size() > 0) commit();
    if (!ls.ok()) ls = impl_->locks.Lock(paths, key, who, impl_->opts.lock_wait_ms);
    if (ls.ok() && !dry_run && !whole) {
      // Another process may have recovered it while we waited.
      TxRecord now;
      bool in_history = false;
      Status g = impl_->store->Get(rec.id, &now, &in_history);
      if (g.ok() && in_history) {
        if (key != 0) impl_->locks.Unlock(key);
        continue;
      }
      if (g.ok()) rec = std::move(now);
    }
    if (ls.ok() && !dry_run) {
      held.emplace_back(key, report->txs.size());
      report->txs.emplace_back();  // filled in by commit()
      if (whole) {
        attention_paths[rec.id] = paths;
        for (const auto& p : paths) batch_paths.Insert(p);
      }
      batch.Add(std::move(rec));
      if (!whole && batch.size() >= kMaxRecoveryBatch) commit();
      continue;
    }
    // A dry run, or paths we could not lock (recovered anyway, as ever, on
    // their own).
    RecoveredTx t = RecoverTransaction(env, rec, dry_run);
    if (ls.ok()) impl_->locks.Unlock(key);
    report->txs.push_back(std::move(t));
  }
  if (batch.size() > 0) commit();
  if (whole) {
    // Needs attention keeps its own paths locked: taken as the roots' lock
    // goes (another process may slip in between; it then finds the record
    // needs attention, as it would have).
    impl_->locks.Unlock(whole);
    for (uint64_t id : attention) {
      const uint64_t key = impl_->next_lock_key++;
      if (impl_->locks.Lock(attention_paths[id], key, "recovery of tx " + std::to_string(id),
                            impl_->opts.lock_wait_ms).ok())
        impl_->HoldForAttention(id, key);
    }
  }
  if (!dry_run) impl_->DropDeadContent();
  return Status();
}

Status Journal::Resolve(uint64_t id, ResolveAction action, ResolveResult* out, const std::string& reason) {
  std::lock_guard<std::mutex> l(impl_->recover_mu);
  *out = ResolveResult{};
  out->tx.id = id;
  const std::string tx = "transaction " + std::to_string(id);
  std::string raw;
  Status s = impl_->store->GetActiveRaw(id, &raw);
  if (s.code() == Code::kNotFound) {
    TxRecord h;
    bool in_history = false;
    if (impl_->store->Get(id, &h, &in_history).ok() && in_history)
      return Status(Code::kNotFound, tx + " is already finished (" + tx_state_name(h.state) + "): nothing to resolve");
    return s;
  }
  if (!s.ok()) return s;
  TxRecord rec;
  if (Status d = DecodeRecord(raw, &rec); !d.ok()) {
    if (action == ResolveAction::kRetry)
      return Status(Code::kCorruption, tx + ": its record does not decode (" + d.message() +
                                           "), so there is nothing to retry; --abandon saves its bytes and closes it");
    return impl_->AbandonUnreadable(id, raw, d, reason, out);
  }
  out->tx.label = rec.label;
  const bool ours = impl_->IsLive(id);
  if (ours && rec.state != TxState::kNeedsAttention)
    return Status(Code::kBusy, tx + " is in flight in this process");
  if (!ours && !SameOwner(rec.owner, CurrentOwner()) && OwnerAlive(rec.owner))
    return Status(Code::kBusy, tx + " belongs to pid " + std::to_string(rec.owner.pid) +
                                   ", which is alive: resolve it there, or stop that process first");
  if (action == ResolveAction::kAbandon && rec.state != TxState::kNeedsAttention)
    return Status(Code::kInvalidArgument, tx + " is " + tx_state_name(rec.state) +
                                              ", not needs_attention: let recovery finish it first (fstx recover); "
                                              "abandon is for what recovery gave up on");
  bool held;
  {
    std::lock_guard<std::mutex> m(impl_->mu);
    held = impl_->attention_keys.count(id) > 0;
  }
  if (!held) {
    const std::set<std::string> paths = TxPaths(rec);
    uint64_t key = impl_->next_lock_key++;
    if (Status ls = impl_->locks.TryLock(paths, key, "resolve of " + tx); !ls.ok()) return ls;
    impl_->HoldForAttention(id, key);
  }
  s = action == ResolveAction::kRetry ? impl_->Retry(rec, out) : impl_->Abandon(std::move(rec), reason, out);
  if (s.ok()) impl_->Release(id);
  return s;
}

Status Journal::Flush() {
  // Retry staging deletions that failed after a commit point.
  std::vector<TxRecord> retry;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    for (const auto& p : impl_->pending)
      if (p.cleanup_failed) retry.push_back(p.rec);
  }
  for (const auto& rec : retry) {
    Status c;
    for (size_t k = 0; k < rec.intents.size() && c.ok(); ++k)
      c = ops::Cleanup(impl_->fs, rec.id, static_cast<uint32_t>(k), rec.intents[k]);
    if (!c.ok()) continue;  // still failing: recovery will finish it
    std::lock_guard<std::mutex> l(impl_->mu);
    for (auto& p : impl_->pending) {
      if (p.rec.id != rec.id) continue;
      p.cleanup_failed = false;
      p.since_seq = impl_->sync_seq.load();
      for (const auto& in : rec.intents)
        if (ops::UsesStaging(in)) p.dirty.insert(ops::StageDir(in));
    }
  }
  std::set<std::string> dirs;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    for (const auto& p : impl_->pending) dirs.insert(p.dirty.begin(), p.dirty.end());
  }
  for (const auto& d : dirs) {
    Status s = impl_->SyncDir(d);
    if (!s.ok()) return s;
  }
  {
    // A completion riding on another thread's group is recorded when that
    // group's sync returns; if the sync failed, the write below takes it again.
    std::unique_lock<std::mutex> l(impl_->mu);
    impl_->write_cv.wait(l, [&] {
      return std::none_of(impl_->pending.begin(), impl_->pending.end(),
                          [](const Journal::Impl::Pending& p) { return p.riding != 0; });
    });
  }
  WriteBatch b;
  return impl_->Write(&b, /*flush=*/true);
}

const Options& Journal::options() const { return impl_->opts; }
const RecoveryReport& Journal::open_report() const { return impl_->open_report; }
const Inspector& Journal::inspector() const { return *impl_->inspector; }

}  // namespace fstx
