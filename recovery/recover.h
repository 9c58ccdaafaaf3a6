// recover.h — finish unfinished transactions, forward or back, one at a
// time or in batches that share their barriers and their journal commit.
//
// For a record whose owner is dead:
//   committed     -> the commit point passed: delete staging leftovers,
//                    sync, record done.
//   rolling_back  -> undo every op in reverse, sync, record aborted.
//   prepared / needs_attention -> find which ops reached the disk (after a
//                    power loss, any set closed under overlap: see Classify
//                    in recover.cc). All: finish forward. Otherwise policy
//                    rollback undoes those in reverse and discards the
//                    others' staging; policy rollforward redoes the rest in
//                    order, and if a redo fails for good records
//                    rolling_back durably and undoes.
// A probe or step that finds neither the before- nor the after-state stops
// that transaction: it is recorded needs_attention with the reason, and
// nothing is deleted or overwritten on a guess.
//
// Every step is probe-driven and idempotent, and each outcome is written
// only after the tree is durable, so a crash anywhere in here, recovered
// again, ends in the same place.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fstx/fs.h"
#include "fstx/fstx.h"
#include "journal/record.h"
#include "journal/store.h"
#include "src/ops/barrier.h"

namespace spdlog {
class logger;
}

namespace fstx {

struct RecoveryEnv {
  Fs* fs = nullptr;
  JournalStore* store = nullptr;
  spdlog::logger* log = nullptr;
  // Syncs one directory (the journal tracks syncs for lazy completion).
  std::function<Status(const std::string& dir)> sync_dir;
};

// Decides and (unless dry_run) carries out recovery of `rec`. The returned
// decision is one of kRolledForward, kRolledBack, kNeedsAttention
// (dry run: kWouldRollForward, kWouldRollBack, kNeedsAttention). Not dry
// run, it is a batch of one.
RecoveredTx RecoverTransaction(const RecoveryEnv& env, TxRecord rec, bool dry_run);

// Recovers many transactions for the price of one: Add() decides each and
// changes the tree (undo, redo, staging cleanup), with a barrier before any
// step that depends on an earlier one, of this transaction or another of
// the batch (one BarrierTracker for all); Commit() then syncs every
// directory the batch touched, each once, and moves every finished record
// to history in one journal commit. Recovering N transactions costs one
// commit and one sync per directory, not N of each.
//
// Written at once, each on its own, as before: the rolling_back record of a
// roll-forward that turns into a rollback (the undo must not be redone
// after a crash), and needs_attention records. A transaction that ends
// needs_attention stays out of the history commit; the others go in. If
// the final barrier or the history commit fails, every transaction still
// waiting for it is recorded needs_attention, as one alone would be.
//
// Crash safety. Until Commit()'s journal commit, every record of the batch
// is still in `active`, in the state it had (or rolling_back / needs
// attention, written before the step that needed it), and recovering it
// again re-probes the tree: a transaction rolled back on disk whose record
// is still prepared probes as nothing applied, so it "rolls back" again
// (nothing to undo, its staging discarded: a no-op if gone); one rolled
// forward probes as all applied and finishes forward (staging cleanup,
// idempotent); a committed one only deletes what is left of its staging;
// a rolling_back one undoes by each op's own probe. That is the crash
// after a transaction's tree changes and before its history write that a
// batch of one always had, and the outcome is the same. It relies on the
// batch's transactions being independent: the caller holds each one's path
// locks until Commit() returns, and the locks of two transactions that
// touch the same path (or one above or beneath it) conflict, so one batch
// never holds two of them: no transaction's re-probe can see another's
// changes. Staging objects are named by transaction id.
class RecoveryBatch {
 public:
  explicit RecoveryBatch(RecoveryEnv env) : env_(std::move(env)), barriers_(env_.sync_dir) {}

  // Decides `rec` and changes the tree as decided. Its outcome is final
  // only after Commit().
  void Add(TxRecord rec);
  // Makes the batch durable and records it; returns the outcomes in the
  // order added, and leaves the batch empty for reuse.
  std::vector<RecoveredTx> Commit();
  size_t size() const { return out_.size(); }

 private:
  struct Finishing {
    size_t index;  // into out_
    TxRecord rec;  // in its final state (done or aborted)
  };
  RecoveryEnv env_;
  BarrierTracker barriers_;
  std::vector<RecoveredTx> out_;
  std::vector<Finishing> finishing_;
};

}  // namespace fstx
