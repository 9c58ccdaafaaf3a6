// cmd_write.cc — the subcommands that take the journal's writer lock:
// `fstx apply` (run one transaction from a JSON spec) and `fstx recover`
// (whose --dry-run reads the journal without the lock).
//
// apply checks the whole spec (ParseSpec, the roots as the kernel resolves
// them, replace over an object of the other kind, then
// Transaction::Validate()) before anything is journaled, so bad input exits
// 2 with the journal and the tree untouched. It refuses (exit 1) to run
// past an unfinished record it cannot decode: that record's paths are
// unknown. A failed Commit() has rolled back: exit 1. Every failure prints
// the --json object when --json is given.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iostream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cli.h"
#include "context.h"
#include "render.h"
#include "spec.h"
#include "text.h"
#include "fstx/paths.h"

namespace fstx::cli {
namespace {

// Validate() reports bad input with these codes: the spec is wrong (exit 2).
int ValidationExit(const Status& s) {
  switch (s.code()) {
    case Code::kInvalidArgument:
    case Code::kOutsideRoot:
    case Code::kNotFound:
    case Code::kExists: return kExitUsage;
    default: return ExitFor(s);
  }
}

// Collects what apply prints with --json.
struct ApplyOutcome {
  bool json = false;
  Json result = Json{{"ok", false},    {"id", nullptr}, {"label", nullptr},
                     {"ops", 0},       {"recovered_on_open", Json::array()},
                     {"error", nullptr}};

  int Fail(const std::string& what, const Status& s, int code) {
    return cli::Fail(json, result, what, s, code);
  }
};

// lstat of a path as it is on disk now; false if it does not exist.
bool TypeOnDisk(const std::string& path, bool* is_dir) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  *is_dir = S_ISDIR(st.st_mode);
  return true;
}

// rename(2) cannot put a directory over a non-directory (ENOTDIR) or a
// non-directory over a directory (EISDIR), so `replace` across kinds would
// only fail after journaling. Checked here against the tree on disk for each
// rename whose source and target no earlier op of the spec touches (same
// path, beneath, or above): for those the disk is what the op will see.
// Transaction::Validate() does not check this yet (see the README).
Status CheckReplaceKinds(const Spec& spec) {
  auto overlap = [](const std::string& a, const std::string& b) {
    return paths::IsSameOrAncestor(a, b) || paths::IsAncestor(b, a);
  };
  for (size_t k = 0; k < spec.ops.size(); ++k) {
    const SpecOp& op = spec.ops[k];
    if (op.kind != OpKind::kRename || !op.replace) continue;
    bool touched = false;
    for (size_t j = 0; j < k && !touched; ++j) {
      for (const std::string* p : {&spec.ops[j].path, &spec.ops[j].from}) {
        if (p->empty()) continue;
        touched = touched || overlap(*p, op.from) || overlap(*p, op.path);
      }
    }
    bool from_dir = false, to_dir = false;
    if (touched || !TypeOnDisk(op.from, &from_dir) || !TypeOnDisk(op.path, &to_dir)) continue;
    if (from_dir != to_dir) {
      return Status(Code::kInvalidArgument,
                    "op " + std::to_string(k + 1) + " (rename " + op.from + " -> " + op.path +
                        "): " + (from_dir ? "a directory cannot replace a file"
                                          : "a file cannot replace a directory") +
                        " (remove the target first)");
    }
  }
  return Status::Ok();
}

}  // namespace

int CmdApply(const Globals& g, const ApplyArgs& args) {
  ApplyOutcome out;
  out.json = args.json;
  const std::string name = args.spec == "-" ? "<stdin>" : args.spec;
  const std::string what = "spec " + name;
  if (g.roots.empty()) {
    return out.Fail("apply", Status(Code::kInvalidArgument,
                                    "no roots: give --root DIR (repeatable) or set FSTX_ROOTS"),
                    kExitUsage);
  }
  // The roots first: a spec's paths can only be judged against real ones.
  Status s = CheckRootsExist(g.root_args, g.roots);
  if (!s.ok()) return out.Fail("", s, kExitUsage);
  Result<std::string> text = ReadSpecText(args.spec);
  if (!text.ok()) return out.Fail(what, text.status(), kExitUsage);
  Spec spec;
  s = ParseSpec(*text, g.roots, &spec);
  if (!s.ok()) return out.Fail(what, s, kExitUsage);
  if (spec.label.empty()) spec.label = "fstx apply " + name;
  out.result["label"] = spec.label;
  out.result["ops"] = spec.ops.size();

  WriterSession session;
  if (!(s = session.LoadFailpoints()).ok()) return out.Fail("", s, kExitUsage);
  if (!(s = CheckReplaceKinds(spec)).ok()) return out.Fail(what, s, kExitUsage);
  if (!(s = session.Open(g.journal, g.roots, !args.no_recover)).ok()) {
    return out.Fail("journal " + g.journal, s, ExitFor(s));
  }
  const RecoveryReport& before = session.journal()->open_report();
  if (!before.txs.empty()) {
    out.result["recovered_on_open"] = ReportJson(before)["transactions"];
    std::cerr << "fstx: journal " << g.journal << ": unfinished transactions found on open:\n";
    PrintReport(std::cerr, before, false);
  }
  // A record that does not decode holds paths nobody knows: going on could
  // touch its half-applied objects. Refuse until an operator has looked.
  std::string corrupt;
  for (const RecoveredTx& t : before.txs) {
    if (t.decision == Decision::kCorrupt) corrupt += (corrupt.empty() ? "" : ", ") + std::to_string(t.id);
  }
  if (!corrupt.empty()) {
    return out.Fail("journal " + g.journal,
                    Status(Code::kCorruption,
                           "unfinished transaction record " + corrupt +
                               " is corrupt, so the paths it holds are unknown: refusing to apply "
                               "anything (the record is left untouched; see `fstx verify` and "
                               "`fstx status`; `fstx resolve ID --abandon` saves its bytes and closes it)"),
                    kExitFailed);
  }

  Transaction tx = session.journal()->Begin(spec.label, spec.policy);
  AddToTransaction(spec, &tx);
  if (!(s = tx.Validate()).ok()) return out.Fail(what, s, ValidationExit(s));
  s = tx.Commit();
  if (!s.ok()) {
    bool attention = s.code() == Code::kNeedsAttention;
    session.Close();
    if (tx.id()) out.result["id"] = tx.id();
    return out.Fail("apply " + name, s, attention ? kExitAttention : kExitFailed);
  }
  session.Close();  // flushes the completion record
  uint64_t id = tx.id();
  out.result["ok"] = true;
  out.result["id"] = id ? Json(id) : Json(nullptr);
  if (args.json) {
    std::cout << DumpJson(out.result);
  } else {
    std::cout << "applied";
    if (id) std::cout << " tx " << id;
    std::cout << " \"" << Printable(spec.label) << "\": " << spec.ops.size() << " op"
              << (spec.ops.size() == 1 ? "" : "s") << "\n";
  }
  return kExitOk;
}

