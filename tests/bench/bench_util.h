// bench_util.h — helpers shared by the benchmark programs (tests/bench):
// timing, durable file operations done by hand (the "bare" baselines),
// child processes, JSON output. Benchmark-only code: it throws on errors.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace fstx::bench {

using Clock = std::chrono::steady_clock;

inline double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

inline void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

inline void FsyncPath(const std::string& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  Check(fd >= 0, "open " + p);
  Check(::fsync(fd) == 0, "fsync " + p);
  ::close(fd);
}

inline std::string Parent(const std::string& p) { return p.substr(0, p.rfind('/')); }

// Durable atomic replace by hand: temp file written and fsynced, renamed
// over, the directory fsynced.
inline void BareReplace(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  Check(fd >= 0, "open " + tmp);
  Check(::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()), "write " + tmp);
  Check(::fsync(fd) == 0, "fsync " + tmp);
  ::close(fd);
  Check(::rename(tmp.c_str(), path.c_str()) == 0, "rename " + tmp);
  FsyncPath(Parent(path));
}

// The same, copying from the file `src` through a 1 MiB buffer.
inline void BareReplaceFrom(const std::string& path, const std::string& src) {
  const std::string tmp = path + ".tmp";
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  Check(in >= 0, "open " + src);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  Check(fd >= 0, "open " + tmp);
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    Check(n >= 0, "read " + src);
    if (n == 0) break;
    Check(::write(fd, buf.data(), static_cast<size_t>(n)) == n, "write " + tmp);
  }
  Check(::fsync(fd) == 0, "fsync " + tmp);
  ::close(fd);
  ::close(in);
  Check(::rename(tmp.c_str(), path.c_str()) == 0, "rename " + tmp);
  FsyncPath(Parent(path));
}

inline void Mkdirs(const std::string& p) {
  for (size_t i = 1; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      std::string d = p.substr(0, i);
      Check(::mkdir(d.c_str(), 0755) == 0 || errno == EEXIST, "mkdir " + d);
    }
  }
}

// Writes back everything of the filesystem that holds `p` (syncfs(2)).
inline void SyncFs(const std::string& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  Check(fd >= 0, "open " + p);
  const bool ok = ::syncfs(fd) == 0;
  ::close(fd);
  Check(ok, "syncfs " + p);
}

// Allocated bytes of a file (st_blocks), 0 if it does not exist.
inline uint64_t FileBytes(const std::string& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// Runs argv as a child, returns its stdout; *maxrss_kb its peak RSS.
inline std::string RunChild(const std::vector<std::string>& args, long* maxrss_kb = nullptr,
                            int* status = nullptr) {
  int pfd[2];
  Check(::pipe2(pfd, O_CLOEXEC) == 0, "pipe");
  pid_t pid = ::fork();
  Check(pid >= 0, "fork");
  if (pid == 0) {
    ::dup2(pfd[1], 1);
    std::vector<char*> av;
    for (const auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    ::execv(av[0], av.data());
    ::_exit(127);
  }
  ::close(pfd[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(pfd[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(pfd[0]);
  int st = 0;
  struct rusage ru {};
  Check(::wait4(pid, &st, 0, &ru) == pid, "wait4");
  if (maxrss_kb) *maxrss_kb = ru.ru_maxrss;
  if (status) *status = st;
  else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    throw std::runtime_error(args[0] + " " + (args.size() > 1 ? args[1] : "") + " failed (status " +
                             std::to_string(st) + "): " + out);
  return out;
}

// One JSON object per line, built key by key.
class JsonLine {
 public:
  explicit JsonLine(const std::string& bench) { Str("bench", bench); }
  JsonLine& Num(const std::string& k, double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.4f", v);
    return Raw(k, b);
  }
  JsonLine& Int(const std::string& k, long long v) { return Raw(k, std::to_string(v)); }
  JsonLine& Bool(const std::string& k, bool v) { return Raw(k, v ? "true" : "false"); }
  JsonLine& Str(const std::string& k, const std::string& v) { return Raw(k, "\"" + v + "\""); }
  void Print() const { std::printf("{%s}\n", body_.c_str()), std::fflush(stdout); }

 private:
  JsonLine& Raw(const std::string& k, const std::string& v) {
    if (!body_.empty()) body_ += ", ";
    body_ += "\"" + k + "\": " + v;
    return *this;
  }
  std::string body_;
};

}  // namespace fstx::bench
