// world.h — one crash-explorer worker's scratch world: a tree copy and a
// journal at fixed paths, the recording of a clean run, and the oracle.
//
// Journals record absolute paths and the identities (dev, inode, birth
// time) of the objects they move, so every state of a worker is built at
// the same scratch path. A power-loss state is built by restoring the
// pre-image, replaying the persisted operations, and restoring the journal
// as of the last synced commit with its fingerprints re-pointed at the
// restored objects (matched by their path in the pre-image).
// Not thread-safe; forks; keeps no journal open between calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fault-injection/tree_image.h"
#include "fstx/explorer.h"
#include "fstx/fault.h"

namespace fstx::explore {

// The 1-based indexes of `trace` where a kill leaves a distinct disk state:
// before each mutation (writes in the middle of a file included), barrier
// and journal commit. (A kill before a
// read-only call, or after a call, leaves the same state as a kill before
// the next mutating point.) Plus trace.size() + 1: the run completes.
std::vector<uint64_t> CrashPoints(const std::vector<std::string>& trace);

// A subset of the workload's transactions (bit i: transaction i) as
// "tx 0, 2", or "none".
std::string SubsetName(uint32_t subset);

// A crash state put aside to be put back many times (World::Keep, PutBack).
struct KeptState {
  SavedTree tree;
  Image image;  // the same tree, empty staging directories included
  std::map<std::string, std::string> journal;  // the journal directory's files: name -> bytes
};

// A recovery run, recorded (World::TraceRecovery).
struct RecoveryRecording {
  std::vector<std::string> trace;    // "point path" per failpoint hit
  std::vector<fault::Event> events;  // its mutations, in order
  // What StateKey() folds in for the journal: before recovery, then after
  // each of recovery's journal commits.
  std::vector<std::string> journal;
};

struct StateResult {
  uint64_t key = 0;                 // tree + journal fingerprint, before recovery
  std::optional<std::string> what;  // the oracle rule that failed, if any
  std::string diff;
  Image after;                      // the tree after recovery
  int64_t applied = -1;             // the subset (World::images) `after` is an image of; -1: none
};

class World {
 public:
  World(const Options& opt, const Image& pre, std::string base);

  // Post-image, the allowed images, and the recording of a clean run.
  // Fails if the workload does not commit on the pre-image (concurrent
  // transactions: in any order, after any subset of the others).
  Status Prepare();

  // The transactions of the workload: Options::concurrent's, else one (a
  // `run` counts as one: it reports one result). A subset is a bit mask.
  size_t txs() const { return opt_.concurrent.empty() ? 1 : opt_.concurrent.size(); }
  uint32_t all() const { return (1u << txs()) - 1; }
  bool concurrent() const { return !opt_.concurrent.empty(); }
  // The images the pre-image can become with exactly `subset` applied,
  // each transaction whole (one per order the subset can commit in).
  const std::vector<Image>& images(uint32_t subset) const { return images_[subset]; }

  const std::vector<std::string>& trace() const { return trace_; }  // "point path" per failpoint hit
  const std::vector<fault::Event>& events() const { return events_; }
  bool committed() const { return committed_; }
  const std::string& root() const { return root_; }
  const std::string& base() const { return base_; }
  const Image& pre() const { return pre_; }
  const Image& post() const { return post_; }

  // Fresh pre-image and empty journal.
  Status Reset();
  // Runs the workload in a child process killed at failpoint hit `crash_at`
  // (counted over all points), or if `torn` (the hit is a write) part-way
  // through that write, half its bytes written. Returns true if it was
  // killed; if not, *reported gets the subset that reported success.
  Result<bool> CrashWorkload(uint64_t crash_at, bool torn = false, uint32_t* reported = nullptr);
  // Runs recovery in a child killed at failpoint hit `crash_at`.
  Result<bool> CrashRecovery(uint64_t crash_at);
  // Recovers the state in place, here, recording what it does.
  Status TraceRecovery(RecoveryRecording* out);
  // The fingerprint StateKey() would give if recovery of `kept` (recorded
  // in `r`) were killed at failpoint hit `m`, computed in memory: the
  // mutations before that hit applied to the kept tree, and the journal as
  // of recovery's last commit by then. False if the events cannot be
  // simulated.
  bool RecoveryKey(const KeptState& kept, const RecoveryRecording& r, uint64_t m, uint64_t* key) const;
  // Runs the workload here with failpoint hit `at` failing with `err`;
  // returns the first error reported, *reported the subset that reported
  // success.
  Status FailWorkload(uint64_t at, int err, uint32_t* reported);
  // After a run in which some transaction reported an error, before any
  // recovery: false (and the violation in *r) unless the tree in place,
  // `now`, is already an image of exactly the subset that reported success.
  bool Unrecovered(uint32_t reported, const Image& now, StateResult* r) const;
  // Builds a power-loss state: events `persist` (indexes into events())
  // replayed onto the pre-image, the journal as of snapshot `snap` (-1:
  // none), and optionally the last persisted create torn to half.
  Status BuildPowerState(const std::vector<size_t>& persist, int snap, bool torn_last);
  // The fingerprint StateKey(snap) would give the state BuildPowerState
  // builds, computed in memory (false if the events cannot be simulated).
  bool PowerKey(const std::vector<size_t>& persist, int snap, bool torn_last, uint64_t* key) const;
  // Index of the journal snapshot taken at the last kJournalSync before
  // event `p` (-1 if none).
  int SnapshotBefore(size_t p) const;

