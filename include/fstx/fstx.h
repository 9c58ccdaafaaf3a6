// fstx/fstx.h — atomic multi-file changes: the public API.
//
//   auto journal = fstx::Journal::Open({.dir = "/var/lib/myd/fstx",
//                                       .roots = {"/etc/myd", "/var/lib/myd"}});
//   if (!journal.ok()) die(journal.status().ToString());
//   fstx::Transaction tx = journal->Begin("rename vm1 to vm2");
//   tx.Rename("/etc/myd/vm1.xml", "/etc/myd/vm2.xml");
//   tx.WriteFile("/etc/myd/vm2.xml", xml, 0600);
//   tx.Symlink("/etc/myd/vm2.xml", "/etc/myd/autostart/vm2.xml");
//   tx.Remove("/etc/myd/autostart/vm1.xml");
//   fstx::Status s = tx.Commit();   // all or nothing
//
// Commit() validates every op against the tree as the earlier ops of the
// same transaction will leave it, writes the intents durably to the journal
// (one synced LMDB commit), applies them, and makes them durable (fsync of
// each touched directory once: the commit point). It returns ok only after
// the commit point. If any op fails, the ops already applied are undone and
// the tree is exactly as before; the status says which op failed and why.
// If the process dies, Journal::Open (or Recover) in the next process rolls
// the transaction forward or back; see README "On-disk guarantees".
//
// Thread safety: a Journal may be used from many threads, and many
// processes may have one journal open at once. Two transactions whose
// paths overlap (same path, or one beneath the other) do not run at once:
// the second Commit() waits up to Options::lock_wait_ms, then fails with
// kBusy naming the path and the holder. Path locks held by a process that
// dies are released by the kernel; its unfinished transactions are
// recovered by the next transaction that needs their paths (or Recover).
// A Transaction object belongs to one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fstx/fs.h"
#include "fstx/inspect.h"
#include "fstx/status.h"
#include "fstx/version.h"

namespace spdlog {
class logger;
}

