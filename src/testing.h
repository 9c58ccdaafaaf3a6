// testing.h — what only the testing engine has (built with FSTX_TESTING
// into the static fstx_testing library for the tests, the fault library
// and the crash explorer; never into libfstx.so, see README "ABI").
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "fstx/fstx.h"

namespace fstx::testing {

// Called with "journal.commit.before" / "journal.commit.after" around each
// journal commit; a non-ok status fails that point (fault injection).
using JournalHook = std::function<Status(std::string_view point)>;

#ifdef FSTX_TESTING
// Journal::Open with a journal hook. Defined only in the testing engine.
Result<std::unique_ptr<Journal>> OpenWithHook(const Options& options, JournalHook hook);
#endif

}  // namespace fstx::testing
