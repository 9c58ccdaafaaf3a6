// Journal::Resolve (`fstx resolve`): the operator's way out of a
// transaction recovery will not finish on its own. Real processes die
// mid-transaction, the tree is changed behind fstx's back, and the tests
// check that recovery names every conflict at once, that --retry finishes
// after a hand fix, and that --abandon closes the transaction leaving the
// tree as it is without deleting a byte.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "fstx/fstx.h"
#include "journal/names.h"
#include "journal/store.h"
#include "tests/fs_wrappers.h"
#include "tests/recovery/world.h"
#include "tests/testutil.h"
#include "tests/vm_fixture.h"

namespace fstx {
namespace {

using testing::ReadFileRaw;
using testing::Snapshot;
using testing::TempDir;
using testing::TreeImage;
using testing::WriteFileRaw;

struct World : testing::JournalWorld {
  World() { testing::BuildVmTree(root); }
  Options Opts(bool recover_on_open = true) const {
    Options o = JournalWorld::Opts(nullptr);
    o.recover_on_open = recover_on_open;
    return o;
  }
  std::unique_ptr<Journal> Open(bool recover_on_open = true) const {
    auto j = Journal::Open(Opts(recover_on_open));
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j.value()) : nullptr;
  }
  std::string Stage() const { return root + "/.fstx"; }
};

// Runs `body` in a child that is SIGKILLed at the first fs call `call`
// whose description contains `needle`.
void DieIn(const World& w, const std::string& call, const std::string& needle,
           const std::function<void(Journal&)>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    auto posix = PosixFs::Open({w.root});
    if (!posix.ok()) ::_exit(3);
    testing::HookFs fs(posix.value().get(), [&](const char* c, const std::string& p) {
      if (call == c && p.find(needle) != std::string::npos) ::kill(::getpid(), SIGKILL);
      return Status();
    });
    Options o = w.Opts();
    o.fs = &fs;
    auto j = Journal::Open(o);
    if (!j.ok()) ::_exit(4);
    body(*j.value());
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child was meant to die, status " << status;
}

// The VM rename dies at its snapshot-directory rename: ops 1-4 (config
// renamed and rewritten, autostart link made, old link removed) are on
// disk, their replaced/removed objects in the staging directory.
void VmRenameDiesHalfway(const World& w) {
  DieIn(w, "rename", "snapshot/vm1 ->", [&](Journal& j) {
    Transaction tx = j.Begin("rename vm1 to vm2");
    testing::AddVmRename(tx, w.root);
    (void)tx.Commit();
  });
}

// Someone edits the new config and retargets the new autostart link.
void ForeignEdits(const World& w) {
  ASSERT_EQ(::unlink((w.root + "/etc/qemu/vm2.xml").c_str()), 0);
  WriteFileRaw(w.root + "/etc/qemu/vm2.xml", "<domain>edited by hand</domain>", 0600);
  ASSERT_EQ(::unlink((w.root + "/etc/qemu/autostart/vm2.xml").c_str()), 0);
  ASSERT_EQ(::symlink("../elsewhere.xml", (w.root + "/etc/qemu/autostart/vm2.xml").c_str()), 0);
}

// The tree outside the staging directory.
TreeImage Visible(const std::string& root) {
  TreeImage img = Snapshot(root);
  for (auto it = img.begin(); it != img.end();) it = it->first.rfind("/.fstx", 0) == 0 ? img.erase(it) : ++it;
  return img;
}

std::vector<std::string> StagingLeaves(const std::string& stage) {
  std::vector<std::string> out;
  namespace bfs = boost::filesystem;
  if (!bfs::exists(stage)) return out;
  for (bfs::directory_iterator it(stage), end; it != end; ++it) {
    StagingName n;
    if (ParseStagingLeaf(it->path().filename().string(), &n)) out.push_back(it->path().filename().string());
  }
  return out;
}

TEST(Resolve, RecoveryNamesEveryConflictThenRetryFinishesAfterAHandFix) {
  World w;
  const TreeImage pre = Snapshot(w.root);
  VmRenameDiesHalfway(w);
  ForeignEdits(w);
  auto j = w.Open();
  ASSERT_TRUE(j);
  const RecoveryReport& rep = j->open_report();
  ASSERT_EQ(rep.txs.size(), 1u);
  const RecoveredTx& t = rep.txs[0];
  ASSERT_STREQ(decision_name(t.decision), "needs-attention");
  // Both conflicts in one run, each naming its op and path.
  ASSERT_EQ(t.conflicts.size(), 2u) << t.message;
  EXPECT_NE(t.conflicts[0].find("/etc/qemu/vm2.xml"), std::string::npos) << t.conflicts[0];
  EXPECT_NE(t.conflicts[1].find("autostart/vm2.xml"), std::string::npos) << t.conflicts[1];
  EXPECT_NE(t.message.find("autostart/vm2.xml"), std::string::npos) << t.message;

  // Retrying before the fix changes nothing and still names both.
  const TreeImage edited = Snapshot(w.root);
  ResolveResult r;
  Status s = j->Resolve(t.id, ResolveAction::kRetry, &r);
  EXPECT_EQ(s.code(), Code::kNeedsAttention) << s.ToString();
  EXPECT_EQ(r.tx.conflicts.size(), 2u);
  EXPECT_EQ(Snapshot(w.root), edited) << testing::Diff(edited, Snapshot(w.root));

  // The operator puts the new content and link back, and retries.
  ASSERT_EQ(::unlink((w.root + "/etc/qemu/vm2.xml").c_str()), 0);
  WriteFileRaw(w.root + "/etc/qemu/vm2.xml", testing::DomainXml("vm2"), 0600);
  ASSERT_EQ(::unlink((w.root + "/etc/qemu/autostart/vm2.xml").c_str()), 0);
  ASSERT_EQ(::symlink("../vm2.xml", (w.root + "/etc/qemu/autostart/vm2.xml").c_str()), 0);
  s = j->Resolve(t.id, ResolveAction::kRetry, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_STREQ(decision_name(r.tx.decision), "rolled-back");
  EXPECT_EQ(Snapshot(w.root), pre) << testing::Diff(pre, Snapshot(w.root));
  // Its paths are free again in this process, and it is finished.
  Transaction again = j->Begin("rename again");
  testing::AddVmRename(again, w.root);
  EXPECT_TRUE(again.Commit().ok());
  s = j->Resolve(t.id, ResolveAction::kRetry, &r);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("already finished (aborted)"), std::string::npos) << s.message();
}

TEST(Resolve, AbandonLeavesTheTreeAndKeepsEveryStagingObject) {
  World w;
  VmRenameDiesHalfway(w);
  ForeignEdits(w);
  uint64_t id = 0;
  TreeImage before;
  {
    auto j = w.Open();
    ASSERT_TRUE(j);
    ASSERT_EQ(j->open_report().txs.size(), 1u);
    id = j->open_report().txs[0].id;
    before = Visible(w.root);
    ASSERT_FALSE(StagingLeaves(w.Stage()).empty()) << "the dead transaction holds staging objects";
    ResolveResult r;
    Status s = j->Resolve(id, ResolveAction::kAbandon, &r, "restored from backup");
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_STREQ(decision_name(r.tx.decision), "abandoned");
    // The config that write_file replaced (op 2) and the autostart link
    // that remove took away (op 4) are kept, byte for byte.
    const std::string kept = w.Stage() + "/abandoned/" + std::to_string(id);
    const std::string old_cfg = kept + "/.fstx-" + std::to_string(id) + "-1-old";
    const std::string old_link = kept + "/.fstx-" + std::to_string(id) + "-3-del";
    EXPECT_EQ(r.kept, (std::vector<std::string>{old_cfg, old_link}));
    EXPECT_EQ(ReadFileRaw(old_cfg), testing::DomainXml("vm1"));
    EXPECT_EQ(testing::ReadLinkRaw(old_link), "../vm1.xml");
    EXPECT_TRUE(StagingLeaves(w.Stage()).empty());
    EXPECT_EQ(Visible(w.root), before) << testing::Diff(before, Visible(w.root));
    // Its paths are free in this process at once.
    EXPECT_TRUE(j->Begin("edit").WriteFile(w.root + "/etc/qemu/vm2.xml", "<domain/>").Commit().ok());
  }
  // History says who, why and where; recovery has nothing left to do.
  {
    auto j = w.Open();
    ASSERT_TRUE(j);
    EXPECT_TRUE(j->open_report().clean());
  }
  auto st = JournalStore::Open({.dir = w.journal, .read_only = true});
  ASSERT_TRUE(st.ok());
  TxRecord rec;
  bool in_history = false;
  ASSERT_TRUE(st.value()->Get(id, &rec, &in_history).ok());
  EXPECT_TRUE(in_history);
  EXPECT_EQ(rec.state, TxState::kAbandoned);
  EXPECT_NE(rec.note.find("abandoned by uid " + std::to_string(::getuid())), std::string::npos) << rec.note;
  EXPECT_NE(rec.note.find("restored from backup"), std::string::npos) << rec.note;
  EXPECT_NE(rec.note.find("/abandoned/" + std::to_string(id) + "/.fstx-"), std::string::npos) << rec.note;
  EXPECT_NE(rec.note.find("it needed attention: needs_attention: op 1"), std::string::npos)
      << "the note keeps why it needed attention: " << rec.note;
}

// A crash in the middle of an abandon (killed at its second move into the
// kept directory): the transaction is still unfinished, nothing is lost
// (each object is in the staging directory or the kept one), and the next
// abandon finishes and lists both.
TEST(Resolve, AbandonKilledHalfwayLosesNothingAndFinishesWhenRunAgain) {
  World w;
  VmRenameDiesHalfway(w);
  ForeignEdits(w);
  { ASSERT_TRUE(w.Open()); }  // recovery: needs attention
  const std::string kept = w.Stage() + "/abandoned/1";
  pid_t pid = ::fork();
  if (pid == 0) {
    auto posix = PosixFs::Open({w.root});
    if (!posix.ok()) ::_exit(3);
    int moves = 0;
    testing::HookFs fs(posix.value().get(), [&](const char* c, const std::string& p) {
      if (std::string(c) == "rename" && p.find("/abandoned/1/") != std::string::npos && ++moves == 2)
        ::kill(::getpid(), SIGKILL);
      return Status();
    });
    Options o = w.Opts();
    o.fs = &fs;
    auto j = Journal::Open(o);
    if (!j.ok()) ::_exit(4);
    ResolveResult r;
    (void)j.value()->Resolve(1, ResolveAction::kAbandon, &r);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the abandon was meant to die, status " << status;
  const std::string old_cfg = ".fstx-1-1-old", old_link = ".fstx-1-3-del";
  EXPECT_TRUE(testing::Exists(kept + "/" + old_cfg)) << "the first move happened";
  EXPECT_TRUE(testing::Exists(w.Stage() + "/" + old_link)) << "the second did not";
  auto j = w.Open();
  ASSERT_TRUE(j);
  ASSERT_EQ(j->open_report().txs.size(), 1u);
  EXPECT_EQ(j->open_report().txs[0].decision, Decision::kNeedsAttention) << "still unfinished, not guessed";
  ResolveResult r;
  Status s = j->Resolve(1, ResolveAction::kAbandon, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.kept, (std::vector<std::string>{kept + "/" + old_cfg, kept + "/" + old_link}));
  EXPECT_EQ(ReadFileRaw(kept + "/" + old_cfg), testing::DomainXml("vm1"));
  EXPECT_EQ(testing::ReadLinkRaw(kept + "/" + old_link), "../vm1.xml");
}

TEST(Resolve, AbandonIsOnlyForWhatRecoveryGaveUpOn) {
  World w;
  VmRenameDiesHalfway(w);
  const TreeImage dead = Snapshot(w.root);
  auto j = w.Open(/*recover_on_open=*/false);
  ASSERT_TRUE(j);
  ResolveResult r;
  Status s = j->Resolve(1, ResolveAction::kAbandon, &r);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("prepared, not needs_attention"), std::string::npos) << s.message();
  EXPECT_EQ(Snapshot(w.root), dead) << "nothing moved";
  s = j->Resolve(99, ResolveAction::kRetry, &r);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  // A retry of a plain unfinished transaction is recovery of that one.
  s = j->Resolve(1, ResolveAction::kRetry, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_STREQ(decision_name(r.tx.decision), "rolled-back");
}

// An unfinished record that does not decode blocks every commit; abandon
// saves its bytes, keeps its staging objects and unblocks the journal.
TEST(Resolve, AbandonOfAnUnreadableRecordSavesItsBytes) {
  World w;
  { ASSERT_TRUE(w.Open()); }
  const std::string junk = "FXTR garbage that is not a record";
  {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, w.journal.c_str(), 0, 0600), 0);
    MDB_txn* txn;
    MDB_dbi dbi, meta;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "active", 0, &dbi), 0);
    unsigned char key[8] = {0, 0, 0, 0, 0, 0, 0, 99};
    MDB_val k{sizeof key, key}, v{junk.size(), const_cast<char*>(junk.data())};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    unsigned char next[8] = {0, 0, 0, 0, 0, 0, 0, 100};
    MDB_val nk{7, const_cast<char*>("next_id")}, nv{sizeof next, next};
    ASSERT_EQ(mdb_put(txn, meta, &nk, &nv, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  testing::MkdirRaw(w.Stage(), 0700);
  WriteFileRaw(w.Stage() + "/.fstx-99-0-old", "a replaced file");
  auto j = w.Open();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->Begin("blocked").Mkdir(w.root + "/lib/x").Commit().code(), Code::kCorruption);
  ResolveResult r;
  Status s = j->Resolve(99, ResolveAction::kRetry, &r);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  s = j->Resolve(99, ResolveAction::kAbandon, &r, "checked by hand");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r.saved_record, w.journal + "/abandoned/99.record");
  EXPECT_EQ(ReadFileRaw(r.saved_record), junk);
  EXPECT_EQ(r.kept, std::vector<std::string>{w.Stage() + "/abandoned/99/.fstx-99-0-old"});
  EXPECT_EQ(ReadFileRaw(r.kept[0]), "a replaced file");
  EXPECT_TRUE(j->Begin("unblocked").Mkdir(w.root + "/lib/x").Commit().ok());
  j.reset();
  auto again = w.Open();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->open_report().clean());
}

