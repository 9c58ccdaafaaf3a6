// pkg_docs_test.cc — the man page fstx(1) (src/cli/fstx.1) and the bash
// completion (src/cli/fstx.bash-completion) against the command itself:
// the page renders without a warning from groff or man, and names every
// subcommand and long option that `fstx --help` lists; the completion
// script sources in a plain bash and completes every subcommand and option.
#include <gtest/gtest.h>

#include "tests/pkg/pkg_util.h"

namespace fstx::pkgtest {
namespace {

// The page as plain ASCII text: no bold/underline, no hyphenation, lines
// long enough that no option is broken across two.
std::string ManText() {
  std::vector<std::string> argv = {"groff", "-man", "-Tascii", "-P-cbou", "-rHY=0", "-rLL=300n",
                                   EnvPath("FSTX_MAN_PAGE")};
  Proc p = RunProgram(argv);
  if (p.code != 0 || p.out.empty()) throw std::runtime_error(p.Describe(argv));
  return p.out;
}

// The text between the line `title` and the next section title.
std::string ManSection(const std::string& text, const std::string& title) {
  size_t at = text.find("\n" + title + "\n");
  if (at == std::string::npos) return "";
  at += title.size() + 2;
  size_t end = at;
  while (end < text.size()) {
    size_t nl = text.find('\n', end);
    if (nl == std::string::npos) return text.substr(at);
    if (nl + 1 < text.size() && text[nl + 1] != ' ' && text[nl + 1] != '\n') return text.substr(at, nl - at);
    end = nl + 1;
  }
  return text.substr(at);
}

// Whether a line of `section` is an entry (a .TP tag) starting with `tag`:
// indented 7 columns, `tag` followed by a space or the end of the line.
bool HasEntry(const std::string& section, const std::string& tag) {
  std::istringstream in(section);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 7, "       ") != 0 || line.size() < 7 + tag.size() || line[7] == ' ') continue;
    if (line.compare(7, tag.size(), tag) == 0 && (line.size() == 7 + tag.size() || line[7 + tag.size()] == ' ')) {
      return true;
    }
  }
  return false;
}

TEST(PkgManPage, RendersWithoutWarnings) {
  const std::string page = EnvPath("FSTX_MAN_PAGE");
  std::vector<std::string> groff = {"groff", "-man", "-ww", "-z", page};
  Proc g = RunProgram(groff);
  EXPECT_EQ(g.code, 0) << g.Describe(groff);
  EXPECT_EQ(g.err, "") << g.Describe(groff);
  std::vector<std::string> man = {"man", "--warnings", "-l", page};
  Proc m = RunProgram(man, {{"MANWIDTH", "80"}, {"LC_ALL", "C.UTF-8"}, {"MANPAGER", "cat"}, {"PAGER", "cat"}});
  EXPECT_EQ(m.code, 0) << m.Describe(man);
  EXPECT_EQ(m.err, "") << m.Describe(man);
  EXPECT_TRUE(Contains(m.out, "FSTX(1)")) << m.Describe(man);
}

TEST(PkgManPage, DescribesEverySubcommandTheCommandHas) {
  const std::string text = ManText();
  const std::string subs = ManSection(text, "SUBCOMMANDS");
  const std::string synopsis = ManSection(text, "SYNOPSIS");
  ASSERT_FALSE(subs.empty()) << "no SUBCOMMANDS section:\n" << text;
  for (const auto& path : FstxSubcommands()) {
    if (path[0] == "virt" && path.size() == 1) continue;  // described as "virt rename", "virt check"
    EXPECT_TRUE(HasEntry(subs, Join(path))) << "SUBCOMMANDS has no entry for '" << Join(path) << "'\n" << subs;
    EXPECT_TRUE(Contains(synopsis, " " + Join(path))) << "SYNOPSIS lacks '" << Join(path) << "'\n" << synopsis;
  }
}

TEST(PkgManPage, NamesEveryOptionExitCodeAndVariable) {
  const std::string text = ManText();
  std::vector<std::vector<std::string>> paths = FstxSubcommands();
  paths.push_back({});  // the top level's options
  for (const auto& path : paths) {
    for (const std::string& opt : FstxLongOptions(path)) {
      EXPECT_TRUE(Contains(text, opt)) << "fstx " << Join(path) << " " << opt << " is not in the man page";
    }
  }
  const std::string exits = ManSection(text, "EXIT STATUS");
  for (const char* code : {"0", "1", "2", "3", "4"}) {
    EXPECT_TRUE(HasEntry(exits, code)) << "exit " << code << "\n" << exits;
  }
  const std::string env = ManSection(text, "ENVIRONMENT");
  for (const char* var : {"FSTX_JOURNAL", "FSTX_ROOTS", "FSTX_FAILPOINTS"}) {
    EXPECT_TRUE(Contains(env, var)) << var << "\n" << env;
  }
  const std::string files = ManSection(text, "FILES");
  for (const char* f : {"/var/lib/fstx", "/etc/fstx/fstx.env"}) EXPECT_TRUE(Contains(files, f)) << f << "\n" << files;
}

// What the completion offers for the command line `words` (the last one is
// the word being completed), one candidate a line, from a plain bash
// (--norc: no bash-completion package involved).
std::set<std::string> Complete(const std::vector<std::string>& words) {
  std::vector<std::string> argv = {
      "bash", "--norc", "--noprofile", "-c",
      "set -u; source \"$0\" || exit 9; complete -p fstx >/dev/null || exit 8; COMP_WORDS=(\"$@\"); "
      "COMP_CWORD=$(($# - 1)); COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}; _fstx; "
      "printf '%s\\n' \"${COMPREPLY[@]}\"",
      EnvPath("FSTX_COMPLETION")};
  argv.insert(argv.end(), words.begin(), words.end());
  Proc p = RunProgram(argv);
  if (p.code != 0 || !p.err.empty()) throw std::runtime_error(p.Describe(argv));
  std::set<std::string> got;
  std::istringstream in(p.out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) got.insert(line);
  }
  return got;
}

TEST(PkgCompletion, CompletesASubcommandFromItsPrefix) {
  EXPECT_EQ(Complete({"fstx", "ap"}), std::set<std::string>{"apply"});
  EXPECT_EQ(Complete({"fstx", "--journal", "/tmp", "rec"}), std::set<std::string>{"recover"});
  EXPECT_EQ(Complete({"fstx", "virt", "ren"}), std::set<std::string>{"rename"});
}

TEST(PkgCompletion, OffersExactlyTheSubcommandsTheCommandHas) {
  std::set<std::string> top, virt;
  for (const auto& path : FstxSubcommands()) (path.size() == 1 ? top : virt).insert(path.back());
  EXPECT_EQ(Complete({"fstx", ""}), top);
  std::set<std::string> got = Complete({"fstx", "virt", ""});
  for (const std::string& name : virt) EXPECT_EQ(got.count(name), 1u) << "virt " << name;
  EXPECT_EQ(Complete({"fstx", "help", ""}), top);
}

TEST(PkgCompletion, OffersEveryOptionOfEverySubcommand) {
  std::vector<std::vector<std::string>> paths = FstxSubcommands();
  paths.push_back({});
  for (const auto& path : paths) {
    std::vector<std::string> words = {"fstx"};
    words.insert(words.end(), path.begin(), path.end());
    words.push_back("--");
    std::set<std::string> got = Complete(words);
    for (const std::string& opt : FstxLongOptions(path)) {
      EXPECT_EQ(got.count(opt), 1u) << "'" << Join(words) << "' does not offer " << opt;
    }
  }
}

}  // namespace
}  // namespace fstx::pkgtest
