// fstx resolve TXID --retry | --abandon: the operator's way out of a
// transaction recovery will not finish on its own (Journal::Resolve).
#include <iostream>

#include "fstx/fstx.h"
#include "cli.h"
#include "context.h"
#include "render.h"
#include "text.h"

namespace fstx::cli {

int CmdResolve(const Globals& g, const ResolveArgs& args) {
  Json base{{"journal", g.journal}, {"id", nullptr}, {"action", args.abandon ? "abandon" : "retry"}};
  if (args.retry == args.abandon)
    return Fail(args.json, base, "resolve",
                Status(Code::kInvalidArgument, "say what to do: --retry (recover it now) or --abandon "
                                               "(close it, leaving the tree as it is)"),
                kExitUsage);
  uint64_t id = 0;
  if (!ParseTxId(args.txid, &id))
    return Fail(args.json, base, "resolve",
                Status(Code::kInvalidArgument, "'" + Printable(args.txid) +
                                                   "' is not a transaction id (a decimal number from `fstx list`)"),
                kExitUsage);
  base["id"] = id;
  if (g.roots.empty())
    return Fail(args.json, base, "resolve",
                Status(Code::kInvalidArgument, "no roots: give --root DIR or set FSTX_ROOTS (resolving reaches "
                                               "the files the transaction names)"),
                kExitUsage);
  Status s = CheckRootsExist(g.root_args, g.roots);
  if (!s.ok()) return Fail(args.json, base, "", s, kExitUsage);
  bool exists = false;
  if (!(s = ProbeJournal(g.journal, &exists)).ok()) return Fail(args.json, base, "journal " + g.journal, s, kExitFailed);
  if (!exists)
    return Fail(args.json, base, "journal " + g.journal,
                Status(Code::kNotFound, "no journal here: nothing to resolve"), kExitFailed);
  WriterSession session;
  if (!(s = session.Open(g.journal, g.roots, /*recover_on_open=*/false)).ok())
    return Fail(args.json, base, "journal " + g.journal, s, s.code() == Code::kBusy ? kExitFailed : ExitFor(s));
  ResolveResult r;
  s = session.journal()->Resolve(id, args.abandon ? ResolveAction::kAbandon : ResolveAction::kRetry, &r,
                                 args.reason);
  base["tx"] = RecoveredJson(r.tx);
  base["kept"] = r.kept;
  base["saved_record"] = r.saved_record;
  if (!s.ok()) {
    if (!args.json && !r.tx.conflicts.empty())
      for (const auto& c : r.tx.conflicts) std::cout << "    " << Printable(c) << "\n";
    return Fail(args.json, base, "resolve " + std::to_string(id), s, ExitFor(s));
  }
  if (args.json) {
    std::cout << DumpJson(base);
    return kExitOk;
  }
  std::cout << "tx " << id << " \"" << Printable(r.tx.label) << "\": " << decision_name(r.tx.decision) << "\n";
  if (!r.saved_record.empty()) std::cout << "    record bytes saved in " << Printable(r.saved_record) << "\n";
  for (const auto& k : r.kept) std::cout << "    kept " << Printable(k) << "\n";
  if (args.abandon)
    std::cout << "the tree was left as it is; nothing was deleted"
              << (r.kept.empty() ? "" : " (the kept objects are yours to inspect and delete)") << "\n";
  return kExitOk;
}

}  // namespace fstx::cli
