// planted.h — deliberately broken engine variants, for the crash
// explorer's self-check only (`fstx crashtest --self-check`).
//
// An explorer that finds nothing wrong proves nothing unless it is shown to
// catch real bugs. Each variant below removes one thing the commit protocol
// or recovery relies on; the self-check plants it, explores, and expects a
// violation. Nothing plants a bug unless asked: the default is kNone, and
// the checks cost one relaxed atomic load each.
#pragma once

namespace fstx::planted {

enum class Bug : int {
  kNone = 0,
  kNoFinalBarrier,           // skip the commit point's directory fsyncs
  kSkipUndoRename,           // undo of a rename does nothing and says ok
  kEarlyStagingDelete,       // delete replaced objects before the commit point
  kCompletionBeforeBarrier,  // record `done` before the commit point
};

// Plant, Current and Name exist only in the testing engine (planted.cc is
// built into fstx_testing with FSTX_TESTING); in libfstx.so Is() is a
// constant false and the checks compile away.
void Plant(Bug bug);
Bug Current();
const char* Name(Bug bug);
#ifdef FSTX_TESTING
inline bool Is(Bug bug) { return Current() == bug; }
#else
constexpr bool Is(Bug) { return false; }
#endif

}  // namespace fstx::planted
