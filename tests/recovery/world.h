// world.h — the recovery tests' scratch world: a root and a journal in a
// temporary directory, and the journal options over them.
#pragma once

#include <string>

#include "fstx/fstx.h"
#include "tests/testutil.h"

namespace fstx::testing {

struct JournalWorld {
  TempDir dir;
  std::string root = dir / "root";
  std::string journal = dir / "journal";
  uint64_t inline_max = Options().inline_content_max;
  JournalWorld() { MkdirRaw(root); }
  // A quiet journal over the root, through `fs` (nullptr: a PosixFs).
  Options Opts(Fs* fs) const {
    Options o;
    o.dir = journal;
    o.roots = {root};
    o.fs = fs;
    o.logger = nullptr;
    o.inline_content_max = inline_max;
    return o;
  }
};

}  // namespace fstx::testing
