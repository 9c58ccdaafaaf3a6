// lock_wait.h — taking a lock that another process may hold, waiting up to
// a deadline: the one retry loop behind the journal's writer lock, its open
// gate and the cross-process path locks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>

namespace fstx {

// Milliseconds on the monotonic clock.
int64_t MonotonicMs();

// Calls `try_once` (0, or an errno) until it returns 0 or an errno other
// than "held by someone else" (EAGAIN, EACCES, EWOULDBLOCK) or EINTR, or
// until `deadline_ms` (MonotonicMs) has passed, backing off from 100 µs to
// 5 ms between tries. Returns 0, that errno, or EWOULDBLOCK on time-out.
int RetryUntil(int64_t deadline_ms, const std::function<int()>& try_once);

// A non-blocking open-file-description lock (F_OFD_SETLK) on one byte of
// `fd`: 0 or errno.
int TryLockByte(int fd, off_t byte, bool exclusive);

}  // namespace fstx
