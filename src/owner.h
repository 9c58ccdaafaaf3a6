// owner.h — who owns a transaction, and whether that owner still lives.
//
// An owner is (pid, process start time, boot id). A pid alone is reused;
// with the start time from /proc/PID/stat and the kernel's boot id, an owner
// is alive only if it is this boot's process with that exact start time.
// After a reboot every owner is dead.
#pragma once

#include "fstx/inspect.h"
#include "journal/record.h"

namespace fstx {

Owner CurrentOwner();
// OwnerAlive: fstx/inspect.h.
bool SameOwner(const Owner& a, const Owner& b);
int64_t NowMicros();

}  // namespace fstx
