// Tests for journal/store.{h,cc} under hostile conditions: foreign LMDB
// environments, corrupt values planted with the raw LMDB API, map growth,
// commit hooks (the fault-injection seam), concurrent threads, and a map
// grown by another process.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "journal/codec.h"
#include "journal/store.h"
#include "tests/testutil.h"

namespace fstx {
namespace {

using fstx::testing::TempDir;

std::string Key(uint64_t id) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; i--, id >>= 8) k[static_cast<size_t>(i)] = static_cast<char>(id & 0xff);
  return k;
}

// Direct LMDB access, used only while no JournalStore of this process has
// the environment open (one environment per process).
class RawEnv {
 public:
  explicit RawEnv(const std::string& dir) {
    EXPECT_EQ(mdb_env_create(&env_), 0);
    mdb_env_set_maxdbs(env_, 8);
    mdb_env_set_mapsize(env_, 1 << 20);
    EXPECT_EQ(mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0600), 0);
  }
  ~RawEnv() { mdb_env_close(env_); }
  // db == nullptr: the unnamed main database.
  void Put(const char* db, const std::string& k, const std::string& v) {
    MDB_txn* txn;
    ASSERT_EQ(mdb_txn_begin(env_, nullptr, 0, &txn), 0);
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
    MDB_val kk{k.size(), const_cast<char*>(k.data())}, vv{v.size(), const_cast<char*>(v.data())};
    ASSERT_EQ(mdb_put(txn, dbi, &kk, &vv, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
  }
  std::string Get(const char* db, const std::string& k) {
    MDB_txn* txn;
    EXPECT_EQ(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), 0);
    MDB_dbi dbi;
    std::string out = "<none>";
    if (mdb_dbi_open(txn, db, 0, &dbi) == 0) {
      MDB_val kk{k.size(), const_cast<char*>(k.data())}, vv;
      if (mdb_get(txn, dbi, &kk, &vv) == 0) out.assign(static_cast<char*>(vv.mv_data), vv.mv_size);
    }
    mdb_txn_abort(txn);
    return out;
  }

 private:
  MDB_env* env_ = nullptr;
};

TxRecord Rec(const std::string& label, size_t data_bytes = 0) {
  TxRecord r;
  r.label = label;
  Intent in;
  in.kind = OpKind::kWriteFile;
  in.path = "/srv/" + label;
  in.data = std::string(data_bytes, 'd');
  r.intents.push_back(in);
  return r;
}

class StoreRobustnessTest : public ::testing::Test {
 protected:
  StoreOptions Opts(bool read_only = false) const {
    StoreOptions o;
    o.dir = tmp_ / "journal";
    o.read_only = read_only;
    return o;
  }
  void MakeDir() { fstx::testing::MkdirRaw(Opts().dir, 0700); }
  TempDir tmp_;
};