  // The oracle on the state now in place: recover, check, recover again.
  // `reported`: the run ended (not killed) and this subset reported success
  // (the others an error); the tree must be an image of exactly it.
  StateResult Check(std::optional<uint32_t> reported, const Image* must_equal = nullptr);
  // Fingerprint of the state now in place (before recovery). For a power
  // state pass its journal snapshot index (saves reading the journal);
  // pass the tree if it was just captured (saves capturing it again).
  uint64_t StateKey(int snap = -2, const Image* tree = nullptr);

  // Puts the state now in place aside, exactly (Save(), tree_image.h).
  Status Keep(KeptState* out) const;
  // Puts a kept state back in place: its tree rebuilt, its journal's files
  // written back, the journal's fingerprints re-pointed at the rebuilt
  // objects. Recovery then sees the state that was kept, except for inode
  // numbers and birth times (compare with ExactKey).
  Status PutBack(const KeptState& k);
  // A fingerprint of everything recovery can see in the state now in place,
  // inode numbers aside: the tree with its hard links and empty staging
  // directories, and the journal's unfinished records, with each
  // fingerprint named by the object it matches in the tree (the owner and
  // the creation time, which differ between runs, left out).
  uint64_t ExactKey() const;

 private:
  template <class Body>
  Result<bool> InCrashingChild(uint64_t crash_at, bool torn, uint32_t* reported, Body body);
  fstx::Options JournalOptions(Fs* fs) const;
  std::vector<fault::Event> PowerEvents(const std::vector<size_t>& persist, bool torn_last) const;
  // Writes a journal's files into `jdir` (none: no journal) and re-points
  // its unfinished records' fingerprints through `moved`.
  Status RestoreJournal(const std::string& jdir, const std::map<std::string, std::string>& files,
                        const IdMap& moved);
  // The workload on `j`: Options::run, Options::workload in one
  // transaction committed here, or the concurrent transactions. Returns the
  // first error reported; *ok the subset that reported success.
  Status Invoke(Journal& j, uint32_t* ok = nullptr) const;
  Status InvokeConcurrent(Journal& j, uint32_t* ok) const;
  // images_ for concurrent transactions (ApplyInOrder each subset, in
  // every order).
  Status AllowedImages();
  Status CleanRun();
  Status ApplyInOrder(const std::vector<size_t>& order, Image* out);
  // The subset whose images hold `img` (-1: none), and the image nearest it.
  int64_t SubsetOf(const Image& img) const;
  const Image& Nearest(const std::vector<Image>& candidates, const Image& img) const;
  std::string ReportedRule(uint32_t reported) const;
  Status RunWorkload(Fs* fs, std::function<Status(std::string_view)> hook, Status* commit, uint32_t* ok = nullptr);

  const Options& opt_;
  const Image& pre_;
  std::string base_, root_, jdir_;
  Image post_;
  std::vector<std::vector<Image>> images_;  // subset (bit mask) -> its images
  std::vector<std::string> trace_;
  std::vector<fault::Event> events_;
  std::vector<std::string> snaps_;       // data.mdb after each kJournalSync
  std::map<std::pair<uint64_t, uint64_t>, std::string> recorded_ids_;  // (dev, ino) -> pre-image path
  // A record may name an object created during the recording, which no
  // pre-image path names: staged content (format 4, Intent::content), or
  // with concurrent transactions a file one wrote and the next replaces.
  // Index into events_ of each create, symlink and mkdir -> the identity of
  // what it created.
  std::map<size_t, Ident> created_at_;
  void NoteCreated(const std::map<std::string, std::vector<Ident>>& created);
  // (dev, ino) of each object events `persist` created, as recorded -> the
  // identity of the same object in the state built in root_ (walked only
  // if there is one).
  Result<IdMap> CreatedMoves(const std::vector<size_t>& persist) const;
  bool committed_ = false;
};

}  // namespace fstx::explore
