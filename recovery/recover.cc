#include "recovery/recover.h"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "src/ops/barrier.h"
#include "src/ops/ops.h"
#include "src/ops/owner.h"
#include "src/fs/paths.h"

namespace fstx {
namespace {

bool Permanent(const Status& s) {
  switch (s.code()) {
    case Code::kNoSpace:
    case Code::kPermission:
    case Code::kNotSupported:
    case Code::kNotFound:
    case Code::kExists:
    case Code::kInvalidArgument:
      return true;
    default:
      return false;
  }
}

Status PutActive(const RecoveryEnv& env, const TxRecord& rec) {
  WriteBatch b;
  b.put_active.push_back(rec);
  return env.store->Write(&b);
}

// A state we will not guess about, or a step we cannot get past: the
// record stays, needs_attention, with its paths locked.
void RecordAttention(const RecoveryEnv& env, const Status& s, bool dry_run, TxRecord* rec, RecoveredTx* out) {
  out->decision = Decision::kNeedsAttention;
  out->message = s.ToString();
  env.log->error("fstx: tx {} ({}) needs attention: {}", rec->id, rec->label, s.ToString());
  if (dry_run) return;
  rec->state = TxState::kNeedsAttention;
  rec->note = s.ToString();
  Status w = PutActive(env, *rec);
  if (!w.ok()) out->message += "; and recording that failed: " + w.ToString();
}

// Recovery of one transaction up to its finishing: the tree is as decided
// (not yet durable), and the record, in its final state, waits for the
// batch's barrier and history commit (see RecoveryBatch).
class Recovery {
 public:
  Recovery(const RecoveryEnv& env, TxRecord rec, bool dry_run, BarrierTracker* barriers)
      : env_(env), rec_(std::move(rec)), dry_run_(dry_run), barriers_(*barriers) {
    out_.id = rec_.id;
    out_.label = rec_.label;
  }

  RecoveredTx Run() {
    switch (rec_.state) {
      case TxState::kCommitted:
        FinishForward();
        break;
      case TxState::kRollingBack:
        RollBack();
        break;
      default:
        Decide();
        break;
    }
    return out_;
  }
  // After Run(): does the record wait for the history commit, and in
  // which final state.
  bool finishing() const { return finishing_; }
  TxRecord& record() { return rec_; }

 private:
  size_t n() const { return rec_.intents.size(); }

  // Which ops reached the disk. Apply runs the ops in order, but after a
  // power loss independent ops (no shared path, none beneath another's) may
  // have persisted in any combination; ops that overlap are ordered (same
  // directory, or a barrier between them), so the persisted set is closed
  // under overlap: if an op persisted, every earlier op it overlaps did.
  // Going from the last op back, an op overlapped by a later persisted op
  // is applied without asking; otherwise its probe is valid, because no
  // later op has touched its paths. An op whose probe finds neither state
  // is only explained if an earlier op it overlaps did not persist (its
  // before-state was never made); if all of those persisted, someone else
  // changed the tree: needs attention. Returns false in that case.
  bool Classify() {
    state_.assign(n(), ops::State::kNotApplied);
    probed_.assign(n(), false);
    std::vector<std::string> unknown(n());
    paths::PathSet started;  // paths of the later ops that reached the disk
    for (size_t j = n(); j-- > 0;) {
      if (OverlapsAny(started, rec_.intents[j])) {
        state_[j] = ops::State::kApplied;
      } else {
        ops::ProbeResult p = ops::Probe(env_.fs, rec_.id, static_cast<uint32_t>(j), rec_.intents[j]);
        state_[j] = p.state;
        probed_[j] = p.state != ops::State::kUnknown;
        if (p.state == ops::State::kUnknown) unknown[j] = p.why;
      }
      if (Started(j))
        for (const auto& p : ops::Paths(rec_.intents[j])) started.Insert(p);
    }
    std::vector<std::string> conflicts;
    paths::PathSet missing;  // paths of the earlier ops that did not reach the disk
    for (size_t j = 0; j < n(); ++j) {
      if (state_[j] == ops::State::kUnknown) {
        if (OverlapsAny(missing, rec_.intents[j])) {
          state_[j] = ops::State::kNotApplied;
        } else {
          conflicts.push_back("op " + std::to_string(j + 1) + " (" + ops::Describe(rec_.intents[j]) +
                              "): " + unknown[j]);
        }
      }
      if (state_[j] != ops::State::kApplied)
        for (const auto& p : ops::Paths(rec_.intents[j])) missing.Insert(p);
    }
    if (conflicts.empty()) return true;
    // Every op that cannot be placed, at once: an operator fixes them all
    // before one `fstx resolve --retry`, not one per run.
    std::string all;
    for (const auto& c : conflicts) all += (all.empty() ? "" : "; ") + c;
    out_.conflicts = std::move(conflicts);
    Attention(Status(Code::kNeedsAttention, all));
    return false;
  }

