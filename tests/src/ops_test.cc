// Every operation's apply / probe / undo / redo / cleanup on real files,
// including every interrupted state (a fault after each step of Apply).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <functional>

#include "journal/names.h"
#include "src/ops/ops.h"
#include "src/ops/plan.h"
#include "src/ops/stage.h"
#include "tests/fs_wrappers.h"
#include "tests/testutil.h"
#include "tests/vm_fixture.h"

namespace fstx {
namespace {

using testing::Snapshot;
using testing::TempDir;
using testing::TreeImage;

using testing::FailNthFs;

// Plans `ops` under one root and creates their staging directories, as
// Commit() does before journaling.
Status PlanStaged(Fs* fs, const std::string& root, std::vector<Op> ops, std::vector<Intent>* out) {
  Status s = Plan(fs, {root}, ops, out);
  if (!s.ok()) return s;
  std::set<std::string> stages;
  for (const Intent& in : *out)
    if (!in.stage.empty()) stages.insert(in.stage);
  return EnsureStages(fs, stages);
}

struct Case {
  const char* name;
  std::function<void(const std::string& root)> setup;
  std::function<Op(const std::string& root)> op;
};

Op Spec(OpKind k, std::string path, std::string src = "", bool replace = false, std::string data = "",
            std::optional<uint32_t> mode = std::nullopt) {
  Op s;
  s.kind = k;
  s.path = std::move(path);
  s.src = std::move(src);
  s.replace = replace ? RenameMode::kReplace : RenameMode::kNoReplace;
  s.data = std::move(data);
  s.mode = mode;
  return s;
}

void Tree(const std::string& r) {
  testing::MkdirRaw(r + "/d");
  testing::WriteFileRaw(r + "/d/a.txt", "alpha", 0640);
  testing::WriteFileRaw(r + "/d/b.txt", "bravo", 0600);
  testing::MkdirRaw(r + "/d/sub");
  testing::WriteFileRaw(r + "/d/sub/c.txt", "charlie");
  testing::MkdirRaw(r + "/e");
  testing::WriteFileRaw(r + "/e/x", "x-ray");
  ::symlink("a.txt", (r + "/d/link").c_str());
  testing::MakeSocketFile(r + "/d/sock");
}

const Case kCases[] = {
    {"rename_file", Tree, [](auto& r) { return Spec(OpKind::kRename, r + "/d/z.txt", r + "/d/a.txt"); }},
    {"rename_file_across_dirs", Tree, [](auto& r) { return Spec(OpKind::kRename, r + "/e/a.txt", r + "/d/a.txt"); }},
    {"rename_dir_with_contents", Tree, [](auto& r) { return Spec(OpKind::kRename, r + "/e/moved", r + "/d/sub"); }},
    {"rename_replace_file", Tree,
     [](auto& r) { return Spec(OpKind::kRename, r + "/d/b.txt", r + "/d/a.txt", true); }},
    {"rename_replace_dir", Tree, [](auto& r) { return Spec(OpKind::kRename, r + "/e", r + "/d/sub", true); }},
    {"rename_symlink", Tree, [](auto& r) { return Spec(OpKind::kRename, r + "/e/link", r + "/d/link"); }},
    {"rename_socket", Tree, [](auto& r) { return Spec(OpKind::kRename, r + "/e/sock", r + "/d/sock"); }},
    {"write_file_create", Tree,
     [](auto& r) { return Spec(OpKind::kWriteFile, r + "/d/new.xml", "", false, "<new/>", 0600); }},
    {"write_file_replace_keeps_mode", Tree,
     [](auto& r) { return Spec(OpKind::kWriteFile, r + "/d/a.txt", "", false, "ALPHA-2"); }},
    {"write_file_replace_same_content", Tree,
     [](auto& r) { return Spec(OpKind::kWriteFile, r + "/d/a.txt", "", false, "alpha", 0640); }},
    {"write_file_empty", Tree, [](auto& r) { return Spec(OpKind::kWriteFile, r + "/e/x", "", false, ""); }},
    {"symlink_create", Tree, [](auto& r) { return Spec(OpKind::kSymlink, r + "/e/l2", "", false, "../d/b.txt"); }},
    {"symlink_retarget", Tree, [](auto& r) { return Spec(OpKind::kSymlink, r + "/d/link", "", true, "b.txt"); }},
    {"symlink_replace_file", Tree, [](auto& r) { return Spec(OpKind::kSymlink, r + "/e/x", "", true, "/etc"); }},
    {"remove_file", Tree, [](auto& r) { return Spec(OpKind::kRemove, r + "/d/b.txt"); }},
    {"remove_dir_tree", Tree, [](auto& r) { return Spec(OpKind::kRemove, r + "/d"); }},
    {"remove_socket", Tree, [](auto& r) { return Spec(OpKind::kRemove, r + "/d/sock"); }},
    {"mkdir", Tree, [](auto& r) { return Spec(OpKind::kMkdir, r + "/e/newdir", "", false, "", 0750); }},
};

class OpsTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    GetParam().setup(dir_.path());
    auto fs = PosixFs::Open({dir_.path()});
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(fs.value());
    ASSERT_TRUE(PlanStaged(fs_.get(), dir_.path(), {GetParam().op(dir_.path())}, &intents_).ok());
    pre_ = Snapshot(dir_.path());
  }
  const Intent& in() const { return intents_[0]; }
  ops::State Probe(Fs* fs) { return ops::Probe(fs, kTx, 0, in()).state; }
  // The tree after apply + cleanup: the applied tree without staging
  // objects, relative to the root (undone again, so the test continues
  // from the pre-image).
  TreeImage Post() {
    EXPECT_TRUE(ops::Apply(fs_.get(), kTx, 0, in()).ok());
    TreeImage post;
    for (const auto& [path, v] : Snapshot(dir_.path()))
      if (path.find("/.fstx-") == std::string::npos && path != "/.fstx") post[path] = v;
    EXPECT_TRUE(ops::Undo(fs_.get(), kTx, 0, in()).ok());
    return post;
  }

