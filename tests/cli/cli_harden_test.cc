// cli_harden_test.cc — `fstx` under hostile input and damaged journals
// (issue 8): a full journal filesystem, an unreadable journal, corrupt
// records and meta values, specs that must be refused before anything is
// journaled, control characters in labels and paths, and the exit codes
// monitoring reads. Each test runs the built binary on real files.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/mount.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/cli/cli_util.h"

namespace fstx::clitest {
namespace {

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string Quote(const std::string& s) { return json(s).dump(); }

// A tmpfs of `size` mounted on `dir` while the object lives (needs root).
class TmpfsMount {
 public:
  TmpfsMount(std::string dir, const std::string& size) : dir_(std::move(dir)) {
    std::string opts = "size=" + size + ",mode=0755";
    ok_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
    if (!ok_) why_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (ok_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }

 private:
  std::string dir_;
  bool ok_ = false;
  std::string why_;
};

// Direct LMDB access to a journal that no fstx process has open.
class RawJournal {
 public:
  explicit RawJournal(const std::string& dir) {
    mdb_env_create(&env_);
    mdb_env_set_maxdbs(env_, 8);
    ok_ = mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0600) == 0;
  }
  ~RawJournal() { mdb_env_close(env_); }
  bool ok() const { return ok_; }
  std::string Get(const char* db, const std::string& k) {
    MDB_txn* txn = nullptr;
    std::string out = "<none>";
    if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != 0) return out;
    MDB_dbi dbi;
    MDB_val kk{k.size(), const_cast<char*>(k.data())}, vv;
    if (mdb_dbi_open(txn, db, 0, &dbi) == 0 && mdb_get(txn, dbi, &kk, &vv) == 0) {
      out.assign(static_cast<char*>(vv.mv_data), vv.mv_size);
    }
    mdb_txn_abort(txn);
    return out;
  }
  bool Put(const char* db, const std::string& k, const std::string& v) {
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_, nullptr, 0, &txn) != 0) return false;
    MDB_dbi dbi;
    MDB_val kk{k.size(), const_cast<char*>(k.data())}, vv{v.size(), const_cast<char*>(v.data())};
    if (mdb_dbi_open(txn, db, 0, &dbi) != 0 || mdb_put(txn, dbi, &kk, &vv, 0) != 0) {
      mdb_txn_abort(txn);
      return false;
    }
    return mdb_txn_commit(txn) == 0;
  }

 private:
  MDB_env* env_ = nullptr;
  bool ok_ = false;
};

std::string Key(uint64_t id) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; i--, id >>= 8) k[static_cast<size_t>(i)] = static_cast<char>(id & 0xff);
  return k;
}

std::string RenameSpec(const Workspace& ws, const std::string& from, const std::string& to,
                       const std::string& label = "") {
  return R"({"label":)" + Quote(label.empty() ? "rename " + from : label) +
         R"(,"ops":[{"op":"rename","from":)" + Quote(ws.R(from)) + R"(,"to":)" +
         Quote(ws.R(to)) + "}]}";
}

// Leaves an unfinished transaction of a dead process: apply killed at its
// first rename.
void CrashedApply(const Workspace& ws, const std::string& spec) {
  RunResult r = ws.Apply(spec, {{"FSTX_FAILPOINTS", "fs.rename:1=crash"}});
  ASSERT_EQ(r.signal, SIGKILL) << r.Describe();
}

// With --json, a failed command still prints one JSON object on stdout
// whose "error" says what happened and which exit code it chose.
void ExpectJsonError(const RunResult& r, int exit_code, const std::string& code,
                     const std::string& part) {
  EXPECT_EQ(r.exit_code, exit_code) << r.Describe();
  json j;
  try {
    j = json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << r.Describe();
    return;
  }
  ASSERT_TRUE(j.contains("error") && j["error"].is_object()) << r.out;
  EXPECT_EQ(j["error"]["exit"], exit_code) << r.out;
  EXPECT_EQ(j["error"]["code"], code) << r.out;
  EXPECT_TRUE(Contains(j["error"]["message"].get<std::string>(), part)) << part << "\n" << r.out;
}

