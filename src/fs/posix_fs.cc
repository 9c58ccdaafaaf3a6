// posix_fs.cc — the real filesystem, confined to a set of roots.
//
// Every path is resolved the same way (resolve::Resolver, src/fs/resolve.h):
// normalise it, find the root it lies beneath, open its parent directory with
// openat2() from that root's fd with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS, then act on the last component with an *at() call
// that never follows it.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "fstx/fs.h"
#include "src/fs/paths.h"
#include "src/fs/resolve.h"

namespace fstx {

const char* file_type_name(FileType t) {
  switch (t) {
    case FileType::kAbsent: return "absent";
    case FileType::kRegular: return "file";
    case FileType::kDirectory: return "directory";
    case FileType::kSymlink: return "symlink";
    case FileType::kSocket: return "socket";
    case FileType::kFifo: return "fifo";
    case FileType::kOther: return "other";
  }
  return "other";
}

namespace {

using resolve::Fd;
using resolve::Target;

FileType TypeOf(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return FileType::kRegular;
    case S_IFDIR: return FileType::kDirectory;
    case S_IFLNK: return FileType::kSymlink;
    case S_IFSOCK: return FileType::kSocket;
    case S_IFIFO: return FileType::kFifo;
    default: return FileType::kOther;
  }
}

bool IsMissing(const Status& s) {
  return s.code() == Code::kNotFound && (s.err() == ENOENT || s.err() == ENOTDIR);
}

}  // namespace

// The roots and their fds; PosixFs adds nothing to the resolver.
struct PosixFs::Impl : resolve::Resolver {};

