// Tests for journal/store.{h,cc}: the directory rules, the writer lock,
// and the Write / List / Get / Stats round trips on a real LMDB journal.
#include "journal/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "journal/codec.h"
#include "tests/testutil.h"

namespace fstx {
namespace {

using fstx::testing::TempDir;

TxRecord Rec(const std::string& label, const std::string& data = "") {
  TxRecord r;
  r.label = label;
  r.owner.pid = 123;
  r.owner.boot_id = "boot";
  r.created_us = 1000;
  Intent in;
  in.kind = OpKind::kWriteFile;
  in.path = "/srv/" + label;
  in.mode = 0644;
  in.data = data;
  r.intents.push_back(in);
  return r;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class StoreTest : public ::testing::Test {
 protected:
  StoreOptions Opts(bool read_only = false) const {
    StoreOptions o;
    o.dir = tmp_ / "journal";
    o.read_only = read_only;
    return o;
  }
  std::unique_ptr<JournalStore> OpenOk(const StoreOptions& o) {
    auto r = JournalStore::Open(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r.value()) : nullptr;
  }
  std::vector<TxRecord> Active(JournalStore* s) {
    std::vector<TxRecord> out;
    std::vector<BadRecord> bad;
    EXPECT_TRUE(s->ListActive(&out, &bad).ok());
    EXPECT_TRUE(bad.empty());
    return out;
  }
  std::vector<TxRecord> History(JournalStore* s) {
    std::vector<TxRecord> out;
    std::vector<BadRecord> bad;
    EXPECT_TRUE(s->ListHistory(&out, &bad).ok());
    EXPECT_TRUE(bad.empty());
    return out;
  }
  TempDir tmp_;
};

TEST_F(StoreTest, CreatesDirectoryTreeWithMode0700) {
  StoreOptions o = Opts();
  o.dir = tmp_ / "a/b/journal";
  auto store = OpenOk(o);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->dir(), o.dir);
  EXPECT_EQ(fstx::testing::Mode(o.dir), 0700u);
  EXPECT_TRUE(fstx::testing::Exists(o.dir + "/data.mdb"));
  EXPECT_TRUE(fstx::testing::Exists(o.dir + "/lock.mdb"));
  EXPECT_EQ(fstx::testing::ReadFileRaw(o.dir + "/writer.lock"), std::to_string(getpid()) + "\n");
  EXPECT_EQ(fstx::testing::Mode(o.dir + "/writer.lock"), 0600u);
  StoreStats st;
  ASSERT_TRUE(store->Stats(&st).ok());
  EXPECT_EQ(st.next_id, 1u);
  EXPECT_EQ(st.format_version, kFormatVersion);
  EXPECT_EQ(st.active, 0u);
  EXPECT_EQ(st.history, 0u);
}

TEST_F(StoreTest, RefusesGroupOrWorldWritableDirectory) {
  for (mode_t mode : {mode_t{0777}, mode_t{0770}, mode_t{0702}}) {
    std::string dir = tmp_ / ("j" + std::to_string(mode));
    fstx::testing::MkdirRaw(dir, 0700);
    ASSERT_EQ(::chmod(dir.c_str(), mode), 0);
    StoreOptions o = Opts();
    o.dir = dir;
    auto r = JournalStore::Open(o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kPermission);
    EXPECT_NE(r.status().message().find(dir), std::string::npos) << r.status().message();
    char octal[8];
    snprintf(octal, sizeof octal, "0%o", static_cast<unsigned>(mode));
    EXPECT_NE(r.status().message().find(octal), std::string::npos) << r.status().message();
    EXPECT_FALSE(fstx::testing::Exists(dir + "/data.mdb"));
    EXPECT_FALSE(fstx::testing::Exists(dir + "/writer.lock"));
    o.read_only = true;
    EXPECT_EQ(JournalStore::Open(o).status().code(), Code::kPermission);
  }
}

TEST_F(StoreTest, RefusesSymlinkedDirectory) {
  fstx::testing::MkdirRaw(tmp_ / "real", 0700);
  ASSERT_EQ(::symlink((tmp_ / "real").c_str(), (tmp_ / "journal").c_str()), 0);
  auto r = JournalStore::Open(Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermission);
  EXPECT_NE(r.status().message().find("symlink"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fstx::testing::Exists(tmp_ / "real/data.mdb"));
}

TEST_F(StoreTest, RefusesRelativePath) {
  StoreOptions o;
  o.dir = "relative/journal";
  EXPECT_EQ(JournalStore::Open(o).status().code(), Code::kInvalidArgument);
}

TEST_F(StoreTest, ReadOnlyOpenOfMissingJournal) {
  auto r = JournalStore::Open(Opts(true));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("no fstx journal at " + Opts().dir), std::string::npos);
  EXPECT_FALSE(fstx::testing::Exists(Opts().dir));
  // An existing but empty directory: still not found, and left empty.
  fstx::testing::MkdirRaw(Opts().dir, 0700);
  EXPECT_EQ(JournalStore::Open(Opts(true)).status().code(), Code::kNotFound);
  EXPECT_FALSE(fstx::testing::Exists(Opts().dir + "/lock.mdb"));
}

TEST_F(StoreTest, WriteListGetRoundTrip) {
  auto store = OpenOk(Opts());
  ASSERT_TRUE(store);
  WriteBatch b;
  b.put_active = {Rec("one", std::string("a\0b", 3)), Rec("two")};
  ASSERT_TRUE(store->Write(&b).ok());
  EXPECT_EQ(b.put_active[0].id, 1u);
  EXPECT_EQ(b.put_active[1].id, 2u);
  auto active = Active(store.get());
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(EncodeRecord(active[0]), EncodeRecord(b.put_active[0]));
  EXPECT_EQ(EncodeRecord(active[1]), EncodeRecord(b.put_active[1]));

  TxRecord got;
  bool in_history = true;
  ASSERT_TRUE(store->Get(2, &got, &in_history).ok());
  EXPECT_FALSE(in_history);
  EXPECT_EQ(got.label, "two");
  Status s = store->Get(99, &got, &in_history);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("99"), std::string::npos);

