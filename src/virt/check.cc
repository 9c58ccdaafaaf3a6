// check.cc — see check.h.
#include "src/virt/check.h"

#include "src/virt/host_files.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <pugixml.hpp>
#include <set>
#include <sstream>

namespace fstx::virt {
namespace {

bool Lstat(const std::string& path, struct stat* st) { return ::lstat(path.c_str(), st) == 0; }

bool IsReg(const std::string& path) {
  struct stat st;
  return Lstat(path, &st) && S_ISREG(st.st_mode);
}
bool IsDir(const std::string& path) {
  struct stat st;
  return Lstat(path, &st) && S_ISDIR(st.st_mode);
}
bool Exists(const std::string& path) {
  struct stat st;
  return Lstat(path, &st);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Lexically normalised absolute path ('.', '..', '//' removed).
std::string Normalize(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  std::string p;
  while (std::getline(ss, p, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(p);
  }
  std::string out;
  for (const auto& x : parts) out += "/" + x;
  return out.empty() ? "/" : out;
}

// Parses a regular file (never a symlink) with pugixml.
bool LoadXml(const std::string& path, pugi::xml_document* doc, std::string* error) {
  if (!IsReg(path)) {
    *error = "not a regular file";
    return false;
  }
  pugi::xml_parse_result r = doc->load_file(path.c_str(), pugi::parse_default | pugi::parse_comments);
  if (!r) {
    *error = std::string(r.description()) + " at offset " + std::to_string(r.offset);
    return false;
  }
  return true;
}

std::string Text(const pugi::xml_node& n) { return n.text().as_string(); }

struct Config {
  std::string file_name;  // NAME of NAME.xml
  std::string path;       // on disk
  bool parsed = false;
  std::string parse_error;
  std::string name, uuid, nvram;
};

class Checker {
 public:
  explicit Checker(const Layout& l) : l_(l) {}

  Result<CheckReport> Run(const std::string& only_name) {
    Status s = Scan();
    if (!s.ok()) return s;
    Analyse();
    CheckReport report;
    for (auto& [name, d] : domains_) {
      if (!only_name.empty() && name != only_name) continue;
      for (const auto& p : d.problems) (p.severity == "error" ? report.errors : report.warnings)++;
      report.domains.push_back(d);
    }
    if (!only_name.empty() && report.domains.empty())
      return Status(Code::kNotFound, "no domain '" + only_name + "': " + l_.OnDisk(l_.Config(only_name)) +
                                         " does not exist and no other file of libvirt's carries that name");
    for (const auto& pf : l_.daemon_pidfiles) {
      const std::string pid = LivePid(l_.OnDisk(pf), {});
      if (!pid.empty()) report.daemon_running = l_.OnDisk(pf) + " (pid " + pid + ")";
    }
    return report;
  }

 private:
  DomainReport& Dom(const std::string& name) {
    auto it = domains_.find(name);
    if (it != domains_.end()) return it->second;
    DomainReport& d = domains_[name];
    d.name = name;
    d.config = l_.OnDisk(l_.Config(name));
    return d;
  }

  static void Add(DomainReport& d, const std::string& kind, const std::string& severity, const std::string& path,
                  const std::string& message) {
    d.problems.push_back({kind, severity, path, message});
  }

  Status ScanMoments(const std::string& kind /* snapshot|checkpoint */) {
    const std::string top = l_.OnDisk(l_.state_dir + "/" + kind);
    std::vector<std::string> names;
    if (Status s = ListSorted(top, &names); !s.ok()) return s;
    for (const auto& n : names) {
      const std::string dir = top + "/" + n;
      if (!IsDir(dir)) continue;
      DomainReport& d = Dom(n);
      (kind == "snapshot" ? d.snapshot_dir : d.checkpoint_dir) = dir;
      std::vector<std::string> files;
      if (Status s = ListSorted(dir, &files); !s.ok()) return s;
      for (const auto& f : files) {
        MomentFile m;
        m.path = dir + "/" + f;
        pugi::xml_document doc;
        std::string err;
        if (LoadXml(m.path, &doc, &err)) {
          pugi::xml_node root = doc.document_element();
          m.root = root.name();
          m.name = Text(root.child("name"));
          m.embedded_name = Text(root.child("domain").child("name"));
          std::string inactive = Text(root.child("inactiveDomain").child("name"));
          if (m.embedded_name.empty()) m.embedded_name = inactive;
          if (!inactive.empty() && inactive != n) inactive_mismatch_.insert(m.path);
        } else {
          moment_errors_[m.path] = err;
        }
        (kind == "snapshot" ? d.snapshots : d.checkpoints).push_back(m);
      }
    }
    return Status::Ok();
  }

  Status Scan() {
    // Configs.
    const std::string cdir = l_.OnDisk(l_.config_dir);
    std::vector<std::string> names;
    if (Status s = ListSorted(cdir, &names); !s.ok()) return s;
    for (const auto& f : names) {
      if (!EndsWith(f, ".xml") || f.size() <= 4) continue;
      const std::string path = cdir + "/" + f;
      if (!IsReg(path)) continue;
      Config c;
      c.file_name = f.substr(0, f.size() - 4);
      c.path = path;
      pugi::xml_document doc;
      c.parsed = LoadXml(path, &doc, &c.parse_error);
      if (c.parsed) {
        pugi::xml_node dom = doc.child("domain");
        c.name = Text(dom.child("name"));
        c.uuid = Text(dom.child("uuid"));
        c.nvram = Text(dom.child("os").child("nvram"));
      }
      DomainReport& d = Dom(c.file_name);
      d.defined = true;
      d.config_name = c.name;
      d.uuid = c.uuid;
      d.nvram = c.nvram;
      if (!c.nvram.empty()) d.nvram_exists = Exists(l_.OnDisk(c.nvram));
      configs_[c.file_name] = c;
    }
    // Autostart links.
    const std::string adir = l_.OnDisk(l_.config_dir + "/autostart");
    if (Status s = ListSorted(adir, &names); !s.ok()) return s;
    for (const auto& f : names) {
      if (!EndsWith(f, ".xml") || f.size() <= 4) continue;
      DomainReport& d = Dom(f.substr(0, f.size() - 4));
      d.autostart = adir + "/" + f;
      if (!ReadLinkText(d.autostart, &d.autostart_target)) d.autostart_target = "";
    }
    if (Status s = ScanMoments("snapshot"); !s.ok()) return s;
    if (Status s = ScanMoments("checkpoint"); !s.ok()) return s;
    // NVRAM files.
    const std::string ndir = l_.OnDisk(l_.state_dir + "/nvram");
    if (Status s = ListSorted(ndir, &names); !s.ok()) return s;
    for (const auto& f : names)
      if (EndsWith(f, "_VARS.fd") && f.size() > 8) nvram_files_.push_back(f);
    // Managed saves.
    const std::string sdir = l_.OnDisk(l_.state_dir + "/save");
    if (Status s = ListSorted(sdir, &names); !s.ok()) return s;
    for (const auto& f : names)
      if (EndsWith(f, ".save") && f.size() > 5) Dom(f.substr(0, f.size() - 5)).managed_save = sdir + "/" + f;
    // Run status.
    const std::string rdir = l_.OnDisk(l_.run_dir);
    if (Status s = ListSorted(rdir, &names); !s.ok()) return s;
    for (const auto& f : names) {
      if (EndsWith(f, ".xml") && f.size() > 4 && IsReg(rdir + "/" + f)) {
        DomainReport& d = Dom(f.substr(0, f.size() - 4));
        d.running = true;
        d.run_detail = "status file " + rdir + "/" + f;
      }
    }
    for (const auto& f : names) {
      if (!EndsWith(f, ".pid") || f.size() <= 4) continue;
      const std::string pid = LivePid(rdir + "/" + f, {});
      if (pid.empty()) continue;
      DomainReport& d = Dom(f.substr(0, f.size() - 4));
      d.running = true;
      if (!d.run_detail.empty()) d.run_detail += ", ";
      d.run_detail += "pid " + pid + " alive (" + rdir + "/" + f + ")";
    }
    return Status::Ok();
  }

  void Analyse() {
    const std::vector<std::string> unclaimed = UnclaimedNvram();
    std::map<std::string, std::vector<std::string>> by_uuid;
    for (const auto& [n, c] : configs_)
      if (c.parsed && !c.uuid.empty()) by_uuid[c.uuid].push_back(n);

    for (auto& [name, d] : domains_) {
      if (d.defined) CheckConfig(name, d, by_uuid);
      if (!d.autostart.empty()) CheckAutostart(name, d);
      CheckMomentDirs(name, d);
      CheckMomentFiles(name, d);
      CheckNvram(name, d, unclaimed);
      if (d.running)
        Add(d, "running", "warning", l_.OnDisk(l_.RunStatus(name)),
            "the domain is running (" + d.run_detail + "): shut it down (virsh shutdown " + name +
                ") and stop libvirtd before renaming it");
    }
    for (const auto& u : unclaimed) {
      const std::string f = u.substr(u.rfind('/') + 1);
      const std::string owner = f.substr(0, f.size() - std::string("_VARS.fd").size());
      DomainReport& d = Dom(owner);
      Add(d, "orphan-nvram", "warning", l_.OnDisk(u),
          "UEFI variables that no domain's <nvram> names (no config " + l_.Config(owner) +
              "): left by an undefine --keep-nvram or an incomplete rename; rename it to the owning domain's "
              "<nvram> path or remove it");
    }
  }

  // Host paths of the NVRAM files that no config's <nvram> names.
  std::vector<std::string> UnclaimedNvram() const {
    std::set<std::string> claimed;
    for (const auto& [n, c] : configs_)
      if (!c.nvram.empty()) claimed.insert(Normalize(c.nvram));
    std::vector<std::string> unclaimed;
    for (const auto& f : nvram_files_) {
      const std::string host = l_.state_dir + "/nvram/" + f;
      if (!claimed.count(Normalize(host))) unclaimed.push_back(host);
    }
    return unclaimed;
  }

  // A defined domain's config: parses, names the domain, has its own UUID.
  void CheckConfig(const std::string& name, DomainReport& d,
                   const std::map<std::string, std::vector<std::string>>& by_uuid) {
    const Config& c = configs_[name];
    if (!c.parsed) {
      Add(d, "bad-xml", "error", c.path,
          "cannot parse the domain config (" + c.parse_error + "): libvirt will not load it; restore it from "
          "a backup or remove it");
    } else if (c.name != name) {
      Add(d, "name-mismatch", "error", c.path,
          "the config file is " + name + ".xml but its <name> is '" + c.name +
              "': libvirt refuses to load it; rename the file to " + c.name + ".xml or set <name> to " + name);
    }
    auto u = by_uuid.find(c.uuid);
    if (c.parsed && u != by_uuid.end() && u->second.size() > 1) {
      std::string others;
      for (const auto& o : u->second)
        if (o != name) others += (others.empty() ? "" : ", ") + l_.OnDisk(l_.Config(o));
      Add(d, "duplicate-uuid", "error", c.path,
          "UUID " + c.uuid + " is also defined by " + others +
              ": libvirt loads only one of them (what an interrupted rename leaves); keep the complete one "
              "and remove the other config (with the daemon stopped)");
    }
  }

  // The autostart link: a symlink to the domain's config, which exists.
  void CheckAutostart(const std::string& name, DomainReport& d) {
    const std::string config_host = l_.Config(name);
    struct stat st;
    if (Lstat(d.autostart, &st) && !S_ISLNK(st.st_mode)) {
      Add(d, "dangling-autostart", "error", d.autostart,
          "not a symlink: libvirt expects a link to " + config_host + "; replace it: ln -sfn " + config_host +
              " " + d.autostart);
    } else {
      std::string t = d.autostart_target;
      std::string host = t.empty() ? "" : Normalize(t[0] == '/' ? t : l_.config_dir + "/autostart/" + t);
      if (host != Normalize(config_host)) {
        Add(d, "dangling-autostart", "error", d.autostart,
            "points to '" + t + "', not to the domain's config " + config_host +
                ": libvirt will not autostart " + name + "; " +
                (d.defined ? "fix it: ln -sfn " + config_host + " " + d.autostart
                           : "remove it: rm " + d.autostart));
      } else if (!IsReg(l_.OnDisk(config_host))) {
        Add(d, "dangling-autostart", "error", d.autostart,
            "its target " + config_host + " does not exist (no domain " + name + "): remove it: rm " +
                d.autostart);
      }
    }
  }

  // Snapshot and checkpoint directories of a domain that has no config.
  void CheckMomentDirs(const std::string& name, DomainReport& d) {
    const std::string config_host = l_.Config(name);
    if (!d.snapshot_dir.empty() && !d.defined)
      Add(d, "orphan-snapshot-dir", "error", d.snapshot_dir,
          "snapshot metadata for '" + name + "' but no config " + config_host +
              " (left by an interrupted rename or undefine): move it to the domain's snapshot directory or "
              "remove it");
    if (!d.checkpoint_dir.empty() && !d.defined)
      Add(d, "orphan-checkpoint-dir", "error", d.checkpoint_dir,
          "checkpoint metadata for '" + name + "' but no config " + config_host +
              ": move it to the domain's checkpoint directory or remove it");
  }

  // Each snapshot and checkpoint file: parses, is of its directory's kind,
  // embeds the domain under its own name.
  void CheckMomentFiles(const std::string& name, DomainReport& d) {
    for (const auto* list : {&d.snapshots, &d.checkpoints}) {
      const bool snap = list == &d.snapshots;
      const std::string want = snap ? "domainsnapshot" : "domaincheckpoint";
      for (const auto& m : *list) {
        auto e = moment_errors_.find(m.path);
        if (e != moment_errors_.end()) {
          Add(d, "bad-xml", "error", m.path,
              "cannot parse (" + e->second + "): libvirt parses every entry of this directory, dot-files "
              "included, and fails on it; remove it or move it elsewhere");
          continue;
        }
        if (snap && m.root == "domaincheckpoint") {
          Add(d, "checkpoint-in-snapshot-dir", "error", m.path,
              "a checkpoint (<domaincheckpoint> '" + m.name + "') in the snapshot directory, as libvirt 9.0's "
              "domrename leaves it: libvirt rejects it at start and the checkpoint is lost; move it to " +
                  l_.OnDisk(l_.CheckpointDir(name)) + "/");
          continue;
        }
        if (m.root != want) {
          Add(d, "bad-xml", "error", m.path,
              "root element <" + m.root + ">, expected <" + want + ">: libvirt fails to load it; move it away");
          continue;
        }
        if ((!m.embedded_name.empty() && m.embedded_name != name) || inactive_mismatch_.count(m.path))
          Add(d, "stale-embedded-name", "warning", m.path,
              "the embedded <domain> is named '" + m.embedded_name + "', not '" + name +
                  "' (libvirt loads it anyway; a revert would restore that name's definition); `fstx virt "
                  "rename` rewrites it");
      }
    }
  }

  // The domain's NVRAM file: present, and named after this domain.
  void CheckNvram(const std::string& name, DomainReport& d, const std::vector<std::string>& unclaimed) {
    if (d.defined && !d.nvram.empty() && !d.nvram_exists && !unclaimed.empty()) {
      std::string others;
      for (const auto& u : unclaimed) others += (others.empty() ? "" : ", ") + l_.OnDisk(u);
      Add(d, "nvram-missing", "error", l_.OnDisk(d.nvram),
          "the config names NVRAM " + d.nvram + ", which does not exist, while " + others +
              " belongs to no defined domain: NVRAM under the wrong name; libvirt would start " + name +
              " with a blank UEFI variable store. Rename that file to " + d.nvram + " (daemon stopped)");
    }
    // <nvram> following libvirt's NAME_VARS.fd convention, but for another
    // name: what `virsh domrename` leaves (it does not rename the file).
    const std::string nv_dir = l_.state_dir + "/nvram/";
    if (d.defined && d.nvram_exists && d.nvram.rfind(nv_dir, 0) == 0 && EndsWith(d.nvram, "_VARS.fd") &&
        d.nvram != l_.Nvram(name))
      Add(d, "nvram-other-name", "warning", l_.OnDisk(d.nvram),
          "the domain's NVRAM is named after another domain ('" +
              d.nvram.substr(nv_dir.size(), d.nvram.size() - nv_dir.size() - 8) +
              "'), as `virsh domrename` leaves it; libvirt uses it, but a domain defined later under that "
              "name would claim the same file; `fstx virt rename` renames it with the domain");
  }

  const Layout& l_;
  std::map<std::string, DomainReport> domains_;
  std::map<std::string, Config> configs_;
  std::vector<std::string> nvram_files_;
  std::map<std::string, std::string> moment_errors_;
  std::set<std::string> inactive_mismatch_;
};

}  // namespace

Result<CheckReport> CheckDomains(const Layout& layout, const std::string& only_name) {
  Checker c(layout);
  return c.Run(only_name);
}

}  // namespace fstx::virt
