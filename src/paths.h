// paths.h — lexical path rules, in one place.
//
// fstx works on absolute, lexically normal paths: "/a/b/c". Normalize()
// collapses repeated slashes and drops a trailing slash; it refuses "." and
// ".." components, relative paths, NUL bytes, components longer than
// NAME_MAX and paths longer than PATH_MAX, naming the path and the reason.
// Pure functions, no filesystem access, thread-safe.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "fstx/status.h"

namespace fstx::paths {

Result<std::string> Normalize(const std::string& path);

// "/a/b" -> "/a"; "/a" -> "/".
std::string Parent(const std::string& path);
// "/a/b" -> "b".
std::string Leaf(const std::string& path);
// "/a" + "b" -> "/a/b" ("/" + "b" -> "/b").
std::string Join(const std::string& dir, const std::string& name);

// True if `a` is a proper ancestor of `b` ("/a" of "/a/b", not of "/ab").
bool IsAncestor(const std::string& a, const std::string& b);
// a == b or IsAncestor(a, b).
bool IsSameOrAncestor(const std::string& a, const std::string& b);
// If `p` is `from` or beneath it, rewrites that prefix to `to`.
std::string Rebase(const std::string& p, const std::string& from, const std::string& to);

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

// Index of the root (normalised absolute dirs) that `path` lies strictly
// beneath, or -1. With nested roots the longest match wins.
int FindRoot(const std::vector<std::string>& roots, const std::string& path);

// Normalize + FindRoot, with an error that names the path and the roots.
Result<std::string> CheckBeneathRoots(const std::vector<std::string>& roots,
                                      const std::string& path);

}  // namespace fstx::paths
