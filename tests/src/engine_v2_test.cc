// Format-2 engine features on real files and a real journal: the staging
// directory (never a staging object in a daemon's directory), write_range,
// preconditions (expect), and the refusals that keep roots and staging
// directories out of reach of ops.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <boost/filesystem.hpp>
#include <cstring>
#include <functional>

#include "fstx/fstx.h"
#include "journal/store.h"
#include "tests/fs_wrappers.h"
#include "tests/testutil.h"
#include "tests/vm_fixture.h"

namespace fstx {
namespace {

using testing::Snapshot;
using testing::TempDir;
using testing::TreeImage;

class EngineV2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "root";
    testing::MkdirRaw(root_);
    testing::BuildVmTree(root_);
    pre_ = Snapshot(root_);
  }
  std::unique_ptr<Journal> OpenJournal(Fs* fs = nullptr) {
    Options o;
    o.dir = dir_ / "journal";
    o.roots = {root_};
    o.fs = fs;
    auto j = Journal::Open(o);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j.value()) : nullptr;
  }
  void History(std::vector<TxRecord>* history) {
    auto st = JournalStore::Open({.dir = dir_ / "journal", .read_only = true});
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    std::vector<BadRecord> bad;
    ASSERT_TRUE(st.value()->ListHistory(history, &bad).ok());
  }
  TempDir dir_;
  std::string root_;
  TreeImage pre_;
};

// Every staging object of every step of the VM rename lives in the
// staging directory at the top of the root: no directory a daemon scans
// ever holds one, at any point of the transaction.
TEST_F(EngineV2Test, StagingObjectsNeverAppearBesideTheTargets) {
  auto posix = PosixFs::Open({root_});
  ASSERT_TRUE(posix.ok());
  int checks = 0, staged_seen = 0;
  std::vector<std::string> offenders;
  testing::HookFs hook(posix.value().get(), [&](const char*, const std::string&) {
    namespace bfs = boost::filesystem;
    for (bfs::recursive_directory_iterator it(root_), end; it != end; ++it) {
      const std::string name = it->path().filename().string();
      const std::string parent = it->path().parent_path().string();
      if (name.rfind(".fstx-", 0) == 0) {
        if (parent == root_ + "/.fstx") ++staged_seen;
        else offenders.push_back(it->path().string());
      }
    }
    ++checks;
    return Status();
  });
  auto j = OpenJournal(&hook);
  ASSERT_TRUE(j);
  Transaction tx = j->Begin("rename");
  testing::AddVmRename(tx, root_);
  ASSERT_TRUE(tx.Commit().ok());
  EXPECT_GT(checks, 10);
  EXPECT_GT(staged_seen, 0) << "the replaced and removed objects were staged";
  EXPECT_TRUE(offenders.empty()) << offenders.front();
  j.reset();
  std::vector<std::string> left;
  for (auto& e : boost::filesystem::directory_iterator(root_ + "/.fstx")) left.push_back(e.path().string());
  EXPECT_TRUE(left.empty()) << left.front();
}

