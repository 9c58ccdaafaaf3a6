// locks.h — in-process path locks.
//
// A lock on a path covers the path and everything beneath it; two lock
// sets conflict if any path of one is the same as, above or below a path of
// the other. TryLock takes all of a transaction's paths at once or none
// (no waiting, so no deadlock); a conflict names the path and the holder.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "fstx/status.h"

namespace fstx {

class LockTable {
 public:
  // `owner` identifies the holder in messages (a label or "tx 42").
  Status TryLock(const std::set<std::string>& paths, uint64_t key, const std::string& owner);
  void Unlock(uint64_t key);
  size_t size() const;

 private:
  struct Held {
    std::set<std::string> paths;
    std::string owner;
  };
  mutable std::mutex mu_;
  std::map<uint64_t, Held> held_;
};

}  // namespace fstx
