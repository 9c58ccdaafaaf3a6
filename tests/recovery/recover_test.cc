// Recovery after real process deaths: a child process runs the workload
// and is SIGKILLed at a chosen step (every filesystem call, every barrier,
// every journal commit); the parent recovers and checks the tree.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fstx/fstx.h"
#include "journal/store.h"
#include "src/ops/owner.h"
#include "src/engine/testing.h"
#include "tests/fs_wrappers.h"
#include "tests/recovery/world.h"
#include "tests/testutil.h"
#include "tests/vm_fixture.h"

namespace fstx {
namespace {

using testing::Snapshot;
using testing::TempDir;
using testing::TreeImage;

// Counts steps (fs mutations, barriers, journal commit points) and kills
// the process at step `crash_at` (0: never).
struct Crasher {
  int crash_at = 0;
  int steps = 0;
  Status Step() {
    if (++steps == crash_at) ::kill(::getpid(), SIGKILL);
    return Status();
  }
};

struct World : testing::JournalWorld {
  World() { testing::BuildVmTree(root); }
};

enum class Outcome { kKilled, kCommitted, kFailed };

// Runs `body` in a child process with a crashing seam; the child opens
// its own journal (LMDB must not cross fork).
template <class Body>
Outcome InChild(const World& w, int crash_at, bool recover_on_open, Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    Crasher c;
    c.crash_at = crash_at;
    auto posix = PosixFs::Open({w.root});
    if (!posix.ok()) ::_exit(3);
    testing::HookFs fs(posix.value().get(), [&](const char*, const std::string&) { return c.Step(); });
    Options o = w.Opts(&fs);
    o.recover_on_open = recover_on_open;
    auto j = fstx::testing::OpenWithHook(o, [&](std::string_view) { return c.Step(); });
    if (!j.ok()) ::_exit(4);
    bool ok = body(*j.value());
    ::_exit(ok ? 0 : 1);  // no destructors: completion stays unrecorded
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return Outcome::kKilled;
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_LE(WEXITSTATUS(status), 1) << "child setup failed";
  return WEXITSTATUS(status) == 0 ? Outcome::kCommitted : Outcome::kFailed;
}

bool RunVmRename(Journal& j, const std::string& root, TxPolicy policy) {
  Transaction tx = j.Begin("rename vm1 to vm2", policy);
  testing::AddVmRename(tx, root);
  return tx.Commit().ok();
}

// Recovers in this process and returns the report; checks nothing is left.
RecoveryReport RecoverHere(const World& w) {
  RecoveryReport rep;
  {
    auto j = Journal::Open(w.Opts(nullptr));
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    if (!j.ok()) return rep;
    rep = j->open_report();
  }
  auto st = JournalStore::Open({.dir = w.journal, .read_only = true});
  EXPECT_TRUE(st.ok());
  std::vector<TxRecord> active;
  std::vector<BadRecord> bad;
  EXPECT_TRUE(st.value()->ListActive(&active, &bad).ok());
  EXPECT_TRUE(active.empty()) << "unfinished transactions remain";
  return rep;
}

TreeImage PostImage() {
  World w;
  auto j = Journal::Open(w.Opts(nullptr));
  EXPECT_TRUE(j.ok());
  EXPECT_TRUE(RunVmRename(*j.value(), w.root, TxPolicy::kRollback));
  return Snapshot(w.root);
}

struct CrashCounts {
  int points = 0, pre = 0, post = 0;
};

// Kills the VM rename at every step in turn (`inline_max`: the journal's
// Options::inline_content_max) and recovers each time: the tree must be
// pre or post, never needs attention, and nothing may be left in the
// staging directory (Snapshot shows it when it is not empty).
CrashCounts CrashAtEveryStep(TxPolicy policy, uint64_t inline_max) {
  const TreeImage pre = Snapshot(World().root), post = PostImage();
  CrashCounts c;
  for (c.points = 1;; ++c.points) {
    World w;
    w.inline_max = inline_max;
    Outcome o = InChild(w, c.points, true, [&](Journal& j) { return RunVmRename(j, w.root, policy); });
    RecoveryReport rep = RecoverHere(w);
    TreeImage got = Snapshot(w.root);
    if (got == pre) ++c.pre;
    else if (got == post) ++c.post;
    else ADD_FAILURE() << "crash at step " << c.points << ": neither pre nor post\n" << testing::Diff(post, got);
    if (o != Outcome::kKilled) {
      EXPECT_EQ(o, Outcome::kCommitted);
      EXPECT_EQ(got, post) << "a transaction that reported success is post";
      break;
    }
    // Under roll-forward, once the prepared record is durable the
    // transaction always ends post.
    if (policy == TxPolicy::kRollforward && !rep.txs.empty()) {
      EXPECT_EQ(got, post) << "step " << c.points;
    }
    for (const auto& t : rep.txs) {
      EXPECT_STRNE(decision_name(t.decision), "needs-attention") << t.message;
    }
  }
  EXPECT_GT(c.pre, 0);
  EXPECT_GT(c.post, 0);
  std::printf("[ crash ] %s, inline max %llu: %d crash points, %d recovered to pre, %d to post\n",
              policy == TxPolicy::kRollback ? "rollback" : "rollforward",
              static_cast<unsigned long long>(inline_max), c.points, c.pre, c.post);
  return c;
}

class CrashTest : public ::testing::TestWithParam<TxPolicy> {};

TEST_P(CrashTest, KilledAtEveryStepRecoversToPreOrPost) {
  // The staging directory's mkdir and the sync of its parent, 2 journal
  // commit points, 10 filesystem mutations, 6 directory syncs (the commit
  // point: 5 touched directories and the staging directory), 2 staging
  // deletions, and one run that completes.
  EXPECT_EQ(CrashAtEveryStep(GetParam(), Options().inline_content_max).points, 23)
      << "every step of the 7-op workload was a crash point";
}

// The same with the write_file's content staged before the record (format
// 4): a crash before the record is durable leaves a staged file no record
// names (recovery deletes it: its process is dead); after, recovery puts it
// in place or drops it. One more step than inline: the staging directory
// is synced before the record, and the content file is created there
// instead of during apply.
TEST_P(CrashTest, StagedContentKilledAtEveryStepRecoversToPreOrPost) {
  EXPECT_EQ(CrashAtEveryStep(GetParam(), 0).points, 24);
}

INSTANTIATE_TEST_SUITE_P(Policies, CrashTest, ::testing::Values(TxPolicy::kRollback, TxPolicy::kRollforward),
                         [](const auto& info) {
                           return std::string(info.param == TxPolicy::kRollback ? "Rollback" : "Rollforward");
                         });

// Recovery itself killed at every one of its steps, then recovered again,
// ends exactly where an uninterrupted recovery ends.
TEST(RecoveryCrash, KilledRecoveryRecoversTheSame) {
  int checked = 0;
  for (TxPolicy policy : {TxPolicy::kRollback, TxPolicy::kRollforward}) {
    for (int n = 2;; n += 3) {  // every third crash point of the workload
      TreeImage reference;
      {
        World w;
        if (InChild(w, n, true, [&](Journal& j) { return RunVmRename(j, w.root, policy); }) != Outcome::kKilled)
          break;
        RecoverHere(w);
        reference = Snapshot(w.root);
      }
      for (int m = 1;; ++m) {
        World w;
        ASSERT_EQ(InChild(w, n, true, [&](Journal& j) { return RunVmRename(j, w.root, policy); }),
                  Outcome::kKilled);
        Outcome r = InChild(w, m, true, [](Journal&) { return true; });
        RecoveryReport rep = RecoverHere(w);
        for (const auto& t : rep.txs) {
          EXPECT_STRNE(decision_name(t.decision), "needs-attention") << t.message;
        }
        EXPECT_EQ(Snapshot(w.root), reference)
            << "workload crash " << n << ", recovery crash " << m << "\n"
            << testing::Diff(reference, Snapshot(w.root));
        ++checked;
        if (r != Outcome::kKilled) break;
      }
    }
  }
  EXPECT_GT(checked, 40);
  std::printf("[ crash ] %d (workload crash, recovery crash) pairs checked\n", checked);
}

TEST(RecoveryAttention, ForeignChangeIsNotGuessedAndOthersStillRecover) {
  World w;
  // Transaction A dies half-way: killed at the rename of the snapshot dir.
  pid_t pid = ::fork();
  if (pid == 0) {
    auto posix = PosixFs::Open({w.root});
    testing::HookFs fs(posix.value().get(), [](const char* call, const std::string& p) {
      if (std::string(call) == "rename" && p.find("snapshot/vm1 ->") != std::string::npos)
        ::kill(::getpid(), SIGKILL);
      return Status();
    });
    auto j = Journal::Open(w.Opts(&fs));
    RunVmRename(*j.value(), w.root, TxPolicy::kRollback);
    ::_exit(0);
  }
  int status;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  // Transaction B, on other paths, dies too (recovery skipped on open).
  ASSERT_EQ(InChild(w, 6, false,
                    [&](Journal& j) {
                      return j.Begin("B").Mkdir(w.root + "/lib/b").WriteFile(w.root + "/lib/b/f", "b").Commit().ok();
                    }),
            Outcome::kKilled);
  // Someone replaces vm2.xml (written and renamed by A) behind fstx's back.
  ASSERT_EQ(::unlink((w.root + "/etc/qemu/vm2.xml").c_str()), 0);
  testing::WriteFileRaw(w.root + "/etc/qemu/vm2.xml", "<domain>edited by hand</domain>", 0600);
  const TreeImage before = Snapshot(w.root);

  auto j = Journal::Open(w.Opts(nullptr));
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  const RecoveryReport& rep = j->open_report();
  ASSERT_EQ(rep.txs.size(), 2u);
  EXPECT_TRUE(rep.needs_attention());
  EXPECT_EQ(rep.txs[0].label, "rename vm1 to vm2");
  EXPECT_STREQ(decision_name(rep.txs[0].decision), "needs-attention");
  EXPECT_NE(rep.txs[0].message.find("/etc/qemu/vm2.xml"), std::string::npos) << rep.txs[0].message;
  EXPECT_EQ(rep.txs[1].label, "B");
  EXPECT_STREQ(decision_name(rep.txs[1].decision), "rolled-back");
  EXPECT_FALSE(testing::Exists(w.root + "/lib/b"));
  EXPECT_EQ(testing::ReadFileRaw(w.root + "/etc/qemu/vm2.xml"), "<domain>edited by hand</domain>")
      << "nothing overwritten on a guess";
  // A's paths stay locked; others are free.
  Status s = j->Begin("touch A").WriteFile(w.root + "/etc/qemu/vm2.xml", "x").Commit();
  EXPECT_EQ(s.code(), Code::kBusy) << s.ToString();
  EXPECT_TRUE(j->Begin("free").Mkdir(w.root + "/lib/c").Commit().ok());
  j.value().reset();

  auto st = JournalStore::Open({.dir = w.journal, .read_only = true});
  std::vector<TxRecord> active;
  std::vector<BadRecord> bad;
  ASSERT_TRUE(st.value()->ListActive(&active, &bad).ok());
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].state, TxState::kNeedsAttention);
  EXPECT_NE(active[0].note.find("vm2.xml"), std::string::npos) << active[0].note;
  (void)before;
}

