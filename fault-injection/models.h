// models.h — the five crash models, run by one worker over its share of
// the crash states (state i belongs to worker i % jobs).
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "fault-injection/world.h"
#include "fstx/explorer.h"

namespace fstx::explore {

struct ModelRun {
  ModelStats stats;
  std::vector<uint64_t> keys;  // state fingerprints, for global dedup
  std::vector<Violation> violations;
};

struct Slice {
  int index = 0;
  int jobs = 1;
  bool mine(uint64_t i) const { return static_cast<int>(i % static_cast<uint64_t>(jobs)) == index; }
};

using ProgressFn = std::function<void(Model, uint64_t done, uint64_t total)>;

Result<ModelRun> RunModel(Model m, World& w, const Options& opt, const Slice& slice, const ProgressFn& progress);

// Rebuilds and checks one state by id ("process:12", "power-weak:9:3",
// "errors:17:ENOSPC", "recovery:4:2", "power-ordered:6").
Result<ModelRun> RunState(const std::string& id, World& w, const Options& opt);

// For power-weak: the dependency-closed subsets of the operations pending
// at crash point p (events [0, p)), each as the full list of persisted
// event indexes in order; at most `cap` of them.
std::vector<std::vector<size_t>> WeakStates(const std::vector<fault::Event>& ev, size_t p, uint64_t cap);

}  // namespace fstx::explore
