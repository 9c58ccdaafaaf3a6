// Many writers on one journal: group commit across threads, path locks
// that wait, and processes sharing a journal (one SIGKILLed).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <random>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fstx/fstx.h"
#include "journal/store.h"
#include "src/engine/testing.h"
#include "tests/testutil.h"

namespace fstx {
namespace {

using testing::TempDir;

class ConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "root";
    testing::MkdirRaw(root_);
  }
  Options Opts() {
    Options o;
    o.dir = dir_ / "journal";
    o.roots = {root_};
    return o;
  }
  // Forks a process that opens the journal, runs `work` (true: done) and
  // then waits to be killed; returns its pid once `work` is done, or -1.
  pid_t ForkParked(const std::function<bool(Journal&)>& work) {
    int ready[2];
    if (::pipe(ready) != 0) return -1;
    fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      auto j = Journal::Open(Opts());
      if (!j.ok()) ::_exit(2);
      if (!work(**j)) ::_exit(1);
      char c = 1;
      if (::write(ready[1], &c, 1) != 1) ::_exit(3);
      ::pause();  // killed here: no Flush, no close
      ::_exit(0);
    }
    ::close(ready[1]);
    char c;
    const bool ok = pid > 0 && ::read(ready[0], &c, 1) == 1;
    ::close(ready[0]);
    if (!ok && pid > 0) ::waitpid(pid, nullptr, 0);
    return ok ? pid : -1;
  }
  TempDir dir_;
  std::string root_;
};

// While the first journal commit is held in its hook, the other threads
// queue their prepared records; they must go to disk together.
TEST_F(ConcurrencyTest, PreparedRecordsOfWaitingThreadsShareOneCommit) {
  constexpr int kThreads = 8;
  std::mutex mu;
  std::condition_variable cv;
  int started = 0, commits = 0;
  Options o = Opts();
  auto hook = [&](std::string_view point) {
    if (point != "journal.commit.before") return Status();
    std::unique_lock<std::mutex> l(mu);
    if (++commits == 1) {
      cv.wait(l, [&] { return started == kThreads; });
      l.unlock();
      // The others are past their path locks and about to queue.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return Status();
  };
  auto j = testing::OpenWithHook(o, hook);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      Transaction tx = (*j)->Begin("t" + std::to_string(t));
      tx.WriteFile(root_ + "/f" + std::to_string(t), "data " + std::to_string(t) + "\n", 0644);
      {
        std::lock_guard<std::mutex> l(mu);
        ++started;
      }
      cv.notify_all();
      Status s = tx.Commit();
      EXPECT_TRUE(s.ok()) << s.ToString();
      ok += s.ok();
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, kThreads);
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(testing::ReadFileRaw(root_ + "/f" + std::to_string(t)), "data " + std::to_string(t) + "\n");
  // One commit for the first, one for the seven that queued behind it (a
  // commit per transaction would be 8).
  std::lock_guard<std::mutex> l(mu);
  EXPECT_LE(commits, 4);
}

// A group's sync runs outside the group commit: while the first group is
// held after its commit (in the hook that follows its sync), a second
// thread's group commits.
TEST_F(ConcurrencyTest, NextGroupCommitsWhileTheFirstSyncs) {
  std::mutex mu;
  std::condition_variable cv;
  int befores = 0, afters = 0;
  bool overlapped = false;
  auto hook = [&](std::string_view point) {
    std::unique_lock<std::mutex> l(mu);
    if (point == "journal.commit.before") ++befores;
    if (point == "journal.commit.after" && ++afters == 1)
      overlapped = cv.wait_for(l, std::chrono::seconds(10), [&] { return befores >= 2; });
    cv.notify_all();
    return Status();
  };
  auto j = testing::OpenWithHook(Opts(), hook);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  Status s1, s2;
  std::thread first([&] {
    Transaction tx = (*j)->Begin("first");
    tx.WriteFile(root_ + "/a", "a\n", 0644);
    s1 = tx.Commit();
  });
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return befores >= 1; });
  }
  std::thread second([&] {
    Transaction tx = (*j)->Begin("second");
    tx.WriteFile(root_ + "/b", "b\n", 0644);
    s2 = tx.Commit();
  });
  first.join();
  second.join();
  EXPECT_TRUE(s1.ok()) << s1.ToString();
  EXPECT_TRUE(s2.ok()) << s2.ToString();
  EXPECT_TRUE(overlapped) << "the second group waited for the first group's sync";
  EXPECT_EQ(testing::ReadFileRaw(root_ + "/b"), "b\n");
}

