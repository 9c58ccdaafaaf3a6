// fault_fs_test.cc — FaultFs over a real PosixFs: faults before a call leave
// the tree alone, faults after it leave the effect in place, short writes
// leave half a file, and a crash rule really kills the process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fstx/fault.h"
#include "fstx/fs.h"
#include "tests/testutil.h"

namespace fstx::fault {
namespace {

using fstx::testing::Exists;
using fstx::testing::Inode;
using fstx::testing::Mode;
using fstx::testing::ReadFileRaw;
using fstx::testing::ReadLinkRaw;
using fstx::testing::TempDir;

// A small tree: file a ("A", 0644), empty dir d, symlink s -> a.
void MakeTree(const TempDir& td) {
  fstx::testing::WriteFileRaw(td / "a", "A", 0644);
  fstx::testing::MkdirRaw(td / "d", 0755);
  ASSERT_EQ(::symlink("a", (td / "s").c_str()), 0);
}

std::unique_ptr<PosixFs> OpenFs(const TempDir& td) {
  Result<std::unique_ptr<PosixFs>> fs = PosixFs::Open({td.path()});
  EXPECT_TRUE(fs.ok()) << fs.status().ToString();
  return fs.ok() ? std::move(fs.value()) : nullptr;
}

void AddRules(Failpoints* fp, std::string_view spec) {
  Result<std::vector<Rule>> rules = Failpoints::Parse(spec);
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  for (const Rule& r : rules.value()) fp->Add(r);
}

// One mutating call: how to make it, and how to tell whether it happened.
struct MutationCase {
  std::string point;
  std::function<Status(Fs*, const TempDir&)> call;
  std::function<bool(const TempDir&)> happened;
  std::function<bool(const TempDir&)> untouched;
};

std::vector<MutationCase> MutationCases() {
  return {
      {"fs.create",
       [](Fs* fs, const TempDir& td) { return fs->CreateFile(td / "new", "data", 0640, -1, -1); },
       [](const TempDir& td) { return ReadFileRaw(td / "new") == "data" && Mode(td / "new") == 0640; },
       [](const TempDir& td) { return !Exists(td / "new"); }},
      {"fs.symlink", [](Fs* fs, const TempDir& td) { return fs->Symlink("a", td / "ln"); },
       [](const TempDir& td) { return ReadLinkRaw(td / "ln") == "a"; },
       [](const TempDir& td) { return !Exists(td / "ln"); }},
      {"fs.mkdir", [](Fs* fs, const TempDir& td) { return fs->Mkdir(td / "nd", 0700); },
       [](const TempDir& td) { return Exists(td / "nd") && Mode(td / "nd") == 0700; },
       [](const TempDir& td) { return !Exists(td / "nd"); }},
      {"fs.rename",
       [](Fs* fs, const TempDir& td) { return fs->Rename(td / "a", td / "b", RenameMode::kNoReplace); },
       [](const TempDir& td) { return !Exists(td / "a") && ReadFileRaw(td / "b") == "A"; },
       [](const TempDir& td) { return ReadFileRaw(td / "a") == "A" && !Exists(td / "b"); }},
      {"fs.link", [](Fs* fs, const TempDir& td) { return fs->Link(td / "a", td / "h"); },
       [](const TempDir& td) { return Exists(td / "h") && Inode(td / "h") == Inode(td / "a"); },
       [](const TempDir& td) { return !Exists(td / "h"); }},
      {"fs.unlink", [](Fs* fs, const TempDir& td) { return fs->Unlink(td / "s"); },
       [](const TempDir& td) { return !Exists(td / "s"); },
       [](const TempDir& td) { return ReadLinkRaw(td / "s") == "a"; }},
      {"fs.rmdir", [](Fs* fs, const TempDir& td) { return fs->Rmdir(td / "d"); },
       [](const TempDir& td) { return !Exists(td / "d"); },
       [](const TempDir& td) { return Exists(td / "d"); }},
  };
}

TEST(FaultFsTest, NoRulesPassesThroughAndCountsBothPoints) {
  for (const MutationCase& c : MutationCases()) {
    SCOPED_TRACE(c.point);
    TempDir td;
    MakeTree(td);
    auto posix = OpenFs(td);
    ASSERT_TRUE(posix);
    Failpoints fp;
    FaultFs fs(posix.get(), &fp);
    Status s = c.call(&fs, td);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(c.happened(td));
    EXPECT_EQ(fp.hits(c.point), 1u);
    EXPECT_EQ(fp.hits(c.point + ".after"), 1u);
    EXPECT_EQ(fp.total_hits(), 2u);
  }
}

TEST(FaultFsTest, TargetFailureSkipsTheAfterPoint) {
  TempDir td;
  auto posix = OpenFs(td);
  ASSERT_TRUE(posix);
  Failpoints fp;
  FaultFs fs(posix.get(), &fp);
  Status s = fs.Rmdir(td / "no-such-dir");
  EXPECT_EQ(s.err(), ENOENT);
  EXPECT_EQ(fp.hits("fs.rmdir"), 1u);
  EXPECT_EQ(fp.hits("fs.rmdir.after"), 0u);
  // A null Failpoints makes FaultFs a plain pass-through.
  FaultFs plain(posix.get(), nullptr);
  ASSERT_TRUE(plain.Mkdir(td / "m", 0755).ok());
  EXPECT_TRUE(Exists(td / "m"));
}

TEST(FaultFsTest, BeforeFaultReturnsErrnoAndChangesNothing) {
  for (const MutationCase& c : MutationCases()) {
    SCOPED_TRACE(c.point);
    TempDir td;
    MakeTree(td);
    auto posix = OpenFs(td);
    ASSERT_TRUE(posix);
    Failpoints fp;
    AddRules(&fp, c.point + "=ENOSPC");
    FaultFs fs(posix.get(), &fp);
    Status s = c.call(&fs, td);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.err(), ENOSPC);
    EXPECT_EQ(s.code(), Code::kNoSpace);
    EXPECT_NE(s.message().find("injected at " + c.point), std::string::npos) << s.message();
    EXPECT_TRUE(c.untouched(td));
    EXPECT_EQ(fp.hits(c.point + ".after"), 0u);
    // The rule was for hit 1 only: the retry goes through.
    s = c.call(&fs, td);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(c.happened(td));
  }
}

TEST(FaultFsTest, AfterFaultReturnsErrnoButTheCallHappened) {
  for (const MutationCase& c : MutationCases()) {
    SCOPED_TRACE(c.point);
    TempDir td;
    MakeTree(td);
    auto posix = OpenFs(td);
    ASSERT_TRUE(posix);
    Failpoints fp;
    AddRules(&fp, c.point + ".after=EIO");
    FaultFs fs(posix.get(), &fp);
    Status s = c.call(&fs, td);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.err(), EIO);
    EXPECT_NE(s.message().find("injected at " + c.point + ".after"), std::string::npos)
        << s.message();
    EXPECT_TRUE(c.happened(td));
  }
}