  // Overwrite in place: same id, new state.
  WriteBatch upd;
  upd.put_active = {active[0]};
  upd.put_active[0].state = TxState::kCommitted;
  ASSERT_TRUE(store->Write(&upd).ok());
  EXPECT_EQ(upd.put_active[0].id, 1u);
  ASSERT_TRUE(store->Get(1, &got, nullptr).ok());
  EXPECT_EQ(got.state, TxState::kCommitted);
  EXPECT_EQ(Active(store.get()).size(), 2u);
  WriteBatch empty;
  EXPECT_TRUE(store->Write(&empty).ok());
}

TEST_F(StoreTest, IdsIncreaseAcrossReopen) {
  uint64_t last = 0;
  for (int round = 0; round < 3; round++) {
    auto store = OpenOk(Opts());
    ASSERT_TRUE(store);
    for (int i = 0; i < 3; i++) {
      WriteBatch b;
      b.put_active = {Rec("r")};
      ASSERT_TRUE(store->Write(&b).ok());
      EXPECT_GT(b.put_active[0].id, last);
      last = b.put_active[0].id;
      if (i == 0) {  // finished transactions do not give their id back
        WriteBatch done;
        done.to_history = {b.put_active[0]};
        ASSERT_TRUE(store->Write(&done).ok());
      }
    }
    StoreStats st;
    ASSERT_TRUE(store->Stats(&st).ok());
    EXPECT_EQ(st.next_id, last + 1);
  }
  EXPECT_EQ(last, 9u);
}

TEST_F(StoreTest, CallerChosenIdIsNeverReissued) {
  auto store = OpenOk(Opts());
  ASSERT_TRUE(store);
  WriteBatch b;
  b.put_active = {Rec("fixed")};
  b.put_active[0].id = 10;
  ASSERT_TRUE(store->Write(&b).ok());
  WriteBatch c;
  c.put_active = {Rec("auto")};
  ASSERT_TRUE(store->Write(&c).ok());
  EXPECT_EQ(c.put_active[0].id, 11u);
  WriteBatch h;
  h.to_history = {Rec("imported")};
  h.to_history[0].id = 20;
  h.to_history[0].finished_us = NowUs();
  ASSERT_TRUE(store->Write(&h).ok());
  WriteBatch d;
  d.put_active = {Rec("next")};
  ASSERT_TRUE(store->Write(&d).ok());
  EXPECT_EQ(d.put_active[0].id, 21u);
}

TEST_F(StoreTest, ToHistoryMovesAndDropForgets) {
  auto store = OpenOk(Opts());
  ASSERT_TRUE(store);
  WriteBatch b;
  b.put_active = {Rec("a"), Rec("b"), Rec("c")};
  ASSERT_TRUE(store->Write(&b).ok());

  WriteBatch fin;
  fin.to_history = {b.put_active[0]};
  fin.to_history[0].state = TxState::kDone;
  fin.to_history[0].finished_us = NowUs();
  fin.drop_active = {b.put_active[2].id, 12345};  // unknown ids are ignored
  ASSERT_TRUE(store->Write(&fin).ok());

  auto active = Active(store.get());
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].label, "b");
  auto hist = History(store.get());
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0].label, "a");
  EXPECT_EQ(hist[0].state, TxState::kDone);
  TxRecord got;
  bool in_history = false;
  ASSERT_TRUE(store->Get(b.put_active[0].id, &got, &in_history).ok());
  EXPECT_TRUE(in_history);
  EXPECT_EQ(store->Get(b.put_active[2].id, &got, &in_history).code(), Code::kNotFound);
  StoreStats st;
  ASSERT_TRUE(store->Stats(&st).ok());
  EXPECT_EQ(st.active, 1u);
  EXPECT_EQ(st.history, 1u);

  WriteBatch noid;
  noid.to_history = {Rec("x")};
  EXPECT_EQ(store->Write(&noid).code(), Code::kInvalidArgument);
}

