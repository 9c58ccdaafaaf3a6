// The crash explorer against the real engine: zero violations under every
// model for every op kind alone and with replace, the 7-op VM rename, and
// a directory rename followed by a write inside it.
#include <gtest/gtest.h>

#include "fstx/explorer.h"
#include "fstx/gtest.h"
#include "src/planted.h"
#include "tests/testutil.h"
#include "tests/vm_fixture.h"

namespace fstx {
namespace {

using testing::TempDir;

std::string Summary(const explore::Report& r) { return explore::FormatReport(r); }

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

namespace fstx {
namespace {

struct Workload {
  const char* name;
  std::function<void(Transaction&, const std::string&)> add;
};

void SmallTree(const std::string& r) {
  testing::MkdirRaw(r + "/d");
  testing::WriteFileRaw(r + "/d/a", "alpha\n", 0640);
  testing::WriteFileRaw(r + "/d/b", "bravo\n", 0600);
  testing::MkdirRaw(r + "/d/sub");
  testing::WriteFileRaw(r + "/d/sub/c", "charlie\n");
  testing::MkdirRaw(r + "/e");
  testing::WriteFileRaw(r + "/e/x", "x-ray\n");
  if (::symlink("a", (r + "/d/link").c_str()) != 0) throw std::runtime_error("symlink");
}

const Workload kWorkloads[] = {
    {"rename", [](Transaction& t, const std::string& r) { t.Rename(r + "/d/a", r + "/e/a"); }},
    {"rename_replace_file", [](Transaction& t, const std::string& r) { t.Rename(r + "/d/a", r + "/d/b", RenameMode::kReplace); }},
    {"rename_replace_dir", [](Transaction& t, const std::string& r) { t.Rename(r + "/d/sub", r + "/e", RenameMode::kReplace); }},
    {"write_file_create", [](Transaction& t, const std::string& r) { t.WriteFile(r + "/e/new", "new\n", 0600); }},
    {"write_file_replace", [](Transaction& t, const std::string& r) { t.WriteFile(r + "/d/a", "ALPHA\n"); }},
    {"symlink_create", [](Transaction& t, const std::string& r) { t.Symlink("../d/a", r + "/e/l"); }},
    {"symlink_replace", [](Transaction& t, const std::string& r) { t.Symlink("b", r + "/d/link", RenameMode::kReplace); }},
    {"remove_file", [](Transaction& t, const std::string& r) { t.Remove(r + "/d/b"); }},
    {"remove_dir", [](Transaction& t, const std::string& r) { t.Remove(r + "/d"); }},
    {"mkdir", [](Transaction& t, const std::string& r) { t.Mkdir(r + "/e/m", 0750); }},
    {"rename_dir_then_write_inside",
     [](Transaction& t, const std::string& r) {
       t.Rename(r + "/d", r + "/f").WriteFile(r + "/f/sub/c", "CHARLIE\n").WriteFile(r + "/f/new", "n\n");
     }},
    {"mkdir_then_fill",
     [](Transaction& t, const std::string& r) {
       t.Mkdir(r + "/n").WriteFile(r + "/n/f", "f\n").Symlink("f", r + "/n/l").Remove(r + "/e/x");
     }},
    {"write_range", [](Transaction& t, const std::string& r) { t.WriteRange(r + "/d/sub/c", 2, "ARL"); }},
    {"write_range_twice_same_file",
     [](Transaction& t, const std::string& r) {
       t.WriteRange(r + "/d/a", 0, "AL").WriteRange(r + "/d/a", 3, "HA").Rename(r + "/e/x", r + "/e/y");
     }},
    {"rename_then_write_range_then_rename",
     [](Transaction& t, const std::string& r) {
       t.Rename(r + "/d/a", r + "/e/a").WriteRange(r + "/e/a", 1, "LPH").Rename(r + "/d/b", r + "/e/b");
     }},
};

class ExplorerWorkloads : public ::testing::TestWithParam<Workload> {};

TEST_P(ExplorerWorkloads, NoViolationsUnderEveryModel) {
  TempDir tree;
  SmallTree(tree.path());
  for (TxPolicy policy : {TxPolicy::kRollback, TxPolicy::kRollforward}) {
    explore::Report r = Explore(tree.path(), GetParam().add, policy);
    EXPECT_TRUE(r.ok()) << GetParam().name << "\n" << Summary(r);
    ASSERT_EQ(r.models.size(), 5u);
    for (const auto& m : r.models) EXPECT_GT(m.checked, 0u) << explore::model_name(m.model);
  }
}

INSTANTIATE_TEST_SUITE_P(OpKinds, ExplorerWorkloads, ::testing::ValuesIn(kWorkloads),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Explorer, GoogleTestHelper) {
  TempDir tree;
  SmallTree(tree.path());
  explore::Options o;
  o.tree = tree.path();
  o.workload = kWorkloads[10].add;  // a dir rename, then writes inside it
  o.models = {explore::Model::kProcess, explore::Model::kPowerOrdered};
  EXPECT_CRASH_SAFE(o);
  planted::Plant(planted::Bug::kSkipUndoRename);
  ::testing::AssertionResult broken = testing::CrashSafe(o);
  planted::Plant(planted::Bug::kNone);
  EXPECT_FALSE(broken);
  EXPECT_NE(std::string(broken.message()).find("VIOLATION [process]"), std::string::npos) << broken.message();
}

TEST(Explorer, ReplayRebuildsOneState) {
  TempDir tree;
  SmallTree(tree.path());
  explore::Options o;
  o.tree = tree.path();
  o.workload = kWorkloads[1].add;
  o.replay = "power-weak:5:1";
  auto r = explore::Explore(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r.value().models.size(), 1u);
  EXPECT_EQ(r.value().models[0].checked, 1u);
  o.replay = "nonsense:1";
  EXPECT_EQ(explore::Explore(o).status().code(), Code::kInvalidArgument);
}

TEST(Explorer, BadInputIsRefused) {
  explore::Options o;
  o.tree = "/nonexistent/tree";
  o.workload = kWorkloads[0].add;
  EXPECT_EQ(explore::Explore(o).status().code(), Code::kNotFound);
  TempDir tree;
  SmallTree(tree.path());
  o.tree = tree.path();
  o.workload = [](Transaction& t, const std::string& r) { t.Rename(r + "/missing", r + "/x"); };
  auto r = explore::Explore(o);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not commit on the pre-image"), std::string::npos)
      << r.status().ToString();
  EXPECT_FALSE(explore::ParseModels("process,bogus").ok());
  EXPECT_EQ(explore::ParseModels("power-weak,process").value().size(), 2u);
}

}  // namespace
}  // namespace fstx
