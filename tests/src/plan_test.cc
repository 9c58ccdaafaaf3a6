// Validation against the virtual namespace: what each op sees is the tree
// as the earlier ops of the same transaction leave it.
#include <gtest/gtest.h>

#include <climits>

#include "fstx/fstx.h"
#include "src/paths.h"
#include "src/plan.h"
#include "tests/testutil.h"

namespace fstx {
namespace {

using testing::TempDir;

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MkdirRaw(dir_ / "d");
    testing::WriteFileRaw(dir_ / "d/a", "A", 0640);
    testing::WriteFileRaw(dir_ / "d/b", "B");
    testing::MkdirRaw(dir_ / "d/sub");
    testing::WriteFileRaw(dir_ / "d/sub/c", "C");
    auto fs = PosixFs::Open({dir_.path()});
    ASSERT_TRUE(fs.ok());
    fs_ = std::move(fs.value());
  }
  OpSpec Op(OpKind k, const std::string& path, const std::string& src = "", bool replace = false) {
    OpSpec s;
    s.kind = k;
    s.path = dir_ / path;
    if (!src.empty()) s.src = dir_ / src;
    s.replace = replace;
    s.data = k == OpKind::kSymlink ? "target" : "data";
    return s;
  }
  Status Run(std::vector<OpSpec> ops, std::vector<Intent>* out = nullptr) {
    std::vector<Intent> tmp;
    Status s = CheckLexical({dir_.path()}, &ops);
    if (!s.ok()) return s;
    return Plan(fs_.get(), {dir_.path()}, ops, out ? out : &tmp);
  }
  TempDir dir_;
  std::unique_ptr<PosixFs> fs_;
};

TEST_F(PlanTest, WriteAfterRenameSeesTheMovedObject) {
  std::vector<Intent> in;
  ASSERT_TRUE(Run({Op(OpKind::kRename, "d/z", "d/a"), Op(OpKind::kWriteFile, "d/z")}, &in).ok());
  EXPECT_EQ(in[1].before.ino, testing::Inode(dir_ / "d/a"));
  EXPECT_EQ(in[1].mode, 0640u) << "mode of the replaced file is kept";
  EXPECT_EQ(in[0].moved.ino, testing::Inode(dir_ / "d/a"));
  EXPECT_FALSE(in[0].before.present());
}

TEST_F(PlanTest, WriteInsideRenamedDirectory) {
  std::vector<Intent> in;
  ASSERT_TRUE(Run({Op(OpKind::kRename, "e", "d"), Op(OpKind::kWriteFile, "e/sub/c")}, &in).ok());
  EXPECT_EQ(in[1].before.ino, testing::Inode(dir_ / "d/sub/c"));
  EXPECT_EQ(Run({Op(OpKind::kRename, "e", "d"), Op(OpKind::kWriteFile, "d/a")}).code(), Code::kNotFound)
      << "d is gone after op 1";
}

TEST_F(PlanTest, MkdirThenCreateInside) {
  EXPECT_TRUE(Run({Op(OpKind::kMkdir, "n"), Op(OpKind::kWriteFile, "n/f"), Op(OpKind::kMkdir, "n/m")}).ok());
  EXPECT_EQ(Run({Op(OpKind::kWriteFile, "n/f")}).code(), Code::kNotFound);
}

TEST_F(PlanTest, RefusesTouchingWhatItCreates) {
  Status s = Run({Op(OpKind::kWriteFile, "d/x"), Op(OpKind::kRename, "d/y", "d/x")});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("op 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("created by op 1"), std::string::npos) << s.message();
  EXPECT_FALSE(Run({Op(OpKind::kWriteFile, "d/a"), Op(OpKind::kWriteFile, "d/a")}).ok()) << "duplicate write";
  EXPECT_FALSE(Run({Op(OpKind::kMkdir, "n"), Op(OpKind::kRemove, "n")}).ok());
  EXPECT_EQ(Run({Op(OpKind::kRemove, "d/a"), Op(OpKind::kRemove, "d/a")}).code(), Code::kNotFound);
}

TEST_F(PlanTest, RenameRules) {
  EXPECT_EQ(Run({Op(OpKind::kRename, "d/b", "d/a")}).code(), Code::kExists);
  EXPECT_TRUE(Run({Op(OpKind::kRename, "d/b", "d/a", true)}).ok());
  EXPECT_EQ(Run({Op(OpKind::kRename, "d/q", "d/missing")}).code(), Code::kNotFound);
  EXPECT_EQ(Run({Op(OpKind::kRename, "nodir/a", "d/a")}).code(), Code::kNotFound);
  EXPECT_EQ(Run({Op(OpKind::kRename, "d/sub/inner", "d")}).code(), Code::kInvalidArgument);
  ASSERT_EQ(::link((dir_ / "d/a").c_str(), (dir_ / "d/a2").c_str()), 0);
  EXPECT_EQ(Run({Op(OpKind::kRename, "d/a2", "d/a", true)}).code(), Code::kInvalidArgument)
      << "hard links to one file";
}

TEST_F(PlanTest, TypeRules) {
  EXPECT_EQ(Run({Op(OpKind::kWriteFile, "d/sub")}).code(), Code::kInvalidArgument);
  EXPECT_EQ(Run({Op(OpKind::kSymlink, "d/sub", "", true)}).code(), Code::kInvalidArgument);
  EXPECT_EQ(Run({Op(OpKind::kSymlink, "d/a")}).code(), Code::kExists);
  EXPECT_EQ(Run({Op(OpKind::kMkdir, "d/a")}).code(), Code::kExists);
  EXPECT_EQ(Run({Op(OpKind::kRemove, "d/none")}).code(), Code::kNotFound);
}

TEST_F(PlanTest, LexicalRules) {
  OpSpec outside;
  outside.kind = OpKind::kRemove;
  outside.path = "/etc/passwd";
  EXPECT_EQ(Run({outside}).code(), Code::kOutsideRoot);
  OpSpec dotdot = Op(OpKind::kRemove, "d/../d/a");
  EXPECT_EQ(Run({dotdot}).code(), Code::kInvalidArgument);
  EXPECT_EQ(Run({Op(OpKind::kRemove, ".fstx-1-0-old")}).code(), Code::kInvalidArgument);
  OpSpec root = Op(OpKind::kRemove, "");
  root.path = dir_.path();
  EXPECT_EQ(Run({root}).code(), Code::kOutsideRoot) << "a root itself is not beneath a root";
  OpSpec mode = Op(OpKind::kMkdir, "m");
  mode.mode = 0100000;
  EXPECT_EQ(Run({mode}).code(), Code::kInvalidArgument);
  EXPECT_EQ(Run({}).code(), Code::kInvalidArgument);
  OpSpec rel = Op(OpKind::kRemove, "");
  rel.path = "relative/path";
  EXPECT_EQ(Run({rel}).code(), Code::kInvalidArgument);
}

// The op limit is checked before anything else, with the numbers.
TEST_F(PlanTest, MoreOpsThanTheLimitAreRefused) {
  std::vector<OpSpec> ops(kMaxOpsPerTransaction + 1, Op(OpKind::kMkdir, "m"));
  Status s = Run(ops);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("at most " + std::to_string(kMaxOpsPerTransaction)), std::string::npos) << s.message();
}

