// cmd_crashtest.cc — `fstx crashtest`: the crash explorer on a spec whose
// paths are relative to a tree (include/fstx/explorer.h).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "fstx/explorer.h"
#include "cli.h"
#include "render.h"
#include "spec.h"

namespace fstx::cli {
namespace {

using json = nlohmann::json;

// Spec paths are relative to the tree; a leading '/' is allowed and means
// the same. They are rooted under a placeholder for parsing and rebased
// onto each scratch copy of the tree by the workload.
constexpr const char* kPlaceholder = "/fstx-crashtest-tree";

Status RootSpec(const std::string& text, std::string* rooted) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("ops") || !doc["ops"].is_array()) {
    Spec unused;
    return ParseSpec(text, {kPlaceholder}, &unused);  // let the parser say what is wrong
  }
  for (auto& op : doc["ops"]) {
    if (!op.is_object()) continue;
    for (const char* field : {"path", "from", "to"}) {
      if (!op.contains(field) || !op[field].is_string()) continue;
      std::string p = op[field];
      while (!p.empty() && p[0] == '/') p.erase(0, 1);
      op[field] = std::string(kPlaceholder) + "/" + p;
    }
  }
  *rooted = doc.dump();
  return Status();
}

std::string Rebase(const std::string& p, const std::string& root) {
  return root + p.substr(std::string(kPlaceholder).size());
}

json ReportJson(const explore::Report& r, const std::string& replay_prefix) {
  json models = json::array(), violations = json::array();
  uint64_t generated = 0;
  for (const auto& m : r.models) {
    generated += m.generated;
    models.push_back({{"model", explore::model_name(m.model)},
                      {"crash_points", m.crash_points},
                      {"generated", m.generated},
                      {"unique", m.unique},
                      {"checked", m.checked},
                      {"seconds", m.seconds},
                      {"states_per_second", m.seconds > 0 ? static_cast<double>(m.generated) / m.seconds : 0.0}});
  }
  for (const auto& v : r.violations)
    violations.push_back({{"model", explore::model_name(v.model)},
                          {"state", v.state},
                          {"what", v.what},
                          {"persisted", v.persisted},
                          {"diff", v.diff},
                          {"replay", replay_prefix + " --replay " + v.state}});
  return {{"ok", r.ok()},
          {"models", models},
          {"violations", violations},
          {"states_generated", generated},
          {"states_checked", r.checked()},
          {"seconds", r.seconds},
          {"states_per_second", r.seconds > 0 ? static_cast<double>(generated) / r.seconds : 0.0}};
}

int SelfCheck(const CrashtestArgs& a) {
  if (!a.json) std::fprintf(stderr, "fstx: self-check: exploring 5 engines (the real one and 4 with planted bugs)...\n");
  auto r = explore::SelfCheck(a.jobs);
  if (!r.ok()) {
    return Fail(a.json, Json::object(), "self-check", r.status(), kExitFailed);
  }
  bool all = true;
  json out = json::array();
  for (const auto& c : r.value()) {
    all = all && c.passed;
    out.push_back({{"bug", c.bug}, {"violations", c.violations}, {"checked", c.checked},
                   {"example", c.example}, {"passed", c.passed}});
    if (!a.json)
      std::printf("%-38s %-8s %5llu violations in %5llu states  %s\n", c.bug.c_str(),
                  c.passed ? (c.bug == "none" ? "clean" : "caught") : "MISSED",
                  static_cast<unsigned long long>(c.violations), static_cast<unsigned long long>(c.checked),
                  c.example.substr(0, 100).c_str());
  }
  if (a.json) std::printf("%s\n", json{{"ok", all}, {"engines", out}}.dump(2).c_str());
  else std::printf(all ? "self-check passed: every planted bug was caught, the real engine is clean\n"
                       : "self-check FAILED\n");
  return all ? kExitOk : kExitFailed;
}

// One line, redrawn: bar, share done, states so far, rate, ETA, the model
// being worked on and its crash points, violations. At most 10 redraws a
// second.
void ProgressBar(const explore::Progress& p) {
  static double last = -1;
  if (p.seconds - last < 0.1 && p.fraction < 1) return;
  last = p.seconds;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(p.fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  const double rate = p.seconds > 0 ? static_cast<double>(p.states) / p.seconds : 0;
  std::string eta = "?";
  if (p.fraction > 0.02) eta = std::to_string(static_cast<long>(p.seconds * (1 - p.fraction) / p.fraction + 0.5)) + "s";
  std::fprintf(stderr, "\r[%s] %3.0f%%  %llu states  %.0f/s  ETA %-5s  %s %llu/%llu  %llu violations  ",
               bar.c_str(), p.fraction * 100, static_cast<unsigned long long>(p.states), rate, eta.c_str(),
               explore::model_name(p.model), static_cast<unsigned long long>(p.done),
               static_cast<unsigned long long>(p.total), static_cast<unsigned long long>(p.violations));
}

}  // namespace

int CmdCrashtest(const CrashtestArgs& a) {
  if (a.self_check) return SelfCheck(a);
  if (a.spec.empty() || a.tree.empty()) {
    return Fail(a.json, Json::object(), "crashtest",
                Status(Code::kInvalidArgument, "needs SPEC.json and --tree DIR (or --self-check)"),
                kExitUsage);
  }
  auto text = ReadSpecText(a.spec);
  if (!text.ok()) {
    return Fail(a.json, Json::object(), "spec " + a.spec, text.status(), kExitUsage);
  }
  std::string rooted;
  Spec spec;
  Status s = RootSpec(text.value(), &rooted);
  if (s.ok()) s = ParseSpec(rooted, {kPlaceholder}, &spec);
  if (!s.ok()) {
    return Fail(a.json, Json::object(), "spec " + a.spec, s, kExitUsage);
  }
  explore::Options o;
  o.tree = a.tree;
  o.label = spec.label.empty() ? "crashtest" : spec.label;
  o.policy = spec.policy;
  o.jobs = a.jobs;
  o.replay = a.replay;
  o.keep = a.keep;
  o.max_weak_subsets = a.max_weak;
  o.inline_content_max = a.inline_max;
  if (!a.models.empty()) {
    auto m = explore::ParseModels(a.models);
    if (!m.ok()) {
      return Fail(a.json, Json::object(), "--model", m.status(), kExitUsage);
    }
    o.models = m.value();
  }
  o.workload = [spec](Transaction& tx, const std::string& root) {
    Spec rebased = spec;
    for (auto& op : rebased.ops) {
      op.path = Rebase(op.path, root);
      if (!op.src.empty()) op.src = Rebase(op.src, root);
    }
    AddToTransaction(rebased, &tx);
  };
  // A progress bar when stderr is a terminal (stdout, --json included, is
  // untouched); a pipe gets none.
  const bool tty = ::isatty(STDERR_FILENO);
  if (tty) o.progress = ProgressBar;
  auto r = explore::Explore(o);
  if (tty) std::fprintf(stderr, "\r%100s\r", "");
  if (!r.ok()) {
    return Fail(a.json, Json::object(), "crashtest", r.status(), ExitFor(r.status()));
  }
  const std::string replay_prefix = "fstx crashtest " + a.spec + " --tree " + a.tree;
  if (a.json) std::printf("%s\n", ReportJson(r.value(), replay_prefix).dump(2).c_str());
  else std::printf("%s", explore::FormatReport(r.value(), replay_prefix).c_str());
  if (!r.value().kept_dir.empty()) std::printf("state kept in %s\n", r.value().kept_dir.c_str());
  return r.value().ok() ? kExitOk : kExitFailed;
}

}  // namespace fstx::cli
