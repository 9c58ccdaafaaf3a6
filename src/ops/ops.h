// ops.h — apply, probe, undo, redo and clean up one intent.
//
// Each operation is a short sequence of atomic steps (renameat2, linkat,
// a fully written and fsynced staging file), and every state between two
// steps is recognisable from the filesystem plus the intent alone:
//
//   op          steps (S = source, P = target, new/old/del = staging names)
//   rename      [P exists: link P->old (dir: rename P->old)], rename S->P
//   write_file  create+fsync new, [P exists: link P->old], rename new->P
//               (format 4, big content: `new` is Intent::content, created
//               and synced before the record was written)
//   symlink     symlink new, [P exists: link P->old], rename new->P
//   remove      rename P->del
//   mkdir       mkdir new (exact mode), rename new->P
//   write_range pwrite the new bytes at the offset, fdatasync (no staging;
//               the old bytes are in the intent)
//
// Staging objects (new/old/del) live in the op's staging directory
// (journal/names.h), on the same mount as the target.
//
// Probe() says which state the op is in. Undo() and Redo() are driven by
// the probe, so they are idempotent: run again after a crash at any point
// they finish the same job. Neither ever deletes an object fstx did not
// create: replaced and removed objects stay under their staging names until
// Cleanup(), which runs only after the transaction's commit point.
// A probe that finds neither the before- nor the after-state returns
// kUnknown with a reason; Undo/Redo then fail with kNeedsAttention.
//
// Nothing here syncs directories: callers put barriers between dependent
// ops and one at the end (see barrier.h). Thread-compatible.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "fstx/fs.h"
#include "journal/record.h"

namespace fstx {
class BarrierTracker;
}

namespace fstx::ops {

enum class State { kNotApplied, kPartial, kApplied, kUnknown };
const char* state_name(State s);

struct ProbeResult {
  State state = State::kUnknown;
  std::string why;  // for kUnknown: what was found instead
};

// `index` is the op's position in its transaction; with `txid` it names
// the op's staging objects.
Status Apply(Fs* fs, uint64_t txid, uint32_t index, const Intent& in);
ProbeResult Probe(Fs* fs, uint64_t txid, uint32_t index, const Intent& in);
Status Undo(Fs* fs, uint64_t txid, uint32_t index, const Intent& in);
// Undo from a probe the caller made, when nothing has touched the op's
// paths or staging names since (recovery's classification: no later op
// overlaps it); Undo(...) is Undo(..., Probe(...)).
Status Undo(Fs* fs, uint64_t txid, uint32_t index, const Intent& in, const ProbeResult& p);
Status Redo(Fs* fs, uint64_t txid, uint32_t index, const Intent& in);
// Deletes the op's replaced/removed object (old/del staging) and any stale
// new staging. Only after the commit point.
Status Cleanup(Fs* fs, uint64_t txid, uint32_t index, const Intent& in);

Fingerprint FingerprintOf(const FileInfo& info);
// True if `info` is the very object `fp` was taken of (same dev and inode).
bool SameObject(const FileInfo& info, const Fingerprint& fp);

// For an op that was not applied: removes what an interrupted Apply may
// have left (its new staging object; an extra link to the replaced object)
// without probing. Deletes nothing but this op's own staging names.
Status DiscardStaging(Fs* fs, uint64_t txid, uint32_t index, const Intent& in);

// Deletes a write_file's staged content (Intent::content, format 4) if it
// is still the file staged (its fingerprint `moved`); absent is fine.
Status DropContent(Fs* fs, const Intent& in);

// Do two ops name the same path, or one a path beneath the other's? Such
// ops are ordered on disk (same directory, or a barrier between them);
// independent ops may reach the disk in either order.
bool Overlap(const Intent& a, const Intent& b);

// Undoes ops [0, count) of a transaction in reverse order, with barriers
// between dependent ops. Stops at the first failure.
Status UndoReverse(Fs* fs, uint64_t txid, const std::vector<Intent>& intents, size_t count,
                   BarrierTracker* barriers);

// Paths the op names (rename: source and target; others: the path).
std::set<std::string> Paths(const Intent& in);
// Directories whose entries the op changes (parents of Paths(), and its
// staging directory if it stages anything).
std::set<std::string> Dirs(const Intent& in);
// Does the op put anything in its staging directory?
bool UsesStaging(const Intent& in);
// Where its staging objects live (the sibling directory for format 1).
std::string StageDir(const Intent& in);
// "rename /a -> /b", "write_file /a", ...
std::string Describe(const Intent& in);

}  // namespace fstx::ops
