// fstx/fs.h — the filesystem seam.
//
// Every filesystem call that the engine and recovery make goes through an Fs
// (LevelDB's Env is the model). PosixFs is the real implementation; FsWrapper
// forwards every call to another Fs and is the base for fault-injecting and
// recording filesystems.
//
// Paths are absolute, lexically normal ("/a/b", no "." or ".." components, no
// trailing or doubled slashes). PosixFs resolves each one beneath the root
// that contains it: the parent directory is opened with
// openat2(root_fd, rel, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS) and the call acts on the last component without
// following it. A path outside every root, or one whose intermediate
// components include a symlink, fails with kOutsideRoot and changes nothing.
//
// Failure: every method returns a Status naming the call, the path(s) and the
// errno. No method throws.
// Thread safety: PosixFs is safe for concurrent use; wrappers must be too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fstx/status.h"
#include "fstx/version.h"

namespace fstx {

enum class FileType : uint8_t {
  kAbsent = 0,
  kRegular = 1,
  kDirectory = 2,
  kSymlink = 3,
  kSocket = 4,
  kFifo = 5,
  kOther = 6,  // block / char device
};
FSTX_API const char* file_type_name(FileType t);

struct FileInfo {
  FileType type = FileType::kAbsent;
  uint32_t mode = 0;  // permission bits only (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  uint64_t btime_ns = 0;  // birth time; 0 if the filesystem does not say
  uint64_t mnt_id = 0;    // mount id (statx STATX_MNT_ID); 0 if unknown
  bool exists() const { return type != FileType::kAbsent; }
};

enum class RenameMode : uint8_t {
  kNoReplace,  // renameat2(RENAME_NOREPLACE): fails with kExists
  kReplace,    // plain rename(2): atomically replaces a non-directory
};

class FSTX_API Fs {
 public:
  virtual ~Fs() = default;

  // lstat(2). A missing path is not an error: *out gets type kAbsent.
  virtual Status Stat(const std::string& path, FileInfo* out) = 0;
  // Reads a regular file whole. Fails with kInvalidArgument if it is larger
  // than `limit` bytes.
  virtual Status ReadFile(const std::string& path, uint64_t limit, std::string* out) = 0;
  virtual Status ReadLink(const std::string& path, std::string* out) = 0;
  // Names in a directory, without "." and "..", in no particular order.
  virtual Status ListDir(const std::string& path, std::vector<std::string>* names) = 0;
  // Reads at most `len` bytes of a regular file from `offset` (fewer at its
  // end). Never follows a symlink.
  virtual Status ReadAt(const std::string& path, uint64_t offset, uint64_t len, std::string* out) = 0;

  // Creates a new regular file (O_EXCL, never follows), sets exactly `mode`
  // (no umask) and, if uid/gid are not -1, the owner; writes `data` whole and
  // fsyncs it before closing. On failure the partial file may remain.
  virtual Status CreateFile(const std::string& path, std::string_view data, uint32_t mode,
                            int64_t uid = -1, int64_t gid = -1) = 0;
  // Overwrites `data.size()` bytes of an existing regular file at `offset`
  // in place and fdatasyncs it before returning. The range must lie within
  // the file (kInvalidArgument otherwise: it never grows a file). Never
  // follows a symlink.
  virtual Status WriteAt(const std::string& path, uint64_t offset, std::string_view data) = 0;
  virtual Status Symlink(const std::string& target, const std::string& path) = 0;
  // Creates a directory with exactly `mode` (no umask).
  virtual Status Mkdir(const std::string& path, uint32_t mode) = 0;
  virtual Status Rename(const std::string& from, const std::string& to, RenameMode mode) = 0;
  // A hard link to the object at `from` itself (never follows a symlink).
  virtual Status Link(const std::string& from, const std::string& to) = 0;
  virtual Status Unlink(const std::string& path) = 0;
  virtual Status Rmdir(const std::string& path) = 0;
  // fsync(2) of a directory: makes its entries durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Copies every extended attribute of regular file `from` to regular file
  // `to` (POSIX ACLs, the SELinux label, user attributes), then fsyncs `to`
  // if any was set. Never follows a symlink. A filesystem without xattrs has
  // none to copy; an attribute of the trusted or security namespace this
  // process may not set (EPERM) is skipped; any other failure is an error.
  virtual Status CopyXattrs(const std::string& from, const std::string& to) = 0;

