// weak_states.cc — the power-weak model's crash states: which operations
// may have persisted at a crash point (models.h).
#include <functional>
#include <set>

#include "fault-injection/models.h"
#include "src/paths.h"

namespace fstx::explore {
namespace {

// The directories whose entries an event names. An in-place write names
// none: its data is synced by the call itself (fdatasync), so it is
// durable from the moment it is recorded.
std::set<std::string> EventDirs(const fault::Event& e) {
  if (e.kind == fault::Event::kWrite) return {};
  std::set<std::string> d{paths::Parent(e.path)};
  if (!e.path2.empty()) d.insert(paths::Parent(e.path2));
  return d;
}

std::vector<std::string> EventPaths(const fault::Event& e) {
  std::vector<std::string> p{e.path};
  if (!e.path2.empty()) p.push_back(e.path2);
  return p;
}

// Does event j depend on event i (i < j)? Operations on one directory
// persist in order; an operation inside something an earlier one created
// or moved needs that one.
bool DependsOn(const fault::Event& ej, const fault::Event& ei) {
  for (const auto& d : EventDirs(ej))
    if (EventDirs(ei).count(d)) return true;
  for (const auto& pj : EventPaths(ej))
    for (const auto& pi : EventPaths(ei))
      if (paths::IsAncestor(pi, pj)) return true;
  // A directory is removed only once empty: its removal cannot outlive the
  // removal of what was in it (the entries go with its blocks).
  if (ej.kind == fault::Event::kRmdir)
    for (const auto& pi : EventPaths(ei))
      if (paths::IsAncestor(ej.path, pi)) return true;
  return false;
}

}  // namespace

bool IsBarrier(const fault::Event& e) {
  return e.kind == fault::Event::kSyncDir || e.kind == fault::Event::kJournalSync;
}


std::vector<std::vector<size_t>> WeakStates(const std::vector<fault::Event>& ev, size_t p, uint64_t cap) {
  // Which events before p are forced durable: every directory they touch
  // was synced by a later barrier before p; and whatever they depend on.
  std::vector<bool> forced(p, false);
  for (size_t i = 0; i < p; ++i) {
    if (IsBarrier(ev[i])) continue;
    bool all = true;
    for (const auto& d : EventDirs(ev[i])) {
      bool synced = false;
      for (size_t s = i + 1; s < p && !synced; ++s)
        synced = ev[s].kind == fault::Event::kSyncDir && ev[s].path == d;
      all = all && synced;
    }
    forced[i] = all;
  }
  for (size_t j = p; j-- > 0;)
    if (forced[j])
      for (size_t i = 0; i < j; ++i)
        if (!IsBarrier(ev[i]) && DependsOn(ev[j], ev[i])) forced[i] = true;
  std::vector<size_t> pending, base;
  for (size_t i = 0; i < p; ++i) {
    if (IsBarrier(ev[i])) continue;
    (forced[i] ? base : pending).push_back(i);
  }
  std::vector<std::vector<size_t>> out;
  std::vector<bool> in(p, false);
  for (size_t i : base) in[i] = true;
  // Depth-first over the pending events, in order: each is persisted or
  // lost; persisted only if everything it depends on persisted.
  std::function<void(size_t)> dfs = [&](size_t k) {
    if (out.size() >= cap) return;
    if (k == pending.size()) {
      std::vector<size_t> persist;
      for (size_t i = 0; i < p; ++i)
        if (in[i] || IsBarrier(ev[i])) persist.push_back(i);
      out.push_back(std::move(persist));
      return;
    }
    const size_t j = pending[k];
    bool ok = true;
    for (size_t i = 0; i < j && ok; ++i)
      if (!IsBarrier(ev[i]) && !in[i] && DependsOn(ev[j], ev[i])) ok = false;
    // Lost first: the states that differ from the ordered model come early.
    dfs(k + 1);
    if (ok) {
      in[j] = true;
      dfs(k + 1);
      in[j] = false;
    }
  };
  dfs(0);
  return out;
}

}  // namespace fstx::explore
