// cmd_write.cc — the subcommands that take the journal's writer lock:
// `fstx apply` (run one transaction from a JSON spec) and `fstx recover`.
//
// apply checks the whole spec (ParseSpec, then Transaction::Validate())
// before anything is journaled, so bad input exits 2 with the journal and
// the tree untouched. A failed Commit() has rolled back: exit 1.
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iostream>
#include <sstream>

#include "src/cli/cli.h"
#include "src/cli/context.h"
#include "src/cli/render.h"
#include "src/cli/spec.h"

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
    PrintError(what, s.message());
    result["error"] = Json{{"code", code_name(s.code())},
                           {"message", what.empty() ? s.message() : what + ": " + s.message()},
                           {"exit", code}};
    if (json) std::cout << DumpJson(result);
    return code;
  }
};

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
  Result<std::string> text = ReadSpecText(args.spec);
  if (!text.ok()) return out.Fail(what, text.status(), kExitUsage);
  Spec spec;
  Status s = ParseSpec(*text, g.roots, &spec);
  if (!s.ok()) return out.Fail(what, s, kExitUsage);
  if (spec.label.empty()) spec.label = "fstx apply " + name;
  out.result["label"] = spec.label;
  out.result["ops"] = spec.ops.size();

  WriterSession session;
  if (!(s = session.LoadFailpoints()).ok()) return out.Fail("", s, kExitUsage);
  if (!(s = CheckRootsExist(g.roots)).ok()) return out.Fail("", s, kExitUsage);
  if (!(s = session.Open(g.journal, g.roots, !args.no_recover)).ok()) {
    return out.Fail("journal " + g.journal, s, ExitFor(s));
  }
  const RecoveryReport& before = session.journal()->open_report();
  if (!before.txs.empty()) {
    out.result["recovered_on_open"] = ReportJson(before)["transactions"];
    std::cerr << "fstx: journal " << g.journal << ": recovered unfinished transactions first:\n";
    PrintReport(std::cerr, before, false);
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
    std::cout << " \"" << spec.label << "\": " << spec.ops.size() << " op"
              << (spec.ops.size() == 1 ? "" : "s") << "\n";
  }
  return kExitOk;
}

int CmdRecover(const Globals& g, bool dry_run, bool json) {
  RecoveryReport report;
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
  if (!s.ok()) {
    PrintError("", s.message());
    return kExitUsage;
  }
  if (!JournalExists(g.journal)) {
    if (!json) std::cout << "no journal at " << g.journal << ": ";
    print(report);
    return kExitOk;
  }
  if (g.roots.empty()) {
    // Without roots recovery cannot reach any file: fine only if there is
    // nothing to recover.
    Result<std::unique_ptr<JournalStore>> store = OpenReadOnly(g.journal);
    if (!store.ok()) {
      PrintError("journal " + g.journal, store.status().message());
      return kExitFailed;
    }
    std::vector<TxRecord> active;
    std::vector<BadRecord> bad;
    s = (*store)->ListActive(&active, &bad);
    if (s.ok() && active.empty() && bad.empty()) {
      print(report);
      return kExitOk;
    }
    PrintError("recover", "journal " + g.journal + " has " +
                              std::to_string(active.size() + bad.size()) +
                              " unfinished transaction(s) but no roots were given: "
                              "give --root DIR or set FSTX_ROOTS");
    return kExitUsage;
  }
  if (!(s = CheckRootsExist(g.roots)).ok()) {
    PrintError("", s.message());
    return kExitUsage;
  }
  if (!(s = session.Open(g.journal, g.roots, /*recover_on_open=*/false)).ok()) {
    PrintError("journal " + g.journal, s.message());
    return s.code() == Code::kBusy ? kExitFailed : ExitFor(s);
  }
  s = session.journal()->Recover(&report, dry_run);
  print(report);
  if (!s.ok()) {
    PrintError("recover", s.message());
    return s.code() == Code::kNeedsAttention ? kExitAttention : kExitFailed;
  }
  return report.needs_attention() ? kExitAttention : kExitOk;
}

}  // namespace fstx::cli
