// The transaction engine end to end on real files and a real LMDB journal.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "fstx/fstx.h"
#include "journal/store.h"
#include "tests/fs_wrappers.h"
#include "tests/testutil.h"
#include "tests/vm_fixture.h"

namespace fstx {
namespace {

using testing::Snapshot;
using testing::TempDir;
using testing::TreeImage;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "root";
    testing::MkdirRaw(root_);
    testing::BuildVmTree(root_);
    pre_ = Snapshot(root_);
  }
  Options Opts(Fs* fs = nullptr) {
    Options o;
    o.dir = dir_ / "journal";
    o.roots = {root_};
    o.fs = fs;
    return o;
  }
  std::unique_ptr<Journal> OpenJournal(Fs* fs = nullptr) {
    auto j = Journal::Open(Opts(fs));
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j.value()) : nullptr;
  }
  // Reads the journal's records (the Journal must be closed).
  void Records(std::vector<TxRecord>* active, std::vector<TxRecord>* history) {
    auto st = JournalStore::Open({.dir = dir_ / "journal", .read_only = true});
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    std::vector<BadRecord> bad;
    ASSERT_TRUE(st.value()->ListActive(active, &bad).ok());
    ASSERT_TRUE(st.value()->ListHistory(history, &bad).ok());
    EXPECT_TRUE(bad.empty());
  }
  void ExpectPost() {
    EXPECT_EQ(testing::ReadFileRaw(root_ + "/etc/qemu/vm2.xml"), testing::DomainXml("vm2"));
    EXPECT_EQ(testing::Mode(root_ + "/etc/qemu/vm2.xml"), 0600u);
    EXPECT_FALSE(testing::Exists(root_ + "/etc/qemu/vm1.xml"));
    EXPECT_EQ(testing::ReadLinkRaw(root_ + "/etc/qemu/autostart/vm2.xml"), "../vm2.xml");
    EXPECT_FALSE(testing::Exists(root_ + "/etc/qemu/autostart/vm1.xml"));
    EXPECT_EQ(testing::ReadFileRaw(root_ + "/lib/snapshot/vm2/s1.xml").substr(0, 16), "<domainsnapshot>");
    EXPECT_FALSE(testing::Exists(root_ + "/lib/snapshot/vm1"));
    EXPECT_EQ(testing::ReadFileRaw(root_ + "/lib/images/vm2.qcow2").size(), 64u * 1024);
    struct stat st;
    ASSERT_EQ(::lstat((root_ + "/run/vm2.sock").c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    for (const auto& [p, v] : Snapshot(root_)) EXPECT_EQ(p.find(".fstx-"), std::string::npos) << p;
  }

  TempDir dir_;
  std::string root_;
  TreeImage pre_;
};

TEST_F(EngineTest, VmRenameCommitsAndIsRecordedDone) {
  {
    auto j = OpenJournal();
    ASSERT_TRUE(j);
    Transaction tx = j->Begin("rename vm1 to vm2");
    testing::AddVmRename(tx, root_);
    EXPECT_EQ(tx.size(), 7u);
    Status s = tx.Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectPost();
    EXPECT_EQ(tx.Commit().code(), Code::kInvalidArgument) << "a transaction commits once";
  }
  std::vector<TxRecord> active, history;
  Records(&active, &history);
  EXPECT_TRUE(active.empty());
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].state, TxState::kDone);
  EXPECT_EQ(history[0].label, "rename vm1 to vm2");
  EXPECT_EQ(history[0].intents.size(), 7u);
}

// Finished transactions go to history eight at a time (each recorded
// `committed` in the meantime), or all at once on Flush: tx k's staging
// deletions are synced by tx k+1's barrier, so at the 10th commit txs 1-8
// are ready and move together.
TEST_F(EngineTest, CompletionsMoveToHistoryInBatches) {
  auto j = OpenJournal();
  ASSERT_TRUE(j);
  std::vector<size_t> finished;
  for (int i = 1; i <= 10; ++i) {
    const std::string v = "v" + std::to_string(i);
    ASSERT_TRUE(j->Begin("w" + std::to_string(i)).WriteFile(root_ + "/etc/qemu/vm1.xml", v).Commit().ok());
    TxList list;
    ASSERT_TRUE(j->inspector().List(true, &list).ok());
    finished.push_back(list.finished.size());
    EXPECT_EQ(list.unfinished.size() + list.finished.size(), static_cast<size_t>(i));
    for (const auto& r : list.unfinished) {
      if (r.id + 1 < static_cast<uint64_t>(i)) {
        EXPECT_EQ(r.state, TxState::kCommitted) << r.label;
      }
    }
  }
  EXPECT_EQ(finished, (std::vector<size_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 8}));
  ASSERT_TRUE(j->Flush().ok());
  TxList list;
  ASSERT_TRUE(j->inspector().List(true, &list).ok());
  EXPECT_TRUE(list.unfinished.empty());
  EXPECT_EQ(list.finished.size(), 10u);
  for (const auto& r : list.finished) EXPECT_EQ(r.state, TxState::kDone) << r.label;
}