// ---- item 5: an unreadable journal is not "no journal" ---------------------

TEST(CliHarden, UnreadableJournalIsExit1NamingThePath) {
  ASSERT_EQ(::geteuid(), 0u) << "this test needs root (to run fstx as another user); run the suite as root";
  Workspace ws;
  ASSERT_EQ(ws.Apply(R"({"ops":[{"op":"mkdir","path":)" + Quote(ws.R("d")) + "}]}").exit_code, 0);
  // The workspace is traversable, the journal directory (0700, root) is not.
  std::string base = ws.root().substr(0, ws.root().rfind('/'));
  ASSERT_EQ(::chmod(base.c_str(), 0755), 0);
  const int nobody = 65534;
  const std::vector<std::vector<std::string>> commands = {
      {"status"}, {"list", "--all"}, {"show", "1"}, {"verify"}, {"recover"}};
  for (const auto& cmd : commands) {
    std::vector<std::string> args = {"--journal", ws.journal(), "--root", ws.root()};
    args.insert(args.end(), cmd.begin(), cmd.end());
    RunResult r = RunFstx(ws.io(), args, {}, "", nobody);
    EXPECT_EQ(r.exit_code, 1) << cmd[0] << ": " << r.Describe();
    EXPECT_TRUE(Contains(r.err, ws.journal())) << cmd[0] << ": " << r.err;
    EXPECT_TRUE(Contains(r.err, "Permission denied")) << cmd[0] << ": " << r.err;
    args.push_back("--json");
    r = RunFstx(ws.io(), args, {}, "", nobody);
    ExpectJsonError(r, 1, "permission", ws.journal());
    if (cmd[0] == "status") {
      EXPECT_FALSE(Contains(r.out, "\"exists\": false")) << r.out;
    }
  }
}

// ---- item 6: apply does not go past a corrupt unfinished record -------------

TEST(CliHarden, ApplyRefusesToProceedPastACorruptUnfinishedRecord) {
  Workspace ws;
  WriteFileRaw(ws.R("a"), "A");
  CrashedApply(ws, RenameSpec(ws, "a", "b"));
  {
    RawJournal raw(ws.journal());
    ASSERT_TRUE(raw.ok());
    std::string rec = raw.Get("active", Key(1));
    ASSERT_NE(rec, "<none>");
    rec[rec.size() - 1] = static_cast<char>(rec[rec.size() - 1] ^ 0x55);
    ASSERT_TRUE(raw.Put("active", Key(1), rec));
  }
  WriteFileRaw(ws.R("c"), "C");
  Snapshot pre = Snap(ws.root());
  std::string spec = RenameSpec(ws, "c", "d");
  RunResult r = ws.Apply(spec);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_FALSE(Contains(r.err, "1 transaction recovered")) << r.err;
  EXPECT_TRUE(Contains(r.err, "record 1")) << r.err;
  EXPECT_TRUE(Contains(r.err, "corrupt")) << r.err;
  EXPECT_EQ(Diff(pre, Snap(ws.root())), "");

  WriteFileRaw(ws.io() + "/spec2.json", spec);
  r = ws.Fstx({"apply", ws.io() + "/spec2.json", "--json"});
  ExpectJsonError(r, 1, "corruption", "record 1");
  json j = json::parse(r.out);
  ASSERT_EQ(j["recovered_on_open"].size(), 1u) << r.out;
  EXPECT_EQ(j["recovered_on_open"][0]["decision"], "corrupt") << r.out;
  EXPECT_TRUE(j["id"].is_null()) << r.out;
  EXPECT_EQ(Diff(pre, Snap(ws.root())), "");
}

// ---- item 9: `fstx resolve` ------------------------------------------------

