// content.h — write_file content too big to journal (format 4).
//
// A write_file whose content is larger than Options::inline_content_max is
// not copied into the journal record. Its content goes to a new file in the
// op's staging directory first — written piece by piece from memory or from
// the op's content_file through a bounded buffer, fsynced once, its
// directory synced — and the prepared record names that file
// (Intent::content) with its fingerprint, size and hash. Apply then only
// renames it into place, so the bytes are written once, and the journal
// holds no more than a path.
//
// The staging name (journal/names.h ContentLeaf) carries the staging
// process's identity, because the file exists before its transaction has
// an id: if that process dies before its record is durable, recovery knows
// the file for a dead process's leftover (LeftoverContent) and deletes it.
// Thread-compatible: one per Commit/Validate.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fstx/fs.h"
#include "fstx/fstx.h"
#include "journal/record.h"

namespace fstx {

class StagedContent {
 public:
  // `track(path, true)` is called before a content file is created,
  // `track(path, false)` when Stage deletes it again; the caller keeps the
  // set of its process's files no record names yet (LeftoverContent).
  using Tracker = std::function<void(const std::string& path, bool staged)>;
  StagedContent(uint64_t inline_max, Tracker track) : inline_max_(inline_max), track_(std::move(track)) {}
  ~StagedContent();
  StagedContent(const StagedContent&) = delete;
  StagedContent& operator=(const StagedContent&) = delete;

  // Takes in the ops' content: a content_file no bigger than inline_max is
  // read into its op's data; a bigger one stays open here (its content is
  // read once, when staged). In-memory data bigger than inline_max moves
  // here out of the op. Errors name the op and the file.
  Status Load(std::vector<Op>* ops);

  // For every op Load kept: creates its staged content file in its
  // intent's staging directory (planned: intents[k] is ops[k]'s), records
  // path, fingerprint, size and hash in the intent, then syncs each
  // staging directory used once through `sync_dir`. On failure what was
  // created is deleted again.
  Status Stage(Fs* fs, std::vector<Intent>* intents, const std::function<Status(const std::string&)>& sync_dir);

 private:
  struct Pending {
    size_t op = 0;
    int fd = -1;           // content_file, open; or -1:
    std::string data;      // the content, from memory
    std::string name;      // for errors: the content file or "data"
  };
  Status StageOne(Fs* fs, Pending* p, Intent* in);

  uint64_t inline_max_;
  Tracker track_;
  std::vector<Pending> pending_;
};

// Deletes the staged content of `intents` (a transaction whose prepared
// record was not, or will never be, applied). Best effort: recovery and
// `fstx verify` see what is left.
void DiscardContent(Fs* fs, const std::vector<Intent>& intents);

// Who staged `leaf` (a name in a staging directory), if it is staged
// content. Content of a dead process, and content of this process that no
// transaction in flight here staged (a journal instance that no longer
// exists: as for records, Journal::Recover), can never come to be named by
// a new record.
enum class ContentStager { kNotContent, kDead, kThisProcess, kOtherLive };
ContentStager WhoStaged(const std::string& leaf);

}  // namespace fstx
