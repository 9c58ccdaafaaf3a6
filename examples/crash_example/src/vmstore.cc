#include "vmstore.h"

#include <sys/stat.h>

namespace vmstore {

std::string Definition(const std::string& name) {
  return "<domain>\n  <name>" + name + "</name>\n  <disk>images/" + name + ".img</disk>\n</domain>\n";
}

namespace {

fstx::Status TryRename(fstx::Journal& journal, const std::string& root, const std::string& from,
                       const std::string& to) {
  const std::string etc = root + "/etc", link = etc + "/autostart/" + from + ".xml";
  struct stat st;
  const bool autostart = ::lstat(link.c_str(), &st) == 0;
  fstx::Transaction tx = journal.Begin("vmstore rename " + from + " -> " + to);
  tx.Rename(etc + "/" + from + ".xml", etc + "/" + to + ".xml")
      .WriteFile(etc + "/" + to + ".xml", Definition(to), 0600)
      .Rename(root + "/images/" + from + ".img", root + "/images/" + to + ".img");
  if (autostart) tx.Symlink("../" + to + ".xml", etc + "/autostart/" + to + ".xml").Remove(link);
  return tx.Commit();
}

}  // namespace

fstx::Status RenameVm(fstx::Journal& journal, const std::string& root, const std::string& from,
                      const std::string& to) {
  fstx::Status s = TryRename(journal, root, from, to);
  if (s.code() == fstx::Code::kStale) s = TryRename(journal, root, from, to);
  return s;
}

}  // namespace vmstore