  // Hands out a new file's content piece by piece: each call sets *piece to
  // the next bytes (valid until the next call); an empty piece ends it.
  using ChunkSource = std::function<Status(std::string_view* piece)>;
  // CreateFile with the content `next` hands out, so that a big file never
  // has to be in memory whole (PosixFs writes each piece as it comes). The
  // default gathers the pieces and calls CreateFile: a filesystem that
  // wraps another (FsWrapper) sees one CreateFile, as fault injection and
  // traces expect. A failure of `next` fails the call.
  virtual Status CreateFileFrom(const std::string& path, const ChunkSource& next, uint32_t mode,
                                int64_t uid = -1, int64_t gid = -1);
};

// Forwards every call to `target` (not owned).
class FSTX_API FsWrapper : public Fs {
 public:
  explicit FsWrapper(Fs* target) : target_(target) {}
  Fs* target() const { return target_; }

  Status Stat(const std::string& path, FileInfo* out) override { return target_->Stat(path, out); }
  Status ReadFile(const std::string& path, uint64_t limit, std::string* out) override {
    return target_->ReadFile(path, limit, out);
  }
  Status ReadLink(const std::string& path, std::string* out) override {
    return target_->ReadLink(path, out);
  }
  Status ListDir(const std::string& path, std::vector<std::string>* names) override {
    return target_->ListDir(path, names);
  }
  Status ReadAt(const std::string& path, uint64_t offset, uint64_t len, std::string* out) override {
    return target_->ReadAt(path, offset, len, out);
  }
  Status WriteAt(const std::string& path, uint64_t offset, std::string_view data) override {
    return target_->WriteAt(path, offset, data);
  }
  Status CreateFile(const std::string& path, std::string_view data, uint32_t mode, int64_t uid = -1,
                    int64_t gid = -1) override {
    return target_->CreateFile(path, data, mode, uid, gid);
  }
  Status Symlink(const std::string& target, const std::string& path) override {
    return target_->Symlink(target, path);
  }
  Status Mkdir(const std::string& path, uint32_t mode) override { return target_->Mkdir(path, mode); }
  Status Rename(const std::string& from, const std::string& to, RenameMode mode) override {
    return target_->Rename(from, to, mode);
  }
  Status Link(const std::string& from, const std::string& to) override {
    return target_->Link(from, to);
  }
  Status Unlink(const std::string& path) override { return target_->Unlink(path); }
  Status Rmdir(const std::string& path) override { return target_->Rmdir(path); }
  Status SyncDir(const std::string& path) override { return target_->SyncDir(path); }
  Status CopyXattrs(const std::string& from, const std::string& to) override {
    return target_->CopyXattrs(from, to);
  }

 private:
  Fs* target_;
};

// The real filesystem, confined to `roots`.
class FSTX_API PosixFs : public Fs {
 public:
  // Opens every root (absolute path of an existing directory; symlinks in the
  // root path itself are resolved once, here). Fails naming the root.
  static Result<std::unique_ptr<PosixFs>> Open(const std::vector<std::string>& roots);
  ~PosixFs() override;

  // The roots as given (lexically normalised), in the order given.
  const std::vector<std::string>& roots() const;

  Status Stat(const std::string& path, FileInfo* out) override;
  Status ReadFile(const std::string& path, uint64_t limit, std::string* out) override;
  Status ReadLink(const std::string& path, std::string* out) override;
  Status ListDir(const std::string& path, std::vector<std::string>* names) override;
  Status ReadAt(const std::string& path, uint64_t offset, uint64_t len, std::string* out) override;
  Status CreateFile(const std::string& path, std::string_view data, uint32_t mode, int64_t uid = -1,
                    int64_t gid = -1) override;
  Status WriteAt(const std::string& path, uint64_t offset, std::string_view data) override;
  Status Symlink(const std::string& target, const std::string& path) override;
  Status Mkdir(const std::string& path, uint32_t mode) override;
  Status Rename(const std::string& from, const std::string& to, RenameMode mode) override;
  Status Link(const std::string& from, const std::string& to) override;
  Status Unlink(const std::string& path) override;
  Status Rmdir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status CopyXattrs(const std::string& from, const std::string& to) override;
  Status CreateFileFrom(const std::string& path, const ChunkSource& next, uint32_t mode, int64_t uid = -1,
                        int64_t gid = -1) override;

 private:
  struct FSTX_LOCAL Impl;
  FSTX_LOCAL explicit PosixFs(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Deletes `path` and, if it is a directory, everything beneath it, through
// `fs` (so faults and traces see every call). Absent is ok. Never descends
// into another mount: a mount point beneath `path` fails it (kNotSupported).
FSTX_API Status RemoveTree(Fs* fs, const std::string& path);

// The first directory beneath `path` that is on another mount (a mount
// point), or "" if none; `path` not a directory: "".
FSTX_API Status FindMountBelow(Fs* fs, const std::string& path, std::string* found);

}  // namespace fstx