// A full history is pruned a sixteenth below its bound at once (not one
// record per write): 32 -> 30, then it grows back to 32 before the next.
TEST_F(StoreTest, FullHistoryPrunedInSteps) {
  StoreOptions o = Opts();
  o.history_max_count = 32;
  auto store = OpenOk(o);
  ASSERT_TRUE(store);
  std::vector<size_t> sizes;
  for (int i = 0; i < 40; i++) {
    WriteBatch b;
    b.to_history = {Rec("t" + std::to_string(i))};
    b.to_history[0].id = static_cast<uint64_t>(i + 1);
    b.to_history[0].finished_us = NowUs();
    ASSERT_TRUE(store->Write(&b).ok());
    sizes.push_back(History(store.get()).size());
  }
  for (size_t i = 0; i < 32; i++) EXPECT_EQ(sizes[i], i + 1);
  EXPECT_EQ(sizes[32], 30u);  // 33 > 32: pruned to 30
  EXPECT_EQ(sizes[33], 31u);
  EXPECT_EQ(sizes[34], 32u);
  EXPECT_EQ(sizes[35], 30u);
  for (size_t n : sizes) EXPECT_LE(n, 32u);
  auto hist = History(store.get());
  EXPECT_EQ(hist.back().id, 40u);
}

TEST_F(StoreTest, HistoryPrunedByCount) {
  StoreOptions o = Opts();
  o.history_max_count = 3;
  auto store = OpenOk(o);
  ASSERT_TRUE(store);
  for (int i = 0; i < 6; i++) {
    WriteBatch b;
    b.put_active = {Rec("t" + std::to_string(i))};
    ASSERT_TRUE(store->Write(&b).ok());
    WriteBatch f;
    f.to_history = {b.put_active[0]};
    f.to_history[0].state = TxState::kAborted;
    f.to_history[0].finished_us = NowUs();
    ASSERT_TRUE(store->Write(&f).ok());
  }
  auto hist = History(store.get());
  ASSERT_EQ(hist.size(), 3u);
  EXPECT_EQ(hist[0].id, 4u);
  EXPECT_EQ(hist[2].id, 6u);

  // A reopened store with a lower bound prunes on its first move.
  store.reset();
  o.history_max_count = 1;
  store = OpenOk(o);
  ASSERT_TRUE(store);
  WriteBatch b;
  b.put_active = {Rec("last")};
  ASSERT_TRUE(store->Write(&b).ok());
  WriteBatch f;
  f.to_history = {b.put_active[0]};
  f.to_history[0].finished_us = NowUs();
  ASSERT_TRUE(store->Write(&f).ok());
  hist = History(store.get());
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0].label, "last");

  store.reset();
  o.history_max_count = 0;  // keep none
  store = OpenOk(o);
  ASSERT_TRUE(store);
  f.to_history[0].id = 100;
  ASSERT_TRUE(store->Write(&f).ok());
  EXPECT_TRUE(History(store.get()).empty());
}

