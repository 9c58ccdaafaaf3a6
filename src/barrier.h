// barrier.h — durability barriers between dependent steps.
//
// Filesystems persist metadata operations on one directory in order (ext4,
// xfs and btrfs all do; README "filesystem assumptions"), but two
// operations in different directories may reach the disk in either order
// unless a directory fsync separates them. When an op names a path that is
// a proper ancestor or descendant of a path named by an op run since the
// last barrier (rename a dir, then write inside it), or when a write_range
// names a path an op named since then (rename a file, then write into it
// in place), Before() first syncs
// every directory dirtied since that barrier. Final() syncs what is still
// dirty, each directory once: the commit point of a transaction.
//
// `on_sync` (optional) is told of every directory synced, so the journal
// can learn which cleanups became durable. Thread-compatible.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "fstx/fs.h"
#include "journal/record.h"
#include "src/paths.h"

namespace fstx {

class BarrierTracker {
 public:
  using SyncFn = std::function<Status(const std::string& dir)>;
  explicit BarrierTracker(SyncFn sync) : sync_(std::move(sync)) {}

  // Call before running a step of `in`; syncs if `in` depends on a step
  // run since the last barrier.
  Status Before(const Intent& in);
  // Call after running a step of `in` (even a failed one: it may have
  // changed something).
  void After(const Intent& in);
  // Marks a directory dirty without an intent (staging cleanup).
  void Dirty(const std::string& dir) { dirty_.insert(dir); }
  Status Final();
  int barriers() const { return barriers_; }

 private:
  SyncFn sync_;
  std::set<std::string> dirty_;
  paths::PathSet since_;  // paths named since the last barrier
  int barriers_ = 0;
};

}  // namespace fstx
