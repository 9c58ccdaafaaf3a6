#include "src/ops/owner.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

namespace fstx {
namespace {

constexpr uint64_t kPfExiting = 0x4;  // include/linux/sched.h

std::string ReadBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// Field 22 of /proc/PID/stat (starttime). 0 if the process does not exist,
// has exited (a zombie: its locks are gone, its parent has not reaped it)
// or is exiting (PF_EXITING in field 9, set before the kernel closes its
// files: a process whose path locks the kernel released is never "alive").
uint64_t ProcessStartTime(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  // The command name (field 2) is in parentheses and may contain spaces.
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // Fields after the name start at 3; starttime is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
    if (i == 3 && (field == "Z" || field == "X")) return 0;
    if (i == 9 && (std::stoull(field) & kPfExiting) != 0) return 0;
  }
  return std::stoull(field);
}

}  // namespace

Owner CurrentOwner() {
  static const Owner self = [] {
    Owner o;
    o.pid = ::getpid();
    o.start_time = ProcessStartTime(o.pid);
    o.boot_id = ReadBootId();
    return o;
  }();
  // After fork() the cached value belongs to the parent.
  if (self.pid != ::getpid()) {
    Owner o;
    o.pid = ::getpid();
    o.start_time = ProcessStartTime(o.pid);
    o.boot_id = self.boot_id;
    return o;
  }
  return self;
}

bool SameOwner(const Owner& a, const Owner& b) {
  return a.pid == b.pid && a.start_time == b.start_time && a.boot_id == b.boot_id;
}

bool OwnerAlive(const Owner& owner) {
  if (owner.pid <= 0) return false;
  if (owner.boot_id != CurrentOwner().boot_id) return false;
  uint64_t st = ProcessStartTime(owner.pid);
  return st != 0 && st == owner.start_time;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace fstx