TEST_F(EngineV2Test, WriteRangeAppliesAndKeepsNoContentInHistory) {
  const std::string img = root_ + "/lib/images/vm1.qcow2";
  std::string want = testing::ReadFileRaw(img);
  want.replace(100, 5, "HELLO");
  want.replace(105, 4, "abcd");  // a second range right after the first
  {
    auto j = OpenJournal();
    ASSERT_TRUE(j);
    Transaction tx = j->Begin("header");
    tx.WriteRange(img, 100, "HELLO").WriteRange(img, 105, "abcd");
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(testing::ReadFileRaw(img), want);
  std::vector<TxRecord> history;
  History(&history);
  ASSERT_EQ(history.size(), 1u);
  for (const Intent& in : history[0].intents) {
    EXPECT_EQ(in.kind, OpKind::kWriteRange);
    EXPECT_TRUE(in.data.empty());
    EXPECT_TRUE(in.old_data.empty());
    EXPECT_EQ(in.data_hash.size(), 16u);
  }
}

// A failure after the two writes: rollback puts back exactly the bytes
// each range held.
TEST_F(EngineV2Test, WriteRangeRollsBackToTheExactBytes) {
  const std::string img = root_ + "/lib/images/vm1.qcow2";
  auto posix = PosixFs::Open({root_});
  ASSERT_TRUE(posix.ok());
  testing::HookFs failing(posix.value().get(), [&](const char* call, const std::string& p) {
    if (std::string(call) == "rename" && p.find("vm1.sock") != std::string::npos)
      return Status::FromErrno(EIO, "injected rename", p);
    return Status();
  });
  auto j = OpenJournal(&failing);
  ASSERT_TRUE(j);
  Transaction tx = j->Begin("header then fail");
  tx.WriteRange(img, 10, "XXXXXXXX").WriteRange(img, 18, "yy").Rename(root_ + "/run/vm1.sock", root_ + "/run/vm2.sock");
  Status s = tx.Commit();
  EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
  EXPECT_EQ(Snapshot(root_), pre_) << testing::Diff(pre_, Snapshot(root_));
}

TEST_F(EngineV2Test, WriteRangeRefusesWhatItCannotDoInPlace) {
  auto j = OpenJournal();
  ASSERT_TRUE(j);
  const std::string img = root_ + "/lib/images/vm1.qcow2";
  Status s = j->Begin("past the end").WriteRange(img, 64 * 1024 - 2, "abc").Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("beyond the end"), std::string::npos) << s.message();
  s = j->Begin("a directory").WriteRange(root_ + "/lib/images", 0, "a").Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  s = j->Begin("overlapping").WriteRange(img, 10, "abcd").WriteRange(img, 13, "xy").Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("overlaps the range op 1"), std::string::npos) << s.message();
  s = j->Begin("missing").WriteRange(root_ + "/lib/images/none", 0, "a").Commit();
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  s = j->Begin("created first").WriteFile(root_ + "/lib/new", "abc").WriteRange(root_ + "/lib/new", 0, "x").Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(Snapshot(root_), pre_);
}

// The plan was made from what the caller read; a file that changed since
// fails the whole transaction before anything is journaled.
TEST_F(EngineV2Test, StalePlanFailsAndChangesNothing) {
  const std::string xml = root_ + "/etc/qemu/vm1.xml";
  const std::string read = testing::ReadFileRaw(xml);
  testing::WriteFileRaw(xml, read + "<!-- edited after the plan -->\n", 0600);
  const TreeImage edited = Snapshot(root_);
  {
    auto j = OpenJournal();
    ASSERT_TRUE(j);
    Transaction tx = j->Begin("rename from a stale read");
    tx.Rename(xml, root_ + "/etc/qemu/vm2.xml").Expect(Precondition::Content(read));
    tx.WriteFile(root_ + "/etc/qemu/vm2.xml", "<domain/>", 0600);
    EXPECT_EQ(tx.Validate().code(), Code::kStale);
    Status s = tx.Commit();
    EXPECT_EQ(s.code(), Code::kStale) << s.ToString();
    EXPECT_NE(s.message().find(xml), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("changed since"), std::string::npos) << s.message();
    EXPECT_EQ(tx.id(), 0u) << "nothing was journaled";
  }
  EXPECT_EQ(Snapshot(root_), edited);
  std::vector<TxRecord> history;
  History(&history);
  EXPECT_TRUE(history.empty());
}