TEST(FaultFsTest, ReadCallsAndSyncDirFail) {
  TempDir td;
  MakeTree(td);
  auto posix = OpenFs(td);
  ASSERT_TRUE(posix);
  Failpoints fp;
  AddRules(&fp, "fs.stat=EACCES, fs.read.after=EIO, fs.readlink=ENOENT, fs.listdir:2=EMLINK,"
                "fs.syncdir=EROFS");
  FaultFs fs(posix.get(), &fp);

  FileInfo info;
  EXPECT_EQ(fs.Stat(td / "a", &info).err(), EACCES);
  ASSERT_TRUE(fs.Stat(td / "a", &info).ok());
  EXPECT_EQ(info.type, FileType::kRegular);

  std::string data;
  EXPECT_EQ(fs.ReadFile(td / "a", 100, &data).err(), EIO);
  data.clear();
  ASSERT_TRUE(fs.ReadFile(td / "a", 100, &data).ok());
  EXPECT_EQ(data, "A");

  std::string link;
  EXPECT_EQ(fs.ReadLink(td / "s", &link).err(), ENOENT);
  ASSERT_TRUE(fs.ReadLink(td / "s", &link).ok());
  EXPECT_EQ(link, "a");

  std::vector<std::string> names;
  ASSERT_TRUE(fs.ListDir(td.path(), &names).ok());
  EXPECT_EQ(names.size(), 3u);
  EXPECT_EQ(fs.ListDir(td.path(), &names).err(), EMLINK);

  EXPECT_EQ(fs.SyncDir(td.path()).err(), EROFS);
  EXPECT_TRUE(fs.SyncDir(td.path()).ok());
}

TEST(FaultFsTest, ChosenHitOfRenameFailsOnlyThatRename) {
  TempDir td;
  MakeTree(td);
  auto posix = OpenFs(td);
  ASSERT_TRUE(posix);
  Failpoints fp;
  AddRules(&fp, "fs.rename:2=EXDEV");
  FaultFs fs(posix.get(), &fp);
  ASSERT_TRUE(fs.Rename(td / "a", td / "b", RenameMode::kNoReplace).ok());
  Status s = fs.Rename(td / "b", td / "c", RenameMode::kNoReplace);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err(), EXDEV);
  // The message names both paths of the rename.
  EXPECT_NE(s.message().find(td / "b"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(td / "c"), std::string::npos) << s.message();
  EXPECT_TRUE(Exists(td / "b"));
  EXPECT_FALSE(Exists(td / "c"));
  ASSERT_TRUE(fs.Rename(td / "b", td / "c", RenameMode::kNoReplace).ok());
  EXPECT_EQ(ReadFileRaw(td / "c"), "A");
}

