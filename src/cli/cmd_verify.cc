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
#include <iostream>

#include "cli.h"
#include "context.h"
#include "render.h"
#include "text.h"

namespace fstx::cli {

int CmdVerify(const Globals& g, bool json) {
  VerifyReport r;
  Status vs = Verify(g.journal, g.roots, &r);
  if (!vs.ok()) return Fail(json, Json{{"journal", g.journal}}, "verify", vs, kExitUsage);
  const std::vector<Finding>& findings = r.findings;
  const Status& open_error = r.open_error;
  const bool exists = r.exists;
  const uint64_t n_active = r.active, n_history = r.history, staging_seen = r.staging_seen;

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