TEST(RecoveryOwners, LiveOwnerIsNeverTouched) {
  World w;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Journals a transaction as its own (prepared, nothing applied) and
    // stays alive.
    auto st = JournalStore::Open({.dir = w.journal});
    if (!st.ok()) ::_exit(3);
    WriteBatch b;
    TxRecord r;
    r.label = "in flight";
    r.owner = CurrentOwner();
    Intent in;
    in.kind = OpKind::kMkdir;
    in.path = w.root + "/lib/live";
    in.mode = 0755;
    r.intents.push_back(in);
    b.put_active.push_back(r);
    if (!st.value()->Write(&b).ok()) ::_exit(4);
    st.value().reset();
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  {
    auto j = Journal::Open(w.Opts(nullptr));
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    ASSERT_EQ(j->open_report().txs.size(), 1u);
    EXPECT_STREQ(decision_name(j->open_report().txs[0].decision), "skipped-live-owner");
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  RecoveryReport rep = RecoverHere(w);
  ASSERT_EQ(rep.txs.size(), 1u);
  EXPECT_STREQ(decision_name(rep.txs[0].decision), "rolled-back");
}

TEST(RecoveryCorrupt, CorruptRecordIsReportedNotActedOn) {
  World w;
  { auto j = Journal::Open(w.Opts(nullptr)); ASSERT_TRUE(j.ok()); }
  {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, w.journal.c_str(), 0, 0600), 0);
    MDB_txn* txn;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "active", 0, &dbi), 0);
    unsigned char key[8] = {0, 0, 0, 0, 0, 0, 0, 99};
    std::string junk = "FXTR garbage that is not a record";
    MDB_val k{sizeof key, key}, v{junk.size(), junk.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    // The id was handed out: next_id is above it (a next_id at or below a
    // stored id is corruption of its own, tested in the store's tests).
    MDB_dbi meta;
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    unsigned char next[8] = {0, 0, 0, 0, 0, 0, 0, 100};
    MDB_val nk{7, const_cast<char*>("next_id")}, nv{sizeof next, next};
    ASSERT_EQ(mdb_put(txn, meta, &nk, &nv, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  auto j = Journal::Open(w.Opts(nullptr));
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_EQ(j->open_report().txs.size(), 1u);
  EXPECT_STREQ(decision_name(j->open_report().txs[0].decision), "corrupt");
  EXPECT_EQ(j->open_report().txs[0].id, 99u);
  EXPECT_TRUE(j->open_report().needs_attention());
  RecoveryReport again;
  ASSERT_TRUE(j->Recover(&again).ok());
  EXPECT_EQ(again.txs.size(), 1u) << "the corrupt record is left in place";
}

TEST(RecoveryDryRun, DecidesWithoutChanging) {
  World w;
  ASSERT_EQ(InChild(w, 12, true, [&](Journal& j) { return RunVmRename(j, w.root, TxPolicy::kRollback); }),
            Outcome::kKilled);
  const TreeImage crashed = Snapshot(w.root);
  Options o = w.Opts(nullptr);
  o.recover_on_open = false;
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok());
  RecoveryReport rep;
  ASSERT_TRUE(j->Recover(&rep, /*dry_run=*/true).ok());
  ASSERT_EQ(rep.txs.size(), 1u);
  EXPECT_STREQ(decision_name(rep.txs[0].decision), "would-roll-back");
  EXPECT_EQ(Snapshot(w.root), crashed);
  ASSERT_TRUE(j->Recover(&rep).ok());
  EXPECT_STREQ(decision_name(rep.txs[0].decision), "rolled-back");
  EXPECT_NE(Snapshot(w.root), crashed);
}

}  // namespace
}  // namespace fstx
