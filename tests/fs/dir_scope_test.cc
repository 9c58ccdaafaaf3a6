// dir_scope_test.cc — directories kept open by a DirScope (resolve.h):
// reused while the scope lives, forgotten when this thread renames or
// removes them, all closed when the scope ends, and confinement unchanged.

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "src/fs/resolve.h"
#include "tests/fs/fs_fixture.h"

namespace fstx::fstest {
namespace {

using resolve::DirScope;

int OpenFds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

TEST_F(PosixFsTest, WithoutAScopeNothingIsKept) {
  MkdirRaw(R("a"));
  MkdirRaw(R("a/b"));
  FileInfo fi;
  ASSERT_TRUE(fs_->Stat(R("a/b/x"), &fi).ok());
  EXPECT_EQ(DirScope::Size(), 0u);
}

TEST_F(PosixFsTest, AScopeKeepsEachParentOnceAndClosesThemAtItsEnd) {
  MkdirRaw(R("a"));
  MkdirRaw(R("a/b"));
  WriteFileRaw(R("a/b/x"), "X");
  const int before = OpenFds();
  {
    DirScope scope;
    FileInfo fi;
    ASSERT_TRUE(fs_->Stat(R("a/b/x"), &fi).ok());
    EXPECT_TRUE(fi.exists());
    ASSERT_TRUE(fs_->Stat(R("a/b/y"), &fi).ok());
    EXPECT_FALSE(fi.exists());
    ASSERT_TRUE(fs_->Stat(R("a/b"), &fi).ok());  // parent "a"
    ASSERT_TRUE(fs_->Stat(R("top"), &fi).ok());  // the root's own fd: nothing kept
    EXPECT_EQ(DirScope::Size(), 2u);             // "a/b" and "a"
    ASSERT_TRUE(fs_->SyncDir(R("a/b")).ok());    // kept for syncing, apart
    ASSERT_TRUE(fs_->SyncDir(R("a/b")).ok());
    EXPECT_EQ(DirScope::Size(), 3u);
    {
      DirScope inner;  // joins the outer scope
      ASSERT_TRUE(fs_->Stat(R("a/b/x"), &fi).ok());
    }
    EXPECT_EQ(DirScope::Size(), 3u);
    EXPECT_EQ(OpenFds(), before + 3);
  }
  EXPECT_EQ(DirScope::Size(), 0u);
  EXPECT_EQ(OpenFds(), before);
}

// Without Forget, the kept "a/b" would follow the directory to "c/b" and
// the second file would be created there.
TEST_F(PosixFsTest, ARenameForgetsTheDirectoriesItMoves) {
  MkdirRaw(R("a"));
  MkdirRaw(R("a/b"));
  DirScope scope;
  ASSERT_TRUE(fs_->CreateFile(R("a/b/one"), "1", 0600).ok());
  ASSERT_TRUE(fs_->Rename(R("a"), R("c"), RenameMode::kNoReplace).ok());
  ASSERT_TRUE(fs_->Mkdir(R("a"), 0700).ok());
  ASSERT_TRUE(fs_->Mkdir(R("a/b"), 0700).ok());
  ASSERT_TRUE(fs_->CreateFile(R("a/b/two"), "2", 0600).ok());
  EXPECT_EQ(ReadFileRaw(R("a/b/two")), "2");
  EXPECT_FALSE(Exists(R("c/b/two")));
  EXPECT_EQ(ReadFileRaw(R("c/b/one")), "1");
  // The target name too: a directory renamed over a kept (empty) one.
  ASSERT_TRUE(fs_->Mkdir(R("e"), 0700).ok());
  ASSERT_TRUE(fs_->SyncDir(R("e")).ok());
  FileInfo fi;
  ASSERT_TRUE(fs_->Stat(R("e/x"), &fi).ok());
  ASSERT_TRUE(fs_->Rename(R("c/b"), R("e"), RenameMode::kReplace).ok());
  Status s = fs_->CreateFile(R("e/three"), "3", 0600);  // a stale fd: ENOENT in the replaced directory
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(fs_->SyncDir(R("e")).ok());
  EXPECT_EQ(ReadFileRaw(R("e/one")), "1");
  EXPECT_EQ(ReadFileRaw(R("e/three")), "3");
}

TEST_F(PosixFsTest, AnRmdirForgetsTheDirectory) {
  MkdirRaw(R("d"));
  MkdirRaw(R("d/e"));
  DirScope scope;
  FileInfo fi;
  ASSERT_TRUE(fs_->Stat(R("d/e/x"), &fi).ok());
  ASSERT_TRUE(fs_->Rmdir(R("d/e")).ok());
  MkdirRaw(R("d/e"));
  Status s = fs_->CreateFile(R("d/e/f"), "F", 0600);  // a stale fd: ENOENT in a deleted directory
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadFileRaw(R("d/e/f")), "F");
}

TEST_F(PosixFsTest, ClearMakesTheNextCallWalkAgain) {
  MkdirRaw(R("a"));
  DirScope scope;
  MkdirRaw(R("a/b"));
  FileInfo fi;
  ASSERT_TRUE(fs_->Stat(R("a/b/x"), &fi).ok());
  // Moved by someone else (not through this Fs): the kept fd follows it
  // until the scope is cleared, as the engine does when its locks go.
  ASSERT_EQ(std::rename(R("a").c_str(), R("z").c_str()), 0);
  MkdirRaw(R("a"));
  MkdirRaw(R("a/b"));
  WriteFileRaw(R("a/b/x"), "new");
  DirScope::Clear();
  ASSERT_TRUE(fs_->Stat(R("a/b/x"), &fi).ok());
  EXPECT_TRUE(fi.exists());
}

TEST_F(PosixFsTest, AScopeKeepsNoRefusedWalk) {
  WriteFileRaw(O("victim"), "V");
  ASSERT_EQ(::symlink(outside_.c_str(), R("link").c_str()), 0);
  DirScope scope;
  FileInfo fi;
  for (int i = 0; i < 2; ++i) EXPECT_EQ(fs_->Stat(R("link/victim"), &fi).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->CreateFile(R("link/new"), "x", 0600).code(), Code::kOutsideRoot);
  EXPECT_EQ(DirScope::Size(), 0u);
  EXPECT_FALSE(Exists(O("new")));
}

}  // namespace
}  // namespace fstx::fstest