// A sync that fails fails the group's transactions (nothing applied), and
// the completion that rode on it is written again: after Flush, every
// transaction is finished.
TEST_F(ConcurrencyTest, CompletionOnAFailedSyncIsWrittenAgain) {
  std::atomic<int> fail_after{0};
  auto hook = [&](std::string_view point) {
    if (point == "journal.commit.after" && fail_after.exchange(0) == 1)
      return Status(Code::kIoError, "planted sync failure", EIO);
    return Status();
  };
  auto j = testing::OpenWithHook(Opts(), hook);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  Transaction t1 = (*j)->Begin("one");
  t1.WriteFile(root_ + "/a", "1\n", 0644);
  ASSERT_TRUE(t1.Commit().ok());
  fail_after = 1;  // the next write: t2's record, with t1's completion riding
  Transaction t2 = (*j)->Begin("two");
  t2.WriteFile(root_ + "/a", "2\n", 0644);
  Status s = t2.Commit();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(testing::ReadFileRaw(root_ + "/a"), "1\n");
  ASSERT_TRUE((*j)->Flush().ok());
  TxList list;
  ASSERT_TRUE((*j)->inspector().List(true, &list).ok());
  EXPECT_TRUE(list.unfinished.empty()) << list.unfinished.size() << " unfinished";
  ASSERT_EQ(list.finished.size(), 2u);
  EXPECT_EQ(list.finished[0].state, TxState::kDone);
  EXPECT_EQ(list.finished[1].state, TxState::kAborted);
}

