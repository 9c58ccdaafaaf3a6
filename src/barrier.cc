#include "src/barrier.h"

#include "src/ops.h"
#include "src/paths.h"

namespace fstx {

Status BarrierTracker::Before(const Intent& in) {
  bool depends = false;
  // An in-place write goes to whatever object the path names when it runs:
  // the op that put that object there must be durable first.
  for (const auto& p : ops::Paths(in))
    depends = depends || since_.HoldsAncestorOf(p) || since_.HoldsBeneath(p) ||
              (in.kind == OpKind::kWriteRange && since_.Holds(p));
  if (!depends) return Status();
  ++barriers_;
  return Final();
}

void BarrierTracker::After(const Intent& in) {
  for (const auto& p : ops::Paths(in)) since_.Insert(p);
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
  since_.Clear();
  return Status();
}

}  // namespace fstx