// Transaction::Add takes the op whole, as the CLI's spec gives it: the
// replace mode and the precondition travel with it (a stale precondition
// fails; a replace without kReplace is refused).
// Format 4: content bigger than Options::inline_content_max is staged, not
// journaled. The record names the staged file, keeps size and hash, and no
// content; nothing is left in the staging directory after the commit.
TEST_F(EngineV2Test, BigContentIsStagedNotJournaled) {
  const std::string big(300 << 10, 'b'), src = dir_ / "content";
  testing::WriteFileRaw(src, big);
  {
    auto j = OpenJournal();
    ASSERT_TRUE(j);
    Transaction tx = j->Begin("big");
    tx.WriteFileFrom(root_ + "/etc/qemu/big.img", src, 0640).WriteFile(root_ + "/etc/qemu/small", "s\n");
    ASSERT_TRUE(tx.Validate().ok());
    Status s = tx.Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(testing::ReadFileRaw(root_ + "/etc/qemu/big.img"), big);
  EXPECT_FALSE(testing::Exists(root_ + "/.fstx") && !boost::filesystem::is_empty(root_ + "/.fstx"));
  std::vector<TxRecord> history;
  History(&history);
  ASSERT_EQ(history.size(), 1u);
  const Intent& staged = history[0].intents[0];
  const Intent& inline_op = history[0].intents[1];
  EXPECT_EQ(staged.content.rfind(root_ + "/.fstx/.fstx-content-", 0), 0u) << staged.content;
  EXPECT_EQ(staged.data_size, big.size());
  EXPECT_EQ(data_hash_text(staged), ContentHash(big));
  EXPECT_TRUE(staged.moved.present());
  EXPECT_EQ(inline_op.content, "");
  EXPECT_LT(boost::filesystem::file_size(dir_ / "journal/data.mdb"), big.size()) << "the content went to the journal";
}

// A content file that cannot be read fails the transaction up front,
// naming the op and the file; nothing is staged or changed.
TEST_F(EngineV2Test, UnreadableContentFileChangesNothing) {
  auto j = OpenJournal();
  ASSERT_TRUE(j);
  for (const std::string& bad : {dir_ / "missing", dir_.path()}) {
    Transaction tx = j->Begin("bad");
    tx.WriteFileFrom(root_ + "/etc/qemu/x", bad);
    Status s = tx.Commit();
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find("content file " + bad), std::string::npos) << s.message();
    EXPECT_EQ(Snapshot(root_), pre_);
  }
}

TEST_F(EngineV2Test, AddTakesAWholeOp) {
  const std::string xml = root_ + "/etc/qemu/vm1.xml";
  const std::string read = testing::ReadFileRaw(xml);
  auto j = OpenJournal();
  ASSERT_TRUE(j);
  Op stale;
  stale.kind = OpKind::kWriteFile;
  stale.path = xml;
  stale.data = "<domain/>";
  stale.expect = Precondition::Content(read + "x");
  Transaction t1 = j->Begin("stale");
  EXPECT_EQ(t1.Add(stale).Commit().code(), Code::kStale);
  EXPECT_EQ(Snapshot(root_), pre_);

  Op rename;
  rename.kind = OpKind::kRename;
  rename.src = root_ + "/etc/qemu/vm1.xml";
  rename.path = root_ + "/etc/qemu/autostart/vm1.xml";
  EXPECT_EQ(rename.Describe(), "rename " + rename.src + " -> " + rename.path);
  Transaction t2 = j->Begin("no replace");
  EXPECT_EQ(t2.Add(rename).Commit().code(), Code::kExists);
  EXPECT_EQ(Snapshot(root_), pre_);

  rename.replace = RenameMode::kReplace;
  rename.expect = Precondition::Content(read);
  Transaction t3 = j->Begin("replace");
  Status s = t3.Add(rename).Commit();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(testing::ReadFileRaw(rename.path), read);
}

TEST_F(EngineV2Test, PreconditionsThatHoldLetTheTransactionRun) {
  const std::string xml = root_ + "/etc/qemu/vm1.xml";
  auto j = OpenJournal();
  ASSERT_TRUE(j);
  Transaction tx = j->Begin("fresh plan");
  // The write sees the renamed file: its expectation is checked against
  // the object the rename moved there.
  tx.Rename(xml, root_ + "/etc/qemu/vm2.xml").Expect(Precondition::Content(testing::ReadFileRaw(xml)));
  tx.WriteFile(root_ + "/etc/qemu/vm2.xml", "<domain/>", 0600)
      .Expect(Precondition::Hash(ContentHash(testing::ReadFileRaw(xml))));
  tx.Symlink("../vm2.xml", root_ + "/etc/qemu/autostart/vm2.xml").Expect(Precondition::Absent());
  tx.Remove(root_ + "/etc/qemu/autostart/vm1.xml").Expect(Precondition::Content("../vm1.xml"));
  Status s = tx.Commit();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(testing::ReadFileRaw(root_ + "/etc/qemu/vm2.xml"), "<domain/>");
}

