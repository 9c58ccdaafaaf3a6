// pkg_util.h — helpers for the packaging tests (tests/pkg): running a
// program (groff, man, bash, systemd-analyze, fstx) as a child process, and
// reading what `fstx --help` says the command has (its subcommands, each
// one's long options), so that the man page, the completion script and the
// CLI are compared with each other rather than with a list in the test.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/testutil.h"

namespace fstx::pkgtest {

using fstx::testing::ReadFileRaw;
using fstx::testing::TempDir;
using fstx::testing::WriteFileRaw;

// $NAME, or a failure naming it (the tests run through meson test).
inline std::string EnvPath(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') throw std::runtime_error(std::string(name) + " is not set (run through meson test)");
  return v;
}

struct Proc {
  int code = -1;  // exit status; -1 if killed by a signal
  std::string out, err;
  std::string Describe(const std::vector<std::string>& argv) const {
    std::string cmd;
    for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    std::string s = "$ " + cmd + "\nexit " + std::to_string(code);
    if (code == 127) s += " (could not run " + argv[0] + ": is it installed? setup.sh's PACKAGES has it)";
    return s + "\n--- stdout:\n" + out + "--- stderr:\n" + err;
  }
};

using Env = std::map<std::string, std::string>;

// Runs argv[0] (found on PATH) with `env` added to ours, stdin from
// /dev/null, stdout and stderr captured through files in a scratch dir.
inline Proc RunProgram(const std::vector<std::string>& argv, const Env& env = {}) {
  TempDir scratch;
  const std::string out = scratch / "out", err = scratch / "err";
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fi = ::open("/dev/null", O_RDONLY);
    int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fi < 0 || fo < 0 || fe < 0) ::_exit(126);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    ::unsetenv("GTEST_OUTPUT");
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  Proc p;
  if (WIFEXITED(status)) p.code = WEXITSTATUS(status);
  p.out = ReadFileRaw(out);
  p.err = ReadFileRaw(err);
  return p;
}

inline bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

inline std::string Join(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

// The lines of the section `title` ("Subcommands:", "Options:") of a help
// text: from the line after the title to the first line not indented.
inline std::vector<std::string> HelpSection(const std::string& help, const std::string& title) {
  std::vector<std::string> lines;
  std::istringstream in(help);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == title) {
      inside = true;
    } else if (inside) {
      if (line.empty() || line[0] != ' ') break;
      lines.push_back(line);
    }
  }
  return lines;
}

// `fstx ARGS --help`, which must succeed.
inline std::string FstxHelp(std::vector<std::string> args) {
  std::vector<std::string> argv = {EnvPath("FSTX_BIN")};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--help");
  Proc p = RunProgram(argv);
  if (p.code != 0) throw std::runtime_error(p.Describe(argv));
  return p.out;
}

// Every subcommand path the command has: {"apply"}, ..., {"virt", "rename"}.
inline std::vector<std::vector<std::string>> FstxSubcommands() {
  std::vector<std::vector<std::string>> all;
  for (const std::string& line : HelpSection(FstxHelp({}), "Subcommands:")) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    all.push_back({name});
    for (const std::string& inner : HelpSection(FstxHelp({name}), "Subcommands:")) {
      std::istringstream w2(inner);
      std::string sub;
      w2 >> sub;
      all.push_back({name, sub});
    }
  }
  if (all.size() < 10) throw std::runtime_error("fstx --help lists fewer than 10 subcommands:\n" + FstxHelp({}));
  return all;
}

// The long options ("--json") `fstx PATH --help` lists, --help excluded.
inline std::set<std::string> FstxLongOptions(const std::vector<std::string>& path) {
  std::set<std::string> opts;
  for (const std::string& line : HelpSection(FstxHelp(path), "Options:")) {
    size_t at = line.find("--");
    if (at == std::string::npos) continue;
    size_t end = line.find_first_of(" ,", at);
    std::string opt = line.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (opt != "--help") opts.insert(opt);
  }
  return opts;
}

}  // namespace fstx::pkgtest
