// Tests for the files in the journal directory (journal/store_open.cc):
// data.mdb is checked before LMDB maps it (a truncated, garbage or
// bit-flipped file is kCorruption, never SIGBUS/SIGSEGV/abort inside LMDB),
// every file there is opened without following symlinks and refused unless
// it is a regular file (a FIFO must not hang an open), an unreadable journal
// is a permission error rather than "no journal", and meta next_id values
// that would reuse ids are corruption.
//
// Each open of a damaged journal runs in a fork()ed child: a crash there
// shows up as the signal that killed it instead of killing the test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "journal/store.h"
#include "tests/journal/lmdb_pages.h"
#include "tests/testutil.h"

namespace fstx {
namespace {

using fstx::testing::FirstLeaf;
using fstx::testing::NamedRoot;
using fstx::testing::ReadFileRaw;
using fstx::testing::TempDir;
using fstx::testing::WithBadPageNumber;
using fstx::testing::WriteFileRaw;

struct ChildResult {
  int signal = 0;      // the signal that killed the child, 0 if it exited
  std::string report;  // what the child wrote
  std::string Describe() const {
    return (signal ? "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")"
                   : std::string("exited")) +
           ": " + report;
  }
};

// Runs `fn` in a child process (killed after `timeout_s` seconds by
// SIGALRM) and returns what it reported.
ChildResult InChild(const std::function<std::string()>& fn, unsigned timeout_s = 20) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::close(fds[0]);
    ::alarm(timeout_s);
    std::string out = fn();
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ChildResult r;
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.report = report;
  return r;
}

// Opens the store and reads everything; "ok" or "<code>: <message>".
std::string OpenAndReadAll(const std::string& dir, bool read_only) {
  StoreOptions o;
  o.dir = dir;
  o.read_only = read_only;
  auto r = JournalStore::Open(o);
  if (!r.ok()) return r.status().ToString();
  std::vector<TxRecord> recs;
  std::vector<BadRecord> bad;
  Status s = (*r)->ListActive(&recs, &bad);
  if (s.ok()) s = (*r)->ListHistory(&recs, &bad);
  StoreStats st;
  if (s.ok()) s = (*r)->Stats(&st);
  TxRecord one;
  if (s.ok()) {
    Status g = (*r)->Get(3, &one, nullptr);
    if (!g.ok() && g.code() != Code::kNotFound) s = g;
  }
  if (s.ok() && !read_only) {
    WriteBatch b;
    TxRecord rec;
    rec.label = "after";
    b.put_active.push_back(rec);
    s = (*r)->Write(&b);
  }
  return s.ok() ? "ok" : s.ToString();
}

TxRecord Rec(const std::string& label, size_t data_bytes) {
  TxRecord r;
  r.label = label;
  r.owner.pid = 1;
  Intent in;
  in.kind = OpKind::kWriteFile;
  in.path = "/srv/" + label;
  in.data = std::string(data_bytes, 'x');
  r.intents.push_back(in);
  return r;
}

// A real journal: active records, history, small and overflow values.
void BuildJournal(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  auto store = JournalStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (int i = 0; i < 12; i++) {
    WriteBatch b;
    b.put_active.push_back(Rec("tx" + std::to_string(i), i % 3 == 0 ? 9000 : 200));
    ASSERT_TRUE((*store)->Write(&b).ok());
    if (i % 2 == 0) {
      WriteBatch h;
      TxRecord done = b.put_active[0];
      done.state = TxState::kDone;
      done.finished_us = 1;
      h.to_history.push_back(done);
      ASSERT_TRUE((*store)->Write(&h).ok());
    }
  }
}

class StoreFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    golden_ = tmp_ / "golden";
    BuildJournal(golden_);
    golden_data_ = ReadFileRaw(golden_ + "/data.mdb");
    ASSERT_GT(golden_data_.size(), 8 * 4096u);
  }
  // A fresh journal directory holding `data` as data.mdb.
  std::string WithData(const std::string& data) {
    std::string dir = tmp_ / ("j" + std::to_string(++n_));
    fstx::testing::MkdirRaw(dir, 0700);
    WriteFileRaw(dir + "/data.mdb", data, 0600);
    return dir;
  }
  // Both opens of `data` must fail with kCorruption naming data.mdb, with
  // no signal, and leave the file as it was.
  void ExpectCorrupt(const std::string& data, const std::string& what) {
    for (bool ro : {true, false}) {
      std::string dir = WithData(data);
      ChildResult r = InChild([&] { return OpenAndReadAll(dir, ro); });
      EXPECT_EQ(r.signal, 0) << what << (ro ? " read-only: " : " writer: ") << r.Describe();
      EXPECT_EQ(r.report.rfind("corruption: journal file " + dir + "/data.mdb is corrupt", 0), 0u)
          << what << (ro ? " read-only: " : " writer: ") << r.Describe();
      EXPECT_EQ(ReadFileRaw(dir + "/data.mdb"), data) << what << ": the file was changed";
    }
  }
  TempDir tmp_;
  std::string golden_, golden_data_;
  int n_ = 0;
};