TEST_F(EngineV2Test, PreconditionMismatchesNameTheReason) {
  auto j = OpenJournal();
  ASSERT_TRUE(j);
  Status s = j->Begin("absent expected").Mkdir(root_ + "/lib/x").Remove(root_ + "/lib/images/vm1.qcow2")
                 .Expect(Precondition::Absent())
                 .Commit();
  EXPECT_EQ(s.code(), Code::kStale);
  EXPECT_NE(s.message().find("expected to be absent"), std::string::npos) << s.message();
  s = j->Begin("dir hash").Remove(root_ + "/lib/snapshot/vm1").Expect(Precondition::Content("x")).Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  s = j->Begin("bad hash").Remove(root_ + "/lib/images/vm1.qcow2").Expect(Precondition::Hash("md5:00")).Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  s = j->Begin("gone").Remove(root_ + "/lib/nothing").Expect(Precondition::Content("x")).Commit();
  EXPECT_NE(s.code(), Code::kOk);
  Transaction first = j->Begin("expect first");
  first.Expect(Precondition::Absent()).Mkdir(root_ + "/lib/y");
  EXPECT_EQ(first.Commit().code(), Code::kInvalidArgument);
  EXPECT_EQ(Snapshot(root_), pre_);
}

// write_file keeps the replaced file's extended attributes, as it keeps
// its owner: user attributes, trusted ones (root), and the POSIX access ACL
// (here granting uid 1234 read), while an explicit mode still wins.
TEST_F(EngineV2Test, WriteFileKeepsExtendedAttributesAndAcls) {
  const std::string f = root_ + "/etc/qemu/vm1.xml";
  ASSERT_EQ(::setxattr(f.c_str(), "user.fstx", "kept", 4, 0), 0) << std::strerror(errno);
  ASSERT_EQ(::setxattr(f.c_str(), "trusted.fstx", "root's", 6, 0), 0) << std::strerror(errno);
  // posix_acl_xattr: version 2, then {tag u16, perm u16, id u32} entries.
  auto entry = [](uint16_t tag, uint16_t perm, uint32_t id) {
    std::string e(8, '\0');
    std::memcpy(e.data(), &tag, 2);
    std::memcpy(e.data() + 2, &perm, 2);
    std::memcpy(e.data() + 4, &id, 4);
    return e;
  };
  const uint32_t version = 2, none = 0xffffffffu;
  std::string acl(reinterpret_cast<const char*>(&version), 4);
  acl += entry(0x01, 6, none) + entry(0x02, 4, 1234) + entry(0x04, 4, none) + entry(0x10, 4, none) +
         entry(0x20, 0, none);
  ASSERT_EQ(::setxattr(f.c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0), 0) << std::strerror(errno);
  auto get = [](const std::string& path, const char* name) {
    char buf[256];
    ssize_t n = ::getxattr(path.c_str(), name, buf, sizeof buf);
    return n < 0 ? std::string("<") + std::strerror(errno) + ">" : std::string(buf, static_cast<size_t>(n));
  };
  const std::string acl_before = get(f, "system.posix_acl_access");
  auto j = OpenJournal();
  ASSERT_TRUE(j);
  Status s = j->Begin("rewrite").WriteFile(f, "<domain>new</domain>").Commit();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(testing::ReadFileRaw(f), "<domain>new</domain>");
  EXPECT_EQ(get(f, "user.fstx"), "kept");
  EXPECT_EQ(get(f, "trusted.fstx"), "root's");
  EXPECT_EQ(get(f, "system.posix_acl_access"), acl_before);
  struct stat st;
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u) << "the ACL's mode (group class = mask r--)";
  // An explicit mode wins over the ACL's bits; the named entry stays.
  s = j->Begin("rewrite 0600").WriteFile(f, "<domain>again</domain>", 0600).Commit();
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(get(f, "user.fstx"), "kept");
  EXPECT_NE(get(f, "system.posix_acl_access").find(entry(0x02, 4, 1234)), std::string::npos);
}

