// The crash explorer against the real engine: zero violations under every
// model for every op kind alone and with replace, the 7-op VM rename, and
// a directory rename followed by a write inside it; a daemon's own
// Status-returning workload; concurrent transactions (each whole, a
// planted bug caught); EXPECT_CRASH_SAFE's report; env failpoints.
// (The planted-bug self-check runs once, in the CLI suite:
// CliCrashtest.SelfCheckCatchesEveryPlantedBug.)
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>

#include <map>

#include "fstx/explorer.h"
#include "fstx/fault.h"
#include "fstx/gtest.h"
#include "src/ops/planted.h"
#include "tests/testutil.h"
#include "tests/vm_fixture.h"

namespace fstx {
namespace {

using testing::TempDir;

std::string Summary(const explore::Report& r) { return explore::FormatReport(r); }

explore::Report Explore(const std::string& tree, std::function<void(Transaction&, const std::string&)> workload,
                        TxPolicy policy = TxPolicy::kRollback, int jobs = 2,
                        uint64_t inline_max = Options().inline_content_max) {
  explore::Options o;
  o.inline_content_max = inline_max;
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

struct Workload {
  const char* name;
  std::function<void(Transaction&, const std::string&)> add;
  uint64_t inline_max = Options().inline_content_max;  // 0: content staged (format 4)
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
    // Format 4: the content staged before the record (inline_max 0).
    {"write_file_staged_create", [](Transaction& t, const std::string& r) { t.WriteFile(r + "/e/new", "new\n", 0600); }, 0},
    {"write_file_staged_replace", [](Transaction& t, const std::string& r) { t.WriteFile(r + "/d/a", "ALPHA\n"); }, 0},
    {"rename_dir_then_write_inside_staged",
     [](Transaction& t, const std::string& r) {
       t.Rename(r + "/d", r + "/f").WriteFile(r + "/f/sub/c", "CHARLIE\n").WriteFile(r + "/f/new", "n\n");
     }, 0},
};

class ExplorerWorkloads : public ::testing::TestWithParam<Workload> {};

TEST_P(ExplorerWorkloads, NoViolationsUnderEveryModel) {
  // Every power state's in-memory fingerprint is checked against the state
  // built on disk (a mismatch fails the exploration).
  ::setenv("FSTX_EXPLORER_VERIFY_SIM", "1", 1);
  TempDir tree;
  SmallTree(tree.path());
  for (TxPolicy policy : {TxPolicy::kRollback, TxPolicy::kRollforward}) {
    explore::Report r = Explore(tree.path(), GetParam().add, policy, 2, GetParam().inline_max);
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
  const std::string msg = broken.message();
  EXPECT_NE(msg.find("VIOLATION [process]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("points  generated"), std::string::npos) << "the model table: " << msg;
  EXPECT_NE(msg.find("--gtest_filter=Explorer.GoogleTestHelper --replay process:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("more violations"), std::string::npos) << "only the first few: " << msg;
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

// A process killed part-way through a write in the middle of a file
// (write_range) leaves half the new bytes over the old ones: each such
// write is a crash state of its own, for the process model and for the
// recovery model, and recovery puts the file back.
TEST(Explorer, ProcessKillsTearWritesInTheMiddleOfAFile) {
  TempDir tree;
  SmallTree(tree.path());
  explore::Options o;
  o.tree = tree.path();
  o.workload = kWorkloads[13].add;  // two writes into one file, then a rename
  auto replay = [&](const std::string& id) {
    o.replay = id;
    auto r = explore::Explore(o);
    EXPECT_TRUE(r.ok()) << id << ": " << r.status().ToString();
    if (!r.ok()) return false;
    for (const auto& v : r.value().violations) ADD_FAILURE() << v.state << ": " << v.what << "\n" << v.diff;
    return r.value().models[0].checked > 0;
  };
  size_t torn = 0, recovery_kills = 0;
  for (int hit = 1; hit < 80; ++hit) {
    if (!replay("process:" + std::to_string(hit) + ":torn")) continue;
    ++torn;
    for (int m = 1; m < 60; ++m) recovery_kills += replay("recovery:" + std::to_string(hit) + ":torn:" + std::to_string(m));
  }
  EXPECT_EQ(torn, 2u) << "one torn kill for each of the two writes";
  EXPECT_GT(recovery_kills, 0u) << "recovery killed while it recovers a torn write";
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

// The daemon's own code as the workload: it commits, and when the commit
// fails it takes a fallback. A clean fallback (retry) is crash-safe; one that
// renames outside the journal and reports the error is caught by the errors
// model (a reported error must leave the pre-image).
TEST(Explorer, StatusWorkloadExploresTheDaemonsFallbacks) {
  TempDir tree;
  SmallTree(tree.path());
  explore::Options o;
  o.tree = tree.path();
  o.jobs = 2;
  o.run = [](Journal& j, const std::string& r) {
    auto attempt = [&] {
      Transaction tx = j.Begin("daemon rename");
      tx.Rename(r + "/d/a", r + "/e/a").WriteFile(r + "/e/a", "ALPHA\n", 0640);
      return tx.Commit();
    };
    Status s = attempt();
    if (!s.ok()) s = attempt();  // the daemon retries once
    return s;
  };
  auto good = explore::Explore(o);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_TRUE(good.value().ok()) << Summary(good.value());
  for (const auto& m : good.value().models) EXPECT_GT(m.checked, 0u) << explore::model_name(m.model);

  o.models = {explore::Model::kErrors};
  o.run = [](Journal& j, const std::string& r) {
    Transaction tx = j.Begin("daemon rename");
    tx.Rename(r + "/d/a", r + "/e/a");
    Status s = tx.Commit();
    if (!s.ok()) ::rename((r + "/d/b").c_str(), (r + "/e/b").c_str());  // a fallback outside the journal
    return s;
  };
  auto bad = explore::Explore(o);
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  ASSERT_FALSE(bad.value().ok()) << Summary(bad.value());
  EXPECT_NE(bad.value().violations[0].what.find("reported an error did not leave the pre-image"), std::string::npos)
      << Summary(bad.value());

  o.workload = kWorkloads[0].add;  // both forms at once: refused
  EXPECT_EQ(explore::Explore(o).status().code(), Code::kInvalidArgument);
}

// Concurrent transactions (Options::concurrent): committed at once from
// threads of their own on one journal. Each must stay whole: after any
// crash the tree is the pre-image with some subset of them applied.
using Tx = std::function<void(Transaction&, const std::string&)>;

// Three transactions on disjoint paths: one prepared record each, sharing
// group commits. (The first is a rename and a mkdir: a rename whose undo
// is skipped then leaves it half applied, PlantedBugIsCaught.)
std::vector<Tx> DisjointTxs() {
  return {[](Transaction& t, const std::string& r) { t.Rename(r + "/d/a", r + "/e/a").Mkdir(r + "/e/m", 0750); },
          [](Transaction& t, const std::string& r) { t.WriteFile(r + "/d/b", "BRAVO\n"); },
          [](Transaction& t, const std::string& r) { t.Symlink("../d/sub/c", r + "/e/l").Remove(r + "/e/x"); }};
}

// Two transactions that both replace d/sub/c: one waits for the other's
// path lock, and either order is a legitimate outcome.
std::vector<Tx> OverlappingTxs() {
  return {[](Transaction& t, const std::string& r) { t.WriteFile(r + "/d/sub/c", "ONE\n").Rename(r + "/e/x", r + "/e/y"); },
          [](Transaction& t, const std::string& r) { t.WriteFile(r + "/d/sub/c", "TWO\n").Mkdir(r + "/e/n", 0750); }};
}

explore::Options ConcurrentOptions(const std::string& tree, std::vector<Tx> txs, TxPolicy policy) {
  explore::Options o;
  o.tree = tree;
  o.concurrent = std::move(txs);
  o.policy = policy;
  return o;
}

uint64_t Partial(const explore::Report& r) {
  uint64_t n = 0;
  for (const auto& m : r.models) n += m.partial;
  return n;
}

void ExpectCleanUnderEveryModel(std::vector<Tx> (*txs)(), const char* name) {
  // The power models' in-memory states are still checked against the
  // states built on disk (their states come from the one recording).
  ::setenv("FSTX_EXPLORER_VERIFY_SIM", "1", 1);
  TempDir tree;
  SmallTree(tree.path());
  for (TxPolicy policy : {TxPolicy::kRollback, TxPolicy::kRollforward}) {
    auto r = explore::Explore(ConcurrentOptions(tree.path(), txs(), policy));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r.value().ok()) << name << "\n" << Summary(r.value());
    ASSERT_EQ(r.value().models.size(), 5u);
    for (const auto& m : r.value().models) EXPECT_GT(m.checked, 0u) << explore::model_name(m.model);
    // Some crash states recovered to some but not all of the transactions
    // applied, each whole: an all-or-nothing oracle would call them
    // violations; the subset oracle is needed.
    EXPECT_GT(Partial(r.value()), 0u) << Summary(r.value());
    EXPECT_FALSE(r.value().replayable);
    std::printf("[ explore ] %s %s: %llu states checked (%llu with a strict subset applied) in %.2f s\n%s", name,
                policy == TxPolicy::kRollback ? "rollback" : "rollforward",
                static_cast<unsigned long long>(r.value().checked()),
                static_cast<unsigned long long>(Partial(r.value())), r.value().seconds, Summary(r.value()).c_str());
  }
}

TEST(ExplorerConcurrent, DisjointTransactionsStayWhole) { ExpectCleanUnderEveryModel(DisjointTxs, "disjoint"); }

TEST(ExplorerConcurrent, OverlappingTransactionsStayWhole) {
  ExpectCleanUnderEveryModel(OverlappingTxs, "overlapping");
}

// A planted engine bug (undo of a rename does nothing) is caught on a
// concurrent workload: a crash state recovers to a transaction half applied.
TEST(ExplorerConcurrent, PlantedBugIsCaught) {
  TempDir tree;
  SmallTree(tree.path());
  explore::Options o = ConcurrentOptions(tree.path(), DisjointTxs(), TxPolicy::kRollback);
  planted::Plant(planted::Bug::kSkipUndoRename);
  auto r = explore::Explore(o);
  planted::Plant(planted::Bug::kNone);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(r.value().ok()) << Summary(r.value());
  EXPECT_NE(r.value().violations[0].what.find("subset of the transactions applied"), std::string::npos)
      << Summary(r.value());
  std::map<std::string, int> caught;  // model -> violations
  for (const auto& v : r.value().violations) ++caught[explore::model_name(v.model)];
  for (const auto& [model, n] : caught) std::printf("[ planted ] %s: %d violations\n", model.c_str(), n);
  const std::string report = explore::FormatReport(r.value(), "TEST_BINARY", 1);
  std::printf("%s", report.c_str());
  EXPECT_NE(report.find("against the nearest expected image"), std::string::npos) << report;
  EXPECT_EQ(report.find("--replay"), std::string::npos) << "no replay with concurrent transactions: " << report;
}

TEST(ExplorerConcurrent, BadInputIsRefused) {
  TempDir tree;
  SmallTree(tree.path());
  explore::Options o = ConcurrentOptions(tree.path(), DisjointTxs(), TxPolicy::kRollback);
  o.workload = kWorkloads[0].add;  // two forms at once
  EXPECT_EQ(explore::Explore(o).status().code(), Code::kInvalidArgument);
  o.workload = nullptr;
  o.replay = "process:3";
  EXPECT_EQ(explore::Explore(o).status().code(), Code::kInvalidArgument);
  o.replay.clear();
  o.concurrent.resize(5, DisjointTxs()[0]);
  auto five = explore::Explore(o);
  EXPECT_EQ(five.status().code(), Code::kInvalidArgument);
  EXPECT_NE(five.status().message().find("at most 4"), std::string::npos) << five.status().ToString();
  // Removing d/a and renaming it cannot both commit, whichever goes first.
  o.concurrent = {[](Transaction& t, const std::string& r) { t.Remove(r + "/d/a"); },
                  [](Transaction& t, const std::string& r) { t.Rename(r + "/d/a", r + "/e/a"); }};
  auto order = explore::Explore(o);
  EXPECT_FALSE(order.ok());
  EXPECT_NE(order.status().message().find("must commit in any order"), std::string::npos) << order.status().ToString();
}

// OpenWithEnvFailpoints: unset changes nothing; a spec makes the journal's
// calls fail or crash where it says; a bad spec is refused naming the
// variable, and nothing is opened.
TEST(Explorer, EnvFailpointsAreOptIn) {
  TempDir dir;
  testing::MkdirRaw(dir.path() + "/root");
  testing::WriteFileRaw(dir.path() + "/root/a", "a\n");
  Options o;
  o.dir = dir.path() + "/journal";
  o.roots = {dir.path() + "/root"};
  ::unsetenv("FSTX_FAILPOINTS");
  {
    auto j = fault::OpenWithEnvFailpoints(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    EXPECT_EQ(j.value()->options().fs, nullptr) << "unset: a plain journal";
  }
  ::setenv("FSTX_FAILPOINTS", "fs.rename=bogus", 1);
  auto bad = fault::OpenWithEnvFailpoints(o);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().ToString().find("FSTX_FAILPOINTS"), std::string::npos) << bad.status().ToString();

  ::setenv("FSTX_FAILPOINTS", "journal.commit.before=ENOSPC", 1);
  auto j = fault::OpenWithEnvFailpoints(o);
  ::unsetenv("FSTX_FAILPOINTS");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_NE(j.value()->options().fs, nullptr);
  Transaction tx = j.value()->Begin("env failpoints");
  tx.Rename(dir.path() + "/root/a", dir.path() + "/root/b");
  Status s = tx.Commit();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("journal.commit.before"), std::string::npos) << s.ToString();
  EXPECT_TRUE(testing::Exists(dir.path() + "/root/a")) << "the failed commit changed nothing";
  EXPECT_FALSE(testing::Exists(dir.path() + "/root/b"));
}

}  // namespace
}  // namespace fstx