// The indexed lookup answers as the op-by-op walk did on chains of
// renames: a directory moved back and forth, files written inside it
// between the moves, and a name reused after its object moved away.
TEST_F(PlanTest, LongRenameChainsResolveThroughEveryStep) {
  std::vector<OpSpec> ops;
  for (int i = 0; i < 50; ++i) {
    ops.push_back(i % 2 ? Op(OpKind::kRename, "d/sub", "d/moved") : Op(OpKind::kRename, "d/moved", "d/sub"));
    ops.push_back(Op(OpKind::kWriteFile, i % 2 ? "d/sub/f" + std::to_string(i) : "d/moved/f" + std::to_string(i)));
  }
  ops.push_back(Op(OpKind::kRename, "d/sub/c2", "d/sub/c"));  // the original file, moved 50 times
  std::vector<Intent> out;
  Status s = Run(ops, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.back().moved.size, 1u) << "the real d/sub/c (1 byte)";
  // The name the first op freed is free; the one it took is not.
  ops.push_back(Op(OpKind::kMkdir, "d/sub/f1"));
  EXPECT_EQ(Run(ops).code(), Code::kInvalidArgument) << "f1 was created by this transaction";
  ops.back() = Op(OpKind::kMkdir, "d/moved");
  EXPECT_TRUE(Run(ops).ok());
}

// Refused while planning, before anything is journaled (the CLI checks the
// same up front): a replace between a directory and a non-directory, and a
// symlink target symlink(2) would refuse.
TEST_F(PlanTest, ReplacesThatRenameWouldRefuseAndOverlongLinkTargets) {
  Status s = Run({Op(OpKind::kRename, "d/a", "d/sub", true)});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("cannot replace the file"), std::string::npos) << s.message();
  s = Run({Op(OpKind::kRename, "d/sub", "d/a", true)});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("cannot replace the directory"), std::string::npos) << s.message();
  EXPECT_TRUE(Run({Op(OpKind::kRename, "d/b", "d/a", true)}).ok());
  OpSpec link = Op(OpKind::kSymlink, "d/l");
  link.data = std::string(PATH_MAX, 'x');
  s = Run({link});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("symlink target is 4096 bytes"), std::string::npos) << s.message();
  link.data.pop_back();
  EXPECT_TRUE(Run({link}).ok());
}

TEST(PathSetTest, AnswersSameAncestorAndBeneath) {
  paths::PathSet set;
  set.Insert("/a/b");
  set.Insert("/ab");
  EXPECT_TRUE(set.Holds("/a/b"));
  EXPECT_TRUE(set.HoldsAncestorOf("/a/b/c/d"));
  EXPECT_FALSE(set.HoldsAncestorOf("/a/b"));
  EXPECT_FALSE(set.HoldsAncestorOf("/a/bc"));
  EXPECT_TRUE(set.HoldsBeneath("/a"));
  EXPECT_TRUE(set.HoldsBeneath("/"));
  EXPECT_FALSE(set.HoldsBeneath("/a/b"));
  EXPECT_FALSE(set.HoldsBeneath("/a/bc"));
  EXPECT_TRUE(set.Overlaps("/ab"));
  EXPECT_FALSE(set.Overlaps("/a/c"));
  EXPECT_FALSE(set.Overlaps("/abc"));
}

}  // namespace
}  // namespace fstx