  static constexpr uint64_t kTx = 7;
  TempDir dir_;
  std::unique_ptr<PosixFs> fs_;
  std::vector<Intent> intents_;
  TreeImage pre_;
};

TEST_P(OpsTest, ApplyProbeUndoRedoCleanup) {
  EXPECT_EQ(Probe(fs_.get()), ops::State::kNotApplied);
  ASSERT_TRUE(ops::Apply(fs_.get(), kTx, 0, in()).ok());
  EXPECT_EQ(Probe(fs_.get()), ops::State::kApplied);
  EXPECT_NE(Snapshot(dir_.path()), pre_);

  ASSERT_TRUE(ops::Undo(fs_.get(), kTx, 0, in()).ok());
  EXPECT_EQ(Snapshot(dir_.path()), pre_) << testing::Diff(pre_, Snapshot(dir_.path()));
  EXPECT_EQ(Probe(fs_.get()), ops::State::kNotApplied);
  ASSERT_TRUE(ops::Undo(fs_.get(), kTx, 0, in()).ok()) << "undo is idempotent";
  EXPECT_EQ(Snapshot(dir_.path()), pre_);

  ASSERT_TRUE(ops::Redo(fs_.get(), kTx, 0, in()).ok());
  EXPECT_EQ(Probe(fs_.get()), ops::State::kApplied);
  ASSERT_TRUE(ops::Redo(fs_.get(), kTx, 0, in()).ok()) << "redo is idempotent";
  ASSERT_TRUE(ops::Cleanup(fs_.get(), kTx, 0, in()).ok());
  for (const auto& [path, v] : Snapshot(dir_.path()))
    EXPECT_EQ(path.find("/.fstx-"), std::string::npos) << "staging leftover " << path;
}

