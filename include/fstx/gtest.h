// fstx/gtest.h — the crash explorer as a GoogleTest assertion, for a
// daemon's own test suite:
//
//   #include <fstx/gtest.h>
//   TEST(MyDaemon, RenameVmIsCrashSafe) {
//     fstx::explore::Options o;
//     o.tree = fixture_dir;          // a small copy of the daemon's state
//     o.run = [](fstx::Journal& journal, const std::string& root) {
//       return my_daemon::RenameVm(journal, root, "vm1", "vm2");  // its own Commit, its fallbacks
//     };
//     EXPECT_CRASH_SAFE(o);
//   }
//
// Always prints the model table (crash points, states, states/s). On
// failure the message holds the table and the first violations — model,
// what persisted, the tree diff — each with the command line that replays
// exactly that state:
//   ./my_tests --gtest_filter=MyDaemon.RenameVmIsCrashSafe --replay power-weak:14:5 [--keep]
// Run that way (GoogleTest leaves unknown flags alone), the assertion
// explores only the state named; --keep leaves its recovered tree and says
// where. Build and link with `pkg-config --cflags --libs fstx-fault` plus
// gtest.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fstx/explorer.h"

namespace fstx::testing {

// This process's command line, from /proc/self/cmdline.
inline std::vector<std::string> CommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i] == '\0') {
      args.push_back(all.substr(start, i - start));
      start = i + 1;
    }
  return args;
}

inline ::testing::AssertionResult CrashSafe(explore::Options options, size_t max_violations = 3) {
  const std::vector<std::string> args = CommandLine();
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--replay" && i + 1 < args.size()) options.replay = args[i + 1];
    if (args[i].rfind("--replay=", 0) == 0) options.replay = args[i].substr(9);
    if (args[i] == "--keep") options.keep = true;
  }
  std::string replay = args.empty() ? "TEST_BINARY" : args[0];
  if (const auto* t = ::testing::UnitTest::GetInstance()->current_test_info())
    replay += std::string(" --gtest_filter=") + t->test_suite_name() + "." + t->name();
  auto r = explore::Explore(options);
  if (!r.ok()) return ::testing::AssertionFailure() << "crash explorer: " << r.status().ToString();
  std::string table = explore::FormatReport(r.value(), replay, 0);
  table = table.substr(0, table.find("\n... and"));  // the model table and the totals line
  std::printf("[ crash-safe ] %s\n%s", options.replay.empty() ? "every model" : options.replay.c_str(),
              table.c_str());
  if (!r.value().kept_dir.empty()) std::printf("[ crash-safe ] state kept in %s\n", r.value().kept_dir.c_str());
  std::fflush(stdout);
  if (!r.value().ok())
    return ::testing::AssertionFailure() << "not crash-safe:\n"
                                         << explore::FormatReport(r.value(), replay, max_violations);
  return ::testing::AssertionSuccess() << table;
}

}  // namespace fstx::testing

#define EXPECT_CRASH_SAFE(options) EXPECT_TRUE(::fstx::testing::CrashSafe(options))
#define ASSERT_CRASH_SAFE(options) ASSERT_TRUE(::fstx::testing::CrashSafe(options))