namespace fstx {

// The library's version, "0.1.0" (FSTX_VERSION_STRING of the build).
FSTX_API const char* Version();

// Log levels; the values are the C API's FSTX_LOG_* (fstx/c.h).
enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
// Receives every line fstx logs (one message, no trailing newline). Called
// from the thread that logs; must be thread-safe.
using LogFunction = std::function<void(LogLevel level, std::string_view message)>;

enum class TxPolicy : uint8_t { kRollback = 1, kRollforward = 2 };

// At most this many ops in one transaction: Commit()/Validate() refuse more
// with kInvalidArgument before anything is journaled. Planning, commit and
// recovery grow as n log n up to it (README "Limits").
inline constexpr size_t kMaxOpsPerTransaction = 100000;

struct Options {
  std::string dir;                 // journal directory (created 0700)
  std::vector<std::string> roots;  // every path must lie beneath one
  // Recover unfinished transactions of dead owners during Open (default).
  bool recover_on_open = true;
  // How long Commit() waits for paths another transaction holds (in this
  // process or another) before failing with kBusy; 0: do not wait.
  int64_t lock_wait_ms = 5000;
  uint64_t history_max_count = 1000;
  int64_t history_max_age_s = 30 * 86400;
  // History is also bounded by the bytes its pages occupy (oldest first).
  uint64_t history_max_bytes = 256ull << 20;
  // write_file content larger than this is not copied into the journal: it
  // is written once, to a staging file, before the prepared record, which
  // then holds its path, size and hash (journal/FORMAT.md, format 4). A
  // content_file that big is read through a bounded buffer, never whole.
  uint64_t inline_content_max = 64 << 10;
  // Filesystem seam. nullptr: a PosixFs over `roots`, owned by the journal.
  // Otherwise not owned and must outlive the journal (fault injection,
  // tracing).
  Fs* fs = nullptr;
  // Where fstx logs: `log` if set, else `logger`, else spdlog's default
  // logger.
  LogFunction log;
  std::shared_ptr<spdlog::logger> logger;
};

// What recovery did (or, in a dry run, would do) with one transaction.
// The values are pinned (the C API's FSTX_DECISION_*) and never reused.
enum class Decision : int {
  kRolledForward = 1,
  kRolledBack = 2,
  kNeedsAttention = 3,    // left for an operator (fstx show / resolve)
  kSkippedLiveOwner = 4,  // its process still runs: not touched
  kCorrupt = 5,           // the record does not decode: left untouched
  kWouldRollForward = 6,  // dry run
  kWouldRollBack = 7,     // dry run
  kAbandoned = 8,         // Resolve(kAbandon): closed, the tree left as it is
};
// "rolled-forward", "rolled-back", "needs-attention", "skipped-live-owner",
// "corrupt", "would-roll-forward", "would-roll-back", "abandoned".
FSTX_API const char* decision_name(Decision d);

struct RecoveredTx {
  uint64_t id = 0;
  std::string label;
  Decision decision = Decision::kRolledForward;
  int ops_redone = 0;
  int ops_undone = 0;
  std::string message;  // why, for needs-attention / corrupt / errors
  // needs-attention found by probing: one line per op whose state recovery
  // could not place ("op 3 (rename /a -> /b): ..."), all of them at once.
  std::vector<std::string> conflicts;
};

struct RecoveryReport {
  std::vector<RecoveredTx> txs;
  FSTX_API bool needs_attention() const;
  bool clean() const { return txs.empty(); }
};

// The content hash fstx uses for preconditions: "xxh128:" and 32 hex
// digits, the XXH3-128 of `data`. For a symlink, hash its target string.
FSTX_API std::string ContentHash(std::string_view data);

// What an op expects to find before it runs (Transaction::Expect): the
// object it acts on absent, or present with exactly the content the caller
// read when it made its plan. Checked at Commit() under the op's path
// lock, before anything is journaled; a mismatch fails the whole
// transaction with kStale naming the path, and nothing changes.
struct Precondition {
  static Precondition Absent() { return {true, {}}; }
  // `content_hash` as ContentHash() returns it.
  static Precondition Hash(std::string content_hash) { return {false, std::move(content_hash)}; }
  static Precondition Content(std::string_view data) { return {false, ContentHash(data)}; }
  bool absent = false;
  std::string hash;
};

// One op as a caller asks for it: what Transaction's builders (Rename,
// WriteFile, ...) record, what Transaction::Add takes whole, and what the
// CLI's spec parses into. Planning turns it into an Intent (fstx/record.h):
// the op plus what was found on disk (fingerprints, staging directory,
// content size and hash), which is what the journal keeps.
struct Op {
  OpKind kind = OpKind::kRename;
  std::string path;  // the target: a rename's destination, otherwise the path
  std::string src;   // rename: the source
  std::string data;  // write_file: content; symlink: target; write_range: bytes
  RenameMode replace = RenameMode::kNoReplace;  // rename, symlink
  std::optional<uint32_t> mode;  // write_file (default: see WriteFile), mkdir (default 0755)
  uint64_t offset = 0;           // write_range
  std::optional<Precondition> expect;  // see Transaction::Expect
  // write_file from a file (Transaction::WriteFileFrom): the content is
  // read from here at commit, not taken from `data`.
  std::string content_file;

  // "rename /a -> /b", "write_file /c": how errors name the op.
  FSTX_API std::string Describe() const;
};

// What an operator does with a transaction recovery will not finish on its
// own (needs-attention), or whose record does not decode (Journal::Resolve,
// `fstx resolve`).
enum class ResolveAction : uint8_t {
  // Recover it now, as Recover() would, e.g. after the tree was put back by
  // hand into the state before or after the transaction.
  kRetry = 1,
  // Close it, leaving the tree exactly as it is. Nothing is deleted: the
  // staging objects it still holds (replaced and removed objects, written
  // files not yet in place) and the before-images of its write_range ops
  // move to <staging dir>/abandoned/<id>/ (journal/FORMAT.md §6); an
  // unreadable record's bytes are saved to <journal>/abandoned/<id>.record.
  // History records who abandoned it, when, why, and what was kept where.
  kAbandon = 2,
};

struct ResolveResult {
  // Retry: the recovery outcome. Abandon: decision "abandoned".
  RecoveredTx tx;
  std::vector<std::string> kept;  // abandon: every kept path, sorted
  std::string saved_record;       // abandon of an unreadable record
};

class Journal;

class FSTX_API Transaction {
 public:
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) noexcept;
  ~Transaction();

  // Operations are recorded here and validated at Commit(). Paths are
  // absolute and must lie beneath a root of the journal.

