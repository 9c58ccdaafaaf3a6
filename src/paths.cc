// paths.cc — lexical path rules (see paths.h). No filesystem access.

#include "src/paths.h"

#include <climits>
#include <cstddef>

namespace fstx::paths {

namespace {

// The path as it may appear in a message: NUL bytes made visible, very long
// paths cut short.
std::string Printable(const std::string& path) {
  constexpr size_t kShown = 256;
  if (path.empty()) return "''";
  std::string out;
  for (size_t i = 0; i < path.size() && i < kShown; ++i) {
    if (path[i] == '\0') {
      out += "\\0";
    } else {
      out += path[i];
    }
  }
  if (path.size() > kShown) out += "\xE2\x80\xA6";  // U+2026 HORIZONTAL ELLIPSIS
  return out;
}

Status Bad(const std::string& path, const std::string& why) {
  return Status(Code::kInvalidArgument, "path " + Printable(path) + ": " + why);
}

// First bytes of an over-long component, for messages.
std::string Abbreviate(const std::string& component) {
  constexpr size_t kShown = 16;
  if (component.size() <= kShown) return component;
  return component.substr(0, kShown) + "\xE2\x80\xA6";  // U+2026 HORIZONTAL ELLIPSIS
}

}  // namespace

Result<std::string> Normalize(const std::string& path) {
  if (path.empty()) return Bad(path, "empty path");
  if (path.find('\0') != std::string::npos) return Bad(path, "contains a NUL byte");
  if (path[0] != '/') return Bad(path, "not absolute (must start with '/')");

  std::string out;
  out.reserve(path.size());
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    if (i == path.size()) break;
    size_t end = path.find('/', i);
    if (end == std::string::npos) end = path.size();
    std::string component = path.substr(i, end - i);
    if (component == ".") return Bad(path, "'.' components are not allowed");
    if (component == "..") return Bad(path, "'..' components are not allowed");
    if (component.size() > NAME_MAX) {
      return Bad(path, "component '" + Abbreviate(component) + "' is " +
                           std::to_string(component.size()) + " bytes, longer than NAME_MAX (" +
                           std::to_string(NAME_MAX) + ")");
    }
    out += '/';
    out += component;
    i = end;
  }
  if (out.empty()) out = "/";
  // PATH_MAX counts the terminating NUL.
  if (out.size() >= PATH_MAX) {
    return Bad(path, std::to_string(out.size()) + " bytes, longer than PATH_MAX (" +
                         std::to_string(PATH_MAX) + ")");
  }
  return out;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Leaf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return path;
  return path.substr(slash + 1);
}

std::string Join(const std::string& dir, const std::string& name) {
  if (name.empty()) return dir;
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool IsAncestor(const std::string& a, const std::string& b) {
  if (a.empty() || b.size() <= a.size()) return false;
  if (b.compare(0, a.size(), a) != 0) return false;
  if (a == "/") return true;
  return b[a.size()] == '/';
}

bool PathSet::HoldsAncestorOf(const std::string& p) const {
  for (std::string a = p; a != "/";) {
    a = Parent(a);
    if (set_.count(a)) return true;
  }
  return false;
}

bool PathSet::HoldsBeneath(const std::string& p) const {
  const std::string below = p == "/" ? "/" : p + "/";
  auto it = set_.lower_bound(below);
  if (it != set_.end() && *it == p) ++it;  // "/" itself is not beneath "/"
  return it != set_.end() && it->compare(0, below.size(), below) == 0;
}

bool IsSameOrAncestor(const std::string& a, const std::string& b) {
  return a == b || IsAncestor(a, b);
}

std::string Rebase(const std::string& p, const std::string& from, const std::string& to) {
  if (p == from) return to;
  if (!IsAncestor(from, p)) return p;
  // `rest` starts with '/': "/x/y".
  std::string rest = from == "/" ? p : p.substr(from.size());
  return (to == "/" ? std::string() : to) + rest;
}

int FindRoot(const std::vector<std::string>& roots, const std::string& path) {
  int best = -1;
  for (size_t i = 0; i < roots.size(); ++i) {
    if (!IsAncestor(roots[i], path)) continue;
    if (best < 0 || roots[i].size() > roots[static_cast<size_t>(best)].size()) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

Result<std::string> CheckBeneathRoots(const std::vector<std::string>& roots,
                                      const std::string& path) {
  Result<std::string> norm = Normalize(path);
  if (!norm.ok()) return norm.status();
  if (FindRoot(roots, *norm) >= 0) return norm;
  std::string list;
  for (const std::string& r : roots) {
    if (!list.empty()) list += ", ";
    list += r;
  }
  if (list.empty()) list = "none";
  return Status(Code::kOutsideRoot,
                "path " + *norm + " is not beneath any root (roots: " + list + ")");
}

}  // namespace fstx::paths
