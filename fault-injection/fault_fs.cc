// fault_fs.cc — the fault-injecting filesystem seam.
//
// Every call hits "fs.<call>" first: a failure there is returned and the
// target is never called (the fault happened before any effect). After a
// successful target call it hits "fs.<call>.after": a failure there is an
// error after the effect, which is what a caller sees when, say, a rename
// reached the disk but the reply was lost to EIO.
#include <cerrno>

#include "fstx/fault.h"

namespace fstx::fault {

namespace {

struct PointNames {
  const char* before;
  const char* after;
};

constexpr PointNames kStat{"fs.stat", "fs.stat.after"};
constexpr PointNames kRead{"fs.read", "fs.read.after"};
constexpr PointNames kReadLink{"fs.readlink", "fs.readlink.after"};
constexpr PointNames kListDir{"fs.listdir", "fs.listdir.after"};
constexpr PointNames kCreate{"fs.create", "fs.create.after"};
constexpr PointNames kWrite{"fs.write", "fs.write.after"};
constexpr PointNames kSymlink{"fs.symlink", "fs.symlink.after"};
constexpr PointNames kMkdir{"fs.mkdir", "fs.mkdir.after"};
constexpr PointNames kRename{"fs.rename", "fs.rename.after"};
constexpr PointNames kLink{"fs.link", "fs.link.after"};
constexpr PointNames kUnlink{"fs.unlink", "fs.unlink.after"};
constexpr PointNames kRmdir{"fs.rmdir", "fs.rmdir.after"};
constexpr PointNames kSyncDir{"fs.syncdir", "fs.syncdir.after"};

// Hits the "before" point, runs `call`, then hits the "after" point.
template <class Call>
Status Around(Failpoints* fp, const PointNames& names, const std::string& path, Call&& call) {
  if (fp != nullptr) {
    Status s = fp->Hit(names.before, path);
    if (!s.ok()) return s;
  }
  Status s = call();
  if (!s.ok() || fp == nullptr) return s;
  return fp->Hit(names.after, path);
}

std::string Pair(const std::string& from, const std::string& to) { return from + " -> " + to; }

}  // namespace

Status FaultFs::Stat(const std::string& path, FileInfo* out) {
  return Around(fp_, kStat, path, [&] { return target()->Stat(path, out); });
}

Status FaultFs::ReadFile(const std::string& path, uint64_t limit, std::string* out) {
  return Around(fp_, kRead, path, [&] { return target()->ReadFile(path, limit, out); });
}

Status FaultFs::ReadAt(const std::string& path, uint64_t offset, uint64_t len, std::string* out) {
  return Around(fp_, kRead, path, [&] { return target()->ReadAt(path, offset, len, out); });
}

Status FaultFs::WriteAt(const std::string& path, uint64_t offset, std::string_view data) {
  if (fp_ == nullptr) return target()->WriteAt(path, offset, data);
  bool short_write = false;
  Status s = fp_->Hit(kWrite.before, path, &short_write);
  if (!s.ok()) return s;
  if (short_write) {
    // The first half of the range is written, as a write that stopped
    // part-way would leave it, and the caller sees EIO.
    size_t half = data.size() / 2;
    s = target()->WriteAt(path, offset, data.substr(0, half));
    if (!s.ok()) return s;
    return Status::FromErrno(EIO,
                             "injected short write (" + std::to_string(half) + " of " +
                                 std::to_string(data.size()) + " bytes) at fs.write",
                             path);
  }
  s = target()->WriteAt(path, offset, data);
  if (!s.ok()) return s;
  return fp_->Hit(kWrite.after, path);
}

Status FaultFs::ReadLink(const std::string& path, std::string* out) {
  return Around(fp_, kReadLink, path, [&] { return target()->ReadLink(path, out); });
}

Status FaultFs::ListDir(const std::string& path, std::vector<std::string>* names) {
  return Around(fp_, kListDir, path, [&] { return target()->ListDir(path, names); });
}

Status FaultFs::CreateFile(const std::string& path, std::string_view data, uint32_t mode,
                           int64_t uid, int64_t gid) {
  if (fp_ == nullptr) return target()->CreateFile(path, data, mode, uid, gid);
  bool short_write = false;
  Status s = fp_->Hit(kCreate.before, path, &short_write);
  if (!s.ok()) return s;
  if (short_write) {
    // The file is created with the first half of the data, as a write that
    // stopped part-way would leave it, and the caller sees EIO.
    size_t half = data.size() / 2;
    s = target()->CreateFile(path, data.substr(0, half), mode, uid, gid);
    if (!s.ok()) return s;
    return Status::FromErrno(EIO,
                             "injected short write (" + std::to_string(half) + " of " +
                                 std::to_string(data.size()) + " bytes) at fs.create",
                             path);
  }
  s = target()->CreateFile(path, data, mode, uid, gid);
  if (!s.ok()) return s;
  return fp_->Hit(kCreate.after, path);
}

Status FaultFs::Symlink(const std::string& target_path, const std::string& path) {
  return Around(fp_, kSymlink, path, [&] { return target()->Symlink(target_path, path); });
}

Status FaultFs::Mkdir(const std::string& path, uint32_t mode) {
  return Around(fp_, kMkdir, path, [&] { return target()->Mkdir(path, mode); });
}

Status FaultFs::Rename(const std::string& from, const std::string& to, RenameMode mode) {
  return Around(fp_, kRename, Pair(from, to), [&] { return target()->Rename(from, to, mode); });
}

Status FaultFs::Link(const std::string& from, const std::string& to) {
  return Around(fp_, kLink, Pair(from, to), [&] { return target()->Link(from, to); });
}

Status FaultFs::Unlink(const std::string& path) {
  return Around(fp_, kUnlink, path, [&] { return target()->Unlink(path); });
}

Status FaultFs::Rmdir(const std::string& path) {
  return Around(fp_, kRmdir, path, [&] { return target()->Rmdir(path); });
}

Status FaultFs::SyncDir(const std::string& path) {
  return Around(fp_, kSyncDir, path, [&] { return target()->SyncDir(path); });
}

}  // namespace fstx::fault