TEST(FaultFsTest, ShortWriteLeavesHalfAFileAndReturnsEio) {
  TempDir td;
  auto posix = OpenFs(td);
  ASSERT_TRUE(posix);
  Failpoints fp;
  AddRules(&fp, "fs.create:2=short");
  FaultFs fs(posix.get(), &fp);
  ASSERT_TRUE(fs.CreateFile(td / "whole", "0123456789", 0600, -1, -1).ok());
  Status s = fs.CreateFile(td / "half", "0123456789", 0640, -1, -1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err(), EIO);
  EXPECT_NE(s.message().find("short write"), std::string::npos) << s.message();
  EXPECT_EQ(ReadFileRaw(td / "whole"), "0123456789");
  EXPECT_EQ(ReadFileRaw(td / "half"), "01234");
  EXPECT_EQ(Mode(td / "half"), 0640u);
  EXPECT_EQ(fp.hits("fs.create.after"), 1u);  // only the whole write got there
}

// Runs `body` in a forked child with stderr captured; returns the wait
// status and what the child wrote to stderr.
int RunChild(const std::function<void()>& body, std::string* err_out) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return -1;
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::close(pipefd[0]);
    ::dup2(pipefd[1], STDERR_FILENO);
    body();
    ::_exit(3);  // the failpoint should never have returned
  }
  ::close(pipefd[1]);
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) err_out->append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

// In a child: renames a -> b, then b -> c, through a FaultFs with `spec`.
void RenameTwiceInChild(const TempDir& td, const std::string& spec) {
  Result<std::unique_ptr<PosixFs>> posix = PosixFs::Open({td.path()});
  if (!posix.ok()) ::_exit(4);
  Result<std::vector<Rule>> rules = Failpoints::Parse(spec);
  if (!rules.ok()) ::_exit(5);
  Failpoints fp;
  for (const Rule& r : rules.value()) fp.Add(r);
  FaultFs fs(posix.value().get(), &fp);
  if (!fs.Rename(td / "a", td / "b", RenameMode::kNoReplace).ok()) ::_exit(6);
  if (!fs.Rename(td / "b", td / "c", RenameMode::kNoReplace).ok()) ::_exit(7);
}

TEST(FaultFsCrashTest, CrashBeforeRenameKillsAndRenameDidNotHappen) {
  TempDir td;
  MakeTree(td);
  std::string err;
  int status = RunChild([&] { RenameTwiceInChild(td, "fs.rename=crash"); }, &err);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status << " stderr: " << err;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_NE(err.find("fstx: failpoint fs.rename hit 1: crash"), std::string::npos) << err;
  EXPECT_EQ(ReadFileRaw(td / "a"), "A");
  EXPECT_FALSE(Exists(td / "b"));
  EXPECT_FALSE(Exists(td / "c"));
}

TEST(FaultFsCrashTest, CrashOnSecondRenameKeepsTheFirst) {
  TempDir td;
  MakeTree(td);
  std::string err;
  int status = RunChild([&] { RenameTwiceInChild(td, "fs.rename:2=crash"); }, &err);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status << " stderr: " << err;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_NE(err.find("fs.rename hit 2"), std::string::npos) << err;
  EXPECT_FALSE(Exists(td / "a"));
  EXPECT_EQ(ReadFileRaw(td / "b"), "A");
  EXPECT_FALSE(Exists(td / "c"));
}

TEST(FaultFsCrashTest, CrashAfterRenameKillsWithTheRenameDone) {
  TempDir td;
  MakeTree(td);
  std::string err;
  int status = RunChild([&] { RenameTwiceInChild(td, "fs.rename.after=crash"); }, &err);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status << " stderr: " << err;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_FALSE(Exists(td / "a"));
  EXPECT_EQ(ReadFileRaw(td / "b"), "A");
}

TEST(FaultFsCrashTest, NoCrashRuleLetsTheChildFinish) {
  TempDir td;
  MakeTree(td);
  std::string err;
  // The child falls off the body and exits 3: proof that the harness would
  // tell a missed crash from a real one.
  int status = RunChild([&] { RenameTwiceInChild(td, "fs.unlink=crash"); }, &err);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(ReadFileRaw(td / "c"), "A");
}

}  // namespace
}  // namespace fstx::fault
