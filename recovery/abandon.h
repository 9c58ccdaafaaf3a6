// abandon.h — closing a transaction an operator takes over (`fstx resolve
// TXID --abandon`), without deleting a byte.
//
// The tree is left exactly as it is. What the transaction still holds
// outside the tree moves to a place an operator can find and that nothing
// of fstx ever touches again (journal/FORMAT.md §6, "kept objects"):
//   - its staging objects (new / old / del) are renamed, on their own mount,
//     into <staging dir>/abandoned/<txid>/;
//   - the before-image of each write_range (held only by the journal
//     record, which is about to lose it) is written there as a file;
//   - for a record that does not decode, its raw bytes are saved to
//     <journal dir>/abandoned/<txid>.record, and staging objects named with
//     its id at the top of each root's staging directory are kept as above.
// Every step is idempotent: run again after a crash, it finds what an
// earlier run moved and lists it; the journal record is closed only after
// the moves are durable.
#pragma once

#include <string>
#include <vector>

#include "fstx/fs.h"
#include "journal/record.h"

namespace fstx {

// The directory that keeps the objects of abandoned transaction `txid`
// whose staging directory is `stage`.
std::string KeptDir(const std::string& stage, uint64_t txid);

// Moves the staging objects of `rec` into their kept directories and saves
// write_range before-images; *kept gets every path in those directories
// (sorted), including what an interrupted earlier run moved.
Status KeepStaging(Fs* fs, const std::vector<std::string>& roots, const TxRecord& rec,
                   std::vector<std::string>* kept);

// For a record that does not decode: keeps the staging objects named with
// `txid` found at the top of each root's staging directory.
Status KeepStagingById(Fs* fs, const std::vector<std::string>& roots, uint64_t txid,
                       std::vector<std::string>* kept);

// Writes `bytes` to <journal_dir>/abandoned/<txid>.record (0600, synced,
// never following a symlink, never replacing a different file); *path
// gets its path.
Status SaveRawRecord(const std::string& journal_dir, uint64_t txid, const std::string& bytes,
                     std::string* path);

// "uid 0 (root), pid 123, at 2026-11-22T15:04:05Z": who is resolving.
std::string WhoAndWhen();

}  // namespace fstx
