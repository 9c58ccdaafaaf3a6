#include "src/ops/stage.h"

#include "journal/names.h"
#include "src/fs/paths.h"

namespace fstx {
namespace {

bool SameMount(const FileInfo& a, const FileInfo& b) {
  if (a.mnt_id != 0 && b.mnt_id != 0) return a.mnt_id == b.mnt_id;
  return a.dev == b.dev;
}

}  // namespace

Result<FileInfo> StageFinder::StatDir(const std::string& dir) {
  auto it = stats_.find(dir);
  if (it != stats_.end()) return it->second;
  FileInfo fi;
  Status s = fs_->Stat(dir, &fi);
  if (!s.ok()) return s;
  if (fi.type != FileType::kDirectory)
    return Status(Code::kNotFound, "directory " + dir + " does not exist", ENOENT);
  stats_[dir] = fi;
  return fi;
}

Result<std::string> StageFinder::ForDir(const std::string& dir) {
  auto hit = found_.find(dir);
  if (hit != found_.end()) return hit->second;
  // The root `dir` is at or beneath (the longest, as the resolver picks).
  int best = -1;
  for (size_t i = 0; i < roots_.size(); ++i)
    if (paths::IsSameOrAncestor(roots_[i], dir) &&
        (best < 0 || roots_[i].size() > roots_[static_cast<size_t>(best)].size()))
      best = static_cast<int>(i);
  if (best < 0) return Status(Code::kOutsideRoot, dir + " is not beneath any root");
  const std::string& root = roots_[static_cast<size_t>(best)];
  Result<FileInfo> here = StatDir(dir);
  if (!here.ok()) return here.status();
  Result<FileInfo> top = StatDir(root);
  if (!top.ok()) return top.status();
  std::string stage_top = root;
  if (!SameMount(*here, *top)) {
    // Climb while the parent is still on dir's mount.
    stage_top = dir;
    while (stage_top != root) {
      std::string up = paths::Parent(stage_top);
      Result<FileInfo> u = StatDir(up);
      if (!u.ok()) return u.status();
      if (!SameMount(*u, *here)) break;
      stage_top = up;
    }
  }
  std::string stage = StagingDirAt(stage_top);
  found_[dir] = stage;
  return stage;
}

Status EnsureStages(Fs* fs, const std::set<std::string>& stages) {
  for (const std::string& st : stages) {
    FileInfo fi;
    Status s = fs->Stat(st, &fi);
    if (!s.ok()) return s.Annotate("staging directory");
    if (fi.type == FileType::kDirectory) continue;
    if (fi.exists())
      return Status(Code::kExists, "staging directory " + st + " is a " + file_type_name(fi.type) +
                                       ", not a directory: move it away", EEXIST);
    s = fs->Mkdir(st, 0700);
    if (!s.ok() && s.code() != Code::kExists) return s.Annotate("creating the staging directory");
    s = fs->SyncDir(paths::Parent(st));
    if (!s.ok()) return s.Annotate("creating the staging directory");
  }
  return Status();
}

}  // namespace fstx
