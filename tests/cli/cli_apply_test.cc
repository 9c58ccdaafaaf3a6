// cli_apply_test.cc — `fstx` end to end: apply on a real tree, the read-only
// commands' human and JSON output, exit codes, environment defaults, a busy
// journal and verify's findings.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/cli/cli_util.h"
#include "tests/cli/vm_fixture.h"

namespace fstx::clitest {
namespace {

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(CliHelp, TeachesEverySubcommandAndExitCodes) {
  TempDir io;
  RunResult r = RunFstx(io.path(), {"--help"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  for (const char* s : {"apply", "recover", "status", "list", "show", "verify", "Exit codes",
                        "FSTX_JOURNAL", "FSTX_ROOTS", "--journal", "--root", "Examples"}) {
    EXPECT_TRUE(Contains(r.out, s)) << s << "\n" << r.out;
  }
  r = RunFstx(io.path(), {"apply", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.out, "--no-recover")) << r.out;
  EXPECT_TRUE(Contains(r.out, "For tests")) << r.out;

  EXPECT_EQ(RunFstx(io.path(), {}).exit_code, 2);
  r = RunFstx(io.path(), {"frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "fstx: ")) << r.err;
  EXPECT_EQ(RunFstx(io.path(), {"show"}).exit_code, 2);
}

TEST(CliApply, VmRenameProducesExactPostImageAndRecords) {
  Workspace ws;
  BuildVmTree(ws);
  Snapshot pre = Snap(ws.root());
  std::string spec_file = ws.io() + "/vm.json";
  WriteFileRaw(spec_file, VmRenameSpec(ws));
  RunResult r = ws.Fstx({"apply", spec_file, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json res = r.Json();
  EXPECT_EQ(res["ok"], true);
  EXPECT_EQ(res["label"], "rename vm1 to vm2");
  EXPECT_EQ(res["ops"], 11);
  ASSERT_TRUE(res["id"].is_number()) << res.dump();
  EXPECT_TRUE(res["error"].is_null());
  const uint64_t id = res["id"].get<uint64_t>();

  Snapshot post = Snap(ws.root());
  EXPECT_EQ(Diff(ExpectedAfterRename(pre), post), "");
  EXPECT_FALSE(HasStagingNames(post));

  // list: nothing unfinished; --all shows the finished transaction.
  r = ws.Fstx({"list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(r.Json()["transactions"].empty()) << r.out;
  r = ws.Fstx({"list", "--all", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json txs = r.Json()["transactions"];
  ASSERT_EQ(txs.size(), 1u) << r.out;
  EXPECT_EQ(txs[0]["id"], id);
  EXPECT_EQ(txs[0]["state"], "done");
  EXPECT_EQ(txs[0]["label"], "rename vm1 to vm2");
  EXPECT_EQ(txs[0]["ops"], 11);
  EXPECT_EQ(txs[0]["active"], false);
  EXPECT_EQ(txs[0]["policy"], "rollback");
  EXPECT_TRUE(txs[0]["created"].is_string());
  EXPECT_TRUE(txs[0]["finished"].is_string());
  r = ws.Fstx({"list", "--all"});
  EXPECT_TRUE(Contains(r.out, "rename vm1 to vm2")) << r.out;
  EXPECT_TRUE(Contains(r.out, "done")) << r.out;

  // show: every intent with its fields.
  r = ws.Fstx({"show", std::to_string(id), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json rec = r.Json();
  EXPECT_EQ(rec["id"], id);
  EXPECT_EQ(rec["active"], false);
  EXPECT_TRUE(rec["owner"]["pid"].is_number());
  ASSERT_EQ(rec["intents"].size(), 11u) << r.out;
  const json& i0 = rec["intents"][0];
  EXPECT_EQ(i0["kind"], "rename");
  EXPECT_EQ(i0["from"], ws.R("etc/qemu/vm1.xml"));
  EXPECT_EQ(i0["path"], ws.R("etc/qemu/vm2.xml"));
  EXPECT_EQ(i0["moved"]["type"], "file");
  EXPECT_EQ(i0["moved"]["mode"], "0600");
  EXPECT_EQ(i0["before"]["type"], "absent");
  const json& i1 = rec["intents"][1];
  EXPECT_EQ(i1["kind"], "write_file");
  EXPECT_EQ(i1["mode"], "0600");
  // History keeps the content's size and hash, not the content itself.
  EXPECT_TRUE(i1["data_base64"].is_null()) << i1;
  EXPECT_TRUE(i1["data_preview"].is_null()) << i1;
  EXPECT_EQ(i1["data_length"], DomainXml("vm2").size());
  RunResult h = ws.Fstx({"hash", ws.R("etc/qemu/vm2.xml")});
  ASSERT_EQ(h.exit_code, 0) << h.Describe();
  EXPECT_EQ(h.out.substr(0, 39), i1["data_hash"].get<std::string>()) << i1;
  EXPECT_EQ(i1["staging_dir"], ws.R(".fstx")) << i1;
  EXPECT_EQ(rec["intents"][2]["kind"], "symlink");
  EXPECT_EQ(rec["intents"][6]["replace"], true);
  EXPECT_EQ(rec["intents"][6]["before"]["type"], "file");
  EXPECT_EQ(rec["intents"][7]["moved"]["type"], "socket");
  EXPECT_EQ(rec["intents"][8]["mode"], "0750");
  EXPECT_EQ(rec["intents"][9]["moved"]["type"], "directory");
  EXPECT_EQ(rec["intents"][10]["data_length"], 256);
  r = ws.Fstx({"show", std::to_string(id)});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "rename " + ws.R("etc/qemu/vm1.xml") + " -> " +
                                  ws.R("etc/qemu/vm2.xml")))
      << r.out;

  // status: healthy, nothing unfinished, lock free.
  r = ws.Fstx({"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json st = r.Json();
  EXPECT_EQ(st["exists"], true);
  EXPECT_EQ(st["format_version"], 4);
  EXPECT_GT(st["map_size"].get<uint64_t>(), 0u);
  EXPECT_GT(st["used_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(st["counts"]["active"], 0);
  EXPECT_EQ(st["counts"]["history"], 1);
  EXPECT_EQ(st["counts"]["corrupt"], 0);
  EXPECT_EQ(st["writer"]["held"], false);
  EXPECT_TRUE(st["transactions"].empty());
  EXPECT_EQ(st["needs_attention"], false);
  r = ws.Fstx({"status"});
  EXPECT_TRUE(Contains(r.out, "unfinished transactions: none")) << r.out;

  r = ws.Fstx({"verify"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "clean")) << r.out;
  r = ws.Fstx({"recover", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(r.Json()["transactions"].empty());
  EXPECT_EQ(r.Json()["needs_attention"], false);
}

TEST(CliApply, SpecFromStdinAndRootsAndJournalFromEnvironment) {
  Workspace ws;
  WriteFileRaw(ws.R("a"), "A", 0644);
  std::string spec = R"({"ops":[{"op":"rename","from":")" + ws.R("a") + R"(","to":")" +
                     ws.R("b") + R"("}]})";
  RunResult r = RunFstx(ws.io(), {"apply", "-"},
                    {{"FSTX_JOURNAL", ws.journal()}, {"FSTX_ROOTS", "/nonexistent-x:" + ws.root()}},
                    spec);
  // A root that does not exist is bad input.
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "/nonexistent-x")) << r.err;
  r = RunFstx(ws.io(), {"apply", "-"}, {{"FSTX_JOURNAL", ws.journal()}, {"FSTX_ROOTS", ws.root()}},
          spec);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_FALSE(fstx::testing::Exists(ws.R("a")));
  EXPECT_EQ(ReadFileRaw(ws.R("b")), "A");
  EXPECT_TRUE(Contains(r.out, "fstx apply <stdin>")) << r.out;  // the default label
  EXPECT_EQ(ws.TxCount(), 1u);
}

// "content_file": the file's content is written (staged before the record
// when it is big: format 4), the spec stays small.
TEST(CliApply, WriteFileFromContentFile) {
  Workspace ws;
  const std::string blob = ws.io() + "/blob", big(200 << 10, 'z');
  WriteFileRaw(blob, big, 0600);
  RunResult r = ws.Apply(R"({"ops":[{"op":"write_file","path":")" + ws.R("disk.img") +
                         R"(","content_file":")" + blob + R"(","mode":"0640"}]})");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFileRaw(ws.R("disk.img")), big);
  r = ws.Fstx({"show", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, std::to_string(big.size()))) << r.out;
  const std::string staged = r.Json()["intents"][0]["staged_content"].get<std::string>();
  EXPECT_EQ(staged.rfind(ws.root() + "/.fstx/.fstx-content-", 0), 0u) << r.out;
}

TEST(CliApply, FailedTransactionRollsBackAndExits1) {
  Workspace ws;
  BuildVmTree(ws);
  Snapshot pre = Snap(ws.root());
  RunResult r = ws.Apply(VmRenameSpec(ws), {{"FSTX_FAILPOINTS", "fs.rename:3=EIO"}});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "fstx: apply ")) << r.err;
  EXPECT_TRUE(Contains(r.err, "rolled back")) << r.err;
  EXPECT_EQ(Diff(pre, Snap(ws.root())), "");
  r = ws.Fstx({"status", "--json"});
  EXPECT_TRUE(r.Json()["transactions"].empty()) << r.out;
  // --json names the error and the rolled-back transaction.
  r = ws.Fstx({"apply", "--json", ws.io() + "/../spec.json"}, {{"FSTX_FAILPOINTS", "fs.create:1=ENOSPC"}});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  json res = r.Json();
  EXPECT_EQ(res["ok"], false);
  EXPECT_EQ(res["error"]["exit"], 1);
  EXPECT_EQ(res["error"]["code"], "no_space") << res;
  EXPECT_TRUE(res["id"].is_number()) << res;
  r = ws.Fstx({"list", "--all", "--json"});
  json txs = r.Json()["transactions"];
  ASSERT_EQ(txs.size(), 2u) << r.out;
  EXPECT_EQ(txs[1]["state"], "aborted");
  EXPECT_EQ(txs[1]["id"], res["id"]);
  EXPECT_EQ(Diff(pre, Snap(ws.root())), "");

  // A malformed FSTX_FAILPOINTS is bad input.
  r = ws.Apply(VmRenameSpec(ws), {{"FSTX_FAILPOINTS", "fs.rename:x=explode"}});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "FSTX_FAILPOINTS")) << r.err;
  r = ws.Fstx({"recover"}, {{"FSTX_FAILPOINTS", "nonsense"}});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(Diff(pre, Snap(ws.root())), "");
}

TEST(CliInspect, NoJournalIsCleanAndNotCreated) {
  Workspace ws;
  RunResult r = ws.Fstx({"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.Json()["exists"], false);
  EXPECT_TRUE(r.Json()["transactions"].empty());
  r = ws.Fstx({"status"});
  EXPECT_TRUE(Contains(r.out, "no journal at " + ws.journal())) << r.out;
  r = ws.Fstx({"recover"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ws.Fstx({"list", "--all"}).exit_code, 0);
  EXPECT_EQ(ws.Fstx({"verify"}).exit_code, 0);
  EXPECT_FALSE(fstx::testing::Exists(ws.journal()));

  r = ws.Fstx({"show", "abc"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  r = ws.Fstx({"show", "7"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
}

TEST(CliInspect, VerifyReportsOrphanStagingFiles) {
  Workspace ws;
  WriteFileRaw(ws.R("a"), "A");
  ASSERT_EQ(ws.Apply(R"({"ops":[{"op":"mkdir","path":")" + ws.R("d") + R"("}]})").exit_code, 0);
  fstx::testing::MkdirRaw(ws.R("d/sub"));
  WriteFileRaw(ws.R("d/sub/.fstx-1-2-old"), "left behind");
  fstx::testing::MkdirRaw(ws.R(".fstx-1-0-del"));
  WriteFileRaw(ws.R(".fstx-1-0-del/inner"), "x");
  WriteFileRaw(ws.R(".fstx-not-a-staging-name"), "x");
  RunResult r = ws.Fstx({"verify"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_TRUE(Contains(r.out, ws.R("d/sub/.fstx-1-2-old"))) << r.out;
  EXPECT_TRUE(Contains(r.out, ws.R(".fstx-1-0-del"))) << r.out;
  EXPECT_FALSE(Contains(r.out, "inner")) << r.out;
  EXPECT_FALSE(Contains(r.out, "not-a-staging")) << r.out;
  r = ws.Fstx({"verify", "--json"});
  json v = r.Json();
  EXPECT_EQ(v["clean"], false);
  EXPECT_EQ(v["findings"].size(), 2u) << r.out;
  EXPECT_EQ(v["findings"][0]["kind"], "orphan-staging");
}

TEST(CliInspect, SecondProcessRecoversAroundALiveWriterAndStatusShowsIt) {
  Workspace ws;
  WriteFileRaw(ws.R("a"), "A");
  std::string spec_file = ws.io() + "/slow.json";
  WriteFileRaw(spec_file, R"({"label":"slow","ops":[{"op":"rename","from":")" + ws.R("a") +
                              R"(","to":")" + ws.R("b") + R"("}]})");
  // The apply sleeps after its first journal commit while holding the journal.
  pid_t pid = Spawn(ws.io(), {"--journal", ws.journal(), "--root", ws.root(), "apply", spec_file},
                    {{"FSTX_FAILPOINTS", "journal.commit.after=delay(4000)"}}, "", 9001);
  bool held = false;
  json st;
  for (int i = 0; i < 300 && !held; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!fstx::testing::Exists(ws.journal() + "/data.mdb")) continue;
    RunResult r = ws.Fstx({"status", "--json"});
    if (r.exit_code != 0) continue;
    st = r.Json();
    held = st["writer"]["held"].get<bool>();
  }
  ASSERT_TRUE(held) << st.dump();
  EXPECT_EQ(st["writer"]["pid"], pid);
  // Many processes may write one journal: recover leaves the live one's
  // transaction alone.
  RunResult other = ws.Fstx({"recover", "--json"});
  EXPECT_NE(other.exit_code, 1) << other.Describe();
  EXPECT_TRUE(Contains(other.out, "skipped-live-owner")) << other.out;
  RunResult done = Wait(ws.io(), pid, 9001);
  EXPECT_EQ(done.exit_code, 0) << done.Describe();
  EXPECT_EQ(ReadFileRaw(ws.R("b")), "A");
}

}  // namespace
}  // namespace fstx::clitest
