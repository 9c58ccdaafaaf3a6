// host_files.h — the few reads of libvirt's files that the rename planner
// and the consistency check share: directory listings, link targets, and
// whether a pid file names a live process of a given program. Plain POSIX
// calls, never following a symlink at the last component. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "fstx/status.h"

namespace fstx::virt {

// Entries of a directory (without "." and ".."), sorted. A missing path, or
// one that is not a directory (a symlink is not followed), lists empty.
Status ListSorted(const std::string& dir, std::vector<std::string>* out);

// A symlink's target; false if `path` is not a readable symlink.
bool ReadLinkText(const std::string& path, std::string* target);

// The pid in `pidfile` (a regular file) if that process runs and its name
// (/proc/PID/comm) starts with one of `programs` (any name if `programs` is
// empty); "" otherwise. Checking the name keeps a stale pid file whose
// number was reused from counting.
std::string LivePid(const std::string& pidfile, const std::vector<std::string>& programs);

}  // namespace fstx::virt