// A child process: `count` transactions, each writing its own two files
// and the shared one with the same value. Exit 0 if all committed.
int Writer(const Options& o, const std::string& root, int who, int count) {
  auto j = Journal::Open(o);
  if (!j.ok()) {
    std::fprintf(stderr, "writer %d: open: %s\n", who, j.status().ToString().c_str());
    return 1;
  }
  for (int n = 0; n < count; ++n) {
    const std::string v = std::to_string(who) + ":" + std::to_string(n);
    Transaction tx = (*j)->Begin("writer " + v);
    tx.WriteFile(root + "/w" + std::to_string(who) + "a", v, 0644)
        .WriteFile(root + "/shared", v, 0644)
        .WriteFile(root + "/w" + std::to_string(who) + "b", v, 0644);
    Status s = tx.Commit();
    if (!s.ok()) {
      std::fprintf(stderr, "writer %s: %s\n", v.c_str(), s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

// Several processes commit on one journal, overlapping on one file; one is
// SIGKILLed at a random point. The others finish every transaction, and
// after recovery every transaction is whole: each writer's two files hold
// the same value.
TEST_F(ConcurrencyTest, ProcessesShareAJournalAndSurviveOneKilled) {
  constexpr int kWriters = 3, kCount = 12;
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  for (int round = 0; round < 3; ++round) {
    Options o = Opts();
    o.dir = dir_ / ("journal" + std::to_string(round));
    std::vector<pid_t> pids;
    fflush(nullptr);
    for (int w = 0; w < kWriters; ++w) {
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) ::_exit(Writer(o, root_, w, kCount));
      pids.push_back(pid);
    }
    const int victim = static_cast<int>(rng() % kWriters);
    ::usleep(static_cast<useconds_t>(1000 + rng() % 150000));
    ::kill(pids[static_cast<size_t>(victim)], SIGKILL);
    for (int w = 0; w < kWriters; ++w) {
      int st = 0;
      ASSERT_EQ(::waitpid(pids[static_cast<size_t>(w)], &st, 0), pids[static_cast<size_t>(w)]);
      if (w == victim) continue;
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "writer " << w << " status " << st;
    }
    auto j = Journal::Open(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    EXPECT_FALSE((*j)->open_report().needs_attention());
    for (int w = 0; w < kWriters; ++w) {
      const std::string a = root_ + "/w" + std::to_string(w) + "a", b = root_ + "/w" + std::to_string(w) + "b";
      if (w == victim && !testing::Exists(a)) {
        EXPECT_FALSE(testing::Exists(b)) << "round " << round;
        continue;
      }
      EXPECT_EQ(testing::ReadFileRaw(a), testing::ReadFileRaw(b)) << "round " << round << " writer " << w;
      if (w != victim) {
        EXPECT_EQ(testing::ReadFileRaw(a), std::to_string(w) + ":" + std::to_string(kCount - 1));
      }
    }
    EXPECT_TRUE(testing::Exists(root_ + "/shared"));
    std::vector<std::string> staged;
    for (auto& e : boost::filesystem::directory_iterator(root_ + "/.fstx")) staged.push_back(e.path().string());
    EXPECT_TRUE(staged.empty()) << staged.front();
    for (int w = 0; w < kWriters; ++w) {
      ::unlink((root_ + "/w" + std::to_string(w) + "a").c_str());
      ::unlink((root_ + "/w" + std::to_string(w) + "b").c_str());
    }
  }
}

// A process commits (its completion record not yet written: it rides on
// its next journal write), another process then changes the same file,
// and the first dies. Its record, still "prepared", describes a file that
// has moved on: recovery must not read that as someone else's change
// (needs attention) or undo the second transaction.
TEST_F(ConcurrencyTest, CommittedRecordOfAProcessKilledLaterStaysCommitted) {
  Options o = Opts();
  const pid_t pid = ForkParked([&](Journal& j) {  // killed later, its completion never written
    return j.Begin("first").WriteFile(root_ + "/shared", "first", 0644).WriteFile(root_ + "/a", "first", 0644)
        .Commit().ok();
  });
  ASSERT_GT(pid, 0);
  {
    auto j = Journal::Open(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    Status s = (*j)->Begin("second").WriteFile(root_ + "/shared", "second", 0644).Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ::kill(pid, SIGKILL);
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, 0), pid);
    RecoveryReport r;
    ASSERT_TRUE((*j)->Recover(&r).ok());
    EXPECT_FALSE(r.needs_attention()) << (r.txs.empty() ? "" : r.txs[0].message);
  }
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_FALSE((*j)->open_report().needs_attention())
      << ((*j)->open_report().txs.empty() ? "" : (*j)->open_report().txs[0].message);
  EXPECT_EQ(testing::ReadFileRaw(root_ + "/shared"), "second");
  EXPECT_EQ(testing::ReadFileRaw(root_ + "/a"), "first");
}

// Completions wait in "active" (state committed) for their batch to move
// to history. A process SIGKILLed with seven of them there, all on the same
// file that later transactions rewrote, is finished forward by recovery:
// none is probed (the file holds only the last value), none needs
// attention, every staging object goes.
TEST_F(ConcurrencyTest, ProcessKilledWithCompletionsAwaitingTheirBatchRecovers) {
  Options o = Opts();
  const pid_t pid = ForkParked([&](Journal& j) {
    for (int i = 1; i <= 9; ++i) {
      const std::string v = "v" + std::to_string(i);
      if (!j.Begin(v).WriteFile(root_ + "/f", v, 0644).Commit().ok()) return false;
    }
    return true;
  });
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  {
    auto in = Inspector::Open(o.dir);
    ASSERT_TRUE(in.ok()) << in.status().ToString();
    TxList list;
    ASSERT_TRUE((*in)->List(true, &list).ok());
    EXPECT_TRUE(list.finished.empty());  // fewer than eight were ready
    ASSERT_EQ(list.unfinished.size(), 9u);
    size_t committed = 0;
    for (const auto& r : list.unfinished) committed += r.state == TxState::kCommitted;
    EXPECT_GE(committed, 7u);
  }
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  const RecoveryReport& r = (*j)->open_report();
  EXPECT_FALSE(r.needs_attention()) << (r.txs.empty() ? "" : r.txs[0].message);
  EXPECT_EQ(r.txs.size(), 9u);
  for (const auto& t : r.txs) EXPECT_EQ(t.decision, Decision::kRolledForward) << t.id;
  EXPECT_EQ(testing::ReadFileRaw(root_ + "/f"), "v9");
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(root_ + "/.fstx")) left.push_back(e.path().filename());
  EXPECT_TRUE(left.empty()) << left.size() << " staging objects left, first " << left.front();
  TxList list;
  ASSERT_TRUE((*j)->inspector().List(true, &list).ok());
  EXPECT_TRUE(list.unfinished.empty());
  EXPECT_EQ(list.finished.size(), 9u);
}

// Opens are serialized across processes (a creator killed while LMDB
// initialises its files must not leave waiters an uninitialised lock
// region): while another description holds the open gate of writer.lock,
// Open waits and then fails busy.
TEST_F(ConcurrencyTest, OpenWaitsForAnotherProcessOpening) {
  Options o = Opts();
  o.lock_wait_ms = 0;
  { ASSERT_TRUE(Journal::Open(o).ok()); }
  int fd = ::open((o.dir + "/writer.lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 1 << 20;
  fl.l_len = 1;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &fl), 0);
  auto busy = Journal::Open(o);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), Code::kBusy) << busy.status().ToString();
  ::close(fd);
  EXPECT_TRUE(Journal::Open(o).ok());
}

// An overlapping transaction waits for the holder instead of failing.
TEST_F(ConcurrencyTest, OverlappingTransactionWaitsForTheHolder) {
  std::mutex mu;
  std::condition_variable cv;
  bool in_commit = false, release = false;
  Options o = Opts();
  auto hook = [&](std::string_view point) {
    if (point != "journal.commit.after") return Status();
    std::unique_lock<std::mutex> l(mu);
    if (!in_commit) {
      in_commit = true;
      cv.notify_all();
      cv.wait(l, [&] { return release; });
    }
    return Status();
  };
  auto j = testing::OpenWithHook(o, hook);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  std::thread first([&] { EXPECT_TRUE((*j)->Begin("first").WriteFile(root_ + "/f", "1").Commit().ok()); });
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return in_commit; });
  }
  std::thread second([&] {
    Status s = (*j)->Begin("second").WriteFile(root_ + "/f", "2").Commit();
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  ::usleep(50000);
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  first.join();
  second.join();
  EXPECT_EQ(testing::ReadFileRaw(root_ + "/f"), "2");
}

}  // namespace
}  // namespace fstx