TEST_F(EngineTest, CompletionRidesOnTheNextJournalWrite) {
  auto j = OpenJournal();
  ASSERT_TRUE(j);
  ASSERT_TRUE(j->Begin("a").WriteFile(root_ + "/etc/qemu/vm1.xml", "v2").Commit().ok());
  // The second commit's prepare carries the first one's completion; its
  // final barrier syncs the same directory, so the first becomes done.
  ASSERT_TRUE(j->Begin("b").WriteFile(root_ + "/etc/qemu/vm1.xml", "v3").Commit().ok());
  ASSERT_TRUE(j->Begin("c").Mkdir(root_ + "/lib/x").Commit().ok());
  j.reset();
  std::vector<TxRecord> active, history;
  Records(&active, &history);
  EXPECT_TRUE(active.empty());
  ASSERT_EQ(history.size(), 3u);
  for (const auto& r : history) EXPECT_EQ(r.state, TxState::kDone) << r.label;
  EXPECT_EQ(testing::ReadFileRaw(root_ + "/etc/qemu/vm1.xml"), "v3");
}

// The tree is exactly as before when op k of n fails, for every k, and
// also when a directory barrier fails.
TEST_F(EngineTest, RollbackWhenAnyStepFails) {
  std::set<std::string> failed_ops;
  int staging_failures = 0;
  int n = 1;
  for (;; ++n) {
    TempDir d;
    const std::string root = d / "root";
    testing::MkdirRaw(root);
    testing::BuildVmTree(root);
    const TreeImage pre = Snapshot(root);
    auto posix = PosixFs::Open({root});
    ASSERT_TRUE(posix.ok());
    testing::FailNthFs failing(posix.value().get(), n, /*count_syncs=*/true);
    Options o;
    o.dir = d / "journal";
    o.roots = {root};
    o.fs = &failing;
    Status s;
    {
      auto j = Journal::Open(o);
      ASSERT_TRUE(j.ok()) << j.status().ToString();
      Transaction tx = j->Begin("vm rename");
      testing::AddVmRename(tx, root);
      s = tx.Commit();
    }
    if (s.ok()) break;
    EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
    if (s.message().find("staging directory") != std::string::npos) {
      // Creating a staging directory comes before the journal: nothing
      // was journaled or changed.
      EXPECT_EQ(Snapshot(root), pre) << testing::Diff(pre, Snapshot(root));
      ++staging_failures;
      continue;
    }
    EXPECT_NE(s.message().find("rolled back"), std::string::npos) << s.message();
    auto pos = s.message().find("op ");
    if (pos != std::string::npos) failed_ops.insert(s.message().substr(pos, 4));
    EXPECT_EQ(Snapshot(root), pre) << "failure " << n << ": " << s.ToString() << "\n"
                                   << testing::Diff(pre, Snapshot(root));
    auto st = JournalStore::Open({.dir = d / "journal", .read_only = true});
    ASSERT_TRUE(st.ok());
    std::vector<TxRecord> active, history;
    std::vector<BadRecord> bad;
    ASSERT_TRUE(st.value()->ListActive(&active, &bad).ok());
    ASSERT_TRUE(st.value()->ListHistory(&history, &bad).ok());
    EXPECT_TRUE(active.empty());
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].state, TxState::kAborted);
    EXPECT_NE(history[0].note.find("injected"), std::string::npos);
  }
  EXPECT_GE(n, 15) << "the workload has at least 15 mutating steps and barriers";
  EXPECT_EQ(staging_failures, 2) << "the staging directory's mkdir and the sync of its parent";
  EXPECT_EQ(failed_ops.size(), 7u) << "a failure in each of the 7 ops was rolled back";
}