TEST_F(StoreTest, HistoryPrunedByAge) {
  const int64_t hour_us = 3600ll * 1000000;
  StoreOptions keep_all = Opts();
  keep_all.history_max_age_s = 1000 * 86400;
  {
    auto store = OpenOk(keep_all);
    ASSERT_TRUE(store);
    WriteBatch f;
    for (uint64_t id : {1, 2}) {
      TxRecord r = Rec("old" + std::to_string(id));
      r.id = id;
      r.finished_us = NowUs() - 5 * hour_us;
      f.to_history.push_back(r);
    }
    ASSERT_TRUE(store->Write(&f).ok());
    EXPECT_EQ(History(store.get()).size(), 2u);
  }
  StoreOptions o = Opts();
  o.history_max_age_s = 3600;
  auto store = OpenOk(o);
  ASSERT_TRUE(store);
  // Pruning walks from the oldest id: both 5 h old entries go, and a
  // just-written old one before the fresh one.
  WriteBatch f;
  TxRecord fresh = Rec("fresh");
  fresh.id = 11;
  fresh.finished_us = NowUs();
  TxRecord stale = Rec("stale");
  stale.id = 10;
  stale.finished_us = NowUs() - 2 * hour_us;
  f.to_history = {fresh, stale};
  ASSERT_TRUE(store->Write(&f).ok());
  auto hist = History(store.get());
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0].label, "fresh");
  // The walk stops at the first record young enough: an old record behind
  // a young one waits for it (no walk over the whole history per commit).
  WriteBatch g;
  TxRecord later = Rec("later");
  later.id = 12;
  later.finished_us = NowUs() - 61 * 60 * 1000000ll;
  TxRecord keep = Rec("keep");
  keep.id = 13;
  keep.finished_us = NowUs() - 59 * 60 * 1000000ll;
  g.to_history = {later, keep};
  ASSERT_TRUE(store->Write(&g).ok());
  hist = History(store.get());
  ASSERT_EQ(hist.size(), 3u);
  EXPECT_EQ(hist[0].label, "fresh");
  EXPECT_EQ(hist[1].label, "later");
  EXPECT_EQ(hist[2].label, "keep");
}

TEST_F(StoreTest, HistoryPrunedByBytes) {
  StoreOptions o = Opts();
  o.history_max_bytes = 64 * 1024;
  auto store = OpenOk(o);
  ASSERT_TRUE(store);
  for (uint64_t round = 0; round < 20; ++round) {
    WriteBatch b;
    for (uint64_t i = 0; i < 50; ++i) {
      TxRecord r = Rec(std::string(200, 'x'));
      r.id = round * 50 + i + 1;
      r.finished_us = NowUs();
      b.to_history.push_back(r);
    }
    ASSERT_TRUE(store->Write(&b).ok());
  }
  auto hist = History(store.get());
  // 1000 records of about 300 bytes do not fit in 64 KiB; the newest stay.
  EXPECT_LT(hist.size(), 400u);
  EXPECT_GT(hist.size(), 50u);
  EXPECT_EQ(hist.back().id, 1000u);
}

