// help.cc — `fstx help`, `fstx version`, --help of nested subcommands and
// "did you mean" on a misspelt subcommand (see help.h).
#include "help.h"

#include <algorithm>
#include <cstring>
#include <iostream>

#include "cli.h"
#include "text.h"

#ifndef FSTX_CLI_VERSION
#error "FSTX_CLI_VERSION must be defined (src/cli/meson.build passes meson.project_version())"
#endif

namespace fstx::cli {
namespace {

std::vector<const CLI::App*> Children(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

std::vector<std::string> ChildNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : Children(app)) names.push_back(sub->get_name());
  return names;
}

const CLI::App* Child(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : Children(app)) {
    if (sub->check_name(name)) return sub;
  }
  return nullptr;
}

// "fstx virt" for the path {virt, rename}: what help() puts before a name.
std::string Prefix(const CLI::App& app, const std::vector<const CLI::App*>& path) {
  std::string prev = app.get_name();
  for (size_t i = 0; i + 1 < path.size(); ++i) prev += " " + path[i]->get_name();
  return prev;
}

std::string Names(const std::vector<const CLI::App*>& path) {
  std::string s;
  for (const CLI::App* a : path) s += (s.empty() ? "" : " ") + a->get_name();
  return s;
}

// The help of the last subcommand of `path` (of `app` if it is empty),
// made by the formatter directly: App::help() would delegate to whatever
// subcommand CLI11 marked parsed.
std::string HelpText(const CLI::App& app, const std::vector<const CLI::App*>& path) {
  if (path.empty()) return app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
  const CLI::App* sub = path.back();
  return sub->get_formatter()->make_help(sub, Prefix(app, path) + " " + sub->get_name(),
                                         CLI::AppFormatMode::Normal);
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "unknown subcommand 'virt renme'; did you mean 'virt rename'?"
std::string UnknownMessage(const CLI::App& parent, const std::vector<const CLI::App*>& path,
                           const std::string& word) {
  const std::string where = path.empty() ? "" : Names(path) + " ";
  std::string msg = "unknown subcommand '" + where + word + "'";
  const std::string best = ClosestName(word, ChildNames(parent));
  if (!best.empty()) return msg + "; did you mean '" + where + best + "'?";
  std::string choices;
  for (const std::string& n : ChildNames(parent)) choices += (choices.empty() ? "" : ", ") + n;
  return msg + " (" + (path.empty() ? "subcommands" : "subcommands of " + Names(path)) + ": " + choices + ")";
}

}  // namespace

std::string VersionText() { return std::string("fstx ") + FSTX_CLI_VERSION; }

void AddHelpCommands(CLI::App& app, HelpCommands* out) {
  out->help = app.add_subcommand("help", "Print the help of fstx or of a subcommand");
  out->help->add_option("SUBCOMMAND", out->words, "A subcommand, e.g. 'apply' or 'virt rename'");
  out->help->footer("Example:\n  fstx help virt rename\n  fstx virt rename --help   (the same)");
  out->version = app.add_subcommand("version", "Print the version of fstx");
  out->version->footer("Example:\n  fstx version   (prints \"" + VersionText() + "\"; so does `fstx --version`)");
}

std::vector<const CLI::App*> SubcommandPath(const CLI::App& app, int argc, char** argv,
                                            std::string* unknown) {
  std::vector<const CLI::App*> path;
  unknown->clear();
  const CLI::App* at = &app;
  for (int i = 1; i < argc; ++i) {
    const char* w = argv[i];
    if (std::strcmp(w, "--") == 0) break;
    if (w[0] == '-') {
      // The top level's options that take a separate value (subcommands
      // fall through to them, so they may stand after `virt` too).
      if (std::strcmp(w, "--journal") == 0 || std::strcmp(w, "--root") == 0) ++i;
      continue;
    }
    if (Children(*at).empty()) break;  // an argument of a leaf subcommand
    const CLI::App* sub = Child(*at, w);
    if (sub == nullptr) {
      *unknown = w;
      break;
    }
    path.push_back(sub);
    at = sub;
  }
  return path;
}

int CmdHelp(const CLI::App& app, const std::vector<std::string>& words) {
  std::vector<const CLI::App*> path;
  const CLI::App* at = &app;
  for (const std::string& w : words) {
    const CLI::App* sub = Child(*at, w);
    if (sub == nullptr) {
      PrintError("help", Children(*at).empty()
                             ? "'" + Names(path) + "' has no subcommand '" + w + "'"
                             : UnknownMessage(*at, path, w));
      return kExitUsage;
    }
    path.push_back(sub);
    at = sub;
  }
  // Not app.help(): it would delegate to the parsed `help` subcommand.
  std::cout << HelpText(app, path);
  return kExitOk;
}

int PrintHelpFor(const CLI::App& app, int argc, char** argv) {
  std::string unknown;
  std::vector<const CLI::App*> path = SubcommandPath(app, argc, argv, &unknown);
  std::cout << HelpText(app, path);
  return kExitOk;
}

std::string ParseErrorMessage(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::string unknown;
  std::vector<const CLI::App*> path = SubcommandPath(app, argc, argv, &unknown);
  if (!unknown.empty()) {
    return UnknownMessage(path.empty() ? app : *path.back(), path, unknown) + " (see `fstx --help`)";
  }
  const std::string see = path.empty() ? "fstx --help" : "fstx help " + Names(path);
  return std::string(e.what()) + " (see `" + see + "`)";
}

std::string ClosestName(const std::string& word, const std::vector<std::string>& names) {
  std::string prefixed;
  for (const std::string& n : names) {
    if (word.size() >= 2 && n.size() > word.size() && n.compare(0, word.size(), word) == 0) {
      if (!prefixed.empty()) return "";  // ambiguous ("ver": verify, version)
      prefixed = n;
    }
  }
  if (!prefixed.empty()) return prefixed;
  std::string best;
  size_t best_d = 3;  // at most 2 edits
  for (const std::string& n : names) {
    size_t d = EditDistance(word, n);
    if (d < best_d && d < word.size()) {
      best = n;
      best_d = d;
    }
  }
  return best;
}

}  // namespace fstx::cli
