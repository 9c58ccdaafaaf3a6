// help.h — the parts of the `fstx` command that are about the command
// itself: `fstx help [SUBCOMMAND...]`, `fstx version` (and --version), the
// help a subcommand's --help prints, and what a misspelt subcommand says.
//
// The subcommand a command line names is found by walking its words over
// the CLI11 tree (SubcommandPath), not from CLI11's parse state, so that
// `fstx virt rename --help` prints the help of `virt rename` whatever
// CLI11 recorded before it stopped at --help. Single-threaded; nothing
// here throws.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace fstx::cli {

// "fstx 0.1.0": what `fstx version` and `fstx --version` print.
std::string VersionText();

// The `help` and `version` subcommands, added to `app` by AddHelpCommands.
struct HelpCommands {
  CLI::App* help = nullptr;
  CLI::App* version = nullptr;
  std::vector<std::string> words;  // help's SUBCOMMAND... words
};
void AddHelpCommands(CLI::App& app, HelpCommands* out);

// The subcommands argv names, outermost first (empty: none), skipping the
// top-level options and their values; *unknown is set to the first word
// that stands where a subcommand is expected but names none ("" if none).
std::vector<const CLI::App*> SubcommandPath(const CLI::App& app, int argc, char** argv,
                                            std::string* unknown);

// `fstx help [WORDS...]`: prints the help of `fstx` or of the subcommand
// WORDS name ("virt rename") to stdout, exit 0; an unknown name is a usage
// error (exit 2) naming it and the closest subcommand.
int CmdHelp(const CLI::App& app, const std::vector<std::string>& words);

// --help anywhere: the help of the innermost subcommand argv names.
int PrintHelpFor(const CLI::App& app, int argc, char** argv);

// For a failed parse: "unknown subcommand 'aply'; did you mean 'apply'?"
// if argv names a subcommand that does not exist, else CLI11's message.
// Ends with " (see `fstx --help`)" or the subcommand's own help hint.
std::string ParseErrorMessage(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv);

// The only name in `names` that `word` (2 characters or more) is a prefix
// of, else the one closest to `word` by edit distance (at most 2, and less
// than the word's length); "" if there is none.
std::string ClosestName(const std::string& word, const std::vector<std::string>& names);

}  // namespace fstx::cli