TEST_F(StoreTest, SecondOpenInSameProcessIsBusy) {
  auto store = OpenOk(Opts());
  ASSERT_TRUE(store);
  for (bool ro : {false, true}) {
    auto r = JournalStore::Open(Opts(ro));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kBusy);
    EXPECT_NE(r.status().message().find("pid " + std::to_string(getpid())), std::string::npos)
        << r.status().message();
  }
  // The refused opens did not disturb the open store.
  WriteBatch b;
  b.put_active = {Rec("still works")};
  EXPECT_TRUE(store->Write(&b).ok());
  store.reset();
  EXPECT_TRUE(JournalStore::Open(Opts()).ok());  // released on close
}

TEST_F(StoreTest, ReadOnlyStoreRefusesWrites) {
  { ASSERT_TRUE(OpenOk(Opts())); }
  auto ro = OpenOk(Opts(true));
  ASSERT_TRUE(ro);
  WriteBatch b;
  b.put_active = {Rec("x")};
  EXPECT_EQ(ro->Write(&b).code(), Code::kPermission);
  EXPECT_TRUE(Active(ro.get()).empty());
}

// Runs `fn` in a forked child (which opens its own store) and returns its
// exit code; the parent keeps its store open across the fork but never
// lets the child touch it.
template <class F>
int InChild(F fn) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST_F(StoreTest, OtherProcessMayWriteAndReadWhileAWriterHasItOpen) {
  auto store = OpenOk(Opts());
  ASSERT_TRUE(store);
  WriteBatch b;
  b.put_active = {Rec("committed")};
  ASSERT_TRUE(store->Write(&b).ok());
  int rc = InChild([&] {
    auto w = JournalStore::Open(Opts());
    if (!w.ok()) return 1;
    WriteBatch c;
    c.put_active = {Rec("from the child")};
    if (!(*w)->Write(&c).ok() || c.put_active[0].id == b.put_active[0].id) return 2;
    w.value().reset();
    auto r = JournalStore::Open(Opts(true));
    if (!r.ok()) return 3;
    std::vector<TxRecord> out;
    std::vector<BadRecord> bad;
    if (!r->ListActive(&out, &bad).ok() || out.size() != 2 || out[0].label != "committed") return 4;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST_F(StoreTest, ChildProcessWritesParentReads) {
  {
    auto store = OpenOk(Opts());
    ASSERT_TRUE(store);
    WriteBatch b;
    b.put_active = {Rec("parent")};
    ASSERT_TRUE(store->Write(&b).ok());
  }  // closed before fork: LMDB never crosses fork
  int rc = InChild([&] {
    auto w = JournalStore::Open(Opts());
    if (!w.ok()) return 1;
    WriteBatch b;
    b.put_active = {Rec("child")};
    if (!w->Write(&b).ok() || b.put_active[0].id != 2) return 2;
    return 0;
  });
  ASSERT_EQ(rc, 0);
  auto store = OpenOk(Opts(true));
  ASSERT_TRUE(store);
  auto active = Active(store.get());
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].label, "parent");
  EXPECT_EQ(active[1].label, "child");
  EXPECT_EQ(active[1].id, 2u);
}

TEST_F(StoreTest, InheritedStoreIsUnusableInChildAndHarmlessToDrop) {
  auto store = OpenOk(Opts());
  ASSERT_TRUE(store);
  WriteBatch b;
  b.put_active = {Rec("before fork")};
  ASSERT_TRUE(store->Write(&b).ok());
  int rc = InChild([&] {
    std::vector<TxRecord> out;
    std::vector<BadRecord> bad;
    Status ls = store->ListActive(&out, &bad);
    if (ls.code() != Code::kInvalidArgument || ls.message().find("fork") == std::string::npos)
      return 1;
    WriteBatch w;
    w.put_active = {Rec("from child")};
    if (store->Write(&w).code() != Code::kInvalidArgument) return 2;
    store.reset();  // must not close the parent's LMDB environment
    return 0;
  });
  EXPECT_EQ(rc, 0);
  WriteBatch after;
  after.put_active = {Rec("after fork")};
  ASSERT_TRUE(store->Write(&after).ok());
  EXPECT_EQ(after.put_active[0].id, 2u);
  EXPECT_EQ(Active(store.get()).size(), 2u);
}

}  // namespace
}  // namespace fstx