TEST(EngineV2Roots, OpsMayNotTouchRootsTheirAncestorsOrStagingDirectories) {
  TempDir d;
  const std::string n = d / "n";
  testing::MkdirRaw(n);
  testing::MkdirRaw(n + "/x");
  testing::MkdirRaw(n + "/x/y");
  testing::WriteFileRaw(n + "/x/y/f", "f");
  testing::MkdirRaw(n + "/new");
  testing::MkdirRaw(n + "/.fstx");
  const TreeImage pre = Snapshot(n);
  Options o;
  o.dir = d / "journal";
  o.roots = {n, n + "/x/y"};
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  // The nested-roots trap: move the ancestor of a root away, move another
  // directory into its place, then write beneath the nested root.
  Transaction tx = (*j)->Begin("nested");
  tx.Rename(n + "/x", n + "/gone").Rename(n + "/new", n + "/x").WriteFile(n + "/x/y/f", "g");
  Status s = tx.Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("ancestor"), std::string::npos) << s.message();
  s = (*j)->Begin("remove root").Remove(n + "/x/y").Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  s = (*j)->Begin("staging").WriteFile(n + "/.fstx/evil", "x").Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("staging directory"), std::string::npos) << s.message();
  s = (*j)->Begin("staging dir itself").Remove(n + "/.fstx").Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(Snapshot(n), pre);
  // Beneath the nested root, staging goes to the nested root's own
  // staging directory.
  ASSERT_TRUE((*j)->Begin("ok").WriteFile(n + "/x/y/f", "g").Commit().ok());
  EXPECT_EQ(testing::ReadFileRaw(n + "/x/y/f"), "g");
  EXPECT_TRUE(testing::Exists(n + "/x/y/.fstx"));
}

// A filesystem mounted beneath a root gets its own staging directory at
// its top, so staging renames never cross a mount (EXDEV).
TEST(EngineV2Mounts, StagingStaysOnTheTargetsMount) {
  TempDir d;
  const std::string r = d / "root";
  testing::MkdirRaw(r);
  testing::MkdirRaw(r + "/images");
  testing::MkdirRaw(r + "/etc");
  testing::WriteFileRaw(r + "/etc/a.xml", "a");
  ASSERT_EQ(::mount("tmpfs", (r + "/images").c_str(), "tmpfs", 0, "size=4m"), 0)
      << "mounting a tmpfs needs root (CAP_SYS_ADMIN): " << std::strerror(errno);
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{r + "/images"};
  testing::MkdirRaw(r + "/images/pool");
  testing::WriteFileRaw(r + "/images/pool/vm1.qcow2", std::string(4096, 'q'));
  testing::WriteFileRaw(r + "/images/pool/vm2.qcow2", "old");
  Options o;
  o.dir = d / "journal";
  o.roots = {r};
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  Transaction ok = (*j)->Begin("both mounts");
  ok.Rename(r + "/images/pool/vm1.qcow2", r + "/images/pool/vm2.qcow2", RenameMode::kReplace)
      .WriteFile(r + "/etc/a.xml", "A");
  Status s = ok.Commit();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(testing::Exists(r + "/images/.fstx"));
  EXPECT_TRUE(testing::Exists(r + "/.fstx"));
  EXPECT_EQ(testing::ReadFileRaw(r + "/images/pool/vm2.qcow2").size(), 4096u);
  EXPECT_EQ(testing::ReadFileRaw(r + "/etc/a.xml"), "A");
}

}  // namespace
}  // namespace fstx

