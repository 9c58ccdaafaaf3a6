// capi_impl.h — what the two halves of the C API (capi.cc: journal and
// transactions; capi_inspect.cc: inspection) share: the handle structs and
// the error plumbing (a thread-local last error, exceptions caught at the
// boundary).
#pragma once

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "fstx/c.h"
#include "fstx/fstx.h"

struct fstx_options {
  fstx::Options o;
  fstx_log_fn log = nullptr;
  void* log_ctx = nullptr;
};

struct fstx_report {
  fstx::RecoveryReport r;
  std::vector<std::string> kept;  // fstx_journal_resolve with abandon
};

struct fstx_inspector {
  const fstx::Inspector* in = nullptr;
  std::unique_ptr<fstx::Inspector> owned;  // null for a journal's own
};

struct fstx_journal {
  std::unique_ptr<fstx::Journal> j;
  fstx_report open_report;
  fstx_inspector inspector;
};

struct fstx_txn {
  fstx::Transaction t;
};

struct fstx_tx {
  fstx::TxRecord rec;
  bool finished = false;
  bool owner_alive = false;
};

struct fstx_txlist {
  std::vector<fstx_tx> txs;
  size_t corrupt = 0;
};

namespace fstx::capi {

// Records `s` as this thread's last error and returns its code.
int Fail(const Status& s);
// Clears the last error; returns FSTX_OK.
int Ok();
// Ok() or Fail(s).
inline int FromStatus(const Status& s) { return s.ok() ? Ok() : Fail(s); }
int Invalid(const char* what);

// Runs `body` (returning an fstx_code), turning exceptions into codes.
template <class F>
int Guard(F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    Fail(Status(Code::kIoError, "out of memory"));
    return FSTX_NO_MEMORY;
  } catch (const std::exception& e) {
    Fail(Status(Code::kIoError, std::string("internal error: ") + e.what()));
    return FSTX_INTERNAL;
  } catch (...) {
    Fail(Status(Code::kIoError, "internal error"));
    return FSTX_INTERNAL;
  }
}

}  // namespace fstx::capi
