// recover.h — finish one unfinished transaction, forward or back.
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

#include "fstx/fs.h"
#include "fstx/fstx.h"
#include "journal/record.h"
#include "journal/store.h"

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
// (dry run: kWouldRollForward, kWouldRollBack, kNeedsAttention).
RecoveredTx RecoverTransaction(const RecoveryEnv& env, TxRecord rec, bool dry_run);

}  // namespace fstx
