// recording_fs_test.cc — RecordingFs traces successful mutations in order,
// and Replay of the trace (or of a prefix of it) onto a fresh copy of the
// pre-image reproduces the final (or intermediate) tree.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fstx/fault.h"
#include "fstx/fs.h"
#include "tests/testutil.h"

namespace fstx::fault {
namespace {

using fstx::testing::ReadFileRaw;
using fstx::testing::ReadLinkRaw;
using fstx::testing::TempDir;

// What the oracle compares for one tree entry.
struct Entry {
  char type = '?';      // f, d, l
  uint32_t mode = 0;    // permission bits (not for symlinks)
  std::string content;  // file data or symlink target
  uint64_t nlink = 0;   // regular files only: shows hard links
  bool operator==(const Entry&) const = default;
};

using Tree = std::map<std::string, Entry>;

std::ostream& operator<<(std::ostream& os, const Entry& e) {
  return os << e.type << " " << std::oct << e.mode << std::dec << " n" << e.nlink << " '"
            << e.content << "'";
}

Tree Snapshot(const std::string& root) {
  Tree tree;
  namespace bfs = boost::filesystem;
  for (bfs::recursive_directory_iterator it(root), end; it != end; ++it) {
    std::string path = it->path().string();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      ADD_FAILURE() << "lstat " << path;
      continue;
    }
    Entry e;
    if (S_ISREG(st.st_mode)) {
      e.type = 'f';
      e.content = ReadFileRaw(path);
      e.nlink = st.st_nlink;
    } else if (S_ISDIR(st.st_mode)) {
      e.type = 'd';
    } else if (S_ISLNK(st.st_mode)) {
      e.type = 'l';
      e.content = ReadLinkRaw(path);
    }
    if (!S_ISLNK(st.st_mode)) e.mode = st.st_mode & 07777;
    tree[path.substr(root.size())] = e;
  }
  return tree;
}

// The pre-image: a (alpha, 0644), b (beta, 0600), d/ (0755) with d/x (0640),
// symlink l -> a, empty dir e/ (0700).
void MakePreImage(const std::string& root) {
  fstx::testing::WriteFileRaw(root + "/a", "alpha", 0644);
  fstx::testing::WriteFileRaw(root + "/b", "beta", 0600);
  fstx::testing::MkdirRaw(root + "/d", 0755);
  fstx::testing::WriteFileRaw(root + "/d/x", "x", 0640);
  ASSERT_EQ(::symlink("a", (root + "/l").c_str()), 0);
  fstx::testing::MkdirRaw(root + "/e", 0755);
  ASSERT_EQ(::chmod((root + "/e").c_str(), 0700), 0);
}

std::unique_ptr<PosixFs> OpenFs(const std::vector<std::string>& roots) {
  Result<std::unique_ptr<PosixFs>> fs = PosixFs::Open(roots);
  EXPECT_TRUE(fs.ok()) << fs.status().ToString();
  return fs.ok() ? std::move(fs.value()) : nullptr;
}

class RecordingFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MakePreImage(src_.path());
    posix_ = OpenFs({src_.path()});
    ASSERT_TRUE(posix_);
    rec_ = std::make_unique<RecordingFs>(posix_.get());
    snapshots_.push_back(Snapshot(src_.path()));
  }

  // Runs one step that must record exactly one event, and snapshots after.
  void Step(const Status& s) {
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(rec_->events().size(), snapshots_.size());
    snapshots_.push_back(Snapshot(src_.path()));
  }

  // The workload: one of every kind of event, plus calls that must not be
  // recorded.
  void RunWorkload() {
    std::string r = src_.path();
    auto hook = rec_->Hook();
    Step(rec_->CreateFile(r + "/n", "new", 0604, -1, -1));
    Step(rec_->Mkdir(r + "/nd", 0750));
    Step(rec_->Symlink("../n", r + "/nd/ln"));
    Step(rec_->Rename(r + "/b", r + "/a", RenameMode::kReplace));
    // Fails in the target (a exists): not recorded.
    EXPECT_EQ(rec_->Rename(r + "/n", r + "/a", RenameMode::kNoReplace).code(), Code::kExists);
    Step(rec_->Rename(r + "/d", r + "/nd/d", RenameMode::kNoReplace));
    Step(rec_->Link(r + "/n", r + "/nd/n2"));
    Step(rec_->SyncDir(r + "/nd"));
    EXPECT_TRUE(hook("journal.commit.before").ok());  // not recorded
    Step(hook("journal.commit.after"));
    Step(rec_->Unlink(r + "/l"));
    Step(rec_->Rmdir(r + "/e"));
    Step(rec_->CreateFile(r + "/nd/d/y", "", 0400, -1, -1));
    EXPECT_FALSE(rec_->Unlink(r + "/no-such-file").ok());  // not recorded
  }

  TempDir src_;
  std::unique_ptr<PosixFs> posix_;
  std::unique_ptr<RecordingFs> rec_;
  std::vector<Tree> snapshots_;  // [k] = the tree after k events
};

