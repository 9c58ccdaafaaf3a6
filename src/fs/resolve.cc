// resolve.cc — confined path resolution (resolve.h): root lookup, then
// openat2() beneath the root's fd, never following a symlink.

#include "src/fs/resolve.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "src/fs/paths.h"

namespace fstx::resolve {

namespace {

constexpr uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

// openat2(dirfd, rel) confined beneath dirfd. Returns the fd or -1 with errno.
int OpenBeneath(int dirfd, const std::string& rel, uint64_t flags) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = flags | O_CLOEXEC;  // every fd fstx opens is close-on-exec
  how.resolve = kResolve;
  long r;
  int attempts = 0;
  do {
    r = ::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how);
    // EAGAIN: the kernel saw a concurrent rename/mount and could not prove
    // the walk stayed beneath the root; retrying is the documented answer.
  } while (r < 0 && (errno == EINTR || (errno == EAGAIN && ++attempts < 16)));
  return static_cast<int>(r);
}

// This thread's kept directories (DirScope).
struct KeptDir {
  const Resolver* resolver;
  std::string path;  // normalised absolute
  uint64_t flags;    // it was opened with (O_PATH for a parent, O_RDONLY to sync it)
  int fd;
};

struct ThreadDirs {
  int depth = 0;
  std::vector<KeptDir> dirs;
  void CloseAll() {
    for (const KeptDir& d : dirs) ::close(d.fd);
    dirs.clear();
  }
  ~ThreadDirs() { CloseAll(); }
};

thread_local ThreadDirs tls_dirs;

// Enough for any transaction's parents; beyond it calls walk again.
constexpr size_t kMaxKeptDirs = 64;

int KeptFd(const Resolver* r, const std::string& path, uint64_t flags) {
  for (const KeptDir& d : tls_dirs.dirs)
    if (d.resolver == r && d.flags == flags && d.path == path) return d.fd;
  return -1;
}

// Keeps `fd` if a scope is open and has room (then the caller must not
// close it): true if kept.
bool Keep(const Resolver* r, const std::string& path, uint64_t flags, int fd) {
  if (tls_dirs.depth == 0 || tls_dirs.dirs.size() >= kMaxKeptDirs) return false;
  tls_dirs.dirs.push_back({r, path, flags, fd});
  return true;
}

constexpr uint64_t kParentFlags = O_PATH | O_DIRECTORY | O_CLOEXEC;

}  // namespace

DirScope::DirScope() { ++tls_dirs.depth; }

DirScope::~DirScope() {
  if (--tls_dirs.depth == 0) tls_dirs.CloseAll();
}

void DirScope::Clear() { tls_dirs.CloseAll(); }

void DirScope::Forget(const std::string& path) {
  auto& v = tls_dirs.dirs;
  for (size_t i = 0; i < v.size();) {
    if (paths::IsSameOrAncestor(path, v[i].path)) {
      ::close(v[i].fd);
      v[i] = std::move(v.back());
      v.pop_back();
    } else {
      ++i;
    }
  }
}

size_t DirScope::Size() { return tls_dirs.dirs.size(); }

Resolver::~Resolver() {
  for (int fd : fds) ::close(fd);
}

Status Resolver::OpenError(int err, const std::string& op, const std::string& path,
                           const std::string& root, bool whole_path) {
  const std::string p = op + " " + path;
  switch (err) {
    case ELOOP:
      return Status(
          Code::kOutsideRoot,
          p + (whole_path ? ": a component is a symlink" : ": a parent component is a symlink") +
              "; fstx does not follow symlinks beneath a root",
          err);
    case EXDEV: return Status(Code::kOutsideRoot, p + " escapes root " + root, err);
    case ENOSYS:
      return Status(Code::kNotSupported, p + ": openat2 is not available (Linux >= 5.6 needed)",
                    err);
    case ENOENT:
    case ENOTDIR:
      return Status(Code::kNotFound,
                    p +
                        (whole_path ? ": a directory on the path does not exist ("
                                    : ": parent directory does not exist (") +
                        errno_name(err) + ")",
                    err);
    default: return Status::FromErrno(err, op + (whole_path ? "" : ": open parent of"), path);
  }
}

Result<Resolver::Located> Resolver::Locate(const std::string& op, const std::string& path) const {
  Result<std::string> norm = paths::Normalize(path);
  if (!norm.ok()) return norm.status().Annotate(op);
  Located l;
  l.path = *norm;
  for (size_t i = 0; i < roots.size(); ++i) {
    if (roots[i] == l.path) {
      l.root = i;
      return l;
    }
  }
  int idx = paths::FindRoot(roots, l.path);
  if (idx < 0) return paths::CheckBeneathRoots(roots, l.path).status().Annotate(op);
  l.root = static_cast<size_t>(idx);
  const std::string& root = roots[l.root];
  l.rel = root == "/" ? l.path.substr(1) : l.path.substr(root.size() + 1);
  return l;
}

Result<Target> Resolver::Resolve(const std::string& op, const std::string& path,
                                 bool allow_root) const {
  Result<Located> l = Locate(op, path);
  if (!l.ok()) return l.status();
  Target t;
  t.path = l->path;
  if (l->rel.empty()) {
    if (!allow_root) {
      return Status(Code::kInvalidArgument, op + ": cannot modify root " + t.path + " itself");
    }
    t.dirfd = fds[l->root];
    t.leaf = ".";
    return t;
  }
  size_t slash = l->rel.rfind('/');
  if (slash == std::string::npos) {  // directly beneath the root: its fd is the parent
    t.leaf = l->rel;
    t.dirfd = fds[l->root];
    return t;
  }
  const std::string parent_rel = l->rel.substr(0, slash);
  t.leaf = l->rel.substr(slash + 1);
  const std::string parent = paths::Parent(t.path);
  if ((t.dirfd = KeptFd(this, parent, kParentFlags)) >= 0) return t;
  int fd = OpenBeneath(fds[l->root], parent_rel, kParentFlags);
  if (fd < 0) return OpenError(errno, op, t.path, roots[l->root], /*whole_path=*/false);
  if (!Keep(this, parent, kParentFlags, fd)) t.owned = Fd(fd);
  t.dirfd = fd;
  return t;
}

Result<Target> Resolver::OpenDir(const std::string& op, const std::string& path,
                                 uint64_t flags) const {
  Result<Located> l = Locate(op, path);
  if (!l.ok()) return l.status();
  Target t;
  t.path = l->path;
  if ((t.dirfd = KeptFd(this, t.path, flags)) >= 0) return t;
  int fd = OpenBeneath(fds[l->root], l->rel.empty() ? "." : l->rel, flags);
  if (fd < 0) return OpenError(errno, op, t.path, roots[l->root], /*whole_path=*/true);
  if (!Keep(this, t.path, flags, fd)) t.owned = Fd(fd);
  t.dirfd = fd;
  return t;
}

}  // namespace fstx::resolve
