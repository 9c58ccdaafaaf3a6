// confinement_test.cc — paths that try to leave a root (outside paths, "..",
// symlinked parents, the root itself, over-long names) are refused and
// change nothing.

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/fs/fs_fixture.h"

namespace fstx::fstest {
namespace {

TEST_F(PosixFsTest, PathsOutsideRootsRefused) {
  WriteFileRaw(O("victim"), "V");
  FileInfo info;
  Status s = fs_->Stat(O("victim"), &info);
  EXPECT_EQ(s.code(), Code::kOutsideRoot);
  EXPECT_NE(s.message().find(O("victim")), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(root_), std::string::npos) << s.message();
  std::string out;
  EXPECT_EQ(fs_->ReadFile(O("victim"), 100, &out).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->CreateFile(O("new"), "x", 0600).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->Mkdir(O("newd"), 0700).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->Symlink("x", O("newl")).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->Unlink(O("victim")).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->Rename(O("victim"), R("stolen"), RenameMode::kNoReplace).code(),
            Code::kOutsideRoot);
  EXPECT_EQ(fs_->Link(O("victim"), R("stolen")).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->Unlink(root_ + "x/y").code(), Code::kOutsideRoot);  // "/rootx" is not beneath
  EXPECT_EQ(ReadFileRaw(O("victim")), "V");
  EXPECT_EQ(ListRaw(outside_), (std::vector<std::string>{"victim"}));
  EXPECT_TRUE(List(root_).empty());
}

TEST_F(PosixFsTest, DotDotRefused) {
  WriteFileRaw(O("victim"), "V");
  Status s = fs_->Unlink(root_ + "/../outside/victim");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'..'"), std::string::npos) << s.message();
  EXPECT_EQ(fs_->CreateFile(root_ + "/../outside/new", "x", 0600).code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadFileRaw(O("victim")), "V");
  EXPECT_FALSE(Exists(O("new")));
}

TEST_F(PosixFsTest, SymlinkedParentPointingOutsideRefused) {
  WriteFileRaw(O("victim"), "V");
  ASSERT_EQ(::symlink(outside_.c_str(), R("link").c_str()), 0);
  FileInfo info;
  Status s = fs_->Stat(R("link/victim"), &info);
  EXPECT_EQ(s.code(), Code::kOutsideRoot);
  EXPECT_NE(s.message().find("symlink"), std::string::npos) << s.message();
  std::string out;
  EXPECT_EQ(fs_->ReadFile(R("link/victim"), 100, &out).code(), Code::kOutsideRoot);
  EXPECT_EQ(out, "");
  EXPECT_EQ(fs_->CreateFile(R("link/new"), "x", 0600).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->Unlink(R("link/victim")).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->Rename(R("link/victim"), R("stolen"), RenameMode::kReplace).code(),
            Code::kOutsideRoot);
  EXPECT_EQ(fs_->Mkdir(R("link/sub/deeper"), 0700).code(), Code::kOutsideRoot);
  std::vector<std::string> names;
  EXPECT_EQ(fs_->ListDir(R("link/x"), &names).code(), Code::kOutsideRoot);
  EXPECT_EQ(ReadFileRaw(O("victim")), "V");
  EXPECT_EQ(ListRaw(outside_), (std::vector<std::string>{"victim"}));
  EXPECT_FALSE(Exists(R("stolen")));
}

TEST_F(PosixFsTest, SymlinkedParentPointingInsideRefused) {
  MkdirRaw(R("real"));
  WriteFileRaw(R("real/f"), "F");
  ASSERT_EQ(::symlink("real", R("rel").c_str()), 0);
  ASSERT_EQ(::symlink(R("real").c_str(), R("abs").c_str()), 0);
  EXPECT_EQ(fs_->Unlink(R("rel/f")).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->Unlink(R("abs/f")).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->CreateFile(R("rel/g"), "x", 0600).code(), Code::kOutsideRoot);
  EXPECT_EQ(ReadFileRaw(R("real/f")), "F");
  EXPECT_FALSE(Exists(R("real/g")));
}

TEST_F(PosixFsTest, LeafSymlinkActsOnTheLink) {
  WriteFileRaw(O("target"), "T");
  ASSERT_EQ(::symlink(O("target").c_str(), R("l").c_str()), 0);
  FileInfo info;
  ASSERT_TRUE(fs_->Stat(R("l"), &info).ok());
  EXPECT_EQ(info.type, FileType::kSymlink);
  ASSERT_TRUE(fs_->Unlink(R("l")).ok());
  EXPECT_FALSE(Exists(R("l")));
  EXPECT_EQ(ReadFileRaw(O("target")), "T");
}

TEST_F(PosixFsTest, RootItselfCannotBeModified) {
  MkdirRaw(R("d"));
  Status s = fs_->Rename(root_, R("d/moved"), RenameMode::kNoReplace);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("cannot modify root " + root_ + " itself"), std::string::npos)
      << s.message();
  EXPECT_EQ(fs_->Rename(R("d"), root_, RenameMode::kReplace).code(), Code::kInvalidArgument);
  EXPECT_EQ(fs_->Unlink(root_).code(), Code::kInvalidArgument);
  EXPECT_EQ(fs_->Rmdir(root_ + "/").code(), Code::kInvalidArgument);
  EXPECT_EQ(fs_->Mkdir(root_, 0700).code(), Code::kInvalidArgument);
  EXPECT_EQ(fs_->CreateFile(root_, "x", 0600).code(), Code::kInvalidArgument);
  EXPECT_EQ(fs_->Symlink("x", root_).code(), Code::kInvalidArgument);
  EXPECT_EQ(fs_->Link(R("d"), root_).code(), Code::kInvalidArgument);
  EXPECT_TRUE(Exists(root_));
  EXPECT_EQ(List(root_), (std::vector<std::string>{"d"}));
  EXPECT_FALSE(Exists(R("d/moved")));
}

TEST_F(PosixFsTest, NameTooLongRefused) {
  Status s = fs_->CreateFile(R(std::string(300, 'n')), "x", 0600);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("NAME_MAX"), std::string::npos) << s.message();
  EXPECT_TRUE(List(root_).empty());
}

}  // namespace
}  // namespace fstx::fstest
