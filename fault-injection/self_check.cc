// self_check.cc — run the explorer against planted bugs (explorer.h).
#include <sys/stat.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <fstream>

#include "fstx/explorer.h"
#include "src/planted.h"

namespace fstx::explore {
namespace {

Status Write(const std::string& path, const std::string& data, mode_t mode) {
  std::ofstream out(path, std::ios::binary);
  out << data;
  out.close();
  if (!out || ::chmod(path.c_str(), mode) != 0) return Status::FromErrno(errno ? errno : EIO, "write", path);
  return Status();
}

// A small libvirt-like tree: a config, its autostart link, a snapshot
// directory, an image.
Status BuildTree(const std::string& root) {
  for (const char* d : {"/qemu", "/qemu/autostart", "/snapshot", "/snapshot/vm1", "/images"})
    if (::mkdir((root + d).c_str(), 0755) != 0) return Status::FromErrno(errno, "mkdir", root + d);
  Status s = Write(root + "/qemu/vm1.xml", "<domain><name>vm1</name></domain>\n", 0600);
  if (s.ok()) s = Write(root + "/snapshot/vm1/s1.xml", "<domainsnapshot/>\n", 0644);
  if (s.ok()) s = Write(root + "/images/vm1.qcow2", std::string(4096, 'Q'), 0640);
  if (s.ok() && ::symlink("../vm1.xml", (root + "/qemu/autostart/vm1.xml").c_str()) != 0)
    s = Status::FromErrno(errno, "symlink", root + "/qemu/autostart/vm1.xml");
  return s;
}

void Workload(Transaction& tx, const std::string& r) {
  tx.Rename(r + "/qemu/vm1.xml", r + "/qemu/vm2.xml")
      .WriteFile(r + "/qemu/vm2.xml", "<domain><name>vm2</name></domain>\n", 0600)
      .Symlink("../vm2.xml", r + "/qemu/autostart/vm2.xml", RenameMode::kReplace)
      .Remove(r + "/qemu/autostart/vm1.xml")
      .Rename(r + "/snapshot/vm1", r + "/snapshot/vm2")
      .Rename(r + "/images/vm1.qcow2", r + "/images/vm2.qcow2");
}

}  // namespace

Result<std::vector<SelfCheckResult>> SelfCheck(int jobs) {
  char tmpl[] = "/tmp/fstx-selfcheck-XXXXXX";
  if (!::mkdtemp(tmpl)) return Status::FromErrno(errno, "mkdtemp", tmpl);
  const std::string tree = tmpl;
  Status s = BuildTree(tree);
  std::vector<SelfCheckResult> out;
  for (planted::Bug bug : {planted::Bug::kNone, planted::Bug::kNoFinalBarrier, planted::Bug::kSkipUndoRename,
                           planted::Bug::kEarlyStagingDelete, planted::Bug::kCompletionBeforeBarrier}) {
    if (!s.ok()) break;
    Options o;
    o.tree = tree;
    o.workload = Workload;
    o.label = "self-check";
    o.jobs = jobs;
    planted::Plant(bug);
    auto r = Explore(o);
    planted::Plant(planted::Bug::kNone);
    if (!r.ok()) {
      s = r.status().Annotate(std::string("self-check with ") + planted::Name(bug));
      break;
    }
    SelfCheckResult res;
    res.bug = planted::Name(bug);
    res.violations = r.value().violations.size();
    res.checked = r.value().checked();
    if (!r.value().violations.empty())
      res.example = r.value().violations[0].state + ": " + r.value().violations[0].what;
    res.passed = bug == planted::Bug::kNone ? res.violations == 0 : res.violations > 0;
    out.push_back(std::move(res));
  }
  boost::system::error_code ec;
  boost::filesystem::remove_all(tree, ec);
  if (!s.ok()) return s;
  return out;
}

}  // namespace fstx::explore