TEST_F(StoreRobustnessTest, ForeignEnvironmentIsRefusedAndUntouched) {
  MakeDir();
  { RawEnv(Opts().dir).Put("other", "k", "precious"); }
  std::string before = fstx::testing::ReadFileRaw(Opts().dir + "/data.mdb");
  for (bool ro : {false, true}) {
    auto r = JournalStore::Open(Opts(ro));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorruption);
    EXPECT_NE(r.status().message().find(Opts().dir + " is not an fstx journal"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(fstx::testing::ReadFileRaw(Opts().dir + "/data.mdb"), before);
  RawEnv raw(Opts().dir);
  EXPECT_EQ(raw.Get("other", "k"), "precious");
  EXPECT_EQ(raw.Get(nullptr, "meta"), "<none>");
}

TEST_F(StoreRobustnessTest, PlainUnnamedDatabaseIsForeign) {
  MakeDir();
  { RawEnv(Opts().dir).Put(nullptr, "hello", "world"); }
  auto r = JournalStore::Open(Opts());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  RawEnv raw(Opts().dir);
  EXPECT_EQ(raw.Get(nullptr, "hello"), "world");
}

TEST_F(StoreRobustnessTest, WrongMetaMagicIsForeign) {
  MakeDir();
  { RawEnv(Opts().dir).Put("meta", "magic", "someone-else"); }
  std::string before = fstx::testing::ReadFileRaw(Opts().dir + "/data.mdb");
  auto r = JournalStore::Open(Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("someone-else"), std::string::npos) << r.status().message();
  EXPECT_EQ(fstx::testing::ReadFileRaw(Opts().dir + "/data.mdb"), before);
  RawEnv raw(Opts().dir);
  EXPECT_EQ(raw.Get("meta", "magic"), "someone-else");
  EXPECT_EQ(raw.Get("meta", "next_id"), "<none>");
}

TEST_F(StoreRobustnessTest, NewerFormatIsNotSupported) {
  { ASSERT_TRUE(JournalStore::Open(Opts()).ok()); }
  { RawEnv(Opts().dir).Put("meta", "format", std::string("\0\0\0\5", 4)); }
  for (bool ro : {false, true}) {
    auto r = JournalStore::Open(Opts(ro));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kNotSupported);
    EXPECT_NE(r.status().message().find("format version 5"), std::string::npos)
        << r.status().message();
  }
}

// An older journal (format 1, 2 or 3) opens as it is; a read-only open leaves
// meta/format alone, the first write sets it to the current version
// (FORMAT.md section 7), and its records stay readable.
TEST_F(StoreRobustnessTest, OlderFormatIsUpgradedByTheFirstWrite) {
  for (char old : {'\1', '\2', '\3'}) {
    ::system(("rm -rf '" + Opts().dir + "'").c_str());
    MakeDir();
    {
      auto s = JournalStore::Open(Opts());
      ASSERT_TRUE(s.ok());
      WriteBatch b;
      b.put_active = {Rec("kept")};
      ASSERT_TRUE(s.value()->Write(&b).ok());
    }
    const std::string was = std::string("\0\0\0", 3) + old;
    { RawEnv(Opts().dir).Put("meta", "format", was); }
    {
      auto ro = JournalStore::Open(Opts(true));
      ASSERT_TRUE(ro.ok()) << ro.status().ToString();
      std::vector<TxRecord> recs;
      ASSERT_TRUE(ro.value()->ListActive(&recs, nullptr).ok());
      ASSERT_EQ(recs.size(), 1u);
      EXPECT_EQ(recs[0].label, "kept");
    }
    EXPECT_EQ(RawEnv(Opts().dir).Get("meta", "format"), was) << "a read-only open changes nothing";
    {
      auto s = JournalStore::Open(Opts());
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      WriteBatch b;
      b.put_active = {Rec("new")};
      ASSERT_TRUE(s.value()->Write(&b).ok());
    }
    EXPECT_EQ(RawEnv(Opts().dir).Get("meta", "format"), std::string("\0\0\0\4", 4));
  }
}

TEST_F(StoreRobustnessTest, CorruptValuesAreReportedNotReturned) {
  {
    auto s = JournalStore::Open(Opts());
    ASSERT_TRUE(s.ok());
    WriteBatch b;
    b.put_active = {Rec("one"), Rec("two"), Rec("three")};
    ASSERT_TRUE(s->Write(&b).ok());
    WriteBatch h;
    h.to_history = {Rec("h1")};
    h.to_history[0].id = 50;
    ASSERT_TRUE(s->Write(&h).ok());
  }
  {
    RawEnv raw(Opts().dir);
    std::string flipped = raw.Get("active", Key(2));
    flipped[flipped.size() - 1] ^= 1;
    raw.Put("active", Key(2), flipped);
    raw.Put("active", "odd", "not even a record");
    raw.Put("history", Key(40), "garbage");
  }
  auto s = JournalStore::Open(Opts());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<TxRecord> out;
  std::vector<BadRecord> bad;
  ASSERT_TRUE(s->ListActive(&out, &bad).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].label, "one");
  EXPECT_EQ(out[1].label, "three");
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0].table, "active");
  EXPECT_EQ(bad[0].id, 2u);
  EXPECT_EQ(bad[0].status.code(), Code::kCorruption);
  EXPECT_NE(bad[0].status.message().find("checksum mismatch"), std::string::npos);
  EXPECT_EQ(bad[1].status.code(), Code::kCorruption);

  TxRecord got;
  Status gs = s->Get(2, &got, nullptr);
  EXPECT_EQ(gs.code(), Code::kCorruption);
  EXPECT_NE(gs.message().find("active record 2"), std::string::npos) << gs.message();

  // Pruning walks past the bad history entry without deleting it.
  StoreOptions none = Opts();
  s.value().reset();
  none.history_max_count = 0;
  s = JournalStore::Open(none);
  ASSERT_TRUE(s.ok());
  WriteBatch m;
  m.to_history = {out[0]};
  ASSERT_TRUE(s->Write(&m).ok());
  ASSERT_TRUE(s->ListHistory(&out, &bad).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].table, "history");
  EXPECT_EQ(bad[0].id, 40u);
}