TEST_F(StoreFileTest, GoldenJournalOpensCleanly) {
  for (bool ro : {true, false}) {
    std::string dir = WithData(golden_data_);
    ChildResult r = InChild([&] { return OpenAndReadAll(dir, ro); });
    EXPECT_EQ(r.signal, 0) << r.Describe();
    EXPECT_EQ(r.report, "ok") << r.Describe();
  }
}

TEST_F(StoreFileTest, TruncatedDataFileIsCorruptionNotACrash) {
  for (size_t cut : {size_t{100}, size_t{4096}, size_t{4096 + 200}, size_t{8192}, size_t{12288}}) {
    ExpectCorrupt(golden_data_.substr(0, cut), "truncated to " + std::to_string(cut));
  }
  // Longer cuts may only remove free pages: never a crash, either way.
  for (size_t cut = 16384; cut < golden_data_.size(); cut += 2048 + 3) {
    for (bool ro : {true, false}) {
      std::string dir = WithData(golden_data_.substr(0, cut));
      ChildResult r = InChild([&] { return OpenAndReadAll(dir, ro); });
      EXPECT_EQ(r.signal, 0) << "truncated to " << cut << ": " << r.Describe();
      EXPECT_TRUE(r.report == "ok" || r.report.find("data.mdb is corrupt") != std::string::npos)
          << "truncated to " << cut << ": " << r.Describe();
    }
  }
}

TEST_F(StoreFileTest, BrokenMetaPagesAreNamed) {
  auto patch = [&](size_t off, uint32_t v) {
    std::string d = golden_data_;
    std::memcpy(&d[off], &v, sizeof v);
    return d;
  };
  struct Case {
    std::string data, want;
  } cases[] = {
      {patch(16, 0x12345678), "meta page 0: magic 0x12345678"},
      {patch(4096 + 16, 0), "meta page 1: magic 0x0"},
      {patch(16 + 4, 7), "meta page 0: LMDB data version 7"},
      {patch(16 + 24, 3000), "meta page 0: page size 3000"},
      {patch(4096 + 16 + 24, 8192), "the meta pages disagree on the page size"},
      {patch(0, 5), "meta page 0: page number field is 5"},
  };
  for (const Case& c : cases) {
    ExpectCorrupt(c.data, c.want);
    std::string dir = WithData(c.data);
    ChildResult r = InChild([&] { return OpenAndReadAll(dir, true); });
    EXPECT_NE(r.report.find(c.want), std::string::npos) << r.Describe();
  }
}

TEST_F(StoreFileTest, NewestMetaPointingPastTheFileIsCorruption) {
  // The newest meta's last page and main root moved past EOF.
  for (size_t meta : {size_t{0}, size_t{4096}}) {
    std::string d = golden_data_;
    uint64_t far = golden_data_.size() / 4096 + 50;
    std::memcpy(&d[meta + 16 + 120], &far, 8);           // mm_last_pg
    std::memcpy(&d[meta + 16 + 24 + 48 + 40], &far, 8);  // main db root
    uint64_t txn = 1u << 30;
    std::memcpy(&d[meta + 16 + 128], &txn, 8);  // make it the newest
    ExpectCorrupt(d, "meta at " + std::to_string(meta));
  }
}

TEST_F(StoreFileTest, GarbageFilesAreCorruptionNotACrash) {
  std::mt19937_64 rng(20240501);
  for (int i = 0; i < 20; i++) {
    size_t size = 1 + rng() % (12 * 4096);
    std::string d(size, '\0');
    for (char& c : d) c = static_cast<char>(rng());
    if (i % 2 == 1) d.replace(0, std::min(size, size_t{8192}), golden_data_, 0, std::min(size, size_t{8192}));
    for (bool ro : {true, false}) {
      std::string dir = WithData(d);
      ChildResult r = InChild([&] { return OpenAndReadAll(dir, ro); });
      EXPECT_EQ(r.signal, 0) << "garbage " << i << ": " << r.Describe();
      EXPECT_NE(r.report, "ok") << "garbage " << i;
    }
  }
}

