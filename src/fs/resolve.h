// resolve.h — internal: confined path resolution for PosixFs (fstx/fs.h).
//
// A Resolver holds a set of roots (lexically normalised absolute paths) and
// an O_PATH directory fd for each, opened once by PosixFs::Open. Every path
// is resolved the same way: normalise it (paths::Normalize), find the root
// it is or lies beneath (the longest match), open its parent directory with
// openat2() from that root's fd with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS, and hand back (parent fd, last component) so that
// the caller acts on the leaf with an *at() call that never follows it.
//
// Failures are Status values naming the operation and the path:
//   kOutsideRoot     the path is beneath no root, escapes its root (EXDEV)
//                    or has a symlink among the components walked (ELOOP);
//   kNotFound        a directory on the path is missing (err ENOENT/ENOTDIR);
//   kNotSupported    openat2 is unavailable (ENOSYS; Linux >= 5.6 needed);
//   kInvalidArgument a mutating call names a root itself, or the path is
//                    not a valid absolute path;
//   otherwise        Status::FromErrno of the openat2() errno.
//
// Thread safety: roots and fds are immutable once PosixFs::Open returns, so
// any number of threads may resolve at once. A Target owns its fd, or
// borrows it from the root or from this thread's DirScope.
//
// DirScope: while one lives on a thread, the directories that thread
// resolves (parents, and directories opened to be synced) are kept open
// and reused instead of walked again with openat2, until the outermost
// scope ends or Clear() is called. The engine opens one around a
// transaction and around recovery, and its LockTable clears it whenever
// the thread takes or lets go of path locks. Why that is still confined:
// every directory kept is an ancestor of (or is) a path the thread holds
// locked, or a staging directory, so no fstx transaction in any process
// can move it meanwhile; this thread's own renames and rmdirs forget what
// they move (Forget). A foreign process moving a directory out of a root
// while it is kept is the same race a fresh openat2 has between the walk
// and the call that uses its fd; the scope widens that window from
// microseconds to the length of one transaction. Without a scope every
// call walks again, as it always did.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fstx/status.h"

namespace fstx::resolve {

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and reports close(2)'s result (0, or -1 with errno set).
  int Close() { return ::close(std::exchange(fd_, -1)); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A path resolved to (directory fd, last component). For a root itself the
// directory is the root and the leaf is ".".
struct Target {
  Fd owned;        // the opened parent, if any
  int dirfd = -1;  // owned.get() or a root fd
  std::string leaf;
  std::string path;  // normalised
};

class DirScope {
 public:
  DirScope();   // begins this thread's scope, or joins the one open
  ~DirScope();  // the outermost closes every directory kept
  DirScope(const DirScope&) = delete;
  DirScope& operator=(const DirScope&) = delete;

  // Closes every directory kept (the locks that made them safe are gone).
  static void Clear();
  // Forgets `path` (normalised absolute) and every directory beneath it.
  static void Forget(const std::string& path);
  // How many directories this thread keeps (tests).
  static size_t Size();
};

struct Resolver {
  std::vector<std::string> roots;
  std::vector<int> fds;  // parallel to roots; immutable after Open; closed by ~Resolver

  Resolver() = default;
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Maps an openat2() failure for `path` (beneath `root`) to a Status.
  // `whole_path`: the walk covered the whole path, not just its parent.
  static Status OpenError(int err, const std::string& op, const std::string& path,
                          const std::string& root, bool whole_path);

  // Normalises `path` and finds its root: the root it is (rel "") or the
  // longest root it lies beneath (rel is the rest, without a leading '/').
  struct Located {
    std::string path;
    size_t root = 0;
    std::string rel;
  };
  Result<Located> Locate(const std::string& op, const std::string& path) const;

  // Resolves `path` to its parent directory fd and leaf. A root itself is
  // accepted only when `allow_root` (read-only calls); mutating calls on a
  // root fail with kInvalidArgument.
  Result<Target> Resolve(const std::string& op, const std::string& path, bool allow_root) const;

  // Opens the directory at `path` itself (which may be a root), confined,
  // with openat2 `flags`; the Target's dirfd is that directory.
  Result<Target> OpenDir(const std::string& op, const std::string& path, uint64_t flags) const;
};

}  // namespace fstx::resolve
