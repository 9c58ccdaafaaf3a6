// status_test.cc — Status formatting and the errno -> Code mapping.

#include "fstx/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace fstx {
namespace {

TEST(StatusTest, CodeNames) {
  EXPECT_STREQ(code_name(Code::kOk), "ok");
  EXPECT_STREQ(code_name(Code::kInvalidArgument), "invalid_argument");
  EXPECT_STREQ(code_name(Code::kOutsideRoot), "outside_root");
  EXPECT_STREQ(code_name(Code::kNeedsAttention), "needs_attention");
  EXPECT_STREQ(code_name(Code::kNotSupported), "not_supported");
}

TEST(StatusTest, FromErrnoAndToString) {
  Status s = Status::FromErrno(EEXIST, "rename", "/a/x", "/a/y");
  EXPECT_EQ(s.code(), Code::kExists);
  EXPECT_EQ(s.err(), EEXIST);
  EXPECT_EQ(s.message(), "rename /a/x -> /a/y: File exists (EEXIST)");
  EXPECT_EQ(s.ToString(), "exists: rename /a/x -> /a/y: File exists (EEXIST)");
  s = Status::FromErrno(ENOENT, "open", "/q");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "open /q: No such file or directory (ENOENT)");
  EXPECT_EQ(Status().ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, Annotate) {
  Status s = Status::FromErrno(EACCES, "unlink", "/r/f").Annotate("op 3 rename");
  EXPECT_EQ(s.code(), Code::kPermission);
  EXPECT_EQ(s.err(), EACCES);
  EXPECT_EQ(s.message(), "op 3 rename: unlink /r/f: Permission denied (EACCES)");
  EXPECT_TRUE(Status::Ok().Annotate("ctx").ok());
  EXPECT_EQ(Status::Ok().Annotate("ctx").message(), "");
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_EQ(code_from_errno(ENOENT), Code::kNotFound);
  EXPECT_EQ(code_from_errno(ENOTDIR), Code::kNotFound);
  EXPECT_EQ(code_from_errno(ENOTEMPTY), Code::kExists);
  EXPECT_EQ(code_from_errno(EROFS), Code::kPermission);
  EXPECT_EQ(code_from_errno(EPERM), Code::kPermission);
  EXPECT_EQ(code_from_errno(EDQUOT), Code::kNoSpace);
  EXPECT_EQ(code_from_errno(ENOSPC), Code::kNoSpace);
  EXPECT_EQ(code_from_errno(EXDEV), Code::kNotSupported);
  EXPECT_EQ(code_from_errno(EWOULDBLOCK), Code::kBusy);
  EXPECT_EQ(code_from_errno(EBUSY), Code::kBusy);
  EXPECT_EQ(code_from_errno(ELOOP), Code::kInvalidArgument);
  EXPECT_EQ(code_from_errno(ENAMETOOLONG), Code::kInvalidArgument);
  EXPECT_EQ(code_from_errno(EIO), Code::kIoError);
  EXPECT_EQ(code_from_errno(0), Code::kIoError);  // never ok from an errno
  EXPECT_EQ(errno_name(ENOENT), "ENOENT");
  EXPECT_EQ(errno_name(EDQUOT), "EDQUOT");
  EXPECT_EQ(errno_name(ENOTEMPTY), "ENOTEMPTY");
  EXPECT_EQ(errno_name(99999), "errno 99999");
}

}  // namespace
}  // namespace fstx
