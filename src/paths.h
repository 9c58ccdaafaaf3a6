// paths.h — see fstx/paths.h (public); PathSet is internal.
#pragma once

#include <set>
#include <string>

#include "fstx/paths.h"

namespace fstx::paths {

// A set of normal absolute paths that answers, in O(depth * log n), whether
// it holds a path, a proper ancestor of it or a path beneath it: the
// overlap tests of barriers and recovery without comparing every pair.
class PathSet {
 public:
  void Insert(const std::string& p) { set_.insert(p); }
  void Clear() { set_.clear(); }
  bool Holds(const std::string& p) const { return set_.count(p) > 0; }
  bool HoldsAncestorOf(const std::string& p) const;
  bool HoldsBeneath(const std::string& p) const;
  // Holds p, an ancestor of p, or a path beneath p.
  bool Overlaps(const std::string& p) const { return Holds(p) || HoldsAncestorOf(p) || HoldsBeneath(p); }

 private:
  std::set<std::string> set_;
};

}  // namespace fstx::paths