// Random single-bit flips anywhere in a real journal: never a crash; each
// open either works or reports an error.
TEST_F(StoreFileTest, RandomBitFlipsNeverCrash) {
  std::mt19937_64 rng(7);
  int crashes = 0, errors = 0;
  for (int i = 0; i < 400; i++) {
    std::string d = golden_data_;
    size_t bit = rng() % (d.size() * 8);
    d[bit / 8] = static_cast<char>(d[bit / 8] ^ (1 << (bit % 8)));
    std::string dir = WithData(d);
    ChildResult r = InChild([&] {
      std::string ro = OpenAndReadAll(dir, true);
      return ro + " | " + OpenAndReadAll(dir, false);
    });
    if (r.signal) {
      crashes++;
      ADD_FAILURE() << "flip of bit " << bit << " (byte " << bit / 8 << "): " << r.Describe();
    }
    errors += r.report != "ok | ok";
  }
  EXPECT_EQ(crashes, 0);
  EXPECT_GT(errors, 0) << "no flip was noticed at all";
}

// ---- a read-only open checks only what it reads (issue 9) -----------------
//
// `fstx status` must not cost a page read per history record, so a
// read-only open checks the main tree, "meta", "active" and the path to the
// last history record only; the rest of history is checked before it is
// read. These tests damage one page of a tree (tests/journal/lmdb_pages.h).

constexpr int kHistory = 150;  // ~10 leaf pages of history

// A journal with kHistory finished transactions (ids 1..kHistory, on
// several leaf pages) and two unfinished ones.
std::string LongHistoryJournal(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  o.history_max_age_s = 0;
  auto store = JournalStore::Open(o);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  WriteBatch h, a;
  for (int i = 1; i <= kHistory; i++) {
    TxRecord r = Rec("h" + std::to_string(i), 200);
    r.id = static_cast<uint64_t>(i);
    r.state = TxState::kDone;
    h.to_history.push_back(r);
  }
  a.put_active = {Rec("a1", 100), Rec("a2", 100)};
  EXPECT_TRUE((*store)->Write(&h).ok());
  EXPECT_TRUE((*store)->Write(&a).ok());
  return ReadFileRaw(dir + "/data.mdb");
}

// Read-only: what `fstx status` reads works; whatever reads the damaged
// part of history fails as a damaged file does.
std::string StatusThenHistory(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  o.read_only = true;
  auto r = JournalStore::Open(o);
  if (!r.ok()) return "open: " + r.status().ToString();
  StoreStats st;
  std::vector<TxRecord> recs;
  std::vector<BadRecord> bad;
  TxRecord one;
  Status s = (*r)->Stats(&st);
  if (s.ok()) s = (*r)->ListActive(&recs, &bad);
  if (s.ok()) s = (*r)->Get(kHistory + 1, &one, nullptr);  // in active: history not read
  if (!s.ok()) return "status: " + s.ToString();
  std::string out = "history " + std::to_string(st.history) + ", active " + std::to_string(recs.size());
  for (int i = 0; i < 2; i++) out += " | list: " + (*r)->ListHistory(&recs, &bad).ToString();
  return out + " | get: " + (*r)->Get(1, &one, nullptr).ToString();
}

TEST_F(StoreFileTest, DamagedHistoryPageFailsOnlyWhatReadsHistory) {
  const std::string data = LongHistoryJournal(tmp_ / "long");
  uint64_t root = 0;
  uint16_t depth = 0;
  NamedRoot(data, "history", &root, &depth);
  ASSERT_GE(depth, 2) << "history fits one page: its first leaf is its last";
  const uint64_t leaf = FirstLeaf(data, "history");
  std::string dir = WithData(data);
  ChildResult r = InChild([&] { return StatusThenHistory(dir); });
  EXPECT_EQ(r.report, "history 150, active 2 | list: ok | list: ok | get: ok") << r.Describe();

  const std::string damaged = WithBadPageNumber(data, leaf);
  dir = WithData(damaged);
  r = InChild([&] { return StatusThenHistory(dir); });
  EXPECT_EQ(r.signal, 0) << r.Describe();
  const std::string corrupt = "corruption: journal file " + dir + "/data.mdb is corrupt: meta page ";
  const std::string page = "database \"history\", page " + std::to_string(leaf) +
                           ": its page number field is 48879";
  EXPECT_EQ(r.report.rfind("history 150, active 2 | list: " + corrupt, 0), 0u) << r.Describe();
  // Both listings and the look-up fail: a failed check is not remembered as done.
  size_t at = 0;
  for (const std::string& part : {" | list: " + corrupt, " | list: " + corrupt, " | get: " + corrupt}) {
    at = r.report.find(part, at);
    ASSERT_NE(at, std::string::npos) << part << " in " << r.Describe();
    EXPECT_NE(r.report.find(page, at), std::string::npos) << r.Describe();
    at += part.size();
  }
  // A writer may touch any page: its open checks all of them.
  r = InChild([&] { return OpenAndReadAll(WithData(damaged), false); });
  EXPECT_NE(r.report.find("is corrupt: "), std::string::npos) << r.Describe();
  EXPECT_NE(r.report.find(page), std::string::npos) << r.Describe();
}