TEST_F(EngineTest, InvalidTransactionJournalsAndChangesNothing) {
  {
    auto j = OpenJournal();
    ASSERT_TRUE(j);
    Transaction tx = j->Begin("bad");
    tx.Rename(root_ + "/etc/qemu/vm1.xml", root_ + "/etc/qemu/vm2.xml")
        .Rename(root_ + "/lib/images/vm1.qcow2", root_ + "/lib/images/vm2.qcow2")
        .Rename(root_ + "/lib/images/missing", root_ + "/lib/images/other");
    EXPECT_EQ(tx.Validate().code(), Code::kNotFound);
    Status s = tx.Commit();
    EXPECT_EQ(s.code(), Code::kNotFound);
    EXPECT_NE(s.message().find("op 3"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("/lib/images/missing"), std::string::npos) << s.message();
    Status out = j->Begin("escape").Remove(root_ + "/../etc").Commit();
    EXPECT_EQ(out.code(), Code::kInvalidArgument) << out.ToString();
  }
  EXPECT_EQ(Snapshot(root_), pre_);
  std::vector<TxRecord> active, history;
  Records(&active, &history);
  EXPECT_TRUE(active.empty());
  EXPECT_TRUE(history.empty());
}

// Renaming a directory and then writing inside it needs a barrier between
// the two; independent ops share the final one, each directory once.
TEST_F(EngineTest, BarriersOnlyBetweenDependentOps) {
  auto posix = PosixFs::Open({root_});
  ASSERT_TRUE(posix.ok());
  testing::CallLogFs log(posix.value().get());
  auto j = OpenJournal(&log);
  ASSERT_TRUE(j);
  Transaction tx = j->Begin("dir then inside");
  tx.Rename(root_ + "/lib/snapshot/vm1", root_ + "/lib/snapshot/vm2")
      .WriteFile(root_ + "/lib/snapshot/vm2/s1.xml", "<s1/>")
      .Rename(root_ + "/lib/images/vm1.qcow2", root_ + "/lib/images/vm2.qcow2");
  ASSERT_TRUE(tx.Commit().ok());
  auto calls = log.log();
  auto index_of = [&](const std::string& prefix) {
    for (size_t i = 0; i < calls.size(); ++i)
      if (calls[i].rfind(prefix, 0) == 0) return static_cast<long>(i);
    return -1L;
  };
  long dir_rename = index_of("rename " + root_ + "/lib/snapshot/vm1");
  long create = index_of("create " + root_ + "/.fstx/.fstx-");
  long barrier = index_of("syncdir " + root_ + "/lib/snapshot");
  ASSERT_GE(dir_rename, 0);
  EXPECT_GT(barrier, dir_rename);
  EXPECT_LT(barrier, create) << "the dir rename is durable before writing inside it";
  // After the write: the final barrier syncs each dirty directory once.
  std::map<std::string, int> final_syncs;
  for (size_t i = static_cast<size_t>(create); i < calls.size(); ++i)
    if (calls[i].rfind("syncdir ", 0) == 0) ++final_syncs[calls[i]];
  EXPECT_EQ(final_syncs.size(), 3u);  // snapshot/vm2, images and the staging directory
  for (const auto& [c, count] : final_syncs) EXPECT_EQ(count, 1) << c;
}

TEST_F(EngineTest, OverlappingTransactionsDoNotRunAtOnce) {
  auto posix = PosixFs::Open({root_});
  ASSERT_TRUE(posix.ok());
  std::mutex mu;
  std::condition_variable cv;
  bool blocked = false, release = false;
  testing::HookFs gate(posix.value().get(), [&](const char* call, const std::string&) {
    if (std::string(call) != "rename") return Status();
    std::unique_lock<std::mutex> l(mu);
    if (!blocked) {
      blocked = true;
      cv.notify_all();
      cv.wait(l, [&] { return release; });
    }
    return Status();
  });
  auto j = OpenJournal(&gate);
  ASSERT_TRUE(j);
  Status first;
  std::thread t([&] {
    first = j->Begin("slow").Rename(root_ + "/lib/snapshot/vm1", root_ + "/lib/snapshot/vm2").Commit();
  });
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return blocked; });
  }
  Status second = j->Begin("overlap").WriteFile(root_ + "/lib/snapshot/vm1/s1.xml", "x").Commit();
  EXPECT_EQ(second.code(), Code::kBusy) << second.ToString();
  EXPECT_NE(second.message().find("slow"), std::string::npos) << second.message();
  Status other = j->Begin("disjoint").WriteFile(root_ + "/etc/qemu/vm1.xml", "y").Commit();
  EXPECT_TRUE(other.ok()) << other.ToString();
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  t.join();
  EXPECT_TRUE(first.ok()) << first.ToString();
}

TEST_F(EngineTest, OneWriterProcessPerJournal) {
  auto j = OpenJournal();
  ASSERT_TRUE(j);
  auto second = Journal::Open(Opts());
  EXPECT_EQ(second.status().code(), Code::kBusy) << second.status().ToString();
}

TEST_F(EngineTest, RootsAreChecked) {
  Options o = Opts();
  o.roots = {dir_ / "no-such-root"};
  auto j = Journal::Open(o);
  EXPECT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("no-such-root"), std::string::npos) << j.status().ToString();
  o.roots = {};
  EXPECT_EQ(Journal::Open(o).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace fstx