// A fault after each step of Apply leaves a state that Probe recognises
// and that Undo takes back to the pre-image and Redo forward to the post.
// Each fault gets a fresh tree (after Cleanup there is no way back).
TEST_P(OpsTest, EveryInterruptedStateUndoesAndRedoes) {
  const TreeImage post = Post();
  for (int n = 1;; ++n) {
    TempDir d;
    GetParam().setup(d.path());
    auto fs = PosixFs::Open({d.path()});
    ASSERT_TRUE(fs.ok());
    Fs* real = fs.value().get();
    std::vector<Intent> intents;
    ASSERT_TRUE(PlanStaged(real, d.path(), {GetParam().op(d.path())}, &intents).ok());
    const Intent& in = intents[0];
    const TreeImage pre = Snapshot(d.path());
    ASSERT_EQ(pre, pre_);

    FailNthFs failing(real, n);
    if (ops::Apply(&failing, kTx, 0, in).ok()) {
      ASSERT_GT(n, 1);
      break;
    }
    ops::State st = ops::Probe(real, kTx, 0, in).state;
    EXPECT_NE(st, ops::State::kUnknown) << "after fault " << n;
    EXPECT_NE(st, ops::State::kApplied) << "after fault " << n;
    ASSERT_TRUE(ops::Undo(real, kTx, 0, in).ok()) << "after fault " << n;
    EXPECT_EQ(Snapshot(d.path()), pre) << "fault " << n << "\n" << testing::Diff(pre, Snapshot(d.path()));

    FailNthFs again(real, n);
    ASSERT_FALSE(ops::Apply(&again, kTx, 0, in).ok());
    ASSERT_TRUE(ops::Redo(real, kTx, 0, in).ok()) << "after fault " << n;
    ASSERT_TRUE(ops::Cleanup(real, kTx, 0, in).ok());
    EXPECT_EQ(Snapshot(d.path()), post) << "fault " << n << "\n" << testing::Diff(post, Snapshot(d.path()));
  }
}

// Someone else changes the target behind fstx's back: the probe says
// unknown and undo refuses to act (needs attention), changing nothing.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

TEST_P(OpsTest, ForeignChangeNeedsAttention) {
  ASSERT_TRUE(ops::Apply(fs_.get(), kTx, 0, in()).ok());
  const std::string victim = in().path;
  ASSERT_TRUE(boost::filesystem::remove_all(victim) > 0 || in().kind == OpKind::kRemove);
  testing::WriteFileRaw(victim, "someone else's file");
  TreeImage tampered = Snapshot(dir_.path());
  EXPECT_EQ(Probe(fs_.get()), ops::State::kUnknown);
  Status s = ops::Undo(fs_.get(), kTx, 0, in());
  EXPECT_EQ(s.code(), Code::kNeedsAttention) << s.ToString();
  EXPECT_NE(s.message().find(victim), std::string::npos) << s.message();
  s = ops::Redo(fs_.get(), kTx, 0, in());
  EXPECT_EQ(s.code(), Code::kNeedsAttention) << s.ToString();
  EXPECT_EQ(Snapshot(dir_.path()), tampered);
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpsTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(OpsSocket, ListeningSocketRenamedAcceptsAtNewPath) {
  TempDir dir;
  const std::string from = dir / "vm1.sock", to = dir / "vm2.sock";
  int srv = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", from.c_str());
  ASSERT_EQ(::bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(srv, 4), 0);

  auto fs = PosixFs::Open({dir.path()});
  ASSERT_TRUE(fs.ok());
  std::vector<Intent> in;
  ASSERT_TRUE(PlanStaged(fs.value().get(), dir.path(), {Spec(OpKind::kRename, to, from)}, &in).ok());
  ASSERT_TRUE(ops::Apply(fs.value().get(), 1, 0, in[0]).ok());

  auto connect_to = [](const std::string& p) {
    int c = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un ca{};
    ca.sun_family = AF_UNIX;
    std::snprintf(ca.sun_path, sizeof ca.sun_path, "%s", p.c_str());
    int rc = ::connect(c, reinterpret_cast<sockaddr*>(&ca), sizeof ca);
    ::close(c);
    return rc;
  };
  EXPECT_EQ(connect_to(to), 0) << "client connects at the new path";
  EXPECT_NE(connect_to(from), 0) << "nothing at the old path";
  int conn = ::accept(srv, nullptr, nullptr);
  EXPECT_GE(conn, 0) << "the listening server accepted the client";
  ::close(conn);
  ::close(srv);
}

}  // namespace
}  // namespace fstx
