// locks.h — path locks, within a process and across processes.
//
// A lock on a path covers the path and everything beneath it; two lock
// sets conflict if any path of one is the same as, above or below a path of
// the other. Lock takes all of a transaction's paths or none, waiting up to
// a timeout; a conflict names the path and the holder.
//
// Within the process a table of held path sets decides exactly. Across
// processes (SetLockFile): open-file-description locks (fcntl F_OFD_SETLK)
// on one byte per path in a lock file, released by the kernel when their
// owner dies. A path is locked exclusively, each of its ancestors shared
// (intention locks), so /a and /a/b conflict while /a/b and /a/c do not.
// The byte is the path's XXH3-64 hash modulo 2^62: a collision costs a
// false wait, never a missed conflict. Bytes are taken in ascending order
// (no deadlock between processes); each Lock() opens its own description
// of the lock file, so threads of one process exclude each other too.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "fstx/status.h"
#include "src/fs/lock_wait.h"  // MonotonicMs

namespace fstx {

class LockTable {
 public:
  ~LockTable();
  // Also lock across processes through `path` (created 0600 if missing).
  Status SetLockFile(const std::string& path);
  // `owner` identifies the holder in messages (a label or "tx 42").
  // Waits up to wait_ms for the paths; then kBusy naming the holder (a
  // holder in another process is "another process"; the engine names its
  // transaction from the journal).
  Status Lock(const std::set<std::string>& paths, uint64_t key, const std::string& owner, int64_t wait_ms);
  Status TryLock(const std::set<std::string>& paths, uint64_t key, const std::string& owner) {
    return Lock(paths, key, owner, 0);
  }
  void Unlock(uint64_t key);
  size_t size() const;
  // Lock (on success) and Unlock also forget the directories the calling
  // thread's resolve::DirScope keeps: they are kept only under its locks.

 private:
  struct Held {
    std::set<std::string> paths;
    std::string owner;
    int fd = -1;  // its description of the lock file
  };
  // The held set `p` conflicts with, if any (*held_path: its path that does).
  const Held* Conflict(const std::string& p, std::string* held_path) const;
  const Held* Conflict(const std::set<std::string>& paths, std::string* path, std::string* held_path) const;
  Status Take(const std::set<std::string>& paths, uint64_t key, const std::string& owner, int64_t wait_ms);
  Status LockFile(const std::set<std::string>& paths, int64_t deadline_ms, int* fd);
  void Forget(uint64_t key);  // drops `key` from held_ and by_path_ (mu_ held)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Held> held_;
  // Every held path -> its holder's key: a conflict is found in
  // O(depth · log n), whatever the number of lock sets held (recovery holds
  // a whole batch's).
  std::multimap<std::string, uint64_t> by_path_;
  std::string lock_file_;
};

}  // namespace fstx
