// fs_util.cc — helpers built only on the Fs interface, so that fault
// injection and tracing see every call they make.

#include "fstx/fs.h"
#include "src/fs/paths.h"

namespace fstx {

namespace {

bool OtherMount(const FileInfo& a, const FileInfo& b) {
  if (a.mnt_id != 0 && b.mnt_id != 0) return a.mnt_id != b.mnt_id;
  return a.dev != b.dev;
}

Status RemoveBelow(Fs* fs, const std::string& path, const FileInfo& top) {
  FileInfo info;
  Status s = fs->Stat(path, &info);
  if (!s.ok()) return s;
  if (!info.exists()) return Status::Ok();
  // Never into another filesystem: a mount point beneath the tree (a bind
  // mount, say) holds files outside every root.
  if (OtherMount(info, top))
    return Status(Code::kNotSupported, "remove " + path + ": a mount point (another filesystem); "
                                           "not descending into it", EXDEV);
  if (info.type != FileType::kDirectory) return fs->Unlink(path);
  std::vector<std::string> names;
  s = fs->ListDir(path, &names);
  if (!s.ok()) return s;
  for (const std::string& name : names) {
    // Symlinks are children like any other: Stat does not follow them,
    // so they are unlinked, never descended into.
    s = RemoveBelow(fs, paths::Join(path, name), top);
    if (!s.ok()) return s;
  }
  return fs->Rmdir(path);
}

}  // namespace

Status Fs::CreateFileFrom(const std::string& path, const ChunkSource& next, uint32_t mode, int64_t uid,
                          int64_t gid) {
  std::string all;
  for (std::string_view piece;;) {
    Status s = next(&piece);
    if (!s.ok()) return s.Annotate("create " + path);
    if (piece.empty()) break;
    all.append(piece);
  }
  return CreateFile(path, all, mode, uid, gid);
}

Status RemoveTree(Fs* fs, const std::string& path) {
  FileInfo top;
  Status s = fs->Stat(path, &top);
  if (!s.ok() || !top.exists()) return s;
  return RemoveBelow(fs, path, top);
}

Status FindMountBelow(Fs* fs, const std::string& path, std::string* found) {
  found->clear();
  FileInfo top;
  Status s = fs->Stat(path, &top);
  if (!s.ok() || top.type != FileType::kDirectory) return s;
  std::vector<std::string> stack{path};
  while (!stack.empty()) {
    std::string dir = stack.back();
    stack.pop_back();
    std::vector<std::string> names;
    s = fs->ListDir(dir, &names);
    if (!s.ok()) return s;
    for (const std::string& name : names) {
      const std::string p = paths::Join(dir, name);
      FileInfo fi;
      s = fs->Stat(p, &fi);
      if (!s.ok()) return s;
      if (fi.type != FileType::kDirectory) continue;
      if (OtherMount(fi, top)) {
        *found = p;
        return Status::Ok();
      }
      stack.push_back(p);
    }
  }
  return Status::Ok();
}

}  // namespace fstx
