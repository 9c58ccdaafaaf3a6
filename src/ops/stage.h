// stage.h — where an op's staging objects live, and making sure it exists.
//
// Every staging object of an op goes to the staging directory ".fstx" at
// the top of the mount that holds the op's target beneath its root
// (journal/names.h): the root itself when the target lies on the root's
// mount, else the topmost directory beneath the root on the target's mount
// (a filesystem or bind mount nested in the root). Renames between the
// target's directory and the staging directory then stay on one mount and
// are atomic, and the directories a daemon scans never hold a staging
// object.
//
// Mounts are told apart by statx's mount id (FileInfo::mnt_id), or by the
// device number where the filesystem seam does not report one.
// Thread-compatible; reads through `fs` only (Ensure() creates).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "fstx/fs.h"

namespace fstx {

class StageFinder {
 public:
  StageFinder(Fs* fs, const std::vector<std::string>& roots) : fs_(fs), roots_(roots) {}

  // The staging directory for objects in the existing directory `dir`
  // (a real path, beneath or at a root).
  Result<std::string> ForDir(const std::string& dir);

 private:
  Result<FileInfo> StatDir(const std::string& dir);
  Fs* fs_;
  const std::vector<std::string>& roots_;
  std::map<std::string, FileInfo> stats_;
  std::map<std::string, std::string> found_;
};

// Creates each staging directory that does not exist yet (mode 0700) and
// makes its entry durable (fsync of its parent) before returning, so that a
// journaled intent never names a staging directory a power loss could
// take away. An existing non-directory there is an error naming it.
Status EnsureStages(Fs* fs, const std::set<std::string>& stages);

}  // namespace fstx