namespace {

// `recover --dry-run`: decides what recovery would do from a read-only
// journal (Inspector::RecoverDryRun), without the writer lock, so it works
// while another process (a daemon) has the journal open.
Status DryRun(const Globals& g, RecoveryReport* report) {
  Result<std::unique_ptr<Inspector>> in = OpenReadOnly(g.journal);
  if (!in.ok()) return in.status();
  return (*in)->RecoverDryRun(g.roots, report);
}

}  // namespace

int CmdRecover(const Globals& g, bool dry_run, bool json) {
  RecoveryReport report;
  const Json base{{"transactions", Json::array()}, {"needs_attention", false},
                  {"journal", g.journal}, {"dry_run", dry_run}};
  auto print = [&](const RecoveryReport& r) {
    if (json) {
      Json j = ReportJson(r);
      j["journal"] = g.journal;
      j["dry_run"] = dry_run;
      std::cout << DumpJson(j);
    } else {
      PrintReport(std::cout, r, dry_run);
    }
  };
  WriterSession session;
  Status s = session.LoadFailpoints();
  if (!s.ok()) return Fail(json, base, "", s, kExitUsage);
  bool exists = false;
  if (!(s = ProbeJournal(g.journal, &exists)).ok()) {
    return Fail(json, base, "journal " + g.journal, s, kExitFailed);
  }
  if (!exists) {
    if (!json) std::cout << "no journal at " << g.journal << ": ";
    print(report);
    return kExitOk;
  }
  if (g.roots.empty()) {
    // Without roots recovery cannot reach any file: fine only if there is
    // nothing to recover.
    Result<std::unique_ptr<Inspector>> store = OpenReadOnly(g.journal);
    if (!store.ok()) return Fail(json, base, "journal " + g.journal, store.status(), kExitFailed);
    TxList list;
    s = (*store)->List(/*finished=*/false, &list);
    if (!s.ok()) return Fail(json, base, "journal " + g.journal, s, kExitFailed);
    const std::vector<TxRecord>& active = list.unfinished;
    const std::vector<BadRecord>& bad = list.corrupt;
    if (active.empty() && bad.empty()) {
      print(report);
      return kExitOk;
    }
    return Fail(json, base, "recover",
                Status(Code::kInvalidArgument,
                       "journal " + g.journal + " has " + std::to_string(active.size() + bad.size()) +
                           " unfinished transaction(s) but no roots were given: "
                           "give --root DIR or set FSTX_ROOTS"),
                kExitUsage);
  }
  if (!(s = CheckRootsExist(g.root_args, g.roots)).ok()) return Fail(json, base, "", s, kExitUsage);
  if (dry_run) {
    if (!(s = DryRun(g, &report)).ok()) {
      return Fail(json, base, "journal " + g.journal, s, kExitFailed);
    }
    print(report);
    return report.needs_attention() ? kExitAttention : kExitOk;
  }
  if (!(s = session.Open(g.journal, g.roots, /*recover_on_open=*/false)).ok()) {
    return Fail(json, base, "journal " + g.journal, s,
                s.code() == Code::kBusy ? kExitFailed : ExitFor(s));
  }
  s = session.journal()->Recover(&report, dry_run);
  if (!s.ok()) {
    const int code = s.code() == Code::kNeedsAttention ? kExitAttention : kExitFailed;
    Json j = ReportJson(report);
    j["journal"] = g.journal;
    j["dry_run"] = dry_run;
    if (!json) PrintReport(std::cout, report, dry_run);
    return Fail(json, j, "recover", s, code);
  }
  print(report);
  return report.needs_attention() ? kExitAttention : kExitOk;
}

}  // namespace fstx::cli
