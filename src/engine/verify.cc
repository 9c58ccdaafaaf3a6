// verify.cc — Verify (fstx/inspect.h): the journal is readable and
// trusted, every record decodes in a known format version, and no staging
// name under the roots belongs to a transaction that is not unfinished.
#include <sys/stat.h>

#include <boost/filesystem.hpp>

#include <cerrno>
#include <set>

#include "fstx/inspect.h"
#include "journal/codec.h"
#include "journal/names.h"
#include "journal/store.h"
#include "src/engine/content.h"

namespace fstx {
namespace {

namespace bfs = boost::filesystem;

// Walks `root` for staging names whose transaction is not in `active`.
// A staging name whose id is at or above `next_id` (0: unknown) belongs to
// a transaction this journal never handed out: records were lost.
// Staged content (format 4) is an orphan if no unfinished record names it
// and the process that staged it is dead.
void WalkRoot(const std::string& root, const std::set<uint64_t>& active, const std::set<std::string>& content,
              uint64_t next_id, VerifyReport* out) {
  boost::system::error_code ec;
  bfs::recursive_directory_iterator it(root, bfs::directory_options::skip_permission_denied, ec);
  bfs::recursive_directory_iterator end;
  if (ec) {
    out->findings.push_back({"unreadable", root, "cannot walk root: " + ec.message()});
    return;
  }
  while (it != end) {
    const bfs::path& p = it->path();
    // What `fstx resolve --abandon` kept is the operator's, not garbage.
    if (p.filename() == "abandoned" && IsStagingDirName(p.parent_path().filename().string())) {
      it.disable_recursion_pending();
      it.increment(ec);
      continue;
    }
    StagingName name;
    if (ParseContentLeaf(p.filename().string(), nullptr)) {
      ++out->staging_seen;
      if (!content.count(p.string()) && WhoStaged(p.filename().string()) == ContentStager::kDead)
        out->findings.push_back({"orphan-staging", p.string(),
                                 "content staged by a process that died before journaling it (recovery "
                                 "deletes it in the roots' staging directories)"});
    } else if (ParseStagingLeaf(p.filename().string(), &name)) {
      ++out->staging_seen;
      if (next_id != 0 && name.txid >= next_id) {
        out->findings.push_back({"lost-records", p.string(),
                                 "staging name of transaction " + std::to_string(name.txid) +
                                     ", which this journal never handed out (next id " + std::to_string(next_id) +
                                     "): journal records were lost; check the tree by hand before moving it away"});
      } else if (!active.count(name.txid)) {
        out->findings.push_back({"orphan-staging", p.string(),
                                 "staging name of transaction " + std::to_string(name.txid) +
                                     ", which is not unfinished in the journal"});
      }
      // A staging directory is one finding, not one per file inside.
      if (it->symlink_status(ec).type() == bfs::directory_file) it.disable_recursion_pending();
    }
    it.increment(ec);
    if (ec) {
      out->findings.push_back({"unreadable", root, "walk stopped: " + ec.message()});
      break;
    }
  }
}

// The journal half: fills the findings and the ids of unfinished records.
void CheckJournal(const std::string& dir, VerifyReport* out, std::set<uint64_t>* active_ids,
                  std::set<std::string>* content, uint64_t* next_id) {
  struct stat st;
  const std::string data = dir + "/data.mdb";
  for (const std::string* what : {&dir, &data}) {
    if (::lstat(what->c_str(), &st) == 0) continue;
    if (errno == ENOENT) return;  // no journal: nothing to check
    out->exists = true;           // something is there, we cannot tell what
    out->open_error = Status::FromErrno(errno, "cannot read journal: stat", *what);
    out->findings.push_back({"unreadable", dir, out->open_error.message()});
    return;
  }
  out->exists = true;
  StoreOptions so;
  so.dir = dir;
  so.read_only = true;
  auto store = JournalStore::Open(so);
  if (!store.ok()) {
    out->open_error = store.status();
    const bool corrupt = store.status().code() == Code::kCorruption;
    out->findings.push_back({corrupt ? "corrupt-journal" : "unreadable", dir, store.status().message()});
    return;
  }
  StoreStats stats;
  Status s = (*store)->Stats(&stats);
  if (s.ok()) *next_id = stats.next_id;
  if (!s.ok()) {
    out->findings.push_back({"unreadable", dir, "journal metadata: " + s.message()});
  } else if (stats.format_version < kOldestFormatVersion || stats.format_version > kFormatVersion) {
    out->findings.push_back({"format-version", dir,
                             "journal format version " + std::to_string(stats.format_version) +
                                 ", this fstx reads versions " + std::to_string(kOldestFormatVersion) +
                                 " to " + std::to_string(kFormatVersion)});
  }
  std::vector<TxRecord> active, history;
  std::vector<BadRecord> bad_active, bad_history;
  s = (*store)->ListActive(&active, &bad_active);
  if (s.ok()) s = (*store)->ListHistory(&history, &bad_history);
  if (!s.ok()) out->findings.push_back({"unreadable", dir, "journal tables: " + s.message()});
  bad_active.insert(bad_active.end(), bad_history.begin(), bad_history.end());
  for (const BadRecord& b : bad_active) {
    out->findings.push_back({"corrupt-record", data,
                             b.table + " record " + std::to_string(b.id) + ": " + b.status.message()});
    if (b.table == "active") active_ids->insert(b.id);  // its files are not orphans
  }
  for (const TxRecord& r : active) {
    active_ids->insert(r.id);
    for (const Intent& in : r.intents)
      if (!in.content.empty()) content->insert(in.content);
  }
  out->active = active.size();
  out->history = history.size();
}

}  // namespace

Status Verify(const std::string& dir, const std::vector<std::string>& roots, VerifyReport* out) {
  *out = VerifyReport();
  if (dir.empty()) return Status(Code::kInvalidArgument, "verify: no journal directory given");
  std::set<uint64_t> active_ids;
  std::set<std::string> content;
  uint64_t next_id = 0;
  CheckJournal(dir, out, &active_ids, &content, &next_id);
  for (const std::string& root : roots) WalkRoot(root, active_ids, content, next_id, out);
  return Status();
}

}  // namespace fstx
