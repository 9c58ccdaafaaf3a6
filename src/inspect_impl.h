// inspect_impl.h — the Inspector's state (fstx/inspect.h): a store it owns
// (Inspector::Open, read-only) or the store of an open Journal.
#pragma once

#include <memory>
#include <string>

#include "fstx/inspect.h"
#include "journal/store.h"

namespace fstx {

struct Inspector::Impl {
  std::string dir;
  std::unique_ptr<JournalStore> owned;
  JournalStore* store = nullptr;
};

}  // namespace fstx
