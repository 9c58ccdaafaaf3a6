// fstx virt check [NAME] [--json] [--prefix DIR] — read-only report of
// libvirt's on-disk domain files and what is inconsistent (src/virt/check.h).
// Needs no journal and no roots.
//
// Entry point (declared in src/cli/cli.h):
//   int CmdVirtCheck(const std::string& name, const std::string& prefix, bool json);
//     name   "" = every domain
//     prefix "" = the host's own directories; else libvirt's directories are
//            looked up beneath it (an offline image, a test tree)
// Exit: 0 no problem of severity "error"; 1 errors found, NAME not found, or a
// directory unreadable; 2 bad --prefix.
#include <sys/stat.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "fstx/virt/check.h"
#include "fstx/virt/layout.h"

namespace fstx::cli {

namespace {

nlohmann::json MomentsJson(const std::vector<virt::MomentFile>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& m : v)
    a.push_back({{"path", m.path}, {"root", m.root}, {"name", m.name}, {"embedded_name", m.embedded_name}});
  return a;
}

std::string Basenames(const std::vector<virt::MomentFile>& v) {
  std::string out;
  for (const auto& m : v) out += (out.empty() ? "" : " ") + m.path.substr(m.path.rfind('/') + 1);
  return out.empty() ? "(empty)" : out;
}

}  // namespace

int CmdVirtCheck(const std::string& name, const std::string& prefix_arg, bool json) {
  virt::Layout layout;
  std::string prefix = prefix_arg;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix == "/") prefix.clear();
  if (!prefix.empty()) {
    struct stat st;
    if (::stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      PrintError("virt check", "--prefix " + prefix + ": not a directory");
      return kExitUsage;
    }
  }
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    PrintError("virt check", "'" + name + "' is not a domain name");
    return kExitUsage;
  }
  layout.prefix = prefix;
  auto r = virt::CheckDomains(layout, name);
  if (!r.ok()) {
    PrintError("virt check", r.status().message());
    return kExitFailed;
  }
  const virt::CheckReport& rep = *r;
  const int problems = rep.errors + rep.warnings;

  if (json) {
    nlohmann::json doms = nlohmann::json::array();
    for (const auto& d : rep.domains) {
      nlohmann::json files = {
          {"defined", d.defined},
          {"config", d.defined ? nlohmann::json(d.config) : nlohmann::json(nullptr)},
          {"config_name", d.config_name},
          {"autostart", d.autostart.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.autostart)},
          {"autostart_target", d.autostart_target},
          {"snapshot_dir", d.snapshot_dir.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.snapshot_dir)},
          {"snapshots", MomentsJson(d.snapshots)},
          {"checkpoint_dir", d.checkpoint_dir.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.checkpoint_dir)},
          {"checkpoints", MomentsJson(d.checkpoints)},
          {"nvram", d.nvram.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.nvram)},
          {"nvram_exists", d.nvram_exists},
          {"managed_save", d.managed_save.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.managed_save)},
          {"running", d.running},
          {"run_detail", d.run_detail},
      };
      nlohmann::json probs = nlohmann::json::array();
      for (const auto& p : d.problems)
        probs.push_back({{"kind", p.kind}, {"severity", p.severity}, {"path", p.path}, {"message", p.message}});
      doms.push_back({{"name", d.name}, {"uuid", d.uuid}, {"files", files}, {"problems", probs}});
    }
    nlohmann::json out = {{"domains", doms},
                          {"problems", problems},
                          {"errors", rep.errors},
                          {"warnings", rep.warnings},
                          {"daemon_running", rep.daemon_running.empty() ? nlohmann::json(nullptr)
                                                                        : nlohmann::json(rep.daemon_running)}};
    std::cout << out.dump(2) << "\n";
  } else {
    if (!prefix.empty()) std::cout << "libvirt's directories beneath " << prefix << "\n";
    if (rep.domains.empty()) std::cout << "no domains\n";
    for (const auto& d : rep.domains) {
      std::cout << "domain " << d.name;
      if (!d.uuid.empty()) std::cout << "  uuid " << d.uuid;
      if (!d.defined) std::cout << "  (not defined: no config)";
      std::cout << "\n";
      if (d.defined) std::cout << "  config       " << d.config << "\n";
      if (!d.autostart.empty())
        std::cout << "  autostart    " << d.autostart << " -> " << d.autostart_target << "\n";
      if (!d.snapshot_dir.empty())
        std::cout << "  snapshots    " << d.snapshot_dir << "/: " << Basenames(d.snapshots) << "\n";
      if (!d.checkpoint_dir.empty())
        std::cout << "  checkpoints  " << d.checkpoint_dir << "/: " << Basenames(d.checkpoints) << "\n";
      if (!d.nvram.empty())
        std::cout << "  nvram        " << layout.OnDisk(d.nvram)
                  << (d.nvram_exists ? "" : "  (absent: normal if the domain never started)") << "\n";
      if (!d.managed_save.empty()) std::cout << "  managed save " << d.managed_save << "\n";
      std::cout << "  running      " << (d.running ? "yes: " + d.run_detail : std::string("no")) << "\n";
      if (d.problems.empty()) std::cout << "  problems     none\n";
      for (const auto& p : d.problems)
        std::cout << "  " << (p.severity == "error" ? "ERROR  " : "warning") << " " << p.kind << ": " << p.path
                  << "\n      " << p.message << "\n";
    }
    if (!rep.daemon_running.empty())
      std::cout << "libvirt daemon running: " << rep.daemon_running
                << " (files on disk may differ from its in-memory definitions)\n";
    std::cout << problems << (problems == 1 ? " problem" : " problems") << " (" << rep.errors << " errors, "
              << rep.warnings << " warnings)\n";
  }
  return rep.errors > 0 ? kExitFailed : kExitOk;
}

}  // namespace fstx::cli
