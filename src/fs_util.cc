// fs_util.cc — helpers built only on the Fs interface, so that fault
// injection and tracing see every call they make.

#include "fstx/fs.h"
#include "src/paths.h"

namespace fstx {

Status RemoveTree(Fs* fs, const std::string& path) {
  FileInfo info;
  Status s = fs->Stat(path, &info);
  if (!s.ok()) return s;
  switch (info.type) {
    case FileType::kAbsent: return Status::Ok();
    case FileType::kDirectory: {
      std::vector<std::string> names;
      s = fs->ListDir(path, &names);
      if (!s.ok()) return s;
      for (const std::string& name : names) {
        // Symlinks are children like any other: Stat does not follow them,
        // so they are unlinked, never descended into.
        s = RemoveTree(fs, paths::Join(path, name));
        if (!s.ok()) return s;
      }
      return fs->Rmdir(path);
    }
    default: return fs->Unlink(path);
  }
}

}  // namespace fstx
