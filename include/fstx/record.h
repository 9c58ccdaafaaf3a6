// fstx/record.h — what the journal records about a transaction, as the
// inspection API (fstx/inspect.h) hands it out.
//
// A TxRecord holds everything recovery needs to redo, undo and probe each
// operation without any other state: the paths, the new content, and the
// fingerprints of the objects the operation moves or replaces. These are
// plain values read back from the journal; their on-disk encoding (cereal,
// versioned, checksummed) is private to the library and documented in
// journal/FORMAT.md. Enum values are on-disk tags: never renumbered, only
// appended.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fstx/version.h"

namespace fstx {

enum class OpKind : uint8_t {
  kRename = 1,
  kWriteFile = 2,
  kSymlink = 3,
  kRemove = 4,
  kMkdir = 5,
  kWriteRange = 6,  // format 2: overwrite bytes in place (qcow2 headers)
};
FSTX_API const char* op_kind_name(OpKind k);

enum class Policy : uint8_t {
  kRollback = 1,     // recovery undoes an unfinished transaction (default)
  kRollforward = 2,  // recovery redoes the rest; undoes if redo fails for good
};
FSTX_API const char* policy_name(Policy p);

enum class TxState : uint8_t {
  kPrepared = 1,        // intents durable; ops may be partly applied
  kCommitted = 2,       // commit point passed; staging cleanup may remain
  kDone = 3,            // finished forward (history only)
  kRollingBack = 4,     // recovery decided to undo; undo may be partial
  kAborted = 5,         // finished backward (history only)
  kNeedsAttention = 6,  // recovery found a state it will not guess about
  kAbandoned = 7,       // format 3: closed by an operator (`fstx resolve
                        // --abandon`), the tree left as it was (history only)
};
FSTX_API const char* tx_state_name(TxState s);

// Identity and shape of a filesystem object at prepare time.
struct Fingerprint {
  uint8_t type = 0;  // fstx::FileType value; 0 = absent
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t btime_ns = 0;  // birth time (statx); 0 if unknown
  bool present() const { return type != 0; }
};

struct Intent {
  OpKind kind = OpKind::kRename;
  std::string path;      // target: rename's destination, otherwise the path
  std::string src;       // rename's source; empty otherwise
  bool replace = false;  // rename/symlink: may replace an existing object
  uint32_t mode = 0;     // write_file / mkdir: exact permission bits
  std::string data;      // write_file: new content; symlink: new target;
                         // write_range: the new bytes. Empty in history
                         // records for write_file / write_range (see
                         // data_size, data_hash).
  Fingerprint moved;     // rename: object at src; remove: object at path;
                         // mkdir: object an earlier op moves away from path;
                         // write_file with `content`: the staged file
  Fingerprint before;    // the object at `path` before this op (or absent);
                         // write_range: the file written
  // Format 2:
  std::string stage;     // the staging directory of this op's staging
                         // objects (absolute); empty: format-1 sibling
                         // staging names next to the target
  uint64_t offset = 0;   // write_range: where the bytes go
  std::string old_data;  // write_range: the bytes the range held before
  uint64_t data_size = 0;  // size of the content `data` held when prepared
  std::string data_hash;   // XXH3-128 of that content, 16 bytes big-endian
                           // (empty for ops without content)
  // Format 4:
  std::string content;     // write_file whose content was staged before the
                           // record was written (too big to journal): the
                           // staged file's absolute path (in `stage`); `data`
                           // is then empty and `moved` is that file's
                           // fingerprint. Empty: the content is in `data`.
};

struct Owner {
  int64_t pid = 0;
  uint64_t start_time = 0;  // /proc/PID/stat field 22 (clock ticks since boot)
  std::string boot_id;      // /proc/sys/kernel/random/boot_id
};

struct TxRecord {
  uint64_t id = 0;
  std::string label;
  Owner owner;
  Policy policy = Policy::kRollback;
  TxState state = TxState::kPrepared;
  int64_t created_us = 0;   // wall clock, microseconds since the epoch
  int64_t finished_us = 0;  // set when the record moves to history
  std::string note;         // error that caused rollback, or attention reason
  std::vector<Intent> intents;
};

// An intent's data_hash as text, "xxh128:" and 32 hex digits ("" if the
// op has no content hash).
FSTX_API std::string data_hash_text(const Intent& in);

}  // namespace fstx