TEST_F(RecordingFsTest, RecordsSuccessfulMutationsInOrderWithTheirFields) {
  RunWorkload();
  const std::string r = src_.path();
  std::vector<Event> ev = rec_->events();
  ASSERT_EQ(ev.size(), 11u);
  for (size_t i = 0; i < ev.size(); ++i) EXPECT_EQ(ev[i].seq, i + 1) << i;

  EXPECT_EQ(ev[0].kind, Event::kCreate);
  EXPECT_EQ(ev[0].path, r + "/n");
  EXPECT_EQ(ev[0].data, "new");
  EXPECT_EQ(ev[0].mode, 0604u);

  EXPECT_EQ(ev[1].kind, Event::kMkdir);
  EXPECT_EQ(ev[1].path, r + "/nd");
  EXPECT_EQ(ev[1].mode, 0750u);

  EXPECT_EQ(ev[2].kind, Event::kSymlink);
  EXPECT_EQ(ev[2].path, r + "/nd/ln");
  EXPECT_EQ(ev[2].data, "../n");

  EXPECT_EQ(ev[3].kind, Event::kRename);
  EXPECT_EQ(ev[3].path, r + "/b");
  EXPECT_EQ(ev[3].path2, r + "/a");
  EXPECT_TRUE(ev[3].replace);

  EXPECT_EQ(ev[4].kind, Event::kRename);
  EXPECT_EQ(ev[4].path, r + "/d");
  EXPECT_EQ(ev[4].path2, r + "/nd/d");
  EXPECT_FALSE(ev[4].replace);

  EXPECT_EQ(ev[5].kind, Event::kLink);
  EXPECT_EQ(ev[5].path, r + "/n");
  EXPECT_EQ(ev[5].path2, r + "/nd/n2");

  EXPECT_EQ(ev[6].kind, Event::kSyncDir);
  EXPECT_EQ(ev[6].path, r + "/nd");

  EXPECT_EQ(ev[7].kind, Event::kJournalSync);

  EXPECT_EQ(ev[8].kind, Event::kUnlink);
  EXPECT_EQ(ev[8].path, r + "/l");

  EXPECT_EQ(ev[9].kind, Event::kRmdir);
  EXPECT_EQ(ev[9].path, r + "/e");

  EXPECT_EQ(ev[10].kind, Event::kCreate);
  EXPECT_EQ(ev[10].data, "");
  EXPECT_EQ(ev[10].mode, 0400u);

  EXPECT_STREQ(event_kind_name(Event::kRename), "rename");
  EXPECT_STREQ(event_kind_name(Event::kJournalSync), "journal_sync");

  rec_->Clear();
  EXPECT_TRUE(rec_->events().empty());
  ASSERT_TRUE(rec_->Mkdir(r + "/after-clear", 0755).ok());
  ASSERT_EQ(rec_->events().size(), 1u);
  EXPECT_EQ(rec_->events()[0].seq, 1u);
}

TEST_F(RecordingFsTest, ReplayReproducesTheFinalTree) {
  RunWorkload();
  std::vector<Event> ev = rec_->events();
  TempDir dst;
  MakePreImage(dst.path());
  ASSERT_EQ(Snapshot(dst.path()), snapshots_.front());
  auto fs = OpenFs({dst.path()});
  ASSERT_TRUE(fs);
  Status s = Replay(fs.get(), ev, src_.path(), dst.path());
  ASSERT_TRUE(s.ok()) << s.ToString();
  Tree got = Snapshot(dst.path());
  EXPECT_EQ(got, snapshots_.back());
  // The source really changed, so equality above is not trivial.
  EXPECT_NE(snapshots_.back(), snapshots_.front());
}