// FORMAT.md: next_id is above every stored id. A value that is 0, the
// largest u64, not above an active or history id, or malformed means the
// journal lost records or is corrupt: every open refuses it, and nothing
// is written (no id is handed out twice).
TEST_F(StoreRobustnessTest, CorruptNextIdIsCorruptionAndIdsAreNeverReused) {
  {
    auto s = JournalStore::Open(Opts());
    ASSERT_TRUE(s.ok());
    WriteBatch b;
    b.put_active = {Rec("one"), Rec("two")};  // ids 1, 2
    ASSERT_TRUE(s->Write(&b).ok());
    WriteBatch h;
    h.to_history = {Rec("h")};
    h.to_history[0].id = 7;  // next_id becomes 8
    h.to_history[0].finished_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();  // not pruned by age
    ASSERT_TRUE(s->Write(&h).ok());
  }
  {
    RawEnv raw(Opts().dir);
    EXPECT_EQ(raw.Get("meta", "next_id"), Key(8));
    raw.Put("active", "odd", "a key that is not 8 bytes sorts last");
  }
  struct Case {
    std::string value, want;
  } cases[] = {
      {Key(0), "meta next_id is 0"},
      {Key(~0ull), "meta next_id is 18446744073709551615"},
      {Key(1), "meta next_id is 1, not above active record 2"},
      {Key(2), "meta next_id is 2, not above active record 2"},
      {Key(5), "meta next_id is 5, not above history record 7"},
      {Key(7), "meta next_id is 7, not above history record 7"},
      {std::string("\0\0\0\x09", 4), "meta next_id is missing or malformed"},
  };
  for (const Case& c : cases) {
    { RawEnv(Opts().dir).Put("meta", "next_id", c.value); }
    std::string before = fstx::testing::ReadFileRaw(Opts().dir + "/data.mdb");
    for (bool ro : {false, true}) {
      auto r = JournalStore::Open(Opts(ro));
      ASSERT_FALSE(r.ok()) << c.want;
      EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
      EXPECT_NE(r.status().message().find("journal " + Opts().dir + ": " + c.want),
                std::string::npos)
          << r.status().message();
    }
    EXPECT_EQ(fstx::testing::ReadFileRaw(Opts().dir + "/data.mdb"), before) << c.want;
  }
  { RawEnv(Opts().dir).Put("meta", "next_id", Key(8)); }
  auto s = JournalStore::Open(Opts());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  WriteBatch b;
  b.put_active = {Rec("three")};
  ASSERT_TRUE(s->Write(&b).ok());
  EXPECT_EQ(b.put_active[0].id, 8u);
}

