// cli_help_test.cc — the `fstx` command about itself: `fstx help
// [SUBCOMMAND...]`, `fstx version` and --version, --help of a nested
// subcommand, an example in every subcommand's help, and "did you mean" on
// a misspelt subcommand (exit 2, nothing created).
#include <gtest/gtest.h>

#include <cctype>
#include <set>

#include "tests/cli/cli_util.h"

namespace fstx::clitest {
namespace {

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The names listed under "Subcommands:" in a help text.
std::vector<std::string> SubcommandsIn(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream in(help);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "Subcommands:") {
      inside = true;
    } else if (inside) {
      if (line.empty() || line[0] != ' ') break;
      std::istringstream words(line);
      std::string name;
      words >> name;
      names.push_back(name);
    }
  }
  return names;
}

// Every subcommand path: {"apply"}, ..., {"virt", "rename"}, {"virt", "check"}.
std::vector<std::vector<std::string>> AllSubcommands(const std::string& io) {
  std::vector<std::vector<std::string>> all;
  RunResult top = RunFstx(io, {"--help"});
  for (const std::string& name : SubcommandsIn(top.out)) {
    all.push_back({name});
    RunResult sub = RunFstx(io, {name, "--help"});
    for (const std::string& inner : SubcommandsIn(sub.out)) all.push_back({name, inner});
  }
  return all;
}

std::string Join(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

TEST(CliUsage, HelpListsTheSubcommandsTheCommandHas) {
  TempDir io;
  std::vector<std::vector<std::string>> all = AllSubcommands(io.path());
  std::set<std::string> names;
  for (const auto& path : all) names.insert(Join(path));
  for (const char* want : {"apply", "recover", "status", "list", "show", "verify", "crashtest", "virt",
                           "virt rename", "virt check", "hash", "help", "version"}) {
    EXPECT_EQ(names.count(want), 1u) << want;
  }
}

TEST(CliUsage, HelpSubcommandPrintsWhatDashDashHelpPrints) {
  TempDir io;
  RunResult top = RunFstx(io.path(), {"help"});
  ASSERT_EQ(top.exit_code, 0) << top.Describe();
  EXPECT_EQ(top.out, RunFstx(io.path(), {"--help"}).out);
  for (const auto& path : AllSubcommands(io.path())) {
    std::vector<std::string> args = {"help"};
    args.insert(args.end(), path.begin(), path.end());
    RunResult h = RunFstx(io.path(), args);
    ASSERT_EQ(h.exit_code, 0) << Join(args) << "\n" << h.Describe();
    EXPECT_TRUE(Contains(h.out, "Usage: fstx " + Join(path) + " ")) << Join(args) << "\n" << h.out;
    std::vector<std::string> dash = path;
    dash.push_back("--help");
    RunResult d = RunFstx(io.path(), dash);
    EXPECT_EQ(d.exit_code, 0) << Join(dash) << "\n" << d.Describe();
    EXPECT_EQ(h.out, d.out) << Join(args) << " vs " << Join(dash);
  }
}

TEST(CliUsage, NestedHelpIsTheNestedSubcommands) {
  TempDir io;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"virt", "rename", "--help"}, {"--root", "/tmp", "virt", "rename", "--help"},
        {"virt", "--journal", "/tmp/j", "rename", "--help"},
        {"virt", "rename", "a", "--help"}, {"virt", "rename", "-h"}}) {
    RunResult r = RunFstx(io.path(), args);
    ASSERT_EQ(r.exit_code, 0) << Join(args) << "\n" << r.Describe();
    EXPECT_TRUE(Contains(r.out, "Usage: fstx virt rename [OPTIONS] OLD NEW")) << Join(args) << "\n" << r.out;
    EXPECT_TRUE(Contains(r.out, "--rename-images")) << r.out;
    EXPECT_FALSE(Contains(r.out, "Exit codes:\n  0  success")) << "top-level help printed\n" << r.out;
  }
  RunResult check = RunFstx(io.path(), {"virt", "check", "--help"});
  EXPECT_TRUE(Contains(check.out, "Usage: fstx virt check")) << check.out;
  EXPECT_FALSE(Contains(check.out, "--rename-images")) << check.out;
}

