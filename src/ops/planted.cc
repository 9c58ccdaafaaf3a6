#include "src/ops/planted.h"

#include <atomic>

namespace fstx::planted {
namespace {
std::atomic<int> g_bug{0};
}

void Plant(Bug bug) { g_bug.store(static_cast<int>(bug), std::memory_order_relaxed); }
Bug Current() { return static_cast<Bug>(g_bug.load(std::memory_order_relaxed)); }

const char* Name(Bug bug) {
  switch (bug) {
    case Bug::kNone: return "none";
    case Bug::kNoFinalBarrier: return "no-final-barrier";
    case Bug::kSkipUndoRename: return "undo-skipped-for-rename";
    case Bug::kEarlyStagingDelete: return "staging-deleted-before-commit-point";
    case Bug::kCompletionBeforeBarrier: return "completion-recorded-before-barrier";
  }
  return "?";
}

}  // namespace fstx::planted
