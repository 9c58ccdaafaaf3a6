// tree_image.h — a directory tree held in memory, for the crash explorer:
// capture it, compare it, restore it, and learn its objects' identities.
//
// An Image maps a path relative to the tree root ("/etc/a.xml") to what a
// user can observe there: type, permission bits, and file content or
// symlink target. Sockets and fifos compare by type and mode; owners and
// timestamps are not compared. Restore() rebuilds a tree from an image
// (sockets are re-bound, so a socket comes back as a socket file).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <vector>

#include "fstx/fault.h"
#include "fstx/fs.h"
#include "fstx/status.h"

namespace fstx::explore {

struct Node {
  FileType type = FileType::kAbsent;
  uint32_t mode = 0;
  std::string data;  // regular file content, symlink target
  bool operator==(const Node& o) const { return type == o.type && mode == o.mode && data == o.data; }
  bool operator!=(const Node& o) const { return !(*this == o); }
};

using Image = std::map<std::string, Node>;

// Walks `root` without following symlinks.
Status Capture(const std::string& root, Image* out);
// Empties `root` (which must exist) and rebuilds `img` in it.
Status Restore(const Image& img, const std::string& root);
// At most `max_lines` lines: "- path (expected ...)", "+ path", "~ path: a | b".
std::string Diff(const Image& expected, const Image& got, size_t max_lines = 12);
// Number of paths that differ.
size_t Distance(const Image& a, const Image& b);
uint64_t Hash(const Image& img);
std::string DescribeNode(const Node& n);

// Identity of each object: relative path -> (dev, inode, birth time).
struct Ident {
  uint64_t dev = 0, ino = 0, btime_ns = 0;
};
Status Identities(const std::string& root, std::map<std::string, Ident>* out);

// Applies `events` (absolute paths beneath `root`; barriers skipped) to
// `img` as the filesystem would, then drops empty staging directories as
// Capture() does. False if an event cannot apply (the caller then builds
// the state on disk instead).
bool Simulate(Image* img, const std::vector<fault::Event>& events, const std::string& root);

// FNV-1a, for state fingerprints.
uint64_t Fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull);

}  // namespace fstx::explore