TEST(CliUsage, EverySubcommandsHelpHasAnExample) {
  TempDir io;
  for (const auto& path : AllSubcommands(io.path())) {
    std::vector<std::string> args = path;
    args.push_back("--help");
    RunResult r = RunFstx(io.path(), args);
    ASSERT_EQ(r.exit_code, 0) << Join(args) << "\n" << r.Describe();
    const size_t ex = r.out.find("Example");
    ASSERT_NE(ex, std::string::npos) << Join(args) << " has no example\n" << r.out;
    // A line of the example runs it: "fstx [global options] SUB ...".
    std::istringstream lines(r.out.substr(ex));
    std::string line;
    bool runs_it = false;
    while (std::getline(lines, line)) {
      const size_t at = line.find("fstx ");
      if (at != std::string::npos && Contains(line.substr(at) + " ", " " + Join(path) + " ")) runs_it = true;
    }
    EXPECT_TRUE(runs_it) << Join(args) << ": no example line runs it\n" << r.out;
  }
}

TEST(CliUsage, VersionSubcommandAndFlagAgree) {
  TempDir io;
  RunResult sub = RunFstx(io.path(), {"version"});
  RunResult flag = RunFstx(io.path(), {"--version"});
  ASSERT_EQ(sub.exit_code, 0) << sub.Describe();
  ASSERT_EQ(flag.exit_code, 0) << flag.Describe();
  // "fstx X.Y.Z\n" (no std::regex: GCC 12 under ASan warns inside it).
  int dots = 0;
  bool shape = sub.out.rfind("fstx ", 0) == 0 && sub.out.size() > 6 && sub.out.back() == '\n';
  for (size_t i = 5; shape && i + 1 < sub.out.size(); ++i) {
    const char c = sub.out[i];
    if (c == '.') ++dots;
    shape = std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && std::isdigit(static_cast<unsigned char>(sub.out[i - 1])));
  }
  EXPECT_TRUE(shape && dots == 2) << sub.out;
  EXPECT_EQ(sub.out, flag.out);
  EXPECT_TRUE(sub.err.empty()) << sub.err;
}

TEST(CliUsage, MisspeltSubcommandNamesTheClosestAndChangesNothing) {
  TempDir io;
  const std::string journal = io.path() + "/journal";
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {{"aply", "x.json"}, "unknown subcommand 'aply'; did you mean 'apply'?"},
           {{"--journal", journal, "staus"}, "unknown subcommand 'staus'; did you mean 'status'?"},
           {{"recovr", "--dry-run"}, "did you mean 'recover'?"},
           {{"crash"}, "did you mean 'crashtest'?"},
           {{"virt", "renme", "a", "b"}, "unknown subcommand 'virt renme'; did you mean 'virt rename'?"},
           {{"help", "aply"}, "did you mean 'apply'?"},
           {{"help", "virt", "chek"}, "did you mean 'virt check'?"},
       }) {
    RunResult r = RunFstx(io.path(), c.args);
    EXPECT_EQ(r.exit_code, 2) << Join(c.args) << "\n" << r.Describe();
    EXPECT_TRUE(Contains(r.err, "fstx: ") && Contains(r.err, c.want)) << Join(c.args) << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // Nothing close: the subcommands are listed instead of a guess.
  RunResult far = RunFstx(io.path(), {"zzzzzz"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_FALSE(Contains(far.err, "did you mean")) << far.err;
  EXPECT_TRUE(Contains(far.err, "(subcommands: apply, recover, ")) << far.err;
  // With --json the same message is the error object.
  RunResult j = RunFstx(io.path(), {"--json", "aply"});
  EXPECT_EQ(j.exit_code, 2);
  json doc = j.Json();
  EXPECT_EQ(doc["error"]["exit"], 2);
  EXPECT_TRUE(Contains(doc["error"]["message"].get<std::string>(), "did you mean 'apply'?")) << j.out;
  EXPECT_FALSE(boost::filesystem::exists(journal)) << "a usage error created the journal";
}

}  // namespace
}  // namespace fstx::clitest
