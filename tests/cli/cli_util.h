// cli_util.h — helpers for the end-to-end tests of the `fstx` command:
// running the binary ($FSTX_BIN) as a child process with a chosen
// environment, snapshotting a tree (relative path -> type, mode, content or
// link target) and comparing snapshots, and building the libvirt-like tree
// and the transaction spec the tests share.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/testutil.h"

namespace fstx::clitest {

using nlohmann::json;
using fstx::testing::ReadFileRaw;
using fstx::testing::TempDir;
using fstx::testing::WriteFileRaw;

inline std::string FstxBin() {
  const char* bin = std::getenv("FSTX_BIN");
  if (!bin || !*bin) throw std::runtime_error("FSTX_BIN is not set (run through meson test)");
  return bin;
}

struct RunResult {
  int exit_code = -1;  // -1 if killed by a signal
  int signal = 0;      // the signal that killed it, 0 if it exited
  std::string out, err;
  std::string Describe() const {
    std::ostringstream ss;
    ss << (signal ? "killed by signal " + std::to_string(signal)
                  : "exit " + std::to_string(exit_code))
       << "\n--- stdout:\n" << out << "--- stderr:\n" << err;
    return ss.str();
  }
  json Json() const {
    try {
      return json::parse(out);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("stdout is not JSON: ") + e.what() + "\n" + Describe());
    }
  }
};

using Env = std::map<std::string, std::string>;

// Starts $FSTX_BIN with `args`; its environment is ours without any FSTX_*
// variable, plus `env`. stdin comes from `input`; stdout/stderr go to files
// in `scratch`. With `as_uid` >= 0 (the tests run as root) the child drops
// to that uid and gid first. Returns the child's pid.
inline pid_t Spawn(const std::string& scratch, const std::vector<std::string>& args,
                   const Env& env, const std::string& input, int tag, int as_uid = -1) {
  std::string in = scratch + "/stdin." + std::to_string(tag);
  WriteFileRaw(in, input);
  std::string out = scratch + "/stdout." + std::to_string(tag);
  std::string err = scratch + "/stderr." + std::to_string(tag);
  std::string bin = FstxBin();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fi = ::open(in.c_str(), O_RDONLY);
    int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fi < 0 || fo < 0 || fe < 0) ::_exit(127);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    if (as_uid >= 0) {
      const auto id = static_cast<uid_t>(as_uid);
      if (::setgroups(0, nullptr) != 0 || ::setresgid(id, id, id) != 0 ||
          ::setresuid(id, id, id) != 0) {
        ::_exit(126);
      }
    }
    for (const char* v : {"FSTX_FAILPOINTS", "FSTX_JOURNAL", "FSTX_ROOTS", "GTEST_OUTPUT"}) {
      ::unsetenv(v);
    }
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// The result of a reaped child with wait status `status`.
inline RunResult Collect(const std::string& scratch, int status, int tag) {
  RunResult r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = ReadFileRaw(scratch + "/stdout." + std::to_string(tag));
  r.err = ReadFileRaw(scratch + "/stderr." + std::to_string(tag));
  return r;
}

inline RunResult Wait(const std::string& scratch, pid_t pid, int tag) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  return Collect(scratch, status, tag);
}

inline RunResult RunFstx(const std::string& scratch, const std::vector<std::string>& args,
                     const Env& env = {}, const std::string& input = "", int as_uid = -1) {
  static int counter = 0;
  int tag = ++counter;
  return Wait(scratch, Spawn(scratch, args, env, input, tag, as_uid), tag);
}

// Like Wait, but kills the child (SIGKILL) if it has not ended after
// `timeout_ms`; then *timed_out is set and the result says killed by 9.
inline RunResult WaitAtMost(const std::string& scratch, pid_t pid, int tag, int timeout_ms,
                            bool* timed_out) {
  *timed_out = false;
  for (int waited = 0;; waited += 5) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return Collect(scratch, status, tag);
    if (waited >= timeout_ms) {
      *timed_out = true;
      ::kill(pid, SIGKILL);
      return Wait(scratch, pid, tag);
    }
    ::usleep(5000);
  }
}

// A tree as the tests compare it: fstx::testing::Snapshot (type, mode,
// content or link target), keyed by the path relative to the root without
// a leading '/'.
using Snapshot = fstx::testing::TreeImage;

inline Snapshot Snap(const std::string& root) {
  Snapshot snap;
  for (auto& [p, v] : fstx::testing::Snapshot(root)) snap[p.substr(1)] = std::move(v);
  return snap;
}

// Human-readable difference, empty if equal.
inline std::string Diff(const Snapshot& want, const Snapshot& got) { return fstx::testing::Diff(want, got); }

inline bool HasStagingNames(const Snapshot& s) {
  for (const auto& [p, n] : s) {
    if (p.find(".fstx-") != std::string::npos) return true;
  }
  return false;
}

// Leaves a UNIX socket file at `path` (bound, then the fd closed).
inline void MakeSocket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
  std::copy(path.begin(), path.end(), addr.sun_path);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("bind " + path);
  }
  ::close(fd);
}

inline void Symlink(const std::string& target, const std::string& path) {
  if (::symlink(target.c_str(), path.c_str()) != 0) throw std::runtime_error("symlink " + path);
}

// A scratch area with a root (the tree fstx may touch), a journal directory
// outside it, and a place for the child processes' output.
class Workspace {
 public:
  Workspace() {
    fstx::testing::MkdirRaw(dir_ / "root");
    fstx::testing::MkdirRaw(dir_ / "io");
  }
  std::string root() const { return dir_ / "root"; }
  std::string journal() const { return dir_ / "journal"; }
  std::string io() const { return dir_ / "io"; }
  std::string R(const std::string& rel) const { return root() + "/" + rel; }

  // fstx --journal J --root R ARGS...
  RunResult Fstx(std::vector<std::string> args, const Env& env = {},
                 const std::string& input = "") const {
    args.insert(args.begin(), {"--journal", journal(), "--root", root()});
    return RunFstx(io(), args, env, input);
  }
  RunResult Apply(const std::string& spec, const Env& env = {}) const {
    std::string file = dir_ / "spec.json";
    WriteFileRaw(file, spec);
    return Fstx({"apply", file}, env);
  }
  // Number of transactions in the journal (active + history), 0 if none.
  size_t TxCount() const {
    RunResult r = Fstx({"list", "--all", "--json"});
    if (r.exit_code != 0) throw std::runtime_error("list failed: " + r.Describe());
    return r.Json()["transactions"].size();
  }

 private:
  TempDir dir_;
};

}  // namespace fstx::clitest