namespace fstx {
namespace {

// A journal beneath a root: no op may move, replace or remove it or an
// ancestor of it (crashed half-way, such a rename left recovery with no
// journal to read).
TEST(EngineV2Journal, OpsMayNotTouchTheJournal) {
  TempDir d;
  const std::string r = d / "root";
  testing::MkdirRaw(r);
  testing::MkdirRaw(r + "/state");
  testing::WriteFileRaw(r + "/a", "a");
  Options o;
  o.dir = r + "/state/fstx";
  o.roots = {r};
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  for (auto add : std::vector<std::function<void(Transaction&)>>{
           [&](Transaction& t) { t.Rename(r + "/state", r + "/moved"); },
           [&](Transaction& t) { t.Remove(r + "/state/fstx"); },
           [&](Transaction& t) { t.WriteFile(r + "/state/fstx/data.mdb", "x"); },
           [&](Transaction& t) { t.Rename(r + "/a", r + "/state", RenameMode::kReplace); }}) {
    Transaction tx = (*j)->Begin("journal");
    add(tx);
    Status s = tx.Commit();
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find("its own journal"), std::string::npos) << s.message();
  }
  EXPECT_TRUE((*j)->Begin("fine").Rename(r + "/a", r + "/b").Commit().ok());
}

// Removing a directory that holds a bind mount would delete the mounted
// filesystem's files, outside every root: refused, nothing changed.
TEST(EngineV2Mounts, RemoveNeverCrossesAMountPoint) {
  TempDir d;
  const std::string r = d / "root", outside = d / "outside";
  testing::MkdirRaw(r);
  testing::MkdirRaw(r + "/dir");
  testing::MkdirRaw(r + "/dir/mnt");
  testing::MkdirRaw(outside);
  testing::WriteFileRaw(outside + "/precious", "keep me");
  ASSERT_EQ(::mount(outside.c_str(), (r + "/dir/mnt").c_str(), nullptr, MS_BIND, nullptr), 0)
      << "a bind mount needs root (CAP_SYS_ADMIN): " << std::strerror(errno);
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{r + "/dir/mnt"};
  Options o;
  o.dir = d / "journal";
  o.roots = {r};
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  Status s = (*j)->Begin("remove").Remove(r + "/dir").Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("mount point"), std::string::npos) << s.message();
  EXPECT_EQ(testing::ReadFileRaw(outside + "/precious"), "keep me");
  // The seam's RemoveTree refuses to descend on its own, too.
  auto posix = PosixFs::Open({r});
  ASSERT_TRUE(posix.ok());
  EXPECT_EQ(RemoveTree(posix.value().get(), r + "/dir").code(), Code::kNotSupported);
  EXPECT_EQ(testing::ReadFileRaw(outside + "/precious"), "keep me");
}

}  // namespace
}  // namespace fstx

namespace fstx {
namespace {

// A committed transaction whose staging objects cannot be deleted is
// still done: recovery finishes it, says what was left, and nothing stays
// locked or needs attention forever.
TEST(EngineV2Cleanup, LeftoverStagingDoesNotBlockACommittedTransaction) {
  TempDir d;
  const std::string r = d / "root";
  testing::MkdirRaw(r);
  testing::WriteFileRaw(r + "/a", "new");
  testing::WriteFileRaw(r + "/b", "old");
  auto posix = PosixFs::Open({r});
  ASSERT_TRUE(posix.ok());
  testing::HookFs stuck(posix.value().get(), [&](const char* call, const std::string& p) {
    if (std::string(call) == "unlink" && p.find("/.fstx/.fstx-") != std::string::npos)
      return Status::FromErrno(EACCES, "injected unlink", p);
    return Status();
  });
  Options o;
  o.dir = d / "journal";
  o.roots = {r};
  o.fs = &stuck;
  {
    auto j = Journal::Open(o);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->Begin("replace").Rename(r + "/a", r + "/b", RenameMode::kReplace).Commit().ok());
  }
  {
    auto j = Journal::Open(o);  // recovery finishes it, the deletion still fails
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    const RecoveryReport& rep = (*j)->open_report();
    ASSERT_EQ(rep.txs.size(), 1u);
    EXPECT_STREQ(decision_name(rep.txs[0].decision), "rolled-forward");
    EXPECT_FALSE(rep.needs_attention());
    EXPECT_NE(rep.txs[0].message.find("left behind"), std::string::npos) << rep.txs[0].message;
  }
  o.fs = nullptr;
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok());
  EXPECT_TRUE((*j)->open_report().clean());
  EXPECT_EQ(testing::ReadFileRaw(r + "/b"), "new");
  // The paths are free again.
  EXPECT_TRUE((*j)->Begin("again").Rename(r + "/b", r + "/c").Commit().ok());
}

}  // namespace
}  // namespace fstx

