// Many writers on one journal: group commit across threads, path locks
// that wait, and processes sharing a journal (one SIGKILLed).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fstx/fstx.h"
#include "journal/store.h"
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
  o.journal_hook = [&](std::string_view point) {
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
  auto j = Journal::Open(o);
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

}  // namespace
}  // namespace fstx
