// fstx/virt/rename.h — renaming a libvirt QEMU domain on disk as one fstx transaction.
//
// PlanDomainRename reads what libvirt keeps for domain OLD (layout.h) and
// plans every change a correct rename makes, built only on the public
// transaction API:
//   - config_dir/OLD.xml -> NEW.xml, with <name> (and <nvram> when it
//     follows the NAME_VARS.fd convention, and renamed images) edited in
//     place: every other byte stays as libvirt wrote it (xml_edit.h);
//   - the autostart link: autostart/NEW.xml with the same form of target
//     (the old target with its last component renamed), autostart/OLD.xml
//     removed;
//   - snapshot/OLD and checkpoint/OLD moved to .../NEW, each metadata XML's
//     embedded <domain> (and <inactiveDomain>) edited the same way;
//   - nvram/OLD_VARS.fd and save/OLD.save renamed;
//   - with rename_images: every image in the domain's disks and backing
//     chains (from the XMLs and from the qcow2 headers) whose file name
//     carries OLD as a word ("vm1.qcow2", "vm1-data.img"; not "myvm1.img")
//     is renamed, every <source file>/<backingStore> follows, and each
//     qcow2 overlay whose backing file is renamed gets its header's backing
//     name rewritten in place (write_range, qcow2.h).
// Every file the plan read carries a precondition (its content hash), so a
// file changed between planning and commit fails the transaction (kStale)
// before anything changes.
//
// Refused before anything is journaled (kInvalidArgument unless said):
// an invalid NEW name; no domain OLD (kNotFound); a daemon or the domain
// running (CheckOffline); NEW taken by any of its files (kExists); an old
// domain that is already inconsistent (a config naming another domain, a
// foreign autostart link, a checkpoint file in the snapshot directory, an
// embedded <domain> with another name: run `fstx virt check OLD`).
// Reads the files directly (beneath layout.prefix); thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "fstx/fstx.h"
#include "fstx/virt/layout.h"

namespace fstx::virt {

struct RenameRequest {
  std::string old_name;
  std::string new_name;
  bool rename_images = false;
};

// One planned op, for --dry-run and --json. Paths are on disk (with the
// prefix); `detail` says what changes ("<name> vm1 -> vm2", ...).
struct PlannedOp {
  std::string op;    // rename, write_file, symlink, remove, write_range
  std::string path;  // the target
  std::string from;  // rename's source; symlink's target; "" otherwise
  std::string detail;
};

struct RenamePlan {
  std::string uuid;
  std::vector<PlannedOp> ops;
  std::vector<std::pair<std::string, std::string>> images;  // host paths, old -> new
  std::vector<std::string> notes;                          // what was left alone, and why

  // Adds the ops, with their preconditions, to `tx` in order.
  void AddTo(Transaction* tx) const;

 private:
  friend class Planner;
  struct Op {
    PlannedOp shown;
    std::string data;      // write_file content, write_range bytes
    uint64_t offset = 0;   // write_range
    bool has_expect = false;
    Precondition expect;
  };
  std::vector<Op> ops_;
};

// The programs whose pid files mean "libvirt's daemon runs" and "the
// domain runs" (shared with check.h, so both say the same).
inline const std::vector<std::string> kDaemonPrograms = {"libvirtd", "virtqemud"};
inline const std::vector<std::string> kDomainPrograms = {"qemu"};

// Refuses (kInvalidArgument, saying what to do) while libvirtd or
// virtqemud runs for this layout (a pid file naming a live process of
// that name) or the domain `name` runs (a status file in run_dir).
Status CheckOffline(const Layout& layout, const std::string& name);

Result<RenamePlan> PlanDomainRename(const Layout& layout, const RenameRequest& req);

// "vm1.qcow2" -> "vm2.qcow2" when OLD occurs in `file_name` as a word (not
// preceded or followed by a letter or digit); unchanged otherwise.
std::string RenameWord(const std::string& file_name, const std::string& old_name, const std::string& new_name);

}  // namespace fstx::virt