namespace fstx {
namespace {

// Staging objects of a transaction the journal never handed out mean the
// journal lost records (a damaged meta page rolled it back): recovery says
// so, touches nothing, and no new transaction may reuse those ids.
TEST(EngineV2LostRecords, StagingOfAnUnknownTransactionIsCorruption) {
  TempDir d;
  const std::string r = d / "root";
  testing::MkdirRaw(r);
  testing::WriteFileRaw(r + "/a", "a");
  Options o;
  o.dir = d / "journal";
  o.roots = {r};
  {
    auto j = Journal::Open(o);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->Begin("one").Rename(r + "/a", r + "/b").Commit().ok());  // tx 1; next id 2
  }
  if (!testing::Exists(r + "/.fstx")) testing::MkdirRaw(r + "/.fstx", 0700);
  testing::WriteFileRaw(r + "/.fstx/.fstx-7-0-old", "the only copy of someone's file");
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  const RecoveryReport& rep = (*j)->open_report();
  ASSERT_EQ(rep.txs.size(), 1u);
  EXPECT_STREQ(decision_name(rep.txs[0].decision), "corrupt");
  EXPECT_EQ(rep.txs[0].id, 7u);
  EXPECT_NE(rep.txs[0].message.find(r + "/.fstx/.fstx-7-0-old"), std::string::npos) << rep.txs[0].message;
  EXPECT_TRUE(rep.needs_attention());
  Status s = (*j)->Begin("two").Rename(r + "/b", r + "/c").Commit();
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_EQ(testing::ReadFileRaw(r + "/.fstx/.fstx-7-0-old"), "the only copy of someone's file");
  EXPECT_TRUE(testing::Exists(r + "/b"));
}

}  // namespace
}  // namespace fstx

namespace fstx {
namespace {

// A target path just under PATH_MAX: staging names live in the staging
// directory at the top of the root, so they never make a path overflow;
// a path over PATH_MAX is refused before anything is journaled.
TEST(EngineV2Limits, PathsNearPathMaxCommitOrAreRefusedUpFront) {
  TempDir d;
  const std::string r = d / "root";
  testing::MkdirRaw(r);
  std::string dir = r;
  while (dir.size() < 4096 - 300) {
    dir += "/" + std::string(200, 'd');
    testing::MkdirRaw(dir);
  }
  // A last directory so that a one-letter name makes the path 4095 bytes:
  // a sibling staging name (".fstx-1-0-new") would have overflowed it.
  dir += "/" + std::string(4093 - dir.size() - 1, 'e');
  testing::MkdirRaw(dir);
  const std::string leaf = "f";
  const std::string path = dir + "/" + leaf;
  ASSERT_EQ(path.size(), 4095u);
  Options o;
  o.dir = d / "journal";
  o.roots = {r};
  auto j = Journal::Open(o);
  ASSERT_TRUE(j.ok());
  Status s = (*j)->Begin("long").WriteFile(path, "x").Commit();
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = (*j)->Begin("long replace").WriteFile(path, "y").Commit();
  ASSERT_TRUE(s.ok()) << s.ToString();
  Transaction tx = (*j)->Begin("too long");
  tx.WriteFile(path + "g", "z");
  s = tx.Commit();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(tx.id(), 0u) << "refused before it was journaled";
}

}  // namespace
}  // namespace fstx
