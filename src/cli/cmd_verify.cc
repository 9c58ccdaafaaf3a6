// cmd_verify.cc — `fstx verify`: checks the journal and the trees it guards
// without changing either.
//
// Findings: a journal that cannot be read (unreadable) or is refused as
// corrupt (corrupt-journal: a damaged data.mdb, a meta next_id that would
// reuse ids), a record in "active" or "history" that fails to decode
// (checksum, magic, version), a format version this build does not know,
// and orphan staging files: a ".fstx-<txid>-<op>-<kind>" name under a root
// whose transaction is not active (the roots are walked without following
// symlinks; a staging directory is reported once, not descended into).
// Exit 0 when clean, 1 with each finding printed with its path.
#include <boost/filesystem.hpp>

#include <iostream>
#include <set>

#include "journal/codec.h"
#include "journal/names.h"
#include "src/cli/cli.h"
#include "src/cli/context.h"
#include "src/cli/render.h"
#include "src/cli/text.h"

namespace fstx::cli {
namespace {

namespace bfs = boost::filesystem;

struct Finding {
  std::string kind;  // corrupt-record, corrupt-journal, format-version, orphan-staging,
                     // lost-records, unreadable
  std::string path;
  std::string message;
};

// Walks `root` for staging names whose transaction is not in `active`.
// A staging name whose id is at or above `next_id` (0: unknown) belongs to
// a transaction this journal never handed out: records were lost.
void WalkRoot(const std::string& root, const std::set<uint64_t>& active, uint64_t next_id,
              std::vector<Finding>* findings, uint64_t* staging_seen) {
  boost::system::error_code ec;
  bfs::recursive_directory_iterator it(root, bfs::directory_options::skip_permission_denied, ec);
  bfs::recursive_directory_iterator end;
  if (ec) {
    findings->push_back({"unreadable", root, "cannot walk root: " + ec.message()});
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
    if (ParseStagingLeaf(p.filename().string(), &name)) {
      ++*staging_seen;
      if (next_id != 0 && name.txid >= next_id) {
        findings->push_back({"lost-records", p.string(),
                             "staging name of transaction " + std::to_string(name.txid) +
                                 ", which this journal never handed out (next id " + std::to_string(next_id) +
                                 "): journal records were lost; check the tree by hand before moving it away"});
      } else if (!active.count(name.txid)) {
        findings->push_back({"orphan-staging", p.string(),
                             "staging name of transaction " + std::to_string(name.txid) +
                                 ", which is not unfinished in the journal"});
      }
      // A staging directory is one finding, not one per file inside.
      if (it->symlink_status(ec).type() == bfs::directory_file) it.disable_recursion_pending();
    }
    it.increment(ec);
    if (ec) {
      findings->push_back({"unreadable", root, "walk stopped: " + ec.message()});
      break;
    }
  }
}

}  // namespace

int CmdVerify(const Globals& g, bool json) {
  std::vector<Finding> findings;
  std::set<uint64_t> active_ids;
  uint64_t n_active = 0, n_history = 0, staging_seen = 0, next_id = 0;
  bool exists = false;
  // Set when the journal could not be read at all: then the JSON output
  // also carries "error", like every other command's.
  Status open_error;
  Status probe = ProbeJournal(g.journal, &exists);
  if (!probe.ok()) {
    exists = true;  // something is there, we cannot tell what
    open_error = probe;
    findings.push_back({"unreadable", g.journal, probe.message()});
  } else if (exists) {
    Result<std::unique_ptr<JournalStore>> store = OpenReadOnly(g.journal);
    if (!store.ok()) {
      open_error = store.status();
      const bool corrupt = store.status().code() == Code::kCorruption;
      findings.push_back(
          {corrupt ? "corrupt-journal" : "unreadable", g.journal, store.status().message()});
    } else {
      StoreStats stats;
      Status s = (*store)->Stats(&stats);
      if (s.ok()) next_id = stats.next_id;
      if (!s.ok()) {
        findings.push_back({"unreadable", g.journal, "journal metadata: " + s.message()});
      } else if (stats.format_version < kOldestFormatVersion || stats.format_version > kFormatVersion) {
        findings.push_back({"format-version", g.journal,
                            "journal format version " + std::to_string(stats.format_version) +
                                ", this fstx reads versions " + std::to_string(kOldestFormatVersion) + " to " + std::to_string(kFormatVersion)});
      }
      std::vector<TxRecord> active, history;
      std::vector<BadRecord> bad;
      if (!(s = ReadTables(**store, true, &active, &history, &bad)).ok()) {
        findings.push_back({"unreadable", g.journal, "journal tables: " + s.message()});
      }
      for (const BadRecord& b : bad) {
        findings.push_back({"corrupt-record", g.journal + "/data.mdb",
                            b.table + " record " + std::to_string(b.id) + ": " +
                                b.status.message()});
        if (b.table == "active") active_ids.insert(b.id);  // its files are not orphans
      }
      for (const TxRecord& r : active) active_ids.insert(r.id);
      n_active = active.size();
      n_history = history.size();
    }
  }
  for (const std::string& root : g.roots) WalkRoot(root, active_ids, next_id, &findings, &staging_seen);

  if (json) {
    Json list = Json::array();
    for (const Finding& f : findings) {
      list.push_back(Json{{"kind", f.kind}, {"path", f.path}, {"message", f.message}});
    }
    Json out{{"journal", g.journal},
             {"exists", exists},
             {"clean", findings.empty()},
             {"active", n_active},
             {"history", n_history},
             {"roots", g.roots},
             {"staging_seen", staging_seen},
             {"findings", list},
             {"error", nullptr}};
    if (!open_error.ok()) {
      out["error"] = ErrorJson("journal " + g.journal + ": " + open_error.message(), open_error,
                               kExitFailed);
    }
    std::cout << DumpJson(out);
  } else {
    if (!open_error.ok()) PrintError("journal " + g.journal, open_error.message());
    for (const Finding& f : findings) {
      std::cout << f.kind << ": " << Printable(f.path) << ": " << Printable(f.message) << "\n";
    }
    if (!exists) std::cout << "no journal at " << g.journal << "\n";
    std::cout << "verify: " << (findings.empty() ? "clean" : std::to_string(findings.size()) + " problem(s) found")
              << " (" << n_active << " active and " << n_history << " history records checked, "
              << g.roots.size() << " root(s) walked";
    if (g.roots.empty()) std::cout << ": give --root or FSTX_ROOTS to look for orphan staging files";
    std::cout << ")\n";
  }
  return findings.empty() ? kExitOk : kExitFailed;
}

}  // namespace fstx::cli
