#include "src/engine/locks.h"

#include <cerrno>

#include "src/fs/paths.h"

namespace fstx {

Status LockTable::TryLock(const std::set<std::string>& paths, uint64_t key, const std::string& owner) {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [k, held] : held_) {
    for (const auto& p : paths) {
      for (const auto& q : held.paths) {
        if (paths::IsSameOrAncestor(p, q) || paths::IsAncestor(q, p))
          return Status(Code::kBusy, p + " is locked by " + held.owner + " (lock on " + q + ")", EBUSY);
      }
    }
  }
  held_[key] = Held{paths, owner};
  return Status();
}

void LockTable::Unlock(uint64_t key) {
  std::lock_guard<std::mutex> l(mu_);
  held_.erase(key);
}

size_t LockTable::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return held_.size();
}

}  // namespace fstx
