#include "src/barrier.h"

#include "src/ops.h"
#include "src/paths.h"

namespace fstx {

Status BarrierTracker::Before(const Intent& in) {
  bool depends = false;
  for (const auto& p : ops::Paths(in)) {
    for (const auto& q : since_) {
      if (paths::IsAncestor(p, q) || paths::IsAncestor(q, p)) depends = true;
      // An in-place write goes to whatever object the path names when it
      // runs: the op that put that object there must be durable first.
      if (in.kind == OpKind::kWriteRange && p == q) depends = true;
    }
  }
  if (!depends) return Status();
  ++barriers_;
  return Final();
}

void BarrierTracker::After(const Intent& in) {
  for (const auto& p : ops::Paths(in)) since_.push_back(p);
  for (const auto& d : ops::Dirs(in)) dirty_.insert(d);
}

Status BarrierTracker::Final() {
  for (auto it = dirty_.begin(); it != dirty_.end();) {
    Status s = sync_(*it);
    // A directory that is gone (an undone rename or mkdir took it away)
    // has nothing left to persist; its parent's sync covers its removal.
    if (!s.ok() && s.code() != Code::kNotFound) return s;
    it = dirty_.erase(it);
  }
  since_.clear();
  return Status();
}

}  // namespace fstx
