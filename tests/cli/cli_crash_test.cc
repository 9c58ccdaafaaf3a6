// cli_crash_test.cc — `fstx apply` and `fstx recover` killed (SIGKILL via
// FSTX_FAILPOINTS=POINT:HIT=crash) at every failpoint they reach, then
// recovered by `fstx recover`: the tree must be exactly the pre-image or the
// post-image, with no staging names and nothing unfinished; recovery killed
// half-way and run again must end where an uninterrupted recovery ends; and
// a transaction whose files were changed behind its back must end
// needs_attention (exit 3) without holding up an unrelated one.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "tests/cli/cli_util.h"
#include "tests/cli/vm_fixture.h"

namespace fstx::clitest {
namespace {

const std::vector<std::string> kPoints = {
    "fs.create",        "fs.create.after",  "fs.symlink",        "fs.symlink.after",
    "fs.mkdir",         "fs.mkdir.after",   "fs.rename",         "fs.rename.after",
    "fs.link",          "fs.link.after",    "fs.unlink",         "fs.unlink.after",
    "fs.rmdir",         "fs.rmdir.after",   "fs.syncdir",        "fs.syncdir.after",
    "journal.commit.before", "journal.commit.after",
};
constexpr int kMaxHits = 400;  // a runaway guard, far above any real count

std::string Failpoint(const std::string& point, int hit) {
  return point + ":" + std::to_string(hit) + "=crash";
}

// The pre- and post-image of the VM rename, from an uninterrupted run.
struct Images {
  Snapshot pre, post;
};

Images MakeImages(const std::string& policy) {
  Workspace ws;
  BuildVmTree(ws);
  Images im;
  im.pre = Snap(ws.root());
  RunResult r = ws.Apply(VmRenameSpec(ws, policy));
  if (r.exit_code != 0) throw std::runtime_error("uninterrupted apply failed: " + r.Describe());
  im.post = Snap(ws.root());
  return im;
}

// After recovery: whole (pre or post), clean, nothing unfinished.
void ExpectWholeAndClean(const Workspace& ws, const Images& im, const std::string& ctx) {
  Snapshot now = Snap(ws.root());
  std::string to_pre = Diff(im.pre, now), to_post = Diff(im.post, now);
  EXPECT_TRUE(to_pre.empty() || to_post.empty())
      << ctx << ": tree is neither pre- nor post-image\nvs pre:\n" << to_pre << "vs post:\n" << to_post;
  EXPECT_FALSE(HasStagingNames(now)) << ctx;
  RunResult st = ws.Fstx({"status", "--json"});
  EXPECT_EQ(st.exit_code, 0) << ctx << "\n" << st.Describe();
  if (st.exit_code == 0) {
    EXPECT_TRUE(st.Json()["transactions"].empty()) << ctx << "\n" << st.out;
  }
}

void PrintCoverage(const std::string& title, const std::map<std::string, int>& crashes) {
  std::ostringstream ss;
  int total = 0;
  ss << title << " (point: crash runs):";
  for (const auto& [p, n] : crashes) {
    ss << " " << p << ":" << n;
    total += n;
  }
  ss << "; total " << total;
  std::cout << ss.str() << std::endl;
  ::testing::Test::RecordProperty(title, ss.str());
}

void SweepApply(const std::string& policy) {
  const Images im = MakeImages(policy);
  ASSERT_EQ(Diff(ExpectedAfterRename(im.pre), im.post), "");
  std::map<std::string, int> crashes;
  for (const std::string& point : kPoints) {
    crashes[point] = 0;
    for (int hit = 1; hit <= kMaxHits; ++hit) {
      const std::string ctx = policy + " apply " + Failpoint(point, hit);
      Workspace ws;
      BuildVmTree(ws);
      RunResult r = ws.Apply(VmRenameSpec(ws, policy), {{"FSTX_FAILPOINTS", Failpoint(point, hit)}});
      if (r.signal == 0) {
        // The point is hit fewer than `hit` times: the run completed.
        EXPECT_EQ(r.exit_code, 0) << ctx << "\n" << r.Describe();
        EXPECT_EQ(Diff(im.post, Snap(ws.root())), "") << ctx;
        break;
      }
      ++crashes[point];
      ASSERT_EQ(r.signal, SIGKILL) << ctx << "\n" << r.Describe();
      RunResult rec = ws.Fstx({"recover"});
      EXPECT_EQ(rec.exit_code, 0) << ctx << "\n" << rec.Describe();
      ExpectWholeAndClean(ws, im, ctx);
      // Recovering again changes nothing.
      Snapshot once = Snap(ws.root());
      RunResult again = ws.Fstx({"recover", "--json"});
      EXPECT_EQ(again.exit_code, 0) << ctx << "\n" << again.Describe();
      EXPECT_EQ(Diff(once, Snap(ws.root())), "") << ctx;
      if (::testing::Test::HasFatalFailure()) return;
      ASSERT_LT(hit, kMaxHits) << ctx << ": point never stops firing";
    }
  }
  PrintCoverage("apply crash points, policy " + policy, crashes);
  for (const char* must : {"fs.create", "fs.symlink", "fs.mkdir", "fs.rename", "fs.syncdir",
                           "fs.rename.after", "journal.commit.before", "journal.commit.after"}) {
    EXPECT_GT(crashes[must], 0) << must << " never fired during apply";
  }
}

TEST(CliCrash, ApplyKilledAtEveryPointRecoversWholeRollback) { SweepApply("rollback"); }
TEST(CliCrash, ApplyKilledAtEveryPointRecoversWholeRollforward) { SweepApply("rollforward"); }

// Crashes the apply at `apply_fp`, then kills recovery at every point, then
// recovers again: the result must equal an uninterrupted recovery's.
void SweepRecovery(const std::string& policy, const std::string& apply_fp) {
  const Images im = MakeImages(policy);
  Snapshot reference;
  {
    Workspace ws;
    BuildVmTree(ws);
    RunResult r = ws.Apply(VmRenameSpec(ws, policy), {{"FSTX_FAILPOINTS", apply_fp}});
    ASSERT_EQ(r.signal, SIGKILL) << apply_fp << "\n" << r.Describe();
    RunResult rec = ws.Fstx({"recover", "--json"});
    ASSERT_EQ(rec.exit_code, 0) << rec.Describe();
    ASSERT_EQ(rec.Json()["transactions"].size(), 1u) << rec.out;
    reference = Snap(ws.root());
    ASSERT_TRUE(Diff(im.pre, reference).empty() || Diff(im.post, reference).empty())
        << "uninterrupted recovery after " << apply_fp << " left neither image";
  }
  std::map<std::string, int> crashes;
  for (const std::string& point : kPoints) {
    crashes[point] = 0;
    for (int hit = 1; hit <= kMaxHits; ++hit) {
      const std::string ctx = policy + " apply " + apply_fp + ", recover " + Failpoint(point, hit);
      Workspace ws;
      BuildVmTree(ws);
      RunResult r = ws.Apply(VmRenameSpec(ws, policy), {{"FSTX_FAILPOINTS", apply_fp}});
      ASSERT_EQ(r.signal, SIGKILL) << ctx << "\n" << r.Describe();
      RunResult rec = ws.Fstx({"recover"}, {{"FSTX_FAILPOINTS", Failpoint(point, hit)}});
      if (rec.signal == 0) {
        EXPECT_EQ(rec.exit_code, 0) << ctx << "\n" << rec.Describe();
        EXPECT_EQ(Diff(reference, Snap(ws.root())), "") << ctx;
        break;
      }
      ++crashes[point];
      ASSERT_EQ(rec.signal, SIGKILL) << ctx << "\n" << rec.Describe();
      RunResult again = ws.Fstx({"recover"});
      EXPECT_EQ(again.exit_code, 0) << ctx << "\n" << again.Describe();
      EXPECT_EQ(Diff(reference, Snap(ws.root())), "") << ctx << ": differs from uninterrupted recovery";
      ExpectWholeAndClean(ws, im, ctx);
      if (::testing::Test::HasFatalFailure()) return;
      ASSERT_LT(hit, kMaxHits) << ctx << ": point never stops firing";
    }
  }
  PrintCoverage("recover crash points, policy " + policy + " after " + apply_fp, crashes);
  EXPECT_GT(crashes["journal.commit.before"], 0) << "recovery never wrote the journal";
}

// Where the apply dies before recovery is itself killed: before any op, in
// the middle of the renames, while writing a file, after the last rename,
// and after the commit point during cleanup.
const char* const kApplyCrashes[] = {"journal.commit.after:1=crash", "fs.rename:1=crash",
                                     "fs.rename:5=crash", "fs.create:2=crash",
                                     "fs.rename:9=crash", "fs.unlink:2=crash"};

TEST(CliCrash, RecoveryKilledAtEveryPointEndsLikeUninterruptedRollback) {
  for (const char* fp : kApplyCrashes) {
    SweepRecovery("rollback", fp);
    if (HasFatalFailure()) return;
  }
}
TEST(CliCrash, RecoveryKilledAtEveryPointEndsLikeUninterruptedRollforward) {
  for (const char* fp : kApplyCrashes) {
    SweepRecovery("rollforward", fp);
    if (HasFatalFailure()) return;
  }
}

// Replaces whatever is at `path` with a new file (a new inode: created
// before the old one is gone, so the number cannot be reused).
void ReplaceBehindBack(const std::string& path) {
  std::string tmp = path + ".intruder";
  WriteFileRaw(tmp, "changed by someone else\n", 0644);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("rename " + path);
}

TEST(CliCrash, ChangedBehindItsBackNeedsAttentionOthersRecover) {
  Workspace ws;
  BuildVmTree(ws);
  Snapshot pre = Snap(ws.root());
  // Transaction A (etc/): crashes after its first rename.
  std::string spec_a = json{{"label", "A: rename config"},
                            {"ops", json::array({{{"op", "rename"}, {"from", ws.R("etc/qemu/vm1.xml")},
                                                  {"to", ws.R("etc/qemu/vm2.xml")}},
                                                 {{"op", "symlink"}, {"target", "../vm2.xml"},
                                                  {"path", ws.R("etc/qemu/autostart/vm2.xml")}}})}}
                           .dump();
  RunResult a = ws.Apply(spec_a, {{"FSTX_FAILPOINTS", "fs.rename.after:1=crash"}});
  ASSERT_EQ(a.signal, SIGKILL) << a.Describe();
  // Transaction B (lib/, disjoint): also crashes; --no-recover leaves A alone.
  std::string spec_b = json{{"label", "B: rename nvram"},
                            {"ops", json::array({{{"op", "rename"}, {"from", ws.R("lib/nvram/vm1_VARS.fd")},
                                                  {"to", ws.R("lib/nvram/vm2_VARS.fd")}},
                                                 {{"op", "mkdir"}, {"path", ws.R("lib/checkpoint/vm2")}}})}}
                           .dump();
  std::string file_b = ws.io() + "/b.json";
  WriteFileRaw(file_b, spec_b);
  RunResult b = ws.Fstx({"apply", "--no-recover", file_b}, {{"FSTX_FAILPOINTS", "fs.rename.after:1=crash"}});
  ASSERT_EQ(b.signal, SIGKILL) << b.Describe();

  RunResult st = ws.Fstx({"status", "--json"});
  ASSERT_EQ(st.exit_code, 4) << st.Describe();  // recovery pending
  EXPECT_EQ(st.Json()["recovery_pending"], true) << st.out;
  json txs = st.Json()["transactions"];
  ASSERT_EQ(txs.size(), 2u) << st.out;
  const uint64_t id_a = txs[0]["id"].get<uint64_t>();
  for (const json& t : txs) {
    EXPECT_EQ(t["owner"]["alive"], false) << t;
    EXPECT_EQ(t["state"], "prepared") << t;
    EXPECT_FALSE(t["locks"].empty()) << t;
  }
  EXPECT_EQ(txs[0]["label"], "A: rename config");
  EXPECT_NE(std::find(txs[0]["locks"].begin(), txs[0]["locks"].end(), ws.R("etc/qemu/vm1.xml")),
            txs[0]["locks"].end());

  // Someone changes the file A moved (wherever it is now).
  std::string moved = fstx::testing::Exists(ws.R("etc/qemu/vm2.xml")) ? ws.R("etc/qemu/vm2.xml")
                                                                      : ws.R("etc/qemu/vm1.xml");
  ReplaceBehindBack(moved);

  RunResult rec = ws.Fstx({"recover", "--json"});
  EXPECT_EQ(rec.exit_code, 3) << rec.Describe();
  json report = rec.Json();
  EXPECT_EQ(report["needs_attention"], true);
  ASSERT_EQ(report["transactions"].size(), 2u) << rec.out;
  for (const json& t : report["transactions"]) {
    if (t["label"] == "A: rename config") {
      EXPECT_EQ(t["decision"], "needs-attention") << t;
      EXPECT_NE(t["message"].get<std::string>().find(ws.R("etc/qemu/vm")), std::string::npos) << t;
    } else {
      EXPECT_EQ(t["label"], "B: rename nvram");
      EXPECT_EQ(t["decision"], "rolled-back") << t;
    }
  }
  // B is whole again (pre-image under lib/); A's files are left as they are.
  Snapshot now = Snap(ws.root());
  for (const auto& [p, n] : pre) {
    if (p.rfind("lib", 0) == 0) {
      EXPECT_TRUE(now.count(p) && now.at(p) == n) << p;
    }
  }
  EXPECT_FALSE(now.count("lib/nvram/vm2_VARS.fd"));
  EXPECT_FALSE(now.count("lib/checkpoint/vm2"));

  st = ws.Fstx({"status", "--json"});
  EXPECT_EQ(st.exit_code, 3) << st.Describe();
  json s = st.Json();
  EXPECT_EQ(s["needs_attention"], true);
  ASSERT_EQ(s["transactions"].size(), 1u) << st.out;
  EXPECT_EQ(s["transactions"][0]["id"], id_a);
  EXPECT_EQ(s["transactions"][0]["state"], "needs_attention");
  EXPECT_NE(s["transactions"][0]["note"].get<std::string>().find(ws.R("etc/qemu/vm")), std::string::npos)
      << s["transactions"][0];
  RunResult human = ws.Fstx({"status"});
  EXPECT_NE(human.out.find("needs_attention"), std::string::npos) << human.out;
  // Recovering again does not guess either: it changes nothing.
  RunResult again = ws.Fstx({"recover"});
  EXPECT_TRUE(again.exit_code == 3 || again.exit_code == 0) << again.Describe();
  EXPECT_EQ(Diff(now, Snap(ws.root())), "");
}

}  // namespace
}  // namespace fstx::clitest
