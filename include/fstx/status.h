// fstx/status.h — errors as values.
//
// Every fallible call in fstx returns a Status (or a Result<T>). A Status is
// either ok() or carries a code from a small fixed set, the errno that caused
// it (0 if none) and a message that names the operation and the path.
// Status is a plain value type: copyable, thread-compatible.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "fstx/version.h"

namespace fstx {

// The values are pinned: they are the C API's fstx_code values too
// (fstx/c.h), written down in README "Error codes", and never reused. New
// codes are appended.
enum class Code : int {
  kOk = 0,
  kInvalidArgument = 1,  // bad input: malformed path, spec, option
  kNotFound = 2,         // a path that must exist does not
  kExists = 3,           // a path that must not exist does
  kOutsideRoot = 4,      // path not beneath a configured root, or escapes it
  kBusy = 5,             // a lock is held (path lock, journal writer lock)
  kIoError = 6,          // an I/O call failed (see errno)
  kNoSpace = 7,          // ENOSPC / EDQUOT / MDB_MAP_FULL that could not grow
  kPermission = 8,       // EACCES / EPERM / EROFS
  kCorruption = 9,       // a journal record failed its checksum or decoding
  kNeedsAttention = 10,  // the world changed behind fstx's back; not guessing
  kNotSupported = 11,    // e.g. EXDEV for a cross-filesystem rename
  kStale = 12,           // a precondition (expect) failed: the file changed
                         // since the caller read it; nothing was changed
};

FSTX_API const char* code_name(Code c);

class FSTX_API Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message, int err = 0)
      : code_(code), errno_(err), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  // Builds a status from an errno: "<what> <path>: <strerror> (<ENAME>)".
  static Status FromErrno(int err, const std::string& what, const std::string& path);
  static Status FromErrno(int err, const std::string& what, const std::string& path,
                          const std::string& path2);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int err() const { return errno_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;  // "code: message" or "ok"

  // Prefixes the message with context ("op 3 rename: ...").
  Status Annotate(const std::string& context) const;

 private:
  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
};

// Maps an errno to the closest Code.
FSTX_API Code code_from_errno(int err);
// "ENOENT", "EIO", ... (falls back to the number).
FSTX_API std::string errno_name(int err);

template <class U>
struct Arrow {
  static U* get(U& v) { return &v; }
};
template <class P, class D>
struct Arrow<std::unique_ptr<P, D>> {
  static P* get(std::unique_ptr<P, D>& v) { return v.get(); }
};

// A value or the Status that explains why there is none.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}            // NOLINT
  Result(Status status) : status_(std::move(status)) {}    // NOLINT
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { return value_; }
  const T& value() const { return value_; }
  T& operator*() { return value_; }
  // For Result<std::unique_ptr<X>>, result->method() reaches X.
  auto operator->() { return Arrow<T>::get(value_); }

 private:
  Status status_;
  T value_{};
};

}  // namespace fstx
