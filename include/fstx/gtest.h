// fstx/gtest.h — the crash explorer as a GoogleTest assertion, for a
// daemon's own test suite:
//
//   #include <fstx/gtest.h>
//   TEST(MyDaemon, RenameVmIsCrashSafe) {
//     fstx::explore::Options o;
//     o.tree = fixture_dir;          // a small copy of the daemon's state
//     o.workload = [](fstx::Transaction& tx, const std::string& root) {
//       my_daemon::AddRenameOps(tx, root, "vm1", "vm2");
//     };
//     EXPECT_CRASH_SAFE(o);
//   }
//
// On failure the message is the explorer's report: every violation with
// its model, what persisted, the tree diff and the state id to replay.
#pragma once

#include <gtest/gtest.h>

#include "fstx/explorer.h"

namespace fstx::testing {

inline ::testing::AssertionResult CrashSafe(const explore::Options& options) {
  auto r = explore::Explore(options);
  if (!r.ok()) return ::testing::AssertionFailure() << "crash explorer: " << r.status().ToString();
  if (!r.value().ok()) return ::testing::AssertionFailure() << explore::FormatReport(r.value());
  return ::testing::AssertionSuccess() << explore::FormatReport(r.value());
}

}  // namespace fstx::testing

#define EXPECT_CRASH_SAFE(options) EXPECT_TRUE(::fstx::testing::CrashSafe(options))
#define ASSERT_CRASH_SAFE(options) ASSERT_TRUE(::fstx::testing::CrashSafe(options))