  // Does `in` name a path of `set`, or one above or beneath it (the
  // ops::Overlap test against every op whose paths are in `set`)?
  static bool OverlapsAny(const paths::PathSet& set, const Intent& in) {
    for (const auto& p : ops::Paths(in))
      if (set.Overlaps(p)) return true;
    return false;
  }

  bool Started(size_t k) const {
    return state_[k] == ops::State::kApplied || state_[k] == ops::State::kPartial;
  }

  void Decide() {
    if (!Classify()) return;
    bool all = true;
    for (size_t j = 0; j < n(); ++j) all = all && state_[j] == ops::State::kApplied;
    if (all) return FinishForward();
    if (rec_.policy == Policy::kRollforward) return RollForward();
    RollBack();
  }

  void FinishForward() {
    out_.decision = dry_run_ ? Decision::kWouldRollForward : Decision::kRolledForward;
    if (dry_run_) return;
    CleanupAll();
    Finish(TxState::kDone);
  }

  // Deletes the staging objects of a transaction that is complete. A
  // deletion that fails (a read-only directory, an immutable file) does not
  // hold the transaction: it is done, and what is left in the staging
  // directory is garbage, reported in the record's note, by the recovery
  // report and by `fstx verify`, for an operator to delete.
  void CleanupAll() {
    std::string left;
    for (size_t j = 0; j < n(); ++j) {
      Status s = ops::Cleanup(env_.fs, rec_.id, static_cast<uint32_t>(j), rec_.intents[j]);
      if (!s.ok()) left += (left.empty() ? "" : "; ") + std::string("op ") + std::to_string(j + 1) + ": " + s.ToString();
      for (const auto& d : ops::Dirs(rec_.intents[j])) barriers_.Dirty(d);
    }
    if (left.empty()) return;
    rec_.note = "complete, but staging objects were left behind (safe to delete): " + left;
    out_.message = rec_.note;
    env_.log->warn("fstx: tx {} ({}): {}", rec_.id, rec_.label, rec_.note);
  }

  // Undoes the ops that reached the disk, last first, and discards what
  // the others may have left. Without a classification (state
  // rolling_back), every op is undone by its own probe.
  void RollBack() {
    out_.decision = dry_run_ ? Decision::kWouldRollBack : Decision::kRolledBack;
    for (size_t j = 0; j < state_.size(); ++j) out_.ops_undone += Started(j) ? 1 : 0;
    if (dry_run_) return;
    if (state_.empty()) {
      out_.ops_undone = static_cast<int>(n());
      Status s = ops::UndoReverse(env_.fs, rec_.id, rec_.intents, n(), &barriers_);
      if (!s.ok()) return Attention(s);
      return Finish(TxState::kAborted);
    }
    for (size_t j = n(); j-- > 0;) {
      const Intent& in = rec_.intents[j];
      Status s = barriers_.Before(in);
      const auto k = static_cast<uint32_t>(j);
      if (s.ok() && !Started(j)) {
        s = ops::DiscardStaging(env_.fs, rec_.id, k, in);
      } else if (s.ok()) {
        // A probed op's state still holds: the later ops undone meanwhile
        // do not overlap it (Classify), so it is not probed twice.
        s = ops::Undo(env_.fs, rec_.id, k, in,
                      probed_[j] ? ops::ProbeResult{state_[j], ""} : ops::Probe(env_.fs, rec_.id, k, in));
      }
      barriers_.After(in);
      if (!s.ok()) return Attention(s);
    }
    Finish(TxState::kAborted);
  }

