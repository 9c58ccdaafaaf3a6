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
#include <tuple>

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

// Staged content (journal/names.h ContentLeaf) is named after the process
// that staged it, so two runs of one workload name the same file
// differently. State keys name each by its rank in (pid, start time, seq)
// order instead: the order the transaction staged them in.
class ContentRanks {
 public:
  void Add(const std::string& path);
  // `path` with a staged-content leaf replaced by ".fstx-content-#RANK".
  std::string Canon(const std::string& path);
  bool empty() const { return order_.empty(); }

 private:
  std::map<std::tuple<int64_t, uint64_t, uint64_t>, std::string> order_;
  std::map<std::string, std::string> ranks_;
};

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
// The identity of the object at `path` (not followed if a symlink).
Status IdentityOf(const std::string& path, Ident* out);
// (dev, inode) of an object as saved -> the identity of its rebuilt copy.
using IdMap = std::map<std::pair<uint64_t, uint64_t>, Ident>;

// A tree exactly as it is on disk, to be rebuilt many times: every object
// sorted by path (a directory before its contents; empty staging
// directories too) with its identity, so that hard links come back as links and
// records naming the saved objects can be re-pointed at the rebuilt ones.
struct SavedObject {
  std::string rel;
  Node node;
  Ident id;
};
using SavedTree = std::vector<SavedObject>;
Status Save(const std::string& root, SavedTree* out);
// Empties `root` and rebuilds `saved` in it; `moved` gets every saved
// object's new identity.
Status Rebuild(const SavedTree& saved, const std::string& root, IdMap* moved);

// Applies `events` (absolute paths beneath `root`; barriers skipped) to
// `img` as the filesystem would, then drops empty staging directories as
// Capture() does. False if an event cannot apply (the caller then builds
// the state on disk instead).
bool Simulate(Image* img, const std::vector<fault::Event>& events, const std::string& root);

// FNV-1a, for state fingerprints.
uint64_t Fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull);

}  // namespace fstx::explore
