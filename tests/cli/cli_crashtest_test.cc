// `fstx crashtest` through the real binary: a clean report with every model
// on a VM-rename spec, the tree untouched, JSON fields, replay, bad input,
// and the self-check.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/cli/cli_util.h"

namespace fstx::clitest {
namespace {

const char* kSpec = R"({ "label": "rename vm1 to vm2",
  "ops": [
    {"op": "rename", "from": "etc/qemu/vm1.xml", "to": "etc/qemu/vm2.xml"},
    {"op": "write_file", "path": "etc/qemu/vm2.xml", "content": "<domain><name>vm2</name></domain>\n", "mode": "0600"},
    {"op": "symlink", "target": "../vm2.xml", "path": "etc/qemu/autostart/vm2.xml", "replace": true},
    {"op": "remove", "path": "etc/qemu/autostart/vm1.xml"},
    {"op": "rename", "from": "lib/snapshot/vm1", "to": "lib/snapshot/vm2"},
    {"op": "rename", "from": "/lib/images/vm1.qcow2", "to": "/lib/images/vm2.qcow2"}
  ] })";

class CliCrashtest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_ = dir_ / "tree";
    for (const char* d : {"", "/etc", "/etc/qemu", "/etc/qemu/autostart", "/lib", "/lib/snapshot",
                          "/lib/snapshot/vm1", "/lib/images"})
      fstx::testing::MkdirRaw(tree_ + d);
    WriteFileRaw(tree_ + "/etc/qemu/vm1.xml", "<domain><name>vm1</name></domain>\n", 0600);
    ASSERT_EQ(::symlink("../vm1.xml", (tree_ + "/etc/qemu/autostart/vm1.xml").c_str()), 0);
    WriteFileRaw(tree_ + "/lib/snapshot/vm1/s1.xml", "<domainsnapshot/>\n");
    WriteFileRaw(tree_ + "/lib/images/vm1.qcow2", std::string(8192, 'Q'), 0640);
    spec_ = dir_ / "vm.json";
    WriteFileRaw(spec_, kSpec);
  }
  TempDir dir_;
  std::string tree_, spec_;
};

TEST_F(CliCrashtest, EveryModelCleanAndTreeUntouched) {
  const Snapshot before = Snap(tree_);
  RunResult r = RunFstx(dir_.path(), {"crashtest", spec_, "--tree", tree_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json j = r.Json();
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_TRUE(j["violations"].empty());
  ASSERT_EQ(j["models"].size(), 5u);
  std::set<std::string> names;
  for (const auto& m : j["models"]) {
    names.insert(m["model"].get<std::string>());
    EXPECT_GT(m["checked"].get<uint64_t>(), 0u) << m.dump();
    EXPECT_GE(m["generated"].get<uint64_t>(), m["unique"].get<uint64_t>()) << m.dump();
    EXPECT_GT(m["crash_points"].get<uint64_t>(), 0u) << m.dump();
  }
  EXPECT_EQ(names, (std::set<std::string>{"process", "power-ordered", "power-weak", "errors", "recovery"}));
  EXPECT_GT(j["states_per_second"].get<double>(), 0.0);
  EXPECT_TRUE(Snap(tree_) == before) << "the explorer never touches the tree";

  RunResult text = RunFstx(dir_.path(), {"crashtest", spec_, "--tree", tree_, "--model", "process,errors"});
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_NE(text.out.find("0 violations"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("errors"), std::string::npos) << text.out;
}

TEST_F(CliCrashtest, ReplayOneStateAndKeepIt) {
  RunResult r = RunFstx(dir_.path(), {"crashtest", spec_, "--tree", tree_, "--replay", "power-ordered:6", "--keep"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto pos = r.out.find("state kept in ");
  ASSERT_NE(pos, std::string::npos) << r.out;
  std::string kept = r.out.substr(pos + 14);
  kept = kept.substr(0, kept.find('\n'));
  EXPECT_TRUE(boost::filesystem::is_directory(kept)) << kept;
  boost::filesystem::remove_all(boost::filesystem::path(kept).parent_path().parent_path());
}

TEST_F(CliCrashtest, BadInputExits2) {
  EXPECT_EQ(RunFstx(dir_.path(), {"crashtest", spec_}).exit_code, 2) << "no --tree";
  EXPECT_EQ(RunFstx(dir_.path(), {"crashtest", spec_, "--tree", tree_, "--model", "bogus"}).exit_code, 2);
  WriteFileRaw(dir_ / "bad.json", R"({"ops":[{"op":"rename","from":"a"}]})");
  RunResult bad = RunFstx(dir_.path(), {"crashtest", dir_ / "bad.json", "--tree", tree_});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  EXPECT_NE(bad.err.find("op 1"), std::string::npos) << bad.err;
  WriteFileRaw(dir_ / "missing.json", R"({"ops":[{"op":"remove","path":"no/such/file"}]})");
  RunResult missing = RunFstx(dir_.path(), {"crashtest", dir_ / "missing.json", "--tree", tree_});
  EXPECT_NE(missing.exit_code, 0) << missing.Describe();
  EXPECT_NE(missing.err.find("does not commit on the pre-image"), std::string::npos) << missing.err;
  RunResult notree = RunFstx(dir_.path(), {"crashtest", spec_, "--tree", dir_ / "nope"});
  EXPECT_NE(notree.exit_code, 0);
  EXPECT_NE(notree.err.find("nope"), std::string::npos) << notree.err;
}

TEST_F(CliCrashtest, SelfCheckCatchesEveryPlantedBug) {
  RunResult r = RunFstx(dir_.path(), {"crashtest", "--self-check", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json j = r.Json();
  EXPECT_TRUE(j["ok"].get<bool>());
  ASSERT_EQ(j["engines"].size(), 5u);
  for (const auto& e : j["engines"]) {
    EXPECT_TRUE(e["passed"].get<bool>()) << e.dump();
    if (e["bug"] != "none") {
      EXPECT_GT(e["violations"].get<uint64_t>(), 0u) << e.dump();
    }
  }
}

}  // namespace
}  // namespace fstx::clitest
