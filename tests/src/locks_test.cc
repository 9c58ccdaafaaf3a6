// LockTable (src/engine/locks.h) within one process: which lock sets
// conflict, and that the index it keeps forgets a set on Unlock.
#include <gtest/gtest.h>

#include "fstx/fs.h"
#include "src/engine/locks.h"
#include "src/fs/resolve.h"
#include "tests/testutil.h"

namespace fstx {
namespace {

Status Try(LockTable& t, std::set<std::string> paths, uint64_t key) {
  return t.TryLock(paths, key, "tx " + std::to_string(key));
}

TEST(LockTableTest, APathConflictsWithItselfItsAncestorsAndWhatIsBeneathIt) {
  LockTable t;
  ASSERT_TRUE(Try(t, {"/r/a/b"}, 1).ok());
  for (const char* p : {"/r/a/b", "/r/a", "/r", "/", "/r/a/b/c", "/r/a/b/c/d"}) {
    Status s = Try(t, {"/r/x", p}, 2);
    EXPECT_EQ(s.code(), Code::kBusy) << p;
    EXPECT_NE(s.message().find("locked by tx 1 (lock on /r/a/b)"), std::string::npos) << s.message();
  }
  // Neighbours and names that merely share a prefix do not conflict.
  for (const char* p : {"/r/a/c", "/r/a/b-c", "/r/a/bb", "/r/a-b", "/r/b"}) {
    EXPECT_TRUE(Try(t, {p}, 10).ok()) << p;
    t.Unlock(10);
  }
  EXPECT_EQ(t.size(), 1u);
}

TEST(LockTableTest, UnlockForgetsEveryPathOfTheSetOnly) {
  LockTable t;
  ASSERT_TRUE(Try(t, {"/r/a", "/r/b"}, 1).ok());
  ASSERT_TRUE(Try(t, {"/r/c/d", "/r/e"}, 2).ok());
  EXPECT_EQ(Try(t, {"/r/c"}, 3).code(), Code::kBusy);
  t.Unlock(1);
  EXPECT_TRUE(Try(t, {"/r/a/x", "/r/b"}, 3).ok());
  EXPECT_EQ(Try(t, {"/r/e/f"}, 4).code(), Code::kBusy);
  t.Unlock(2);
  EXPECT_TRUE(Try(t, {"/r/c", "/r/e/f"}, 4).ok());
  EXPECT_EQ(t.size(), 2u);
  t.Unlock(3);
  t.Unlock(4);
  EXPECT_TRUE(Try(t, {"/"}, 5).ok());
}

// A thousand lock sets held at once (a recovery batch holds many): each
// new set is checked against all of them, and none is missed.
TEST(LockTableTest, ManyHeldSetsAreAllChecked) {
  LockTable t;
  for (uint64_t k = 1; k <= 1000; ++k)
    ASSERT_TRUE(Try(t, {"/r/vm" + std::to_string(k) + "/disk", "/r/etc/vm" + std::to_string(k)}, k).ok());
  for (uint64_t k = 1; k <= 1000; k += 97) {
    EXPECT_EQ(Try(t, {"/r/vm" + std::to_string(k)}, 5000).code(), Code::kBusy) << k;
    EXPECT_EQ(Try(t, {"/r/etc/vm" + std::to_string(k) + "/x"}, 5000).code(), Code::kBusy) << k;
  }
  EXPECT_TRUE(Try(t, {"/r/vm1001/disk"}, 5000).ok());
}

// The directories a thread keeps (resolve::DirScope) are valid only under
// its locks: taking locks and letting them go both forget them, and a
// lock that is not had forgets nothing.
TEST(LockTableTest, TakingOrLettingGoOfLocksForgetsKeptDirectories) {
  testing::TempDir td;
  const std::string root = td / "root";
  testing::MkdirRaw(root);
  testing::MkdirRaw(root + "/a");
  auto fs = PosixFs::Open({root});
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  auto keep_one = [&] {
    FileInfo fi;
    ASSERT_TRUE((*fs)->Stat(root + "/a/x", &fi).ok());
    ASSERT_EQ(resolve::DirScope::Size(), 1u);
  };
  LockTable t;
  resolve::DirScope scope;
  keep_one();
  ASSERT_TRUE(Try(t, {root + "/a/x"}, 1).ok());
  EXPECT_EQ(resolve::DirScope::Size(), 0u);
  keep_one();
  EXPECT_EQ(Try(t, {root + "/a"}, 2).code(), Code::kBusy);
  EXPECT_EQ(resolve::DirScope::Size(), 1u);
  t.Unlock(1);
  EXPECT_EQ(resolve::DirScope::Size(), 0u);
}

}  // namespace
}  // namespace fstx