// A record that does not decode is reported as corrupt, not counted for
// next_id; but its id is never handed out: the write that would reach it
// fails and the record stays as it was.
TEST_F(StoreRobustnessTest, IdOfACorruptRecordIsNeverHandedOut) {
  { ASSERT_TRUE(JournalStore::Open(Opts()).ok()); }  // next_id 1
  { RawEnv(Opts().dir).Put("active", Key(2), "FXTR not a record"); }
  auto s = JournalStore::Open(Opts());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  WriteBatch b;
  b.put_active = {Rec("one")};
  ASSERT_TRUE(s->Write(&b).ok());
  EXPECT_EQ(b.put_active[0].id, 1u);
  WriteBatch c;
  c.put_active = {Rec("two")};
  Status w = s->Write(&c);
  EXPECT_EQ(w.code(), Code::kCorruption) << w.ToString();
  EXPECT_NE(w.message().find("assign id 2: a stored active record already has it"),
            std::string::npos)
      << w.message();
  EXPECT_EQ(c.put_active[0].id, 0u);
  s.value().reset();
  EXPECT_EQ(RawEnv(Opts().dir).Get("active", Key(2)), "FXTR not a record");
}

TEST_F(StoreRobustnessTest, MapGrowsWhenFull) {
  StoreOptions o = Opts();
  o.initial_map_size = 64 << 10;
  auto s = JournalStore::Open(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  StoreStats st;
  ASSERT_TRUE(s->Stats(&st).ok());
  const uint64_t initial = st.map_size;
  for (int i = 0; i < 6; i++) {
    WriteBatch b;
    b.put_active = {Rec("big" + std::to_string(i), 200 << 10)};
    Status ws = s->Write(&b);
    ASSERT_TRUE(ws.ok()) << ws.ToString();
    EXPECT_EQ(b.put_active[0].id, static_cast<uint64_t>(i + 1));  // ids assigned once
  }
  WriteBatch multi;
  multi.put_active = {Rec("m1", 300 << 10), Rec("m2", 300 << 10), Rec("m3", 300 << 10)};
  ASSERT_TRUE(s->Write(&multi).ok());
  EXPECT_EQ(multi.put_active[2].id, 9u);
  ASSERT_TRUE(s->Stats(&st).ok());
  EXPECT_GT(st.map_size, initial);
  EXPECT_GE(st.map_size, st.used_bytes);
  EXPECT_GT(st.used_bytes, 2u << 20);
  EXPECT_EQ(st.next_id, 10u);
  std::vector<TxRecord> out;
  std::vector<BadRecord> bad;
  ASSERT_TRUE(s->ListActive(&out, &bad).ok());
  ASSERT_EQ(out.size(), 9u);
  EXPECT_EQ(out[8].intents[0].data.size(), 300u << 10);
  // Reopening with the small initial size still finds everything.
  s.value().reset();
  s = JournalStore::Open(o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->ListActive(&out, &bad).ok());
  EXPECT_EQ(out.size(), 9u);
}

TEST_F(StoreRobustnessTest, CommitHookBeforeErrorWritesNothing) {
  std::vector<std::string> points;
  bool fail_before = true;
  StoreOptions o = Opts();
  o.commit_hook = [&](std::string_view p) {
    points.emplace_back(p);
    if (fail_before && p == "journal.commit.before")
      return Status(Code::kIoError, "injected before");
    return Status::Ok();
  };
  auto s = JournalStore::Open(o);
  ASSERT_TRUE(s.ok());
  WriteBatch b;
  b.put_active = {Rec("lost")};
  Status ws = s->Write(&b);
  EXPECT_EQ(ws.code(), Code::kIoError);
  EXPECT_EQ(ws.message(), "injected before");
  EXPECT_EQ(b.put_active[0].id, 0u);  // the batch is as it was
  EXPECT_EQ(points, std::vector<std::string>{"journal.commit.before"});
  std::vector<TxRecord> out;
  std::vector<BadRecord> bad;
  ASSERT_TRUE(s->ListActive(&out, &bad).ok());
  EXPECT_TRUE(out.empty());
  StoreStats st;
  ASSERT_TRUE(s->Stats(&st).ok());
  EXPECT_EQ(st.next_id, 1u);  // no id consumed

  fail_before = false;
  points.clear();
  ASSERT_TRUE(s->Write(&b).ok());
  EXPECT_EQ(b.put_active[0].id, 1u);
  EXPECT_EQ(points, (std::vector<std::string>{"journal.commit.before", "journal.commit.after"}));
}

TEST_F(StoreRobustnessTest, CommitHookAfterErrorLeavesDataDurable) {
  StoreOptions o = Opts();
  o.commit_hook = [](std::string_view p) {
    return p == "journal.commit.after" ? Status(Code::kIoError, "injected after") : Status::Ok();
  };
  {
    auto s = JournalStore::Open(o);
    ASSERT_TRUE(s.ok());
    WriteBatch b;
    b.put_active = {Rec("kept")};
    EXPECT_EQ(s->Write(&b).code(), Code::kIoError);
    EXPECT_EQ(b.put_active[0].id, 1u);
  }
  auto s = JournalStore::Open(Opts(true));
  ASSERT_TRUE(s.ok());
  TxRecord got;
  ASSERT_TRUE(s->Get(1, &got, nullptr).ok());
  EXPECT_EQ(got.label, "kept");
}

TEST_F(StoreRobustnessTest, ConcurrentWritersAndReadersWhileMapGrows) {
  StoreOptions o = Opts();
  o.initial_map_size = 64 << 10;
  auto s = JournalStore::Open(o);
  ASSERT_TRUE(s.ok());
  JournalStore* store = s.value().get();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::vector<uint64_t>> ids(3);
  std::vector<std::thread> writers, readers;
  for (int w = 0; w < 3; w++) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 15; i++) {
        WriteBatch b;
        b.put_active = {Rec("w" + std::to_string(w), 40 << 10)};
        if (!store->Write(&b).ok()) failures++;
        ids[static_cast<size_t>(w)].push_back(b.put_active[0].id);
      }
    });
  }
  for (int r = 0; r < 2; r++) {
    readers.emplace_back([&] {
      while (!stop) {
        std::vector<TxRecord> out;
        std::vector<BadRecord> bad;
        if (!store->ListActive(&out, &bad).ok() || !bad.empty()) failures++;
        StoreStats st;
        if (!store->Stats(&st).ok()) failures++;
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures, 0);
  std::set<uint64_t> all;
  for (auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 45u);
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), 45u);
}

TEST_F(StoreRobustnessTest, ReaderAdoptsMapGrownByAnotherProcess) {
  StoreOptions o = Opts();
  o.initial_map_size = 64 << 10;
  { ASSERT_TRUE(JournalStore::Open(o).ok()); }
  StoreOptions ro = Opts(true);
  ro.initial_map_size = 64 << 10;
  auto reader = JournalStore::Open(ro);
  ASSERT_TRUE(reader.ok());
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    auto w = JournalStore::Open(o);
    if (!w.ok()) _exit(1);
    for (int i = 0; i < 8; i++) {
      WriteBatch b;
      b.put_active = {Rec("grow", 256 << 10)};
      if (!w->Write(&b).ok()) _exit(2);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  std::vector<TxRecord> out;
  std::vector<BadRecord> bad;
  Status ls = reader->ListActive(&out, &bad);
  ASSERT_TRUE(ls.ok()) << ls.ToString();
  EXPECT_EQ(out.size(), 8u);
  StoreStats st;
  ASSERT_TRUE(reader->Stats(&st).ok());
  EXPECT_GT(st.map_size, 2u << 20);
}

}  // namespace
}  // namespace fstx
