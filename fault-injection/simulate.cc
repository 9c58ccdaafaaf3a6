// simulate.cc — recorded events applied to an in-memory Image (tree_image.h):
// the power models' states fingerprinted without building them on disk.
#include <vector>

#include "fault-injection/models.h"  // IsBarrier
#include "fault-injection/tree_image.h"
#include "src/fs/paths.h"
#include "journal/names.h"

namespace fstx::explore {
namespace {

bool Rel(const std::string& root, const std::string& abs, std::string* rel) {
  if (!paths::IsAncestor(root, abs)) return false;
  *rel = abs.substr(root.size());
  return true;
}

bool ParentIsDir(const Image& img, const std::string& rel) {
  const std::string parent = rel.substr(0, rel.rfind('/'));
  if (parent.empty()) return true;
  auto it = img.find(parent);
  return it != img.end() && it->second.type == FileType::kDirectory;
}

bool HasChildren(const Image& img, const std::string& rel) {
  auto it = img.upper_bound(rel + "/");
  return it != img.end() && it->first.compare(0, rel.size() + 1, rel + "/") == 0;
}

// Moves `from` and everything beneath it to `to`.
void Move(Image* img, const std::string& from, const std::string& to) {
  std::vector<std::pair<std::string, Node>> moved;
  auto it = img->find(from);
  moved.emplace_back(to, std::move(it->second));
  it = img->erase(it);
  const std::string prefix = from + "/";
  while (it != img->end() && it->first.compare(0, prefix.size(), prefix) == 0) {
    moved.emplace_back(to + it->first.substr(from.size()), std::move(it->second));
    it = img->erase(it);
  }
  for (auto& [p, n] : moved) (*img)[p] = std::move(n);
}

bool Rename(Image* img, const std::string& from, const std::string& to, bool replace) {
  auto src = img->find(from);
  if (src == img->end() || !ParentIsDir(*img, to)) return false;
  if (to.compare(0, from.size() + 1, from + "/") == 0) return false;  // into itself
  auto dst = img->find(to);
  if (dst != img->end()) {
    if (!replace) return false;
    const bool src_dir = src->second.type == FileType::kDirectory;
    const bool dst_dir = dst->second.type == FileType::kDirectory;
    if (src_dir != dst_dir || (dst_dir && HasChildren(*img, to))) return false;
    img->erase(dst);
  }
  Move(img, from, to);
  return true;
}

bool Add(Image* img, const std::string& rel, Node n) {
  if (img->count(rel) || !ParentIsDir(*img, rel)) return false;
  (*img)[rel] = std::move(n);
  return true;
}

bool Apply(Image* img, const fault::Event& e, const std::string& p, const std::string& p2) {
  switch (e.kind) {
    case fault::Event::kCreate: return Add(img, p, {FileType::kRegular, e.mode, e.data});
    case fault::Event::kSymlink: return Add(img, p, {FileType::kSymlink, 0777, e.data});
    case fault::Event::kMkdir: return Add(img, p, {FileType::kDirectory, e.mode, ""});
    case fault::Event::kRename: return Rename(img, p, p2, e.replace);
    case fault::Event::kLink: {
      auto it = img->find(p);
      if (it == img->end() || it->second.type == FileType::kDirectory) return false;
      Node copy = it->second;
      return Add(img, p2, std::move(copy));
    }
    case fault::Event::kUnlink: {
      auto it = img->find(p);
      if (it == img->end() || it->second.type == FileType::kDirectory) return false;
      img->erase(it);
      return true;
    }
    case fault::Event::kRmdir: {
      auto it = img->find(p);
      if (it == img->end() || it->second.type != FileType::kDirectory || HasChildren(*img, p)) return false;
      img->erase(it);
      return true;
    }
    case fault::Event::kWrite: {
      auto it = img->find(p);
      if (it == img->end() || it->second.type != FileType::kRegular) return false;
      std::string& d = it->second.data;
      if (e.offset + e.data.size() > d.size()) return false;
      d.replace(e.offset, e.data.size(), e.data);
      return true;
    }
    case fault::Event::kSyncDir:
    case fault::Event::kJournalSync: return true;
  }
  return false;
}

}  // namespace

bool Simulate(Image* img, const std::vector<fault::Event>& events, const std::string& root) {
  for (const auto& e : events) {
    if (IsBarrier(e)) continue;
    std::string p, p2;
    if (!Rel(root, e.path, &p)) return false;
    if (!e.path2.empty() && !Rel(root, e.path2, &p2)) return false;
    if (!Apply(img, e, p, p2)) return false;
  }
  // As Capture() sees it: an empty staging directory is not there.
  for (auto it = img->begin(); it != img->end();) {
    const std::string name = it->first.substr(it->first.rfind('/') + 1);
    if (it->second.type == FileType::kDirectory && IsStagingDirName(name) && !HasChildren(*img, it->first))
      it = img->erase(it);
    else
      ++it;
  }
  return true;
}

}  // namespace fstx::explore