// The corrupt record above, closed by an operator: its bytes are saved,
// and apply works again.
TEST(CliResolve, AbandonOfACorruptRecordUnblocksApply) {
  Workspace ws;
  WriteFileRaw(ws.R("a"), "A");
  CrashedApply(ws, RenameSpec(ws, "a", "b"));
  std::string rec;
  {
    RawJournal raw(ws.journal());
    ASSERT_TRUE(raw.ok());
    rec = raw.Get("active", Key(1));
    rec[rec.size() - 1] = static_cast<char>(rec[rec.size() - 1] ^ 0x55);
    ASSERT_TRUE(raw.Put("active", Key(1), rec));
  }
  WriteFileRaw(ws.R("c"), "C");
  ASSERT_EQ(ws.Apply(RenameSpec(ws, "c", "d")).exit_code, 1);
  RunResult r = ws.Fstx({"resolve", "1", "--retry"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "does not decode")) << r.err;
  r = ws.Fstx({"resolve", "1", "--abandon", "--reason", "checked", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json j = r.Json();
  EXPECT_EQ(j["tx"]["decision"], "abandoned") << r.out;
  EXPECT_EQ(j["saved_record"], ws.journal() + "/abandoned/1.record") << r.out;
  EXPECT_EQ(ReadFileRaw(ws.journal() + "/abandoned/1.record"), rec);
  r = ws.Apply(RenameSpec(ws, "c", "d"));
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ws.Fstx({"status"}).exit_code, 0);
}

TEST(CliResolve, NeedsAttentionIsClearedByAbandonAndRecordedInHistory) {
  Workspace ws;
  WriteFileRaw(ws.R("a"), "A");
  WriteFileRaw(ws.R("x"), "X");
  // Rename a over x (x kept in staging), killed after the rename.
  CrashedApply(ws, R"({"label":"a over x","ops":[{"op":"rename","from":)" + Quote(ws.R("a")) +
                       R"(,"to":)" + Quote(ws.R("x")) + R"(,"replace":true}]})");
  // Someone replaces x by hand: recovery cannot tell which state it is in.
  ASSERT_EQ(::unlink(ws.R("x").c_str()), 0);
  WriteFileRaw(ws.R("x"), "by hand");
  RunResult r = ws.Fstx({"recover"});
  ASSERT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "fstx resolve ID --retry")) << r.out;
  EXPECT_EQ(ws.Fstx({"recover"}).exit_code, 3) << "stays until resolved";
  EXPECT_EQ(ws.Fstx({"resolve", "1"}).exit_code, 2);
  EXPECT_EQ(ws.Fstx({"resolve", "1", "--retry", "--abandon"}).exit_code, 2);
  EXPECT_EQ(ws.Fstx({"resolve", "one", "--retry"}).exit_code, 2);
  EXPECT_EQ(ws.Fstx({"resolve", "7", "--retry"}).exit_code, 1);
  r = ws.Fstx({"resolve", "1", "--retry", "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_EQ(r.Json()["tx"]["conflicts"].size(), 1u) << r.out;
  Snapshot pre = Snap(ws.root());
  r = ws.Fstx({"resolve", "1", "--abandon", "--reason", "x restored by hand"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "kept " + ws.R(".fstx/abandoned/1/"))) << r.out;
  EXPECT_EQ(ReadFileRaw(ws.R(".fstx/abandoned/1/.fstx-1-0-old")), "X") << "the replaced x is kept";
  EXPECT_EQ(ReadFileRaw(ws.R("x")), "by hand");
  (void)pre;
  EXPECT_EQ(ws.Fstx({"recover"}).exit_code, 0);
  r = ws.Fstx({"list", "--all", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "\"abandoned\"")) << r.out;
  EXPECT_TRUE(Contains(r.out, "x restored by hand")) << r.out;
  EXPECT_EQ(ws.Fstx({"verify"}).exit_code, 0) << "kept objects are not orphan staging";
}

// ---- item 4 (part): verify says "lost records", not "orphan" ----------------

TEST(CliHarden, VerifyCallsStagingOfAnUnknownTransactionLostRecords) {
  Workspace ws;
  ASSERT_EQ(ws.Apply(R"({"ops":[{"op":"mkdir","path":)" + Quote(ws.R("d")) + "}]}").exit_code, 0);
  WriteFileRaw(ws.R(".fstx/.fstx-1-0-old"), "of a finished one");
  WriteFileRaw(ws.R(".fstx/.fstx-50-0-old"), "of one never handed out");
  RunResult r = ws.Fstx({"verify", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  std::map<std::string, std::string> kinds;
  const json j = r.Json();
  for (const auto& f : j["findings"]) kinds[f["path"].get<std::string>()] = f["kind"].get<std::string>();
  EXPECT_EQ(kinds[ws.R(".fstx/.fstx-1-0-old")], "orphan-staging") << r.out;
  EXPECT_EQ(kinds[ws.R(".fstx/.fstx-50-0-old")], "lost-records") << r.out;
}

// ---- item 4 (part): a next_id that would reuse ids ---------------------------

TEST(CliHarden, CorruptNextIdIsExit1NamingTheJournal) {
  Workspace ws;
  for (const char* d : {"d1", "d2"}) {
    ASSERT_EQ(ws.Apply(R"({"ops":[{"op":"mkdir","path":)" + Quote(ws.R(d)) + "}]}").exit_code, 0);
  }
  for (uint64_t bad : {uint64_t{2}, uint64_t{0}, ~uint64_t{0}}) {
    {
      RawJournal raw(ws.journal());
      ASSERT_TRUE(raw.Put("meta", "next_id", Key(bad)));
    }
    for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
             {"status"}, {"list", "--all"}, {"show", "1"}, {"recover"}, {"verify"}}) {
      RunResult r = ws.Fstx(cmd);
      EXPECT_EQ(r.exit_code, 1) << cmd[0] << ": " << r.Describe();
      EXPECT_TRUE(Contains(r.err + r.out, "journal " + ws.journal() + ": meta next_id is " +
                                              std::to_string(bad)))
          << cmd[0] << ": " << r.Describe();
      cmd.push_back("--json");
      r = ws.Fstx(cmd);
      if (cmd[0] == "verify") {
        EXPECT_EQ(r.exit_code, 1) << r.Describe();
        EXPECT_EQ(r.Json()["clean"], false) << r.out;
      } else {
        ExpectJsonError(r, 1, "corruption", "meta next_id");
      }
    }
    RunResult r = ws.Apply(R"({"ops":[{"op":"mkdir","path":)" + Quote(ws.R("d3")) + "}]}");
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_TRUE(Contains(r.err, ws.journal())) << r.err;
    EXPECT_FALSE(fstx::testing::Exists(ws.R("d3")));
  }
}

// ---- item 12: refused before anything is journaled, exit 2 ------------------

TEST(CliHarden, SpecProblemsAreRefusedBeforeAnythingIsJournaled) {
  Workspace ws;
  fstx::testing::MkdirRaw(ws.R("dir"));
  WriteFileRaw(ws.R("file"), "F");
  struct Case {
    std::string spec, want;
  } cases[] = {
      {R"({"ops":[{"op":"symlink","target":")" + std::string(4096, 't') + R"(","path":)" +
           Quote(ws.R("l")) + "}]}",
       "op 1 (symlink): field 'target' is 4096 bytes, longer than PATH_MAX - 1 (4095)"},
      {R"({"ops":[{"op":"rename","from":)" + Quote(ws.R("dir")) + R"(,"to":)" + Quote(ws.R("file")) +
           R"(,"replace":true}]})",
       "op 1 (rename " + ws.R("dir") + " -> " + ws.R("file") +
           "): a directory cannot replace a file"},
      {R"({"ops":[{"op":"rename","from":)" + Quote(ws.R("file")) + R"(,"to":)" + Quote(ws.R("dir")) +
           R"(,"replace":true}]})",
       "op 1 (rename " + ws.R("file") + " -> " + ws.R("dir") +
           "): a file cannot replace a directory"},
      {R"({"ops":[{"op":"mkdir","path":)" + Quote(ws.R("x")) + R"(,"path":)" + Quote(ws.R("y")) +
           "}]}",
       "op 1: duplicate field 'path'"},
      {R"({"label":"a","label":"b","ops":[{"op":"mkdir","path":)" + Quote(ws.R("x")) + "}]}",
       "duplicate field 'label'"},
      {R"({"ops":[{"op":"write_file","path":)" + Quote(ws.R("g/")) + R"(,"content":"x"}]})",
       "op 1 (write_file): field 'path' must not end with '/'"},
      {R"({"ops":[{"op":"mkdir","path":)" + Quote(ws.R("x")) + R"(,"mode":1e999}]})",
       "number overflow"},
      {R"({"ops":[{"op":"mkdir","path":)" + Quote(ws.R("x")) + R"(}],"n":-1e400})",
       "number overflow"},
  };
  Snapshot pre = Snap(ws.root());
  for (const Case& c : cases) {
    RunResult r = ws.Apply(c.spec);
    EXPECT_EQ(r.exit_code, 2) << c.want << "\n" << r.Describe();
    EXPECT_TRUE(Contains(r.err, c.want)) << c.want << "\n" << r.err;
    std::string file = ws.io() + "/case.json";
    WriteFileRaw(file, c.spec);
    r = ws.Fstx({"apply", file, "--json"});
    ExpectJsonError(r, 2, "invalid_argument", c.want);
    EXPECT_FALSE(fstx::testing::Exists(ws.journal())) << c.want;
  }
  // A root is resolved by the kernel, not textually: ".." after a missing
  // directory does not make it exist.
  std::string base = ws.root().substr(0, ws.root().rfind('/'));
  std::string file = ws.io() + "/root.json";
  WriteFileRaw(file, R"({"ops":[{"op":"mkdir","path":)" + Quote(ws.R("x")) + "}]}");
  for (const std::string& root : {base + "/missing/../root", base + "/missing"}) {
    RunResult r = RunFstx(ws.io(), {"--journal", ws.journal(), "--root", root, "apply", file, "--json"});
    EXPECT_EQ(r.exit_code, 2) << root << "\n" << r.Describe();
    EXPECT_TRUE(Contains(r.err, "root " + root)) << r.err;
    EXPECT_TRUE(Contains(r.err, "No such file or directory")) << r.err;
    ExpectJsonError(r, 2, "not_found", root);
  }
  EXPECT_FALSE(fstx::testing::Exists(ws.journal()));
  EXPECT_EQ(Diff(pre, Snap(ws.root())), "");
}

// Every failing command prints its JSON object when --json is given.
TEST(CliHarden, EveryErrorPathPrintsJsonWhenAsked) {
  Workspace ws;
  ExpectJsonError(ws.Fstx({"status", "--json", "--bogus"}), 2, "invalid_argument", "--bogus");
  ExpectJsonError(ws.Fstx({"show", "abc", "--json"}), 2, "invalid_argument", "abc");
  ExpectJsonError(ws.Fstx({"show", "7", "--json"}), 1, "not_found", ws.journal());
  ExpectJsonError(ws.Fstx({"recover", "--json"}, {{"FSTX_FAILPOINTS", "nonsense"}}), 2,
                  "invalid_argument", "FSTX_FAILPOINTS");
  WriteFileRaw(ws.R("a"), "A");
  CrashedApply(ws, RenameSpec(ws, "a", "b"));
  RunResult r = RunFstx(ws.io(), {"--journal", ws.journal(), "recover", "--json"});
  ExpectJsonError(r, 2, "invalid_argument", "no roots");
  r = RunFstx(ws.io(), {"--journal", ws.journal(), "--root", ws.R("nope"), "recover", "--json"});
  ExpectJsonError(r, 2, "not_found", ws.R("nope"));
}

// ---- item 14: control characters never reach the terminal raw ---------------

TEST(CliHarden, ControlCharactersInLabelsAndPathsAreEscaped) {
  Workspace ws;
  const std::string label = "evil\n99     done              1  forged\x1b[2J";
  const std::string name = "new\nline";
  std::string spec = R"({"label":)" + Quote(label) + R"(,"ops":[{"op":"write_file","path":)" +
                     Quote(ws.R(name)) + R"(,"content":"x"}]})";
  RunResult r = ws.Apply(spec);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto clean = [&](const std::string& what, const RunResult& rr) {
    EXPECT_FALSE(Contains(rr.out + rr.err, label)) << what << ": " << rr.out << rr.err;
    EXPECT_FALSE(Contains(rr.out + rr.err, "\x1b")) << what;
    EXPECT_FALSE(Contains(rr.out + rr.err, "\n99 ")) << what;
  };
  clean("apply", r);
  EXPECT_TRUE(Contains(r.out, "evil\\n99")) << r.out;
  r = ws.Fstx({"list", "--all"});
  clean("list", r);
  EXPECT_TRUE(Contains(r.out, "evil\\n99     done              1  forged\\x1b[2J")) << r.out;
  r = ws.Fstx({"show", "1"});
  clean("show", r);
  EXPECT_TRUE(Contains(r.out, ws.R("new\\nline"))) << r.out;
  // JSON stays exact.
  r = ws.Fstx({"list", "--all", "--json"});
  EXPECT_EQ(r.Json()["transactions"][0]["label"], label);
  r = ws.Fstx({"show", "1", "--json"});
  EXPECT_EQ(r.Json()["intents"][0]["path"], ws.R(name));

  // An unfinished one: status and recover print it too.
  WriteFileRaw(ws.R("a\tb"), "A");
  CrashedApply(ws, RenameSpec(ws, "a\tb", "c\rd", label));
  r = ws.Fstx({"status"});
  clean("status", r);
  EXPECT_TRUE(Contains(r.out, ws.R("a\\tb"))) << r.out;
  EXPECT_TRUE(Contains(r.out, ws.R("c\\rd"))) << r.out;
  r = ws.Fstx({"recover"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  clean("recover", r);
  EXPECT_TRUE(Contains(r.out, "evil\\n99")) << r.out;
}

// ---- item 15: status tells monitoring that recovery is pending --------------

TEST(CliHarden, StatusExits4WhileRecoveryIsPending) {
  Workspace ws;
  WriteFileRaw(ws.R("a"), "A");
  EXPECT_EQ(ws.Fstx({"status"}).exit_code, 0);
  CrashedApply(ws, RenameSpec(ws, "a", "b"));
  RunResult r = ws.Fstx({"status", "--json"});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_EQ(r.Json()["recovery_pending"], true) << r.out;
  EXPECT_EQ(r.Json()["needs_attention"], false) << r.out;
  r = ws.Fstx({"status"});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "fstx recover")) << r.out;
  ASSERT_EQ(ws.Fstx({"recover"}).exit_code, 0);
  r = ws.Fstx({"status", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.Json()["recovery_pending"], false) << r.out;
}

TEST(CliHarden, RecoverDryRunWorksWhileAnotherProcessWrites) {
  Workspace ws;
  WriteFileRaw(ws.R("a"), "A");
  WriteFileRaw(ws.R("c"), "C");
  CrashedApply(ws, RenameSpec(ws, "a", "b"));
  std::string slow = ws.io() + "/slow.json";
  WriteFileRaw(slow, RenameSpec(ws, "c", "d", "slow"));
  // Holds the writer lock for 4 s after its prepared record is written.
  pid_t pid = Spawn(ws.io(),
                    {"--journal", ws.journal(), "--root", ws.root(), "apply", "--no-recover", slow},
                    {{"FSTX_FAILPOINTS", "journal.commit.after=delay(4000)"}}, "", 9101);
  bool held = false;
  for (int i = 0; i < 300 && !held; ++i) {
    ::usleep(10000);
    RunResult st = ws.Fstx({"status", "--json"});
    held = st.exit_code != 1 && st.Json()["writer"]["held"].get<bool>() &&
           st.Json()["transactions"].size() == 2;
  }
  ASSERT_TRUE(held);
  Snapshot pre = Snap(ws.root());
  RunResult r = ws.Fstx({"recover", "--dry-run", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  json txs = r.Json()["transactions"];
  ASSERT_EQ(txs.size(), 2u) << r.out;
  EXPECT_EQ(txs[0]["id"], 1);
  EXPECT_EQ(txs[0]["decision"], "would-roll-back") << r.out;
  EXPECT_EQ(txs[1]["decision"], "skipped-live-owner") << r.out;
  EXPECT_EQ(r.Json()["dry_run"], true);
  r = ws.Fstx({"recover", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "would roll back")) << r.out;
  EXPECT_EQ(Diff(pre, Snap(ws.root())), "");
  // Without --dry-run it recovers the dead process's transaction and
  // leaves the live writer's alone (many processes may write a journal).
  r = ws.Fstx({"recover", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "skipped-live-owner")) << r.out;
  EXPECT_TRUE(Contains(r.out, "rolled-back")) << r.out;
  RunResult done = Wait(ws.io(), pid, 9101);
  EXPECT_EQ(done.exit_code, 0) << done.Describe();
}

// ---- item 13: a full journal filesystem is no_space ------------------------

TEST(CliHarden, FullJournalFilesystemIsNoSpaceNotIoError) {
  TempDir mnt_dir;
  Workspace ws;
  TmpfsMount mnt(mnt_dir.path(), "256k");
  ASSERT_TRUE(mnt.ok()) << "cannot mount a tmpfs here (the suite needs root): " << mnt.why();
  const std::string journal = mnt_dir.path() + "/j";
  auto fstx = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--journal", journal, "--root", ws.root()});
    return RunFstx(ws.io(), args);
  };
  auto write_spec = [&](const std::string& name, size_t bytes) {
    std::string file = ws.io() + "/" + name + ".json";
    WriteFileRaw(file, R"({"ops":[{"op":"write_file","path":)" + Quote(ws.R(name)) +
                           R"(,"content":)" + Quote(std::string(bytes, 'x')) + "}]}");
    return file;
  };
  // Symlink targets are always journaled (big write_file content is staged
  // in the tree, not the journal: format 4).
  auto links_spec = [&](size_t bytes) {
    std::string file = ws.io() + "/links.json", ops;
    for (size_t i = 0; i * 4000 < bytes; ++i)
      ops += std::string(i ? "," : "") + R"({"op":"symlink","path":)" + Quote(ws.R("l" + std::to_string(i))) +
             R"(,"target":)" + Quote(std::string(4000, 't')) + "}";
    WriteFileRaw(file, R"({"ops":[)" + ops + "]}");
    return file;
  };
  RunResult r = fstx({"apply", write_spec("small", 10)});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  // Big content does not go through the journal at all.
  r = fstx({"apply", write_spec("big", 1000000)});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  Snapshot pre = Snap(ws.root());

  // The prepared record does not fit: LMDB's short write must not read as EIO.
  for (size_t bytes : {size_t{400000}, size_t{1000000}}) {
    r = fstx({"apply", "--json", links_spec(bytes)});
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    json res = r.Json();
    EXPECT_EQ(res["error"]["code"], "no_space") << bytes << ": " << res.dump();
    EXPECT_TRUE(Contains(res["error"]["message"].get<std::string>(), "journal " + journal))
        << res.dump();
    EXPECT_FALSE(Contains(res["error"]["message"].get<std::string>(), "Input/output error"))
        << res.dump();
    EXPECT_TRUE(res["id"].is_null()) << res.dump();
    EXPECT_EQ(Diff(pre, Snap(ws.root())), "");
  }
  r = fstx({"list", "--all", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.Json()["transactions"].size(), 2u) << r.out;
  EXPECT_EQ(fstx({"status"}).exit_code, 0);
}

}  // namespace
}  // namespace fstx::clitest