TEST_F(RecordingFsTest, ReplayingAPrefixGivesTheIntermediateTree) {
  RunWorkload();
  std::vector<Event> ev = rec_->events();
  ASSERT_EQ(snapshots_.size(), ev.size() + 1);
  for (size_t k = 0; k <= ev.size(); ++k) {
    SCOPED_TRACE("prefix of " + std::to_string(k) + " events");
    TempDir dst;
    MakePreImage(dst.path());
    auto fs = OpenFs({dst.path()});
    ASSERT_TRUE(fs);
    std::vector<Event> prefix(ev.begin(), ev.begin() + static_cast<std::ptrdiff_t>(k));
    Status s = Replay(fs.get(), prefix, src_.path(), dst.path());
    ASSERT_TRUE(s.ok()) << s.ToString();
    Tree got = Snapshot(dst.path());
    EXPECT_EQ(got, snapshots_[k]);
  }
}

TEST_F(RecordingFsTest, ReplayStopsAtTheFirstFailureNamingTheEvent) {
  RunWorkload();
  std::vector<Event> ev = rec_->events();
  TempDir dst;
  MakePreImage(dst.path());
  ASSERT_EQ(::unlink((dst / "b").c_str()), 0);  // event 4 renames b
  auto fs = OpenFs({dst.path()});
  ASSERT_TRUE(fs);
  Status s = Replay(fs.get(), ev, src_.path(), dst.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err(), ENOENT);
  EXPECT_NE(s.message().find("replay event 4 (rename)"), std::string::npos) << s.message();
  // Events 1-3 were applied, nothing after.
  Tree want = snapshots_[3];
  want.erase("/b");
  EXPECT_EQ(Snapshot(dst.path()), want);
}

TEST(ReplayTest, PathsOutsideFromRootAreLeftAlone) {
  TempDir from, to, other;
  auto fs = OpenFs({to.path(), other.path()});
  ASSERT_TRUE(fs);
  Event mk;
  mk.kind = Event::kMkdir;
  mk.path = other / "kept";
  mk.mode = 0711;
  Event cr;
  cr.kind = Event::kCreate;
  cr.path = from / "f";
  cr.data = "moved";
  cr.mode = 0644;
  Event mv;
  mv.kind = Event::kRename;
  mv.path = from / "f";
  mv.path2 = other / "g";
  Status s = Replay(fs.get(), {mk, cr, mv}, from.path(), to.path());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(fstx::testing::Mode(other / "kept"), 0711u);
  EXPECT_EQ(ReadFileRaw(other / "g"), "moved");
  EXPECT_FALSE(fstx::testing::Exists(to / "f"));
  EXPECT_FALSE(fstx::testing::Exists(from / "f"));
}

TEST(RecordingFsFaultTest, InjectedFailuresAreNotRecorded) {
  TempDir td;
  auto posix = OpenFs({td.path()});
  ASSERT_TRUE(posix);
  Failpoints fp;
  fp.Add(Rule{"fs.mkdir", 1, Action::kError, EACCES, 0});
  FaultFs faulty(posix.get(), &fp);
  RecordingFs rec(&faulty);
  EXPECT_EQ(rec.Mkdir(td / "m", 0755).err(), EACCES);
  EXPECT_TRUE(rec.events().empty());
  ASSERT_TRUE(rec.Mkdir(td / "m", 0755).ok());
  ASSERT_EQ(rec.events().size(), 1u);
  EXPECT_EQ(rec.events()[0].path, td / "m");
  // The hook answers ok for any point and records only the commit.
  auto hook = rec.Hook();
  EXPECT_TRUE(hook("journal.something.else").ok());
  EXPECT_EQ(rec.events().size(), 1u);
}

TEST(RecordingFsConcurrencyTest, SequenceNumbersAreDenseUnderConcurrency) {
  TempDir td;
  auto posix = OpenFs({td.path()});
  ASSERT_TRUE(posix);
  RecordingFs rec(posix.get());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&rec, &td, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = td / ("f" + std::to_string(t) + "-" + std::to_string(i));
        (void)rec.CreateFile(name, "x", 0644, -1, -1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::vector<Event> ev = rec.events();
  ASSERT_EQ(ev.size(), size_t{kThreads * kPerThread});
  for (size_t i = 0; i < ev.size(); ++i) EXPECT_EQ(ev[i].seq, i + 1);
}

}  // namespace
}  // namespace fstx::fault