PosixFs::PosixFs(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PosixFs::~PosixFs() = default;

const std::vector<std::string>& PosixFs::roots() const { return impl_->roots; }

Result<std::unique_ptr<PosixFs>> PosixFs::Open(const std::vector<std::string>& roots) {
  auto impl = std::make_unique<Impl>();
  for (const std::string& r : roots) {
    Result<std::string> norm = paths::Normalize(r);
    if (!norm.ok()) return norm.status().Annotate("root");
    int fd = ::open(norm->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open root", *norm);
    impl->roots.push_back(*norm);
    impl->fds.push_back(fd);
  }
  return std::unique_ptr<PosixFs>(new PosixFs(std::move(impl)));
}

Status PosixFs::Stat(const std::string& path, FileInfo* out) {
  *out = FileInfo();
  Result<Target> t = impl_->Resolve("stat", path, /*allow_root=*/true);
  if (!t.ok()) return IsMissing(t.status()) ? Status::Ok() : t.status();
  // statx for the birth time: (dev, inode, birth time) identifies an
  // object even when a freed inode number is reused.
  struct statx sx;
  if (::statx(t->dirfd, t->leaf.c_str(), AT_SYMLINK_NOFOLLOW,
                STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID, &sx) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return Status::FromErrno(errno, "stat", t->path);
  }
  out->type = TypeOf(sx.stx_mode);
  out->mode = sx.stx_mode & 07777;
  out->uid = sx.stx_uid;
  out->gid = sx.stx_gid;
  out->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  out->ino = sx.stx_ino;
  out->size = sx.stx_size;
  if (sx.stx_mask & STATX_BTIME)
    out->btime_ns = static_cast<uint64_t>(sx.stx_btime.tv_sec) * 1000000000ull + sx.stx_btime.tv_nsec;
  if (sx.stx_mask & STATX_MNT_ID) out->mnt_id = sx.stx_mnt_id;
  return Status::Ok();
}

Status PosixFs::ReadFile(const std::string& path, uint64_t limit, std::string* out) {
  out->clear();
  Result<Target> t = impl_->Resolve("read", path, /*allow_root=*/true);
  if (!t.ok()) return t.status();
  // O_NONBLOCK so that a FIFO in place of the file cannot hang us.
  Fd fd(::openat(t->dirfd, t->leaf.c_str(),
                 O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ELOOP) {
      return Status(Code::kInvalidArgument, "read " + t->path + ": is a symlink", ELOOP);
    }
    return Status::FromErrno(errno, "read", t->path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "read (fstat)", t->path);
  if (!S_ISREG(st.st_mode)) {
    return Status(Code::kInvalidArgument, "read " + t->path + ": not a regular file (" +
                                              file_type_name(TypeOf(st.st_mode)) + ")");
  }
  const std::string too_big =
      "read " + t->path + ": larger than the limit of " + std::to_string(limit) + " bytes";
  if (static_cast<uint64_t>(st.st_size) > limit) {
    return Status(Code::kInvalidArgument, too_big + " (" + std::to_string(st.st_size) + ")");
  }
  // Read until EOF; the file may have grown since fstat, so keep checking.
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read", t->path);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > limit) return Status(Code::kInvalidArgument, too_big);
  }
  *out = std::move(data);
  return Status::Ok();
}

// Opens a regular file for ReadAt/WriteAt, never through a symlink.
static Result<Fd> OpenRegular(resolve::Resolver* r, const char* op, const std::string& path, int flags,
                              std::string* resolved) {
  Result<Target> t = r->Resolve(op, path, /*allow_root=*/false);
  if (!t.ok()) return t.status();
  *resolved = t->path;
  Fd fd(::openat(t->dirfd, t->leaf.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ELOOP) return Status(Code::kInvalidArgument, std::string(op) + " " + t->path + ": is a symlink", ELOOP);
    return Status::FromErrno(errno, op, t->path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, std::string(op) + " (fstat)", t->path);
  if (!S_ISREG(st.st_mode)) {
    return Status(Code::kInvalidArgument, std::string(op) + " " + t->path + ": not a regular file (" +
                                              file_type_name(TypeOf(st.st_mode)) + ")");
  }
  return fd;
}

namespace {

// flistxattr/fgetxattr into a buffer, growing it while the value grows
// under us (ERANGE).
template <class Call>
ssize_t ReadSized(std::string* buf, Call call) {
  for (int tries = 0; tries < 8; ++tries) {
    ssize_t n = call(nullptr, 0);
    if (n <= 0) return n;
    buf->resize(static_cast<size_t>(n));
    n = call(buf->data(), buf->size());
    if (n >= 0) {
      buf->resize(static_cast<size_t>(n));
      return n;
    }
    if (errno != ERANGE) return n;
  }
  errno = ERANGE;
  return -1;
}

// Attributes an unprivileged process may be unable to set; skipped on EPERM.
bool PrivilegedNamespace(std::string_view name) {
  return name.rfind("trusted.", 0) == 0 || name.rfind("security.", 0) == 0;
}

}  // namespace

Status PosixFs::CopyXattrs(const std::string& from, const std::string& to) {
  std::string pf, pt;
  Result<Fd> src = OpenRegular(impl_.get(), "copy attributes from", from, O_RDONLY, &pf);
  if (!src.ok()) return src.status();
  Result<Fd> dst = OpenRegular(impl_.get(), "copy attributes to", to, O_RDONLY, &pt);
  if (!dst.ok()) return dst.status();
  struct stat before;
  if (::fstat(dst->get(), &before) != 0) return Status::FromErrno(errno, "fstat", pt);
  std::string names;
  ssize_t n = ReadSized(&names, [&](char* b, size_t l) { return ::flistxattr(src->get(), b, l); });
  if (n < 0) {
    if (errno == ENOTSUP) return Status::Ok();  // no xattrs on this filesystem
    return Status::FromErrno(errno, "listxattr", pf);
  }
  bool set = false;
  for (size_t at = 0; at < names.size();) {
    std::string name = names.c_str() + at;
    at += name.size() + 1;
    if (name.empty()) continue;
    std::string value;
    n = ReadSized(&value, [&](char* b, size_t l) { return ::fgetxattr(src->get(), name.c_str(), b, l); });
    if (n < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      return Status::FromErrno(errno, "getxattr " + name, pf);
    }
    if (::fsetxattr(dst->get(), name.c_str(), value.data(), value.size(), 0) != 0) {
      if ((errno == EPERM || errno == ENOTSUP) && PrivilegedNamespace(name)) continue;
      return Status::FromErrno(errno, "setxattr " + name, pt);
    }
    set = true;
  }
  if (!set) return Status::Ok();
  // An access ACL carries permission bits: the mode asked for wins (chmod
  // adjusts the ACL's mask and owner/other entries, as cp -p does).
  struct stat after;
  if (::fstat(dst->get(), &after) != 0) return Status::FromErrno(errno, "fstat", pt);
  if ((after.st_mode & 07777) != (before.st_mode & 07777) && ::fchmod(dst->get(), before.st_mode & 07777) != 0)
    return Status::FromErrno(errno, "chmod", pt);
  if (::fsync(dst->get()) != 0) return Status::FromErrno(errno, "fsync", pt);
  return Status::Ok();
}

Status PosixFs::ReadAt(const std::string& path, uint64_t offset, uint64_t len, std::string* out) {
  out->clear();
  std::string p;
  Result<Fd> fd = OpenRegular(impl_.get(), "read", path, O_RDONLY, &p);
  if (!fd.ok()) return fd.status();
  std::string data(len, '\0');
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd->get(), data.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read", p);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  *out = std::move(data);
  return Status::Ok();
}

Status PosixFs::WriteAt(const std::string& path, uint64_t offset, std::string_view data) {
  std::string p;
  Result<Fd> fd = OpenRegular(impl_.get(), "write", path, O_WRONLY, &p);
  if (!fd.ok()) return fd.status();
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return Status::FromErrno(errno, "write (fstat)", p);
  if (offset > static_cast<uint64_t>(st.st_size) || data.size() > static_cast<uint64_t>(st.st_size) - offset) {
    return Status(Code::kInvalidArgument, "write " + p + ": range " + std::to_string(offset) + "+" +
                                              std::to_string(data.size()) + " lies beyond the end of the file (" +
                                              std::to_string(st.st_size) + " bytes)");
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd->get(), data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write", p);
    }
    if (n == 0) return Status::FromErrno(EIO, "write", p);
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd->get()) != 0) return Status::FromErrno(errno, "write (fdatasync)", p);
  if (fd->Close() != 0) return Status::FromErrno(errno, "write (close)", p);
  return Status::Ok();
}

Status PosixFs::ReadLink(const std::string& path, std::string* out) {
  out->clear();
  Result<Target> t = impl_->Resolve("readlink", path, /*allow_root=*/true);
  if (!t.ok()) return t.status();
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(t->dirfd, t->leaf.c_str(), buf.data(), buf.size());
    if (n < 0) return Status::FromErrno(errno, "readlink", t->path);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      *out = std::move(buf);
      return Status::Ok();
    }
    buf.resize(buf.size() * 2);  // possibly truncated: grow and retry
  }
}

