// fstx/virt/check.h — a read-only consistency check of libvirt's on-disk domain files
// (`fstx virt check`).
//
// CheckDomains() reads the directories of a Layout (beneath layout.prefix)
// with plain POSIX calls — lstat, readlink, opendir; symlinks are never
// followed, only their targets read — and reports, per domain name found
// anywhere (a config NAME.xml, autostart/NAME.xml, snapshot/NAME,
// checkpoint/NAME, nvram/NAME_VARS.fd, save/NAME.save, run_dir/NAME.xml),
// the files libvirt keeps for it and what is inconsistent. The problems are
// the leftovers of an interrupted or partial rename (libvirt's own
// `virsh domrename` produces most of them):
//
//   kind                        severity  what
//   dangling-autostart          error     autostart/X.xml missing target, or not config_dir/X.xml
//   duplicate-uuid              error     two config XMLs carry one <uuid>
//   name-mismatch               error     config X.xml whose <name> is not X
//   bad-xml                     error     a config/snapshot/checkpoint file libvirt cannot parse
//   orphan-snapshot-dir         error     snapshot/X with no config X.xml
//   orphan-checkpoint-dir       error     checkpoint/X with no config X.xml
//   checkpoint-in-snapshot-dir  error     a <domaincheckpoint> file under snapshot/X (9.0 domrename)
//   stale-embedded-name         warning   snapshot/checkpoint XML embedding <domain><name> != X
//   nvram-missing               error     X's <nvram> file is absent while an unclaimed
//                                         nvram/OTHER_VARS.fd exists (NVRAM under the wrong name)
//   nvram-other-name            warning   X's <nvram> is nvram/OTHER_VARS.fd (domrename leaves it)
//   orphan-nvram                warning   nvram/X_VARS.fd claimed by no domain
//                                         (`virsh undefine --keep-nvram` leaves one on purpose)
//   running                     warning   run_dir/X.xml present, or X.pid with a live pid
//
// Paths in problems and file lists are where the file is on disk (beneath
// the prefix); link targets and <nvram> values are shown as written (host
// paths). Thread-compatible; no global state.
#pragma once

#include <string>
#include <vector>

#include "fstx/status.h"
#include "fstx/virt/layout.h"

namespace fstx::virt {

struct CheckProblem {
  std::string kind;      // e.g. "dangling-autostart"
  std::string severity;  // "error" | "warning"
  std::string path;      // the file concerned (on disk)
  std::string message;   // what is wrong and what to do
};

struct MomentFile {
  std::string path;           // on disk
  std::string root;           // root element: "domainsnapshot", "domaincheckpoint", "" (unparsable)
  std::string name;           // its <name>
  std::string embedded_name;  // <domain><name> inside it ("" if none)
};

struct DomainReport {
  std::string name;
  std::string uuid;         // from the config ("" if none)
  bool defined = false;     // config_dir/NAME.xml is a regular file
  std::string config;       // on-disk path of the config (set even if absent)
  std::string config_name;  // the <name> in it
  std::string autostart;    // on-disk path of autostart/NAME.xml if it exists, else ""
  std::string autostart_target;  // its link target as written
  std::string snapshot_dir;      // on-disk path if it exists, else ""
  std::vector<MomentFile> snapshots;
  std::string checkpoint_dir;
  std::vector<MomentFile> checkpoints;
  std::string nvram;          // the <nvram> value in the config (host path), "" if none
  bool nvram_exists = false;  // that file exists (beneath the prefix)
  std::string managed_save;   // on-disk path if save/NAME.save exists
  bool running = false;
  std::string run_detail;     // why `running` ("status file ...", "pid N alive")
  std::vector<CheckProblem> problems;
};

struct CheckReport {
  std::vector<DomainReport> domains;  // sorted by name
  int errors = 0;
  int warnings = 0;
  // A live libvirtd/virtqemud pid file of this layout, "" if none.
  std::string daemon_running;
};

// Checks every domain (only_name == "") or just `only_name` (kNotFound,
// naming the config path looked at, if no file of that name exists; the
// whole tree is still read so that cross-domain problems such as a
// duplicate UUID are found). Fails only if a directory of the layout cannot
// be read; missing directories are simply empty.
Result<CheckReport> CheckDomains(const Layout& layout, const std::string& only_name);

}  // namespace fstx::virt
