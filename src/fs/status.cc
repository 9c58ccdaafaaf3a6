// status.cc — Status formatting and the errno -> Code mapping.

#include "fstx/status.h"

#include <cerrno>
#include <cstring>

namespace fstx {

const char* code_name(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kExists: return "exists";
    case Code::kOutsideRoot: return "outside_root";
    case Code::kBusy: return "busy";
    case Code::kIoError: return "io_error";
    case Code::kNoSpace: return "no_space";
    case Code::kPermission: return "permission";
    case Code::kCorruption: return "corruption";
    case Code::kNeedsAttention: return "needs_attention";
    case Code::kNotSupported: return "not_supported";
    case Code::kStale: return "stale";
  }
  return "unknown";
}

Code code_from_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR: return Code::kNotFound;
    case EEXIST:
    case ENOTEMPTY: return Code::kExists;
    case EACCES:
    case EPERM:
    case EROFS: return Code::kPermission;
    case ENOSPC:
    case EDQUOT: return Code::kNoSpace;
    case EXDEV: return Code::kNotSupported;
    case EBUSY:
    case EWOULDBLOCK: return Code::kBusy;  // EAGAIN == EWOULDBLOCK on Linux
    case ENAMETOOLONG:
    case EINVAL:
    case ELOOP: return Code::kInvalidArgument;
    default: return Code::kIoError;
  }
}

namespace {

struct ErrnoName {
  int err;
  const char* name;
};

// Covers the errnos that filesystem, locking and LMDB calls report in practice.
// clang-format off
constexpr ErrnoName kErrnoNames[] = {
    {EPERM, "EPERM"},               {ENOENT, "ENOENT"},             {ESRCH, "ESRCH"},
    {EINTR, "EINTR"},               {EIO, "EIO"},                   {ENXIO, "ENXIO"},
    {E2BIG, "E2BIG"},               {ENOEXEC, "ENOEXEC"},           {EBADF, "EBADF"},
    {ECHILD, "ECHILD"},             {EAGAIN, "EAGAIN"},             {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"},             {EFAULT, "EFAULT"},             {EBUSY, "EBUSY"},
    {EEXIST, "EEXIST"},             {EXDEV, "EXDEV"},               {ENODEV, "ENODEV"},
    {ENOTDIR, "ENOTDIR"},           {EISDIR, "EISDIR"},             {EINVAL, "EINVAL"},
    {ENFILE, "ENFILE"},             {EMFILE, "EMFILE"},             {ENOTTY, "ENOTTY"},
    {ETXTBSY, "ETXTBSY"},           {EFBIG, "EFBIG"},               {ENOSPC, "ENOSPC"},
    {ESPIPE, "ESPIPE"},             {EROFS, "EROFS"},               {EMLINK, "EMLINK"},
    {EPIPE, "EPIPE"},               {ERANGE, "ERANGE"},             {EDEADLK, "EDEADLK"},
    {ENAMETOOLONG, "ENAMETOOLONG"}, {ENOLCK, "ENOLCK"},             {ENOSYS, "ENOSYS"},
    {ENOTEMPTY, "ENOTEMPTY"},       {ELOOP, "ELOOP"},               {ENODATA, "ENODATA"},
    {EOVERFLOW, "EOVERFLOW"},       {ENOTSUP, "ENOTSUP"},           {EDQUOT, "EDQUOT"},
    {ESTALE, "ESTALE"},             {ETIMEDOUT, "ETIMEDOUT"},       {ECONNREFUSED, "ECONNREFUSED"},
    {EADDRINUSE, "EADDRINUSE"},     {ENOTSOCK, "ENOTSOCK"},         {ECANCELED, "ECANCELED"},
};
// clang-format on

}  // namespace

std::string errno_name(int err) {
  for (const ErrnoName& e : kErrnoNames) {
    if (e.err == err) return e.name;
  }
  return "errno " + std::to_string(err);
}

namespace {

std::string ErrnoSuffix(int err) {
  char buf[256];
  // GNU strerror_r: returns a pointer that may or may not be `buf`.
  const char* text = strerror_r(err, buf, sizeof buf);
  return std::string(": ") + text + " (" + errno_name(err) + ")";
}

}  // namespace

Status Status::FromErrno(int err, const std::string& what, const std::string& path) {
  return Status(code_from_errno(err), what + " " + path + ErrnoSuffix(err), err);
}

Status Status::FromErrno(int err, const std::string& what, const std::string& path,
                         const std::string& path2) {
  return Status(code_from_errno(err), what + " " + path + " -> " + path2 + ErrnoSuffix(err), err);
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

Status Status::Annotate(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_, errno_);
}

}  // namespace fstx
