// fstx/paths.h — lexical path rules, in one place (public: a program that
// builds transactions can check its paths the way fstx will).
//
// fstx works on absolute, lexically normal paths: "/a/b/c". Normalize()
// collapses repeated slashes and drops a trailing slash; it refuses "." and
// ".." components, relative paths, NUL bytes, components longer than
// NAME_MAX and paths longer than PATH_MAX, naming the path and the reason.
// Pure functions, no filesystem access, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "fstx/status.h"
#include "fstx/version.h"

namespace fstx::paths {

FSTX_API Result<std::string> Normalize(const std::string& path);

// "/a/b" -> "/a"; "/a" -> "/".
FSTX_API std::string Parent(const std::string& path);
// "/a/b" -> "b".
FSTX_API std::string Leaf(const std::string& path);
// "/a" + "b" -> "/a/b" ("/" + "b" -> "/b").
FSTX_API std::string Join(const std::string& dir, const std::string& name);

// True if `a` is a proper ancestor of `b` ("/a" of "/a/b", not of "/ab").
FSTX_API bool IsAncestor(const std::string& a, const std::string& b);
// a == b or IsAncestor(a, b).
FSTX_API bool IsSameOrAncestor(const std::string& a, const std::string& b);
// If `p` is `from` or beneath it, rewrites that prefix to `to`.
FSTX_API std::string Rebase(const std::string& p, const std::string& from, const std::string& to);

// Index of the root (normalised absolute dirs) that `path` lies strictly
// beneath, or -1. With nested roots the longest match wins.
FSTX_API int FindRoot(const std::vector<std::string>& roots, const std::string& path);

// Normalize + FindRoot, with an error that names the path and the roots.
FSTX_API Result<std::string> CheckBeneathRoots(const std::vector<std::string>& roots,
                                      const std::string& path);

}  // namespace fstx::paths
