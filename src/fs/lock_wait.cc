// lock_wait.cc — see lock_wait.h.
#include "src/fs/lock_wait.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace fstx {

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int RetryUntil(int64_t deadline_ms, const std::function<int()>& try_once) {
  for (int sleep_us = 100;; sleep_us = std::min(sleep_us * 2, 5000)) {
    const int err = try_once();
    if (err == 0) return 0;
    if (err != EAGAIN && err != EACCES && err != EWOULDBLOCK && err != EINTR) return err;
    if (MonotonicMs() >= deadline_ms) return EWOULDBLOCK;
    std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
  }
}

int TryLockByte(int fd, off_t byte, bool exclusive) {
  struct flock fl {};
  fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : errno;
}

}  // namespace fstx
