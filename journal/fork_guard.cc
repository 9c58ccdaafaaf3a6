// fork_guard.cc — see fork_guard.h.
#include "journal/fork_guard.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace fstx::fork_guard {
namespace {

constexpr int kSlots = 1024;  // journals, and path-lock descriptors of commits in flight
std::atomic<int> g_slots[kSlots];  // fd + 1; 0 = free (zero-initialised)
std::once_flag g_once;

void InChild() {
  for (auto& slot : g_slots) {
    int v = slot.exchange(0);
    if (v > 0) ::close(v - 1);
  }
}

}  // namespace

void Register(int fd) {
  std::call_once(g_once, [] { ::pthread_atfork(nullptr, nullptr, InChild); });
  for (auto& slot : g_slots) {
    int expected = 0;
    if (slot.compare_exchange_strong(expected, fd + 1)) return;
  }
}

void Unregister(int fd) {
  for (auto& slot : g_slots) {
    int expected = fd + 1;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

void CloseOnExec(const char* const* files, int n) {
  struct stat want[4];
  int k = 0;
  for (int i = 0; i < n && k < 4; ++i)
    if (::stat(files[i], &want[k]) == 0) ++k;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return;
  const int self = ::dirfd(d);
  while (struct dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == self) continue;
    struct stat st;
    if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    for (int i = 0; i < k; ++i) {
      if (st.st_dev != want[i].st_dev || st.st_ino != want[i].st_ino) continue;
      int flags = ::fcntl(static_cast<int>(fd), F_GETFD);
      if (flags >= 0 && !(flags & FD_CLOEXEC)) ::fcntl(static_cast<int>(fd), F_SETFD, flags | FD_CLOEXEC);
    }
  }
  ::closedir(d);
}

}  // namespace fstx::fork_guard
