// capi_test.cc — the C API (fstx/c.h) against real LMDB journals and real
// trees: pinned codes, the last-error detail, transactions, recovery
// report and log callback, inspection while another process writes.
#include "fstx/c.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fstx/fstx.h"
#include "src/engine/testing.h"
#include "tests/testutil.h"

namespace fstx {
namespace {

using testing::ReadFileRaw;
using testing::TempDir;
using testing::WriteFileRaw;

// A journal over `root` opened with the C API; fails the test if not.
fstx_journal* OpenC(const std::string& dir, const std::string& root, fstx_log_fn log = nullptr,
                    void* ctx = nullptr) {
  fstx_options* o = fstx_options_new(dir.c_str());
  EXPECT_NE(o, nullptr);
  EXPECT_EQ(fstx_options_add_root(o, root.c_str()), FSTX_OK);
  if (log) fstx_options_set_log(o, log, ctx);
  fstx_journal* j = nullptr;
  int rc = fstx_journal_open(o, &j);
  fstx_options_free(o);
  EXPECT_EQ(rc, FSTX_OK) << fstx_errmsg();
  return j;
}

TEST(CApi, ErrorCodesArePinnedAndNamed) {
  // The documented values (README "Error codes"): never renumbered.
  const std::vector<std::pair<int, const char*>> pinned = {
      {FSTX_OK, "ok"}, {FSTX_INVALID_ARGUMENT, "invalid_argument"}, {FSTX_NOT_FOUND, "not_found"},
      {FSTX_EXISTS, "exists"}, {FSTX_OUTSIDE_ROOT, "outside_root"}, {FSTX_BUSY, "busy"},
      {FSTX_IO_ERROR, "io_error"}, {FSTX_NO_SPACE, "no_space"}, {FSTX_PERMISSION, "permission"},
      {FSTX_CORRUPTION, "corruption"}, {FSTX_NEEDS_ATTENTION, "needs_attention"},
      {FSTX_NOT_SUPPORTED, "not_supported"}, {FSTX_STALE, "stale"}};
  for (size_t i = 0; i < pinned.size(); ++i) {
    EXPECT_EQ(pinned[i].first, static_cast<int>(i));
    EXPECT_STREQ(fstx_strerror(pinned[i].first), pinned[i].second);
    EXPECT_EQ(static_cast<int>(static_cast<Code>(i)), pinned[i].first);
  }
  EXPECT_EQ(FSTX_NO_MEMORY, 100);
  EXPECT_EQ(FSTX_INTERNAL, 101);
  EXPECT_STREQ(fstx_strerror(FSTX_NO_MEMORY), "no_memory");
  EXPECT_STREQ(fstx_strerror(13), "unknown");
  EXPECT_STREQ(fstx_strerror(-1), "unknown");
  EXPECT_STREQ(fstx_decision_name(FSTX_DECISION_ROLLED_BACK), "rolled-back");
  EXPECT_STREQ(fstx_decision_name(FSTX_DECISION_WOULD_ROLL_FORWARD), "would-roll-forward");
  EXPECT_STREQ(fstx_decision_name(0), "unknown");
}

TEST(CApi, VersionIsTheHeaders) {
  EXPECT_STREQ(fstx_version(), FSTX_VERSION_STRING);
  EXPECT_STREQ(Version(), FSTX_VERSION_STRING);
  EXPECT_EQ(fstx_version_number(), FSTX_VERSION_NUMBER);
}

TEST(CApi, NullArgumentsAreInvalidNotCrashes) {
  fstx_journal* j = reinterpret_cast<fstx_journal*>(1);
  EXPECT_EQ(fstx_journal_open(nullptr, &j), FSTX_INVALID_ARGUMENT);
  EXPECT_EQ(j, nullptr);
  EXPECT_NE(std::string(fstx_errmsg()).find("NULL"), std::string::npos) << fstx_errmsg();
  EXPECT_EQ(fstx_txn_commit(nullptr), FSTX_INVALID_ARGUMENT);
  EXPECT_EQ(fstx_txn_rename(nullptr, "/a", "/b", FSTX_NO_REPLACE), FSTX_INVALID_ARGUMENT);
  EXPECT_EQ(fstx_options_new(nullptr), nullptr);
  fstx_journal_close(nullptr);
  fstx_txn_free(nullptr);
  fstx_report_free(nullptr);
  fstx_inspector_close(nullptr);
}

TEST(CApi, CommitsListsAndShowsIntents) {
  TempDir d;
  const std::string root = d / "tree";
  ::mkdir(root.c_str(), 0755);
  WriteFileRaw(root + "/a.xml", "<domain><name>a</name></domain>", 0600);
  fstx_journal* j = OpenC(d / "journal", root);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(fstx_report_count(fstx_journal_open_report(j)), 0u);

  fstx_txn* t = nullptr;
  ASSERT_EQ(fstx_txn_begin(j, "rename a to b", &t), FSTX_OK);
  const std::string a = root + "/a.xml", b = root + "/b.xml", data = "<domain><name>b</name></domain>";
  char hash[48];
  ASSERT_EQ(fstx_content_hash("<domain><name>a</name></domain>", 31, hash, sizeof hash), FSTX_OK);
  EXPECT_EQ(fstx_txn_rename(t, a.c_str(), b.c_str(), FSTX_NO_REPLACE), FSTX_OK);
  EXPECT_EQ(fstx_txn_expect_hash(t, hash), FSTX_OK);
  EXPECT_EQ(fstx_txn_write_file(t, b.c_str(), data.data(), data.size(), 0640), FSTX_OK);
  EXPECT_EQ(fstx_txn_mkdir(t, (root + "/dir").c_str(), 0700), FSTX_OK);
  EXPECT_EQ(fstx_txn_validate(t), FSTX_OK) << fstx_errmsg();
  ASSERT_EQ(fstx_txn_commit(t), FSTX_OK) << fstx_errmsg();
  const uint64_t id = fstx_txn_id(t);
  EXPECT_GT(id, 0u);
  fstx_txn_free(t);
  EXPECT_EQ(ReadFileRaw(b), data);
  EXPECT_EQ(ReadFileRaw(a), "<missing>");
  ASSERT_EQ(fstx_journal_flush(j), FSTX_OK);

  fstx_txlist* l = nullptr;
  ASSERT_EQ(fstx_list(fstx_journal_inspector(j), FSTX_LIST_ALL, &l), FSTX_OK) << fstx_errmsg();
  ASSERT_EQ(fstx_txlist_count(l), 1u);
  const fstx_tx* tx = fstx_txlist_get(l, 0);
  EXPECT_EQ(fstx_tx_id(tx), id);
  EXPECT_STREQ(fstx_tx_label(tx), "rename a to b");
  EXPECT_EQ(fstx_tx_state(tx), FSTX_STATE_DONE);
  EXPECT_EQ(fstx_tx_finished(tx), 1);
  EXPECT_EQ(fstx_txlist_get(l, 1), nullptr);
  fstx_txlist_free(l);
  ASSERT_EQ(fstx_list(fstx_journal_inspector(j), FSTX_LIST_UNFINISHED, &l), FSTX_OK);
  EXPECT_EQ(fstx_txlist_count(l), 0u);
  fstx_txlist_free(l);

  fstx_tx* one = nullptr;
  ASSERT_EQ(fstx_get(fstx_journal_inspector(j), id, &one), FSTX_OK);
  ASSERT_EQ(fstx_tx_intent_count(one), 3u);
  fstx_intent in;
  ASSERT_EQ(fstx_tx_intent(one, 0, &in), FSTX_OK);
  EXPECT_EQ(in.kind, FSTX_OP_RENAME);
  EXPECT_STREQ(in.src, a.c_str());
  EXPECT_STREQ(in.path, b.c_str());
  ASSERT_EQ(fstx_tx_intent(one, 1, &in), FSTX_OK);
  EXPECT_STREQ(in.kind_name, "write_file");
  EXPECT_EQ(in.mode, 0640u);
  EXPECT_EQ(in.data_size, data.size());
  EXPECT_EQ(fstx_tx_intent(one, 3, &in), FSTX_INVALID_ARGUMENT);
  fstx_tx_free(one);
  EXPECT_EQ(fstx_get(fstx_journal_inspector(j), id + 100, &one), FSTX_NOT_FOUND);
  EXPECT_NE(std::string(fstx_errmsg()).find("no transaction " + std::to_string(id + 100)), std::string::npos);

  fstx_health h;
  ASSERT_EQ(fstx_inspector_health(fstx_journal_inspector(j), &h), FSTX_OK);
  EXPECT_EQ(h.exists, 1);
  EXPECT_EQ(h.finished, 1u);
  EXPECT_EQ(h.unfinished, 0u);
  EXPECT_EQ(h.writer_held, 1);  // by this very process
  EXPECT_EQ(h.writer_pid, ::getpid());
  EXPECT_EQ(h.next_id, id + 1);
  fstx_journal_close(j);
}

// The scale options and WriteFileFrom reach the engine: a commit that
// overlaps a transaction held by another process waits for it (lock wait)
// or fails busy at once (0), and write_file_from copies the file.
TEST(CApi, LockWaitAndWriteFileFrom) {
  TempDir d;
  const std::string root = d / "tree", src = d / "content";
  ::mkdir(root.c_str(), 0755);
  WriteFileRaw(src, "from a file\n", 0600);
  fstx_options* o = fstx_options_new((d / "journal").c_str());
  ASSERT_EQ(fstx_options_add_root(o, root.c_str()), FSTX_OK);
  fstx_options_set_lock_wait_ms(o, 0);
  fstx_options_set_history_limits(o, 1, 0, 0);
  fstx_options_set_inline_content_max(o, 4);  // the 12-byte file is staged, not journaled
  fstx_journal* j = nullptr;
  ASSERT_EQ(fstx_journal_open(o, &j), FSTX_OK) << fstx_errmsg();
  fstx_options_free(o);
  EXPECT_EQ(fstx_txn_write_file_from(nullptr, "x", "y", -1), FSTX_INVALID_ARGUMENT);
  fstx_txn* t = nullptr;
  ASSERT_EQ(fstx_txn_begin(j, "copy", &t), FSTX_OK);
  EXPECT_EQ(fstx_txn_write_file_from(t, (root + "/f").c_str(), nullptr, -1), FSTX_INVALID_ARGUMENT);
  ASSERT_EQ(fstx_txn_write_file_from(t, (root + "/f").c_str(), src.c_str(), 0640), FSTX_OK);
  ASSERT_EQ(fstx_txn_commit(t), FSTX_OK) << fstx_errmsg();
  fstx_txn_free(t);
  EXPECT_EQ(ReadFileRaw(root + "/f"), "from a file\n");
  for (int i = 0; i < 3; ++i) {  // history_max_count 1: one finished kept
    ASSERT_EQ(fstx_txn_begin(j, "again", &t), FSTX_OK);
    ASSERT_EQ(fstx_txn_write_file(t, (root + "/g").c_str(), "g", 1, -1), FSTX_OK);
    ASSERT_EQ(fstx_txn_commit(t), FSTX_OK) << fstx_errmsg();
    fstx_txn_free(t);
  }
  ASSERT_EQ(fstx_journal_flush(j), FSTX_OK);  // completions go to history in batches, or now
  fstx_health h;
  ASSERT_EQ(fstx_inspector_health(fstx_journal_inspector(j), &h), FSTX_OK);
  EXPECT_EQ(h.finished, 1u);

  // Another process holds root/f's path lock (a transaction parked in its
  // commit hook): with wait 0 our commit is refused busy.
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    Options co;
    co.dir = d / "journal";
    co.roots = {root};
    auto cj = testing::OpenWithHook(co, [&](std::string_view point) {
      if (point == "journal.commit.after") {
        char c = 1;
        if (::write(ready[1], &c, 1) != 1 || ::read(release[0], &c, 1) != 1) ::_exit(3);
      }
      return Status();
    });
    if (!cj.ok()) ::_exit(2);
    ::_exit((*cj)->Begin("holder").WriteFile(root + "/f", "child").Commit().ok() ? 0 : 1);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(fstx_txn_begin(j, "blocked", &t), FSTX_OK);
  ASSERT_EQ(fstx_txn_write_file(t, (root + "/f").c_str(), "p", 1, -1), FSTX_OK);
  EXPECT_EQ(fstx_txn_commit(t), FSTX_BUSY);
  EXPECT_NE(std::string(fstx_errmsg()).find("locked"), std::string::npos) << fstx_errmsg();
  fstx_txn_free(t);
  ASSERT_EQ(::write(release[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(ReadFileRaw(root + "/f"), "child");
  fstx_journal_close(j);
}

TEST(CApi, FailedCommitChangesNothingAndSaysWhy) {
  TempDir d;
  const std::string root = d / "tree";
  ::mkdir(root.c_str(), 0755);
  WriteFileRaw(root + "/keep", "k");
  fstx_journal* j = OpenC(d / "journal", root);
  ASSERT_NE(j, nullptr);
  fstx_txn* t = nullptr;
  ASSERT_EQ(fstx_txn_begin(j, "bad", &t), FSTX_OK);
  ASSERT_EQ(fstx_txn_rename(t, (root + "/keep").c_str(), (root + "/kept").c_str(), FSTX_NO_REPLACE), FSTX_OK);
  ASSERT_EQ(fstx_txn_remove(t, (root + "/missing").c_str()), FSTX_OK);
  EXPECT_EQ(fstx_txn_commit(t), FSTX_NOT_FOUND);
  EXPECT_NE(std::string(fstx_errmsg()).find(root + "/missing"), std::string::npos) << fstx_errmsg();
  fstx_txn_free(t);
  EXPECT_EQ(ReadFileRaw(root + "/keep"), "k");
  EXPECT_EQ(ReadFileRaw(root + "/kept"), "<missing>");
  // Outside the roots, and a bad replace value.
  ASSERT_EQ(fstx_txn_begin(j, "outside", &t), FSTX_OK);
  EXPECT_EQ(fstx_txn_rename(t, (root + "/keep").c_str(), "/etc/x", 7), FSTX_INVALID_ARGUMENT);
  ASSERT_EQ(fstx_txn_rename(t, (root + "/keep").c_str(), "/etc/fstx-capi-x", FSTX_NO_REPLACE), FSTX_OK);
  EXPECT_EQ(fstx_txn_commit(t), FSTX_OUTSIDE_ROOT);
  fstx_txn_free(t);
  // A success clears the detail.
  EXPECT_EQ(fstx_journal_flush(j), FSTX_OK);
  EXPECT_STREQ(fstx_errmsg(), "");
  EXPECT_EQ(fstx_errno(), 0);
  // A second writer in this process is busy, naming the journal.
  fstx_options* o = fstx_options_new((d / "journal").c_str());
  fstx_options_add_root(o, root.c_str());
  fstx_journal* j2 = nullptr;
  EXPECT_EQ(fstx_journal_open(o, &j2), FSTX_BUSY);
  EXPECT_EQ(j2, nullptr);
  fstx_options_free(o);
  fstx_journal_close(j);
}

struct Lines {
  std::vector<std::pair<int, std::string>> got;
};
void Collect(void* ctx, int level, const char* msg) { static_cast<Lines*>(ctx)->got.emplace_back(level, msg); }

// Journals a transaction in a child that is killed right after the
// prepared record is durable: an unfinished transaction of a dead owner.
void CrashAfterPrepare(const std::string& journal, const std::string& root) {
  pid_t pid = ::fork();
  if (pid == 0) {
    Options o;
    o.dir = journal;
    o.roots = {root};
    o.log = [](LogLevel, std::string_view) {};
    int commits = 0;
    auto j = fstx::testing::OpenWithHook(o, [&](std::string_view point) {
      if (point == "journal.commit.after" && ++commits == 1) ::kill(::getpid(), SIGKILL);
      return Status();
    });
    if (!j.ok()) ::_exit(3);
    (*j)->Begin("crashed").Rename(root + "/a", root + "/b").Commit();
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exit " << WEXITSTATUS(status);
}

// A child crashes after journaling a transaction (testing engine); the C
// API's open recovers it, reports the decision and logs through the
// callback.
TEST(CApi, OpenRecoversReportsAndLogsThroughTheCallback) {
  TempDir d;
  const std::string root = d / "tree";
  ::mkdir(root.c_str(), 0755);
  WriteFileRaw(root + "/a", "A");
  CrashAfterPrepare(d / "journal", root);
  if (HasFatalFailure()) return;
  // Unfinished and its owner dead: a read-only inspector sees it pending.
  fstx_health h;
  ASSERT_EQ(fstx_health_get((d / "journal").c_str(), &h), FSTX_OK) << fstx_errmsg();
  EXPECT_EQ(h.unfinished, 1u);
  EXPECT_EQ(h.recovery_pending, 1);
  EXPECT_EQ(h.writer_held, 0);

  Lines lines;
  fstx_journal* j = OpenC(d / "journal", root, Collect, &lines);
  ASSERT_NE(j, nullptr);
  const fstx_report* r = fstx_journal_open_report(j);
  ASSERT_EQ(fstx_report_count(r), 1u);
  fstx_recovered t;
  ASSERT_EQ(fstx_report_get(r, 0, &t), FSTX_OK);
  EXPECT_STREQ(t.label, "crashed");
  EXPECT_TRUE(t.decision == FSTX_DECISION_ROLLED_BACK || t.decision == FSTX_DECISION_ROLLED_FORWARD)
      << fstx_decision_name(t.decision);
  EXPECT_EQ(fstx_report_needs_attention(r), 0);
  EXPECT_EQ(fstx_report_get(r, 1, &t), FSTX_INVALID_ARGUMENT);
  bool logged = false;
  for (const auto& [level, msg] : lines.got)
    logged = logged || (level == FSTX_LOG_INFO && msg.find("recovered tx") != std::string::npos);
  EXPECT_TRUE(logged) << lines.got.size() << " lines, none an info 'recovered tx'";
  // Nothing left to recover.
  fstx_report* again = nullptr;
  EXPECT_EQ(fstx_journal_recover(j, 1, &again), FSTX_OK);
  EXPECT_EQ(fstx_report_count(again), 0u);
  fstx_report_free(again);
  fstx_journal_close(j);
}

// fstx_journal_resolve: what `fstx resolve` does, through the C API.
TEST(CApi, ResolveRetriesOrRefusesToAbandon) {
  TempDir d;
  const std::string root = d / "tree";
  ::mkdir(root.c_str(), 0755);
  WriteFileRaw(root + "/a", "A");
  CrashAfterPrepare(d / "journal", root);
  if (HasFatalFailure()) return;
  fstx_options* o = fstx_options_new((d / "journal").c_str());
  fstx_options_add_root(o, root.c_str());
  fstx_options_set_recover_on_open(o, 0);
  fstx_journal* j = nullptr;
  ASSERT_EQ(fstx_journal_open(o, &j), FSTX_OK) << fstx_errmsg();
  fstx_options_free(o);
  EXPECT_EQ(fstx_report_count(fstx_journal_open_report(j)), 0u);
  fstx_report* r = nullptr;
  // Recovery has not given up on it: abandoning is refused, nothing moves.
  EXPECT_EQ(fstx_journal_resolve(j, 1, FSTX_RESOLVE_ABANDON, "test", &r), FSTX_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fstx_errmsg()).find("not needs_attention"), std::string::npos) << fstx_errmsg();
  fstx_report_free(r);
  EXPECT_EQ(fstx_journal_resolve(j, 99, FSTX_RESOLVE_RETRY, nullptr, &r), FSTX_NOT_FOUND);
  fstx_report_free(r);
  EXPECT_EQ(fstx_journal_resolve(j, 1, 7, nullptr, &r), FSTX_INVALID_ARGUMENT);
  EXPECT_EQ(r, nullptr);
  // A retry recovers it.
  ASSERT_EQ(fstx_journal_resolve(j, 1, FSTX_RESOLVE_RETRY, nullptr, &r), FSTX_OK) << fstx_errmsg();
  ASSERT_EQ(fstx_report_count(r), 1u);
  fstx_recovered t;
  ASSERT_EQ(fstx_report_get(r, 0, &t), FSTX_OK);
  EXPECT_EQ(t.id, 1u);
  EXPECT_EQ(t.decision, FSTX_DECISION_ROLLED_BACK) << fstx_decision_name(t.decision);
  EXPECT_EQ(fstx_report_kept_count(r), 0u);
  fstx_report_free(r);
  EXPECT_EQ(ReadFileRaw(root + "/a"), "A");
  EXPECT_EQ(ReadFileRaw(root + "/b"), "<missing>");
  EXPECT_STREQ(fstx_decision_name(FSTX_DECISION_ABANDONED), "abandoned");
  fstx_journal_close(j);
}

// Read-only inspection while another process holds the journal for writing.
TEST(CApi, InspectorWorksWhileAnotherProcessWrites) {
  TempDir d;
  const std::string root = d / "tree";
  ::mkdir(root.c_str(), 0755);
  WriteFileRaw(root + "/a", "A");
  int ready[2], release[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(release, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    fstx_journal* j = OpenC(d / "journal", root);
    fstx_txn* t = nullptr;
    int rc = j ? fstx_txn_begin(j, "child", &t) : 1;
    if (!rc) rc = fstx_txn_rename(t, (root + "/a").c_str(), (root + "/b").c_str(), FSTX_NO_REPLACE);
    if (!rc) rc = fstx_txn_commit(t);
    if (!rc) rc = fstx_journal_flush(j);
    char c = rc ? 'x' : 'k';
    (void)!::write(ready[1], &c, 1);
    const bool released = ::read(release[0], &c, 1) == 1;
    fstx_txn_free(t);
    fstx_journal_close(j);
    ::_exit(released ? rc : 9);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'k');
  fstx_inspector* in = nullptr;
  ASSERT_EQ(fstx_inspector_open((d / "journal").c_str(), &in), FSTX_OK) << fstx_errmsg();
  fstx_health h;
  ASSERT_EQ(fstx_inspector_health(in, &h), FSTX_OK);
  EXPECT_EQ(h.writer_held, 1);
  EXPECT_EQ(h.writer_pid, pid);
  EXPECT_EQ(h.finished, 1u);
  fstx_txlist* l = nullptr;
  ASSERT_EQ(fstx_list(in, FSTX_LIST_ALL, &l), FSTX_OK);
  ASSERT_EQ(fstx_txlist_count(l), 1u);
  EXPECT_STREQ(fstx_tx_label(fstx_txlist_get(l, 0)), "child");
  fstx_txlist_free(l);
  fstx_inspector_close(in);
  (void)!::write(release[1], "x", 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  for (int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);
  // No journal at all: not found for an inspector, "exists 0" for health.
  EXPECT_EQ(fstx_inspector_open((d / "none").c_str(), &in), FSTX_NOT_FOUND);
  ASSERT_EQ(fstx_health_get((d / "none").c_str(), &h), FSTX_OK);
  EXPECT_EQ(h.exists, 0);
}

TEST(CApi, VerifyReportsOrphanStagingAndLostRecords) {
  TempDir d;
  const std::string root = d / "tree";
  ::mkdir(root.c_str(), 0755);
  WriteFileRaw(root + "/a", "A");
  fstx_journal* j = OpenC(d / "journal", root);
  ASSERT_NE(j, nullptr);
  fstx_txn* t = nullptr;
  ASSERT_EQ(fstx_txn_begin(j, "one", &t), FSTX_OK);
  ASSERT_EQ(fstx_txn_remove(t, (root + "/a").c_str()), FSTX_OK);
  ASSERT_EQ(fstx_txn_commit(t), FSTX_OK) << fstx_errmsg();
  const uint64_t id = fstx_txn_id(t);
  fstx_txn_free(t);
  fstx_journal_close(j);
  const char* roots[] = {root.c_str()};
  fstx_verify_report* r = nullptr;
  ASSERT_EQ(fstx_verify((d / "journal").c_str(), roots, 1, &r), FSTX_OK);
  EXPECT_EQ(fstx_verify_count(r), 0u);
  fstx_verify_free(r);
  // A staging name of finished transaction `id`: an orphan. One of an id
  // the journal never handed out: lost records.
  const std::string orphan = root + "/.fstx-" + std::to_string(id) + "-0-del";
  const std::string lost = root + "/.fstx-" + std::to_string(id + 50) + "-0-old";
  WriteFileRaw(orphan, "stale");
  WriteFileRaw(lost, "?");
  ASSERT_EQ(fstx_verify((d / "journal").c_str(), roots, 1, &r), FSTX_OK);
  ASSERT_EQ(fstx_verify_count(r), 2u);
  std::map<std::string, std::string> kinds;
  for (size_t i = 0; i < 2; ++i) {
    const char *kind = nullptr, *path = nullptr, *msg = nullptr;
    ASSERT_EQ(fstx_verify_finding(r, i, &kind, &path, &msg), FSTX_OK);
    kinds[path] = kind;
  }
  EXPECT_EQ(kinds[orphan], "orphan-staging");
  EXPECT_EQ(kinds[lost], "lost-records");
  EXPECT_EQ(fstx_verify_finding(r, 2, nullptr, nullptr, nullptr), FSTX_INVALID_ARGUMENT);
  fstx_verify_free(r);
}

}  // namespace
}  // namespace fstx