// A write_range's before-image lives only in the journal record; abandon
// writes it out before the record goes to history (which drops it).
TEST(Resolve, AbandonKeepsAWriteRangeBeforeImage) {
  World w;
  const std::string img = w.root + "/lib/images/vm1.qcow2";
  DieIn(w, "rename", "/lib/after", [&](Journal& j) {
    (void)j.Begin("patch").WriteRange(img, 100, "NEWBYTES").Mkdir(w.root + "/lib/after").Commit();
  });
  ASSERT_EQ(ReadFileRaw(img).substr(100, 8), "NEWBYTES");
  {  // someone else writes the same range
    std::string data = ReadFileRaw(img);
    data.replace(100, 8, "FOREIGN!");
    ASSERT_EQ(::unlink(img.c_str()), 0);
    WriteFileRaw(img, data, 0640);
  }
  auto j = w.Open();
  ASSERT_TRUE(j);
  ASSERT_EQ(j->open_report().txs.size(), 1u);
  ASSERT_STREQ(decision_name(j->open_report().txs[0].decision), "needs-attention") << j->open_report().txs[0].message;
  const uint64_t id = j->open_report().txs[0].id;
  ResolveResult r;
  Status s = j->Resolve(id, ResolveAction::kAbandon, &r);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const std::string kept = w.Stage() + "/abandoned/" + std::to_string(id) + "/.fstx-" + std::to_string(id);
  const std::string saved = kept + "-0-range-at-100";
  // ... and the directory the mkdir (op 2) had made but not yet put in place.
  ASSERT_EQ(r.kept, (std::vector<std::string>{saved, kept + "-1-new"}));
  EXPECT_EQ(ReadFileRaw(saved), std::string(8, 'Q'));
  EXPECT_EQ(ReadFileRaw(img).substr(100, 8), "FOREIGN!") << "the tree is left as it is";
}

}  // namespace
}  // namespace fstx