Status PosixFs::ListDir(const std::string& path, std::vector<std::string>* names) {
  names->clear();
  Result<Target> t = impl_->Resolve("listdir", path, /*allow_root=*/true);
  if (!t.ok()) return t.status();
  int fd = ::openat(t->dirfd, t->leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "listdir", t->path);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "listdir", t->path);
  }
  std::vector<std::string> result;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    result.emplace_back(e->d_name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return Status::FromErrno(err, "listdir", t->path);
  *names = std::move(result);
  return Status::Ok();
}

Status PosixFs::CreateFile(const std::string& path, std::string_view data, uint32_t mode,
                           int64_t uid, int64_t gid) {
  bool given = false;
  return CreateFileFrom(
      path,
      [&](std::string_view* piece) {
        *piece = given ? std::string_view() : data;
        given = true;
        return Status::Ok();
      },
      mode, uid, gid);
}

namespace {

// Sets the owner a new file does not already have (a no-op fchown still
// dirties the inode). Without privilege, keeping a foreign owner is best
// effort.
Status SetOwner(int fd, const std::string& p, int64_t uid, int64_t gid, const struct stat& st) {
  if (uid == -1 && gid == -1) return Status::Ok();
  uid_t u = uid == -1 || static_cast<uid_t>(uid) == st.st_uid ? static_cast<uid_t>(-1) : static_cast<uid_t>(uid);
  gid_t g = gid == -1 || static_cast<gid_t>(gid) == st.st_gid ? static_cast<gid_t>(-1) : static_cast<gid_t>(gid);
  if ((u != static_cast<uid_t>(-1) || g != static_cast<gid_t>(-1)) && ::fchown(fd, u, g) != 0 &&
      !(errno == EPERM && ::geteuid() != 0)) {
    return Status::FromErrno(errno, "create (fchown)", p);
  }
  return Status::Ok();
}

Status WriteAll(int fd, const std::string& p, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "create (write)", p);
    }
    if (n == 0) return Status::FromErrno(EIO, "create (write)", p);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status PosixFs::CreateFileFrom(const std::string& path, const ChunkSource& next, uint32_t mode, int64_t uid,
                               int64_t gid) {
  Result<Target> t = impl_->Resolve("create", path, /*allow_root=*/false);
  if (!t.ok()) return t.status();
  const std::string& p = t->path;
  // Created with the permission bits asked for; the umask may take some
  // away, and the special bits (07000) are set only by fchmod, which runs
  // only then (a metadata change less per file when the umask allows).
  Fd fd(::openat(t->dirfd, t->leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 mode & 0777));
  if (!fd.valid()) return Status::FromErrno(errno, "create", p);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "create (fstat)", p);
  if ((st.st_mode & 07777) != (mode & 07777) && ::fchmod(fd.get(), mode & 07777) != 0)
    return Status::FromErrno(errno, "create (fchmod)", p);
  Status s = SetOwner(fd.get(), p, uid, gid, st);
  for (std::string_view piece; s.ok();) {
    s = next(&piece);
    if (!s.ok()) return s.Annotate("create " + p);
    if (piece.empty()) break;
    s = WriteAll(fd.get(), p, piece);
  }
  if (!s.ok()) return s;
  if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "create (fsync)", p);
  if (fd.Close() != 0) return Status::FromErrno(errno, "create (close)", p);
  return Status::Ok();
}