TEST_F(StoreFileTest, DamagedActivePageFailsAReadOnlyOpen) {
  const std::string data = LongHistoryJournal(tmp_ / "long");
  const std::string damaged = WithBadPageNumber(data, FirstLeaf(data, "active"));
  const std::string dir = WithData(damaged);
  ChildResult r = InChild([&] { return StatusThenHistory(dir); });
  EXPECT_EQ(r.report.rfind("open: corruption: journal file " + dir + "/data.mdb is corrupt: ", 0), 0u)
      << r.Describe();
  EXPECT_NE(r.report.find("database \"active\", page "), std::string::npos) << r.Describe();
  ExpectCorrupt(damaged, "active leaf");
}

// History values that do not decode: the open's next_id check (newest
// first, back to a record that decodes) walks past the last leaf, which
// is all a read-only open checked, so it checks the rest first.
TEST_F(StoreFileTest, NextIdCheckPastTheLastHistoryLeafChecksHistoryFirst) {
  const std::string golden = tmp_ / "undecodable";
  {
    StoreOptions o;
    o.dir = golden;
    ASSERT_TRUE(JournalStore::Open(o).ok());  // meta, active, history; next_id 1
  }
  {
    MDB_env* env = nullptr;
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, golden.c_str(), MDB_NOTLS, 0600), 0);
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "history", 0, &dbi), 0);
    const std::string value(200, 'x');  // not a record
    for (uint64_t id = 1; id <= kHistory; id++) {
      const uint64_t be = __builtin_bswap64(id);
      MDB_val k{8, const_cast<uint64_t*>(&be)}, v{value.size(), const_cast<char*>(value.data())};
      ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    }
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  const std::string data = ReadFileRaw(golden + "/data.mdb");
  std::string dir = WithData(data);
  ChildResult r = InChild([&] { return StatusThenHistory(dir); });
  EXPECT_EQ(r.report.rfind("status: not_found", 0), 0u) << r.Describe();  // no record kHistory + 1

  dir = WithData(WithBadPageNumber(data, FirstLeaf(data, "history")));
  r = InChild([&] { return StatusThenHistory(dir); });
  EXPECT_EQ(r.report.rfind("open: corruption: journal file " + dir + "/data.mdb is corrupt: ", 0), 0u)
      << r.Describe();
  EXPECT_NE(r.report.find("database \"history\", page "), std::string::npos) << r.Describe();
}

// A reader checking the file while another process commits must not take
// the moving snapshot for corruption.
TEST_F(StoreFileTest, ReaderNeverMistakesConcurrentCommitsForCorruption) {
  std::string dir = WithData(golden_data_);
  pid_t writer = ::fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {
    ::alarm(60);
    StoreOptions o;
    o.dir = dir;
    o.history_max_count = 5;
    auto store = JournalStore::Open(o);
    if (!store.ok()) ::_exit(2);
    for (int i = 0; i < 300; i++) {
      WriteBatch b;
      b.put_active.push_back(Rec("w" + std::to_string(i), i % 5 == 0 ? 7000 : 100));
      if (!(*store)->Write(&b).ok()) ::_exit(3);
      WriteBatch h;
      TxRecord done = b.put_active[0];
      done.state = TxState::kDone;
      h.to_history.push_back(done);
      if (!(*store)->Write(&h).ok()) ::_exit(4);
    }
    ::_exit(0);
  }
  int opens = 0;
  for (;;) {
    ChildResult r = InChild([&] { return OpenAndReadAll(dir, true); });
    EXPECT_EQ(r.signal, 0) << r.Describe();
    EXPECT_EQ(r.report, "ok") << r.Describe();
    opens++;
    int status = 0;
    if (::waitpid(writer, &status, WNOHANG) == writer) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
      break;
    }
  }
  EXPECT_GT(opens, 1);
}

// ---- files in the journal directory: no symlinks, no FIFOs ---------------

class JournalDirFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_ / "journal";
    BuildJournal(dir_);
    victim_ = tmp_ / "victim";
    WriteFileRaw(victim_, "precious\n", 0644);
  }
  TempDir tmp_;
  std::string dir_, victim_;
};

TEST_F(JournalDirFilesTest, WriterLockSymlinkTargetIsNotTouched) {
  ASSERT_EQ(::unlink((dir_ + "/writer.lock").c_str()), 0);
  ASSERT_EQ(::symlink(victim_.c_str(), (dir_ + "/writer.lock").c_str()), 0);
  ChildResult r = InChild([&] { return OpenAndReadAll(dir_, false); });
  EXPECT_EQ(r.signal, 0) << r.Describe();
  EXPECT_EQ(r.report, "permission: " + dir_ + "/writer.lock is a symlink; refusing to follow it")
      << r.Describe();
  EXPECT_EQ(ReadFileRaw(victim_), "precious\n");
  // A dangling one is not created through either.
  std::string missing = tmp_ / "created-through-link";
  ASSERT_EQ(::unlink((dir_ + "/writer.lock").c_str()), 0);
  ASSERT_EQ(::symlink(missing.c_str(), (dir_ + "/writer.lock").c_str()), 0);
  r = InChild([&] { return OpenAndReadAll(dir_, false); });
  EXPECT_EQ(r.report, "permission: " + dir_ + "/writer.lock is a symlink; refusing to follow it");
  EXPECT_FALSE(fstx::testing::Exists(missing));
}

TEST_F(JournalDirFilesTest, SymlinkedDataOrLockFileIsRefused) {
  for (const char* name : {"data.mdb", "lock.mdb"}) {
    std::string path = dir_ + "/" + name;
    std::string saved = tmp_ / (std::string(name) + ".saved");
    ASSERT_EQ(::rename(path.c_str(), saved.c_str()), 0);
    ASSERT_EQ(::symlink(saved.c_str(), path.c_str()), 0);
    std::string before = ReadFileRaw(saved);
    for (bool ro : {true, false}) {
      ChildResult r = InChild([&] { return OpenAndReadAll(dir_, ro); });
      EXPECT_EQ(r.signal, 0) << r.Describe();
      EXPECT_EQ(r.report, "permission: " + path + " is a symlink; refusing to follow it")
          << name << (ro ? " read-only" : " writer");
    }
    if (std::string(name) == "data.mdb") {
      EXPECT_EQ(ReadFileRaw(saved), before);
    }
    ASSERT_EQ(::unlink(path.c_str()), 0);
    ASSERT_EQ(::rename(saved.c_str(), path.c_str()), 0);
  }
}

TEST_F(JournalDirFilesTest, FifoInPlaceOfAFileDoesNotHang) {
  for (const char* name : {"data.mdb", "lock.mdb", "writer.lock"}) {
    std::string path = dir_ + "/" + name;
    std::string saved = tmp_ / (std::string(name) + ".saved");
    ASSERT_EQ(::rename(path.c_str(), saved.c_str()), 0);
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    for (bool ro : {true, false}) {
      if (ro && std::string(name) == "writer.lock") continue;  // readers do not open it
      ChildResult r = InChild([&] { return OpenAndReadAll(dir_, ro); }, 10);
      EXPECT_EQ(r.signal, 0) << name << (ro ? " read-only: " : " writer: ") << r.Describe();
      EXPECT_EQ(r.report, "corruption: " + path + " is a FIFO, not a regular file")
          << name << (ro ? " read-only: " : " writer: ") << r.Describe();
    }
    ASSERT_EQ(::unlink(path.c_str()), 0);
    ASSERT_EQ(::rename(saved.c_str(), path.c_str()), 0);
  }
  ChildResult r = InChild([&] { return OpenAndReadAll(dir_, true); });
  EXPECT_EQ(r.report, "ok");
}

// Run as a user who may not read the journal: a permission error naming
// the file, not "no journal".
TEST_F(JournalDirFilesTest, UnreadableJournalIsPermissionNotAbsent) {
  ASSERT_EQ(::geteuid(), 0u) << "this test needs root (to drop to another user); run the suite as root";
  ASSERT_EQ(::chmod(tmp_.path().c_str(), 0755), 0);
  ChildResult r = InChild([&] {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) {
      return std::string("setresuid failed");
    }
    return OpenAndReadAll(dir_, true);
  });
  EXPECT_EQ(r.signal, 0) << r.Describe();
  EXPECT_EQ(r.report.rfind("permission: open " + dir_ + "/data.mdb: Permission denied", 0), 0u)
      << r.Describe();
}

}  // namespace
}  // namespace fstx
