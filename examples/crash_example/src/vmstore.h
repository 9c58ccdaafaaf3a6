// vmstore.h — a daemon-style store of VM definitions under a state root:
//   ROOT/etc/NAME.xml               the definition
//   ROOT/etc/autostart/NAME.xml     -> ../NAME.xml (if autostarted)
//   ROOT/images/NAME.img            the disk image
// Renaming a VM changes all three, atomically, through one fstx transaction.
#pragma once

#include <string>

#include <fstx/fstx.h>

namespace vmstore {

// The definition file's content for VM `name`.
std::string Definition(const std::string& name);

// Renames VM `from` to `to` under `root` in one transaction of `journal`.
// If the commit fails because a file changed under us (kStale), it re-reads
// and retries once — the daemon's own fallback, which the crash tests explore.
fstx::Status RenameVm(fstx::Journal& journal, const std::string& root, const std::string& from,
                      const std::string& to);

}  // namespace vmstore