  // Moves a file, directory, symlink, socket or image. With kReplace, an
  // existing object at `to` is kept under a staging name until the
  // transaction is finished, then deleted; with kNoReplace an existing `to`
  // fails the transaction (kExists).
  Transaction& Rename(const std::string& from, const std::string& to,
                      RenameMode mode = RenameMode::kNoReplace);
  // Creates or atomically replaces a regular file with `data`. mode:
  // the replaced file's mode if omitted (0644 for a new file). A replaced
  // file's owner is kept.
  Transaction& WriteFile(const std::string& path, std::string_view data,
                         std::optional<uint32_t> mode = std::nullopt);
  // WriteFile with the content of the file `content_file` (read at
  // Commit(); it must not change until Commit() returns). For big files:
  // the content is copied through a bounded buffer.
  Transaction& WriteFileFrom(const std::string& path, const std::string& content_file,
                             std::optional<uint32_t> mode = std::nullopt);
  // Creates a symlink at `path` pointing to `target`, or with kReplace
  // atomically retargets an existing non-directory.
  Transaction& Symlink(const std::string& target, const std::string& path,
                       RenameMode mode = RenameMode::kNoReplace);
  // Removes any object; directories with everything beneath them.
  Transaction& Remove(const std::string& path);
  Transaction& Mkdir(const std::string& path, uint32_t mode = 0755);
  // Overwrites data.size() bytes of the existing regular file `path` at
  // `offset`, in place (it never grows the file): for small edits of large
  // files, such as a qcow2 header. The bytes the range held are journaled
  // and written back on rollback. Durable when written (fdatasync).
  Transaction& WriteRange(const std::string& path, uint64_t offset, std::string_view data);
  // Any op, as the builders above record it (Op's fields say which apply).
  Transaction& Add(Op op);
  // A precondition on the op added last: a rename's source, otherwise the
  // op's path (for the object it replaces, removes or writes into). A
  // directory can only be expected absent.
  Transaction& Expect(Precondition precondition);

  Transaction& SetPolicy(TxPolicy policy);
  size_t size() const;
  // The journal id, once Commit() has journaled the transaction (also when
  // it then failed and was rolled back); 0 before, or if it never got that
  // far (invalid, busy).
  uint64_t id() const;

  // Checks every op against the tree as the earlier ops will leave it,
  // without journaling or changing anything: the errors Commit() would
  // give before touching the disk (kInvalidArgument, kOutsideRoot,
  // kNotFound, kExists, kStale), with the op's index and path in the
  // message.
  Status Validate();

  // All or nothing; see the header comment. A transaction commits once.
  Status Commit();

 private:
  friend class Journal;
  struct FSTX_LOCAL Impl;
  FSTX_LOCAL explicit Transaction(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class FSTX_API Journal {
 public:
  static Result<std::unique_ptr<Journal>> Open(const Options& options);
  ~Journal();  // Flush()es; never leaves a committed transaction unrecorded
               // for longer than the process lives.

  Transaction Begin(std::string label, TxPolicy policy = TxPolicy::kRollback);

  // Rolls unfinished transactions of dead owners forward or back (Open does
  // this unless recover_on_open is false). dry_run: decide, change nothing.
  Status Recover(RecoveryReport* report, bool dry_run = false);

  // Ends unfinished transaction `id` as `action` says. ok once it is
  // finished (rolled forward or back, or abandoned). kNeedsAttention if a
  // retry still cannot place it (every conflict in out->tx.conflicts);
  // kNotFound if `id` is not unfinished; kBusy if its owner is alive or it
  // is in flight in this process; kInvalidArgument for abandoning one that
  // recovery has not given up on (prepared, committed, rolling back: run
  // Recover first); kCorruption for retrying an unreadable record.
  // `reason` is recorded with an abandon.
  Status Resolve(uint64_t id, ResolveAction action, ResolveResult* out, const std::string& reason = "");

  // Makes the completion of committed transactions durable now: every one
  // whose staging deletions are synced moves to history. (Otherwise each is
  // recorded `committed` with the next journal write, and they move to
  // history eight at a time.)
  Status Flush();

  const Options& options() const;
  // What the recovery run by Open (recover_on_open) did.
  const RecoveryReport& open_report() const;

  // Reads this journal: list, get, health, dry-run recovery
  // (fstx/inspect.h). A process that holds the journal open must inspect it
  // through this, not a second Inspector::Open of the same directory (LMDB
  // allows one environment per file per process).
  const Inspector& inspector() const;

 private:
  struct FSTX_LOCAL Impl;
  FSTX_LOCAL explicit Journal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class Transaction;
  friend struct JournalAccess;
};

}  // namespace fstx
