#include "src/virt/host_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace fstx::virt {
namespace {

// A small regular file's text (never through a symlink), or "".
std::string SmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  struct stat st;
  std::string out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out.assign(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

Status ListSorted(const std::string& dir, std::vector<std::string>* out) {
  out->clear();
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return Status::FromErrno(errno, "stat", dir);
  }
  if (!S_ISDIR(st.st_mode)) return Status::Ok();
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::FromErrno(errno, "opendir", dir);
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out->push_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err) return Status::FromErrno(err, "readdir", dir);
  std::sort(out->begin(), out->end());
  return Status::Ok();
}

bool ReadLinkText(const std::string& path, std::string* target) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return false;
  target->assign(buf, static_cast<size_t>(n));
  return true;
}

std::string LivePid(const std::string& pidfile, const std::vector<std::string>& programs) {
  long pid = std::strtol(SmallFile(pidfile).c_str(), nullptr, 10);
  if (pid <= 0) return "";
  std::string comm = SmallFile("/proc/" + std::to_string(pid) + "/comm");
  if (comm.empty()) return "";
  if (programs.empty()) return std::to_string(pid);
  for (const auto& p : programs)
    if (comm.rfind(p, 0) == 0) return std::to_string(pid);
  return "";
}

}  // namespace fstx::virt