  // Redoes, in order, the ops that did not reach the disk.
  void RollForward() {
    out_.decision = dry_run_ ? Decision::kWouldRollForward : Decision::kRolledForward;
    for (size_t j = 0; j < n(); ++j) out_.ops_redone += state_[j] == ops::State::kApplied ? 0 : 1;
    if (dry_run_) return;
    for (size_t j = 0; j < n(); ++j) {
      if (state_[j] == ops::State::kApplied) continue;
      Status s = barriers_.Before(rec_.intents[j]);
      if (s.ok()) s = ops::Redo(env_.fs, rec_.id, static_cast<uint32_t>(j), rec_.intents[j]);
      barriers_.After(rec_.intents[j]);
      if (s.ok()) continue;
      if (!Permanent(s)) return Attention(s);
      // Redo cannot succeed: undo instead, and say so durably first so
      // that a crash during the undo does not try to redo again.
      env_.log->warn("fstx: tx {} ({}): redo failed for good, rolling back: {}", rec_.id, rec_.label,
                     s.ToString());
      rec_.state = TxState::kRollingBack;
      rec_.note = s.ToString();
      Status w = barriers_.Final();
      if (w.ok()) w = PutActive(env_, rec_);
      if (!w.ok()) return Attention(w);
      out_.ops_redone = 0;
      state_.clear();  // undo every op by its own probe
      return RollBack();
    }
    CleanupAll();
    Finish(TxState::kDone);
  }

  // The tree is as decided: the batch makes it durable, then records the
  // outcome (RecoveryBatch::Commit).
  void Finish(TxState state) {
    rec_.state = state;
    rec_.finished_us = NowMicros();
    finishing_ = true;
  }

  void Attention(const Status& s) { RecordAttention(env_, s, dry_run_, &rec_, &out_); }

  const RecoveryEnv& env_;
  TxRecord rec_;
  bool dry_run_;
  BarrierTracker& barriers_;  // shared by the batch
  RecoveredTx out_;
  std::vector<ops::State> state_;  // per op, from Classify()
  std::vector<bool> probed_;        // per op: state_ is its own probe's
  bool finishing_ = false;
};

}  // namespace

RecoveredTx RecoverTransaction(const RecoveryEnv& env, TxRecord rec, bool dry_run) {
  if (dry_run) {
    BarrierTracker unused(env.sync_dir);  // a dry run changes nothing
    return Recovery(env, std::move(rec), /*dry_run=*/true, &unused).Run();
  }
  RecoveryBatch one(env);
  one.Add(std::move(rec));
  return one.Commit().front();
}

void RecoveryBatch::Add(TxRecord rec) {
  Recovery r(env_, std::move(rec), /*dry_run=*/false, &barriers_);
  out_.push_back(r.Run());
  if (r.finishing()) finishing_.push_back({out_.size() - 1, std::move(r.record())});
}

std::vector<RecoveredTx> RecoveryBatch::Commit() {
  Status s = barriers_.Final();  // every directory the batch touched, once
  if (s.ok() && !finishing_.empty()) {
    WriteBatch b;
    for (const Finishing& f : finishing_) b.to_history.push_back(f.rec);
    s = env_.store->Write(&b);
  }
  for (Finishing& f : finishing_) {
    RecoveredTx& out = out_[f.index];
    if (!s.ok()) RecordAttention(env_, s, /*dry_run=*/false, &f.rec, &out);
    else env_.log->info("fstx: recovered tx {} ({}): {}", f.rec.id, f.rec.label, decision_name(out.decision));
  }
  finishing_.clear();
  // A failed barrier leaves directories dirty; they belong to transactions
  // now needing attention, not to the next batch.
  barriers_ = BarrierTracker(env_.sync_dir);
  return std::exchange(out_, {});
}

}  // namespace fstx
