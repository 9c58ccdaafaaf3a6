#include "src/engine/locks.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>

#include "journal/fork_guard.h"
#include "src/fs/lock_wait.h"
#include "src/fs/resolve.h"

namespace fstx {

namespace {

// 2^62 bytes: with 2^30 (format 3), a thousand transactions' ~10,000 lock
// bytes collided with a chance of about 5 %, and a collision is a false
// wait (journal/FORMAT.md section 1).
off_t ByteOf(const std::string& path) {
  return static_cast<off_t>(XXH3_64bits(path.data(), path.size()) % (1ull << 62));
}

// Byte -> exclusive?, for a set of paths: the paths exclusive, their
// ancestors shared.
std::map<off_t, bool> LockBytes(const std::set<std::string>& paths) {
  std::map<off_t, bool> bytes;
  for (const std::string& p : paths) {
    bytes[ByteOf(p)] = true;
    for (size_t i = p.size(); i-- > 1;) {
      if (p[i] != '/') continue;
      bytes.emplace(ByteOf(p.substr(0, i)), false);
    }
    bytes.emplace(ByteOf("/"), false);
  }
  return bytes;
}

}  // namespace

LockTable::~LockTable() {
  for (auto& [k, h] : held_)
    if (h.fd >= 0) {
      fork_guard::Unregister(h.fd);
      ::close(h.fd);
    }
}

Status LockTable::SetLockFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::FromErrno(errno, "open lock file", path);
  ::close(fd);
  std::lock_guard<std::mutex> l(mu_);
  lock_file_ = path;
  return Status();
}

const LockTable::Held* LockTable::Conflict(const std::string& p, std::string* held_path) const {
  auto holder = [&](std::multimap<std::string, uint64_t>::const_iterator it) {
    *held_path = it->first;
    return &held_.at(it->second);
  };
  // p itself, or a path beneath it.
  if (auto it = by_path_.find(p); it != by_path_.end()) return holder(it);
  const std::string below = p == "/" ? p : p + "/";
  if (auto it = by_path_.lower_bound(below); it != by_path_.end() && it->first.compare(0, below.size(), below) == 0)
    return holder(it);
  // A path above it.
  for (size_t i = p.size(); i-- > 0;) {
    if (p[i] != '/') continue;
    if (auto it = by_path_.find(i == 0 ? std::string("/") : p.substr(0, i)); it != by_path_.end()) return holder(it);
  }
  return nullptr;
}

const LockTable::Held* LockTable::Conflict(const std::set<std::string>& paths, std::string* path,
                                           std::string* held_path) const {
  for (const auto& p : paths)
    if (const Held* h = Conflict(p, held_path)) {
      *path = p;
      return h;
    }
  return nullptr;
}

Status LockTable::LockFile(const std::set<std::string>& paths, int64_t deadline_ms, int* fd_out) {
  int fd = ::open(lock_file_.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "open lock file", lock_file_);
  for (const auto& [byte, exclusive] : LockBytes(paths)) {
    const int err = RetryUntil(deadline_ms, [&, b = byte, x = exclusive] { return TryLockByte(fd, b, x); });
    if (err == 0) continue;
    ::close(fd);
    if (err == EWOULDBLOCK) return Status(Code::kBusy, "held by another process (lock file " + lock_file_ + ")", EBUSY);
    return Status::FromErrno(err, "fcntl(F_OFD_SETLK)", lock_file_);
  }
  *fd_out = fd;
  return Status();
}

// This thread's kept directories (resolve::DirScope) are valid only under
// the locks it holds: what it kept before taking these may have moved
// meanwhile, and what it kept under locks it lets go may move from then
// on. So taking or letting go of locks forgets them.
Status LockTable::Lock(const std::set<std::string>& paths, uint64_t key, const std::string& owner,
                       int64_t wait_ms) {
  Status s = Take(paths, key, owner, wait_ms);
  if (s.ok()) resolve::DirScope::Clear();
  return s;
}

Status LockTable::Take(const std::set<std::string>& paths, uint64_t key, const std::string& owner,
                       int64_t wait_ms) {
  const int64_t deadline = MonotonicMs() + std::max<int64_t>(wait_ms, 0);
  std::string lock_file;
  {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      std::string p, q;
      const Held* h = Conflict(paths, &p, &q);
      if (!h) break;
      const int64_t left = deadline - MonotonicMs();
      if (left <= 0)
        return Status(Code::kBusy, p + " is locked by " + h->owner + " (lock on " + q + ")", EBUSY);
      cv_.wait_for(l, std::chrono::milliseconds(left));
    }
    held_[key] = Held{paths, owner, -1};
    for (const auto& p : paths) by_path_.emplace(p, key);
    lock_file = lock_file_;
  }
  if (lock_file.empty()) return Status();
  int fd = -1;
  Status s = LockFile(paths, deadline, &fd);
  std::lock_guard<std::mutex> l(mu_);
  if (!s.ok()) {
    Forget(key);
    cv_.notify_all();
    return Status(s.code(), *paths.begin() + (paths.size() > 1 ? " (or another of its paths)" : "") +
                                " is locked: " + s.message(), s.err());
  }
  // A child forked meanwhile would share the description and keep the
  // locks alive after we let go (or die): it closes its copy at once.
  fork_guard::Register(fd);
  held_[key].fd = fd;
  return Status();
}

void LockTable::Unlock(uint64_t key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = held_.find(key);
  if (it == held_.end()) return;
  if (it->second.fd >= 0) {
    fork_guard::Unregister(it->second.fd);
    ::close(it->second.fd);
  }
  Forget(key);
  cv_.notify_all();
  resolve::DirScope::Clear();
}

void LockTable::Forget(uint64_t key) {
  auto it = held_.find(key);
  if (it == held_.end()) return;
  for (const auto& p : it->second.paths)
    for (auto [b, e] = by_path_.equal_range(p); b != e; ++b)
      if (b->second == key) {
        by_path_.erase(b);
        break;
      }
  held_.erase(it);
}

size_t LockTable::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return held_.size();
}

}  // namespace fstx
