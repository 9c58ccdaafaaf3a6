// fstx/inspect.h — reading a journal: its transactions, its health, what
// recovery would do, and a check of the journal and the trees it guards.
//
//   auto in = fstx::Inspector::Open("/var/lib/myd/fstx");   // read-only
//   fstx::TxList list;
//   if (in.ok() && (*in)->List(/*finished=*/true, &list).ok())
//     for (const fstx::TxRecord& r : list.unfinished) ...
//
// An Inspector opened with Open() reads without the journal's writer lock,
// so it works while another process (a daemon) writes the journal; it sees
// each LMDB commit whole. A process that has the journal open as a Journal
// uses Journal::inspector() instead (one LMDB environment per file per
// process). Nothing here changes the journal or the trees.
//
// Thread safety: an Inspector may be used from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fstx/record.h"
#include "fstx/status.h"
#include "fstx/version.h"

namespace fstx {

struct RecoveryReport;

// A stored record that failed to decode (checksum, magic, version).
struct BadRecord {
  std::string table;  // "active" / "history" / "meta"
  uint64_t id = 0;
  Status status;
};

struct TxList {
  std::vector<TxRecord> unfinished;  // "active", by id
  std::vector<TxRecord> finished;    // "history", by id (without contents)
  std::vector<BadRecord> corrupt;    // records of either table that failed to decode
};

// Who holds the journal's writer lock (DIR/writer.lock).
struct WriterInfo {
  bool held = false;
  int64_t pid = 0;  // the pid written in writer.lock; 0 if unknown
};

// An unfinished transaction as `fstx status` shows it.
struct UnfinishedTx {
  TxRecord record;
  bool owner_alive = false;        // its process still runs (pid + start time + boot)
  std::vector<std::string> locks;  // the paths it holds (LockedPaths)
};

// What `fstx status` shows: the journal's shape and its unfinished work.
struct JournalHealth {
  std::string dir;
  bool exists = false;  // false: no journal there (nothing else is set)
  uint32_t format_version = 0;
  uint64_t map_size = 0;
  uint64_t used_bytes = 0;
  uint64_t next_id = 0;
  uint64_t finished = 0;  // records in history
  WriterInfo writer;
  std::vector<UnfinishedTx> unfinished;
  std::vector<BadRecord> corrupt;
  bool needs_attention = false;   // an unfinished one is needs_attention
  bool recovery_pending = false;  // a dead owner's transaction awaits Recover
};

// One problem `Verify` found.
struct Finding {
  // "unreadable", "corrupt-journal", "corrupt-record", "format-version",
  // "orphan-staging", "lost-records"
  std::string kind;
  std::string path;
  std::string message;
};

struct VerifyReport {
  bool exists = false;  // a journal is there
  uint64_t active = 0, history = 0;
  uint64_t staging_seen = 0;  // staging names met under the roots
  std::vector<Finding> findings;
  Status open_error;  // why the journal could not be read at all (else ok)
  bool clean() const { return findings.empty(); }
};

class FSTX_API Inspector {
 public:
  // Opens the journal in `dir` read-only. kNotFound if `dir` holds no
  // journal; kCorruption for one that cannot be trusted (naming the file).
  static Result<std::unique_ptr<Inspector>> Open(const std::string& dir);
  ~Inspector();
  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;

  const std::string& dir() const;
  // The unfinished transactions and, with `finished`, the history.
  Status List(bool finished, TxList* out) const;
  // One transaction with its intents. kNotFound naming the id.
  Status Get(uint64_t id, TxRecord* out, bool* finished) const;
  // What `fstx status` shows.
  Status Health(JournalHealth* out) const;
  // What Journal::Recover would do now for transactions of dead owners,
  // probing the files beneath `roots`; changes nothing.
  Status RecoverDryRun(const std::vector<std::string>& roots, RecoveryReport* out) const;

  struct FSTX_LOCAL Impl;
  FSTX_LOCAL explicit Inspector(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// Health of the journal in `dir` without opening it for writing; no
// journal there is ok with out->exists false.
FSTX_API Status ProbeHealth(const std::string& dir, JournalHealth* out);

// Checks the journal in `dir` (readable, trusted, every record decodes,
// known format version) and walks `roots` (not following symlinks) for
// staging names of transactions that are not unfinished (orphans). Returns
// non-ok only for bad arguments; problems are findings.
FSTX_API Status Verify(const std::string& dir, const std::vector<std::string>& roots,
                       VerifyReport* out);

// Every distinct path the record's intents name, sorted: the paths an
// unfinished transaction holds locked.
FSTX_API std::vector<std::string> LockedPaths(const TxRecord& rec);
// Whether a record's owner still runs (same boot, pid and start time).
FSTX_API bool OwnerAlive(const Owner& owner);
// flock(LOCK_EX|LOCK_NB) probe of DIR/writer.lock (writers hold it shared)
// and the pid in it (the last writer that opened the journal).
FSTX_API WriterInfo ProbeWriter(const std::string& dir);

}  // namespace fstx
