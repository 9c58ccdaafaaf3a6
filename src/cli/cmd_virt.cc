// fstx virt rename: a libvirt domain renamed on disk as one transaction
// (src/virt/rename.h), with the journal and roots defaulting to libvirt's.
#include <iostream>

#include "cli.h"
#include "context.h"
#include "render.h"
#include "fstx/virt/rename.h"

namespace fstx::cli {
namespace {

struct VirtOutcome {
  bool json = false;
  Json result;

  int Fail(const std::string& what, const Status& s, int code) {
    PrintError(what, s.message());
    result["ok"] = false;
    result["error"] = Json{{"code", code_name(s.code())},
                           {"message", what.empty() ? s.message() : what + ": " + s.message()},
                           {"exit", code}};
    if (json) std::cout << DumpJson(result);
    return code;
  }
};

Json PlanJson(const virt::RenamePlan& plan) {
  Json ops = Json::array(), images = Json::array();
  for (const auto& op : plan.ops)
    ops.push_back({{"op", op.op}, {"path", op.path}, {"from", op.from.empty() ? Json(nullptr) : Json(op.from)},
                   {"detail", op.detail}});
  for (const auto& [from, to] : plan.images) images.push_back({{"from", from}, {"to", to}});
  return Json{{"ops", ops}, {"images", images}, {"notes", plan.notes}};
}

void PrintPlan(const virt::RenamePlan& plan) {
  size_t n = 0;
  for (const auto& op : plan.ops) {
    std::cout << "  " << ++n << ". " << op.op << " ";
    if (op.op == "rename") std::cout << op.from << " -> " << op.path;
    else if (op.op == "symlink") std::cout << op.path << " -> " << op.from;
    else std::cout << op.path;
    std::cout << "  (" << op.detail << ")\n";
  }
  for (const auto& note : plan.notes) std::cout << "  note: " << note << "\n";
}

}  // namespace

int CmdVirtRename(const Globals& g, const VirtRenameArgs& a) {
  VirtOutcome out;
  out.json = a.json;
  out.result = Json{{"ok", false}, {"old", a.old_name}, {"new", a.new_name}, {"uuid", nullptr},
                    {"dry_run", a.dry_run}, {"id", nullptr}, {"journal", g.journal}, {"roots", g.roots},
                    {"ops", Json::array()}, {"images", Json::array()}, {"notes", Json::array()},
                    {"error", nullptr}};
  virt::Layout layout;
  layout.prefix = a.prefix;
  virt::RenameRequest req{a.old_name, a.new_name, a.rename_images};
  const std::string what = "virt rename " + a.old_name + " " + a.new_name;
  Status s = CheckRootsExist(g.root_args, g.roots);
  if (!s.ok()) return out.Fail("", s, kExitUsage);

  WriterSession session;
  if (!a.dry_run) {
    // Open first: recovery of an interrupted rename must run before the
    // tree is read for a new plan.
    if (!(s = session.LoadFailpoints()).ok()) return out.Fail("", s, kExitUsage);
    if (!(s = session.Open(g.journal, g.roots, true)).ok()) return out.Fail("journal " + g.journal, s, ExitFor(s));
    const RecoveryReport& before = session.journal()->open_report();
    if (!before.txs.empty()) {
      std::cerr << "fstx: journal " << g.journal << ": recovered unfinished transactions first:\n";
      PrintReport(std::cerr, before, false);
      if (before.needs_attention())
        return out.Fail(what, Status(Code::kNeedsAttention, "an earlier transaction needs attention: see `fstx status`"),
                        kExitAttention);
    }
  }
  Result<virt::RenamePlan> plan = virt::PlanDomainRename(layout, req);
  if (!plan.ok()) {
    Code c = plan.status().code();
    bool usage = c == Code::kInvalidArgument || c == Code::kNotFound || c == Code::kExists || c == Code::kNotSupported;
    return out.Fail(what, plan.status(), usage ? kExitUsage : kExitFailed);
  }
  Json pj = PlanJson(*plan);
  out.result["uuid"] = plan->uuid;
  out.result["ops"] = pj["ops"];
  out.result["images"] = pj["images"];
  out.result["notes"] = pj["notes"];
  if (a.dry_run) {
    out.result["ok"] = true;
    if (a.json) {
      std::cout << DumpJson(out.result);
    } else {
      std::cout << "would rename domain " << a.old_name << " to " << a.new_name << " (uuid " << plan->uuid << ") in "
                << plan->ops.size() << " ops, all or nothing:\n";
      PrintPlan(*plan);
    }
    return kExitOk;
  }
  Transaction tx = session.journal()->Begin("virt rename " + a.old_name + " " + a.new_name);
  plan->AddTo(&tx);
  if (!(s = tx.Validate()).ok()) {
    std::string hint = s.code() == Code::kOutsideRoot ? " (add the directory with --root DIR)" : "";
    return out.Fail(what, Status(s.code(), s.message() + hint, s.err()), s.code() == Code::kStale ? kExitFailed : kExitUsage);
  }
  s = tx.Commit();
  if (!s.ok()) {
    if (tx.id()) out.result["id"] = tx.id();
    session.Close();
    return out.Fail(what, s, s.code() == Code::kNeedsAttention ? kExitAttention : kExitFailed);
  }
  session.Close();
  out.result["ok"] = true;
  out.result["id"] = tx.id();
  if (a.json) {
    std::cout << DumpJson(out.result);
  } else {
    std::cout << "renamed domain " << a.old_name << " to " << a.new_name << " (uuid " << plan->uuid << "): "
              << plan->ops.size() << " ops in tx " << tx.id() << "\n";
    for (const auto& note : plan->notes) std::cout << "  note: " << note << "\n";
  }
  return kExitOk;
}

}  // namespace fstx::cli
