// Batched recovery (RecoveryBatch): many interrupted transactions cost one
// journal commit and one sync per touched directory, and a recovery killed
// or failing before that commit is finished by the next one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fstx/fstx.h"
#include "journal/store.h"
#include "src/engine/testing.h"
#include "tests/fs_wrappers.h"
#include "tests/recovery/world.h"
#include "tests/testutil.h"

namespace fstx {
namespace {

using testing::Snapshot;
using testing::TempDir;

constexpr int kTxs = 20;

// Two directories of kTxs files; transaction i renames a/fi and b/fi.
struct World : testing::JournalWorld {
  World() {
    for (const char* d : {"/a", "/b"}) {
      testing::MkdirRaw(root + d);
      for (int i = 0; i < kTxs; ++i) testing::WriteFileRaw(root + d + "/f" + std::to_string(i), std::to_string(i));
    }
  }
};

// Runs the kTxs transactions in threads of a child process, parks each
// before its rename in b, then kills the child: kTxs interrupted
// transactions, each with its rename in a on disk.
void Interrupt(const World& w) {
  pid_t pid = ::fork();
  if (pid == 0) {
    auto posix = PosixFs::Open({w.root});
    if (!posix.ok()) ::_exit(3);
    std::atomic<int> parked{0};
    testing::HookFs fs(posix.value().get(), [&](const char* call, const std::string& p) {
      if (std::string(call) == "rename" && p.rfind(w.root + "/b/", 0) == 0) {
        ++parked;
        for (;;) ::pause();
      }
      return Status();
    });
    Options o = w.Opts(&fs);
    o.recover_on_open = false;
    auto j = Journal::Open(o);
    if (!j.ok()) ::_exit(4);
    std::vector<std::thread> ts;
    for (int i = 0; i < kTxs; ++i)
      ts.emplace_back([&, i] {
        const std::string f = "/f" + std::to_string(i), g = "/g" + std::to_string(i);
        (void)j.value()->Begin("tx " + std::to_string(i)).Rename(w.root + "/a" + f, w.root + "/a" + g)
            .Rename(w.root + "/b" + f, w.root + "/b" + g).Commit();
        ::_exit(5);  // it did not park
      });
    while (parked < kTxs) ::usleep(1000);
    ::kill(::getpid(), SIGKILL);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exit " << WEXITSTATUS(status);
}

std::vector<TxRecord> Active(const World& w) {
  auto st = JournalStore::Open({.dir = w.journal, .read_only = true});
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  std::vector<TxRecord> active;
  std::vector<BadRecord> bad;
  if (st.ok()) {
    EXPECT_TRUE(st.value()->ListActive(&active, &bad).ok());
  }
  return active;
}

// Recovers; checks every transaction it finds rolled back (all kTxs
// unless told how many), nothing left unfinished, the tree as before.
void ExpectRecoversToPre(const World& w, Fs* fs = nullptr, testing::JournalHook hook = nullptr,
                         int txs = kTxs) {
  RecoveryReport rep;
  {
    auto j = testing::OpenWithHook(w.Opts(fs), std::move(hook));
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    rep = j.value()->open_report();
  }
  if (txs >= 0) {
    ASSERT_EQ(rep.txs.size(), static_cast<size_t>(txs));
  }
  for (const auto& t : rep.txs) EXPECT_STREQ(decision_name(t.decision), "rolled-back") << t.message;
  EXPECT_TRUE(Active(w).empty()) << "unfinished transactions remain";
  EXPECT_EQ(Snapshot(w.root), Snapshot(World().root));
}

TEST(RecoveryBatch, OneJournalCommitAndOneSyncPerDirectory) {
  World w;
  ASSERT_NO_FATAL_FAILURE(Interrupt(w));
  ASSERT_EQ(Active(w).size(), static_cast<size_t>(kTxs));
  auto posix = PosixFs::Open({w.root});
  ASSERT_TRUE(posix.ok());
  testing::CallLogFs fs(posix.value().get());
  int commits = 0;
  ExpectRecoversToPre(w, &fs, [&](std::string_view point) {
    commits += point == "journal.commit.after";
    return Status();
  });
  EXPECT_LE(commits, 2) << "journal commits to recover " << kTxs << " transactions";
  std::map<std::string, int> syncs;
  for (const std::string& call : fs.log())
    if (call.rfind("syncdir ", 0) == 0) ++syncs[call.substr(8)];
  EXPECT_EQ(syncs[w.root + "/a"], 1) << "the undone renames' directory, synced once";
  for (const auto& [dir, n] : syncs) EXPECT_EQ(n, 1) << dir;
}

// While another process holds a path beneath the root, recovery cannot
// take the roots' lock: it locks each transaction's paths (batches of up
// to 32) and leaves the live process's transaction alone.
TEST(RecoveryBatch, WithAnotherProcessWritingItLocksEachTransaction) {
  World w;
  ASSERT_NO_FATAL_FAILURE(Interrupt(w));
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    Options o = w.Opts(nullptr);
    o.recover_on_open = false;
    auto j = testing::OpenWithHook(o, [&](std::string_view point) {
      if (point == "journal.commit.after") {
        char c = 1;
        if (::write(ready[1], &c, 1) != 1) ::_exit(3);
        for (;;) ::pause();
      }
      return Status();
    });
    if (!j.ok()) ::_exit(4);
    (void)j.value()->Begin("live").WriteFile(w.root + "/other", "o").Commit();
    ::_exit(5);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  int commits = 0, rolled_back = 0, skipped = 0;
  {
    auto j = testing::OpenWithHook(w.Opts(nullptr), [&](std::string_view point) {
      commits += point == "journal.commit.after";
      return Status();
    });
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    for (const auto& t : j.value()->open_report().txs) {
      rolled_back += t.decision == Decision::kRolledBack;
      skipped += t.decision == Decision::kSkippedLiveOwner;
    }
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  EXPECT_EQ(rolled_back, kTxs);
  EXPECT_EQ(skipped, 1);
  EXPECT_LE(commits, 2) << "one batch of " << kTxs;
  EXPECT_EQ(Active(w).size(), 1u) << "only the live process's transaction";
}

// Under the roots' lock no path lock keeps two transactions on the same
// paths out of one batch, so recovery ends the batch before such a one (a
// re-probe after a crash must not see another batch member's changes). A
// copy of one interrupted record under a new id overlaps it.
TEST(RecoveryBatch, AnOverlappingTransactionStartsANewBatch) {
  World w;
  ASSERT_NO_FATAL_FAILURE(Interrupt(w));
  const std::vector<TxRecord> active = Active(w);
  ASSERT_FALSE(active.empty());
  {
    auto st = JournalStore::Open({.dir = w.journal});
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    WriteBatch b;
    b.put_active.push_back(active.front());
    b.put_active.back().id = 0;  // a new id, after every other
    ASSERT_TRUE(st.value()->Write(&b).ok());
  }
  int commits = 0;
  ExpectRecoversToPre(
      w, nullptr,
      [&](std::string_view point) {
        commits += point == "journal.commit.after";
        return Status();
      },
      kTxs + 1);
  EXPECT_EQ(commits, 2) << "the " << kTxs << " independent transactions, then the copy";
}

TEST(RecoveryBatch, KilledBeforeTheHistoryCommitIsRecoveredAgain) {
  World w;
  ASSERT_NO_FATAL_FAILURE(Interrupt(w));
  // Recovery changes the tree, then dies at the batch's journal commit.
  pid_t pid = ::fork();
  if (pid == 0) {
    auto j = testing::OpenWithHook(w.Opts(nullptr), [](std::string_view point) {
      if (point == "journal.commit.before") ::kill(::getpid(), SIGKILL);
      return Status();
    });
    ::_exit(j.ok() ? 0 : 4);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "recovery made no journal commit";
  EXPECT_EQ(Snapshot(w.root), Snapshot(World().root)) << "the tree was rolled back before the commit";
  const std::vector<TxRecord> active = Active(w);
  ASSERT_EQ(active.size(), static_cast<size_t>(kTxs));
  for (const auto& r : active) EXPECT_EQ(r.state, TxState::kPrepared) << r.id;
  ExpectRecoversToPre(w);
}

// A batch's recovery killed at every one of its steps (filesystem call,
// barrier, journal commit point), then recovered again, ends as an
// uninterrupted one: every transaction rolled back.
TEST(RecoveryBatch, KilledAtEveryStepRecoversTheSame) {
  int m = 1;
  for (;; ++m) {
    World w;
    ASSERT_NO_FATAL_FAILURE(Interrupt(w));
    pid_t pid = ::fork();
    if (pid == 0) {
      int steps = 0;
      auto step = [&] {
        if (++steps == m) ::kill(::getpid(), SIGKILL);
        return Status();
      };
      auto posix = PosixFs::Open({w.root});
      if (!posix.ok()) ::_exit(3);
      testing::HookFs fs(posix.value().get(), [&](const char*, const std::string&) { return step(); });
      auto j = testing::OpenWithHook(w.Opts(&fs), [&](std::string_view) { return step(); });
      ::_exit(j.ok() ? 0 : 4);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    SCOPED_TRACE("recovery killed at step " + std::to_string(m));
    ExpectRecoversToPre(w, nullptr, nullptr, /*txs=*/-1);
    if (!WIFSIGNALED(status)) {
      EXPECT_EQ(WEXITSTATUS(status), 0);
      break;
    }
  }
  // kTxs undone renames, the final barrier, the commit's two points.
  EXPECT_GT(m, kTxs + 2) << "crash points";
  std::printf("[ crash ] batch of %d: %d recovery crash points\n", kTxs, m);
}

TEST(RecoveryBatch, FailedHistoryCommitLeavesEachNeedingAttention) {
  World w;
  ASSERT_NO_FATAL_FAILURE(Interrupt(w));
  {
    int failed = 0;
    auto j = testing::OpenWithHook(w.Opts(nullptr), [&](std::string_view point) {
      if (point != "journal.commit.before" || failed++ > 0) return Status();
      return Status(Code::kIoError, "injected commit failure");
    });
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    const RecoveryReport& rep = j.value()->open_report();
    ASSERT_EQ(rep.txs.size(), static_cast<size_t>(kTxs));
    for (const auto& t : rep.txs) {
      EXPECT_STREQ(decision_name(t.decision), "needs-attention");
      EXPECT_NE(t.message.find("injected commit failure"), std::string::npos) << t.message;
    }
  }
  const std::vector<TxRecord> active = Active(w);
  ASSERT_EQ(active.size(), static_cast<size_t>(kTxs));
  for (const auto& r : active) EXPECT_EQ(r.state, TxState::kNeedsAttention) << r.id;
  // The tree was rolled back; the next recovery finds nothing applied.
  ExpectRecoversToPre(w);
}

}  // namespace
}  // namespace fstx