Status PosixFs::Symlink(const std::string& target, const std::string& path) {
  Result<Target> t = impl_->Resolve("symlink", path, /*allow_root=*/false);
  if (!t.ok()) return t.status();
  if (::symlinkat(target.c_str(), t->dirfd, t->leaf.c_str()) != 0) {
    return Status::FromErrno(errno, "symlink", t->path, target);
  }
  return Status::Ok();
}

Status PosixFs::Mkdir(const std::string& path, uint32_t mode) {
  Result<Target> t = impl_->Resolve("mkdir", path, /*allow_root=*/false);
  if (!t.ok()) return t.status();
  if (::mkdirat(t->dirfd, t->leaf.c_str(), 0700) != 0) {
    return Status::FromErrno(errno, "mkdir", t->path);
  }
  // Set the exact mode on what we just created, whatever the umask.
  Fd fd(::openat(t->dirfd, t->leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "mkdir (open)", t->path);
  if (::fchmod(fd.get(), mode & 07777) != 0) {
    return Status::FromErrno(errno, "mkdir (fchmod)", t->path);
  }
  return Status::Ok();
}

Status PosixFs::Rename(const std::string& from, const std::string& to, RenameMode mode) {
  Result<Target> a = impl_->Resolve("rename", from, /*allow_root=*/false);
  if (!a.ok()) return a.status();
  Result<Target> b = impl_->Resolve("rename", to, /*allow_root=*/false);
  if (!b.ok()) return b.status();
  unsigned flags = mode == RenameMode::kNoReplace ? RENAME_NOREPLACE : 0;
  const int rc = ::renameat2(a->dirfd, a->leaf.c_str(), b->dirfd, b->leaf.c_str(), flags);
  const int err = errno;
  // A directory kept open by this thread's DirScope at or beneath either
  // name is no longer what that name means.
  resolve::DirScope::Forget(a->path);
  resolve::DirScope::Forget(b->path);
  if (rc != 0) return Status::FromErrno(err, "rename", a->path, b->path);
  return Status::Ok();
}

Status PosixFs::Link(const std::string& from, const std::string& to) {
  Result<Target> a = impl_->Resolve("link", from, /*allow_root=*/false);
  if (!a.ok()) return a.status();
  Result<Target> b = impl_->Resolve("link", to, /*allow_root=*/false);
  if (!b.ok()) return b.status();
  // flags 0: a symlink at `from` is linked itself, not its target.
  if (::linkat(a->dirfd, a->leaf.c_str(), b->dirfd, b->leaf.c_str(), 0) != 0) {
    return Status::FromErrno(errno, "link", a->path, b->path);
  }
  return Status::Ok();
}

Status PosixFs::Unlink(const std::string& path) {
  Result<Target> t = impl_->Resolve("unlink", path, /*allow_root=*/false);
  if (!t.ok()) return t.status();
  if (::unlinkat(t->dirfd, t->leaf.c_str(), 0) != 0) {
    return Status::FromErrno(errno, "unlink", t->path);
  }
  return Status::Ok();
}

Status PosixFs::Rmdir(const std::string& path) {
  Result<Target> t = impl_->Resolve("rmdir", path, /*allow_root=*/false);
  if (!t.ok()) return t.status();
  const int rc = ::unlinkat(t->dirfd, t->leaf.c_str(), AT_REMOVEDIR);
  const int err = errno;
  resolve::DirScope::Forget(t->path);
  if (rc != 0) return Status::FromErrno(err, "rmdir", t->path);
  return Status::Ok();
}

Status PosixFs::SyncDir(const std::string& path) {
  Result<Target> t = impl_->OpenDir("syncdir", path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (!t.ok()) return t.status();
  if (::fsync(t->dirfd) != 0) return Status::FromErrno(errno, "syncdir (fsync)", t->path);
  if (t->owned.valid() && t->owned.Close() != 0) return Status::FromErrno(errno, "syncdir (close)", t->path);
  return Status::Ok();
}

}  // namespace fstx
