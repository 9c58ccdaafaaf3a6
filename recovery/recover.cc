#include "recovery/recover.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "src/barrier.h"
#include "src/ops.h"
#include "src/owner.h"

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

class Recovery {
 public:
  Recovery(const RecoveryEnv& env, TxRecord rec, bool dry_run)
      : env_(env), rec_(std::move(rec)), dry_run_(dry_run), barriers_(env.sync_dir) {
    out_.id = rec_.id;
    out_.label = rec_.label;
  }

  RecoveredTx Run() {
    switch (rec_.state) {
      case TxState::kCommitted:
        FinishForward();
        break;
      case TxState::kRollingBack:
        RollBack(rec_.intents.size());
        break;
      default:
        Decide();
        break;
    }
    return out_;
  }

 private:
  size_t n() const { return rec_.intents.size(); }

  // Finds how far apply got: the index of the first op not fully applied
  // (n if all are), probing from the last op back. Only the op just past
  // the last applied one can be checked against its recorded before-state:
  // ops further on may name paths that earlier, unapplied ops would have
  // created, so their probes say nothing. Returns -1 (needs attention) if
  // that op is in neither state.
  long FirstUnapplied(bool* partial) {
    *partial = false;
    std::vector<ops::ProbeResult> probes(n());
    long first = 0;
    for (size_t j = n(); j-- > 0;) {
      probes[j] = ops::Probe(env_.fs, rec_.id, static_cast<uint32_t>(j), rec_.intents[j]);
      if (probes[j].state == ops::State::kApplied) {
        first = static_cast<long>(j) + 1;
        break;
      }
      if (probes[j].state == ops::State::kPartial) {
        *partial = true;
        return static_cast<long>(j);
      }
    }
    if (first < static_cast<long>(n()) && probes[static_cast<size_t>(first)].state == ops::State::kUnknown) {
      size_t f = static_cast<size_t>(first);
      Attention(Status(Code::kNeedsAttention, "op " + std::to_string(f + 1) + " (" +
                                                   ops::Describe(rec_.intents[f]) + "): " + probes[f].why));
      return -1;
    }
    return first;
  }

  void Decide() {
    bool partial = false;
    long f = FirstUnapplied(&partial);
    if (f < 0) return;
    size_t first = static_cast<size_t>(f);
    if (first == n()) return FinishForward();
    if (rec_.policy == Policy::kRollforward) return RollForward(first);
    // Undo the applied ops and clean up after the one that was under way.
    RollBack(first + 1);
  }

  void FinishForward() {
    out_.decision = dry_run_ ? "would-roll-forward" : "rolled-forward";
    if (dry_run_) return;
    for (size_t j = 0; j < n(); ++j) {
      Status s = ops::Cleanup(env_.fs, rec_.id, static_cast<uint32_t>(j), rec_.intents[j]);
      if (!s.ok()) return Fail(s);
      for (const auto& d : ops::Dirs(rec_.intents[j])) barriers_.Dirty(d);
    }
    Finish(TxState::kDone);
  }

  // Undoes ops [0, count) in reverse.
  void RollBack(size_t count) {
    out_.decision = dry_run_ ? "would-roll-back" : "rolled-back";
    out_.ops_undone = static_cast<int>(count);
    if (dry_run_) return;
    Status s = ops::UndoReverse(env_.fs, rec_.id, rec_.intents, count, &barriers_);
    if (!s.ok()) return Fail(s);
    Finish(TxState::kAborted);
  }

  void RollForward(size_t first) {
    out_.decision = dry_run_ ? "would-roll-forward" : "rolled-forward";
    out_.ops_redone = static_cast<int>(n() - first);
    if (dry_run_) return;
    for (size_t j = first; j < n(); ++j) {
      Status s = barriers_.Before(rec_.intents[j]);
      if (s.ok()) s = ops::Redo(env_.fs, rec_.id, static_cast<uint32_t>(j), rec_.intents[j]);
      barriers_.After(rec_.intents[j]);
      if (s.ok()) continue;
      if (!Permanent(s)) return Fail(s);
      // Redo cannot succeed: undo instead, and say so durably first so
      // that a crash during the undo does not try to redo again.
      env_.log->warn("fstx: tx {} ({}): redo failed for good, rolling back: {}", rec_.id, rec_.label,
                     s.ToString());
      rec_.state = TxState::kRollingBack;
      rec_.note = s.ToString();
      Status w = barriers_.Final();
      if (w.ok()) w = Write(/*to_history=*/false);
      if (!w.ok()) return Fail(w);
      out_.ops_redone = 0;
      return RollBack(n());
    }
    for (size_t j = 0; j < n(); ++j) {
      Status s = ops::Cleanup(env_.fs, rec_.id, static_cast<uint32_t>(j), rec_.intents[j]);
      if (!s.ok()) return Fail(s);
      for (const auto& d : ops::Dirs(rec_.intents[j])) barriers_.Dirty(d);
    }
    Finish(TxState::kDone);
  }

  // The tree is as decided: make it durable, then record the outcome.
  void Finish(TxState state) {
    Status s = barriers_.Final();
    if (!s.ok()) return Fail(s);
    rec_.state = state;
    rec_.finished_us = NowMicros();
    s = Write(/*to_history=*/true);
    if (!s.ok()) return Fail(s);
    env_.log->info("fstx: recovered tx {} ({}): {}", rec_.id, rec_.label, out_.decision);
  }

  // A step failed: needs-attention for a state we will not guess about, and
  // also for errors we cannot get past (the record stays, locks stay held).
  void Fail(const Status& s) { Attention(s); }

  void Attention(const Status& s) {
    out_.decision = "needs-attention";
    out_.message = s.ToString();
    env_.log->error("fstx: tx {} ({}) needs attention: {}", rec_.id, rec_.label, s.ToString());
    if (dry_run_) return;
    rec_.state = TxState::kNeedsAttention;
    rec_.note = s.ToString();
    Status w = Write(/*to_history=*/false);
    if (!w.ok()) out_.message += "; and recording that failed: " + w.ToString();
  }

  Status Write(bool to_history) {
    WriteBatch b;
    (to_history ? b.to_history : b.put_active).push_back(rec_);
    return env_.store->Write(&b);
  }

  const RecoveryEnv& env_;
  TxRecord rec_;
  bool dry_run_;
  BarrierTracker barriers_;
  RecoveredTx out_;
};

}  // namespace

RecoveredTx RecoverTransaction(const RecoveryEnv& env, TxRecord rec, bool dry_run) {
  return Recovery(env, std::move(rec), dry_run).Run();
}

}  // namespace fstx
