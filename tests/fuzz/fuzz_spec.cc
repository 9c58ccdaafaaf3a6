// fuzz_spec.cc — libFuzzer harness for the `fstx apply` spec parser
// (fstx::cli::ParseSpec, src/cli/spec.cc).
//
// Any input: no crash, no sanitizer report, no exception, and the error is
// bad input (kInvalidArgument / kOutsideRoot). A spec it accepts must hold
// what apply relies on: at least one op; every path absolute, normal and
// strictly beneath a root; a symlink target non-empty, without NUL, at most
// PATH_MAX - 1 bytes; a mode within 07777.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/cli/spec.h"
#include "src/fs/paths.h"

namespace {

const std::vector<std::string>& Roots() {
  static const std::vector<std::string> roots = {"/srv/a", "/srv/b/c"};
  return roots;
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckPath(const std::string& p) {
  fstx::Result<std::string> norm = fstx::paths::CheckBeneathRoots(Roots(), p);
  Check(norm.ok() && *norm == p);
  for (const std::string& r : Roots()) Check(p != r);  // strictly beneath
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  fstx::cli::Spec spec;
  fstx::Status s = fstx::cli::ParseSpec(text, Roots(), &spec);
  if (!s.ok()) {
    Check(s.code() == fstx::Code::kInvalidArgument || s.code() == fstx::Code::kOutsideRoot);
    Check(!s.message().empty());
    return 0;
  }
  Check(!spec.ops.empty());
  for (const fstx::Op& op : spec.ops) {
    CheckPath(op.path);
    if (op.kind == fstx::OpKind::kRename) CheckPath(op.src);
    if (op.kind == fstx::OpKind::kSymlink) {
      Check(!op.data.empty() && op.data.size() <= 4095 &&
            op.data.find('\0') == std::string::npos);
    }
    if (op.mode) Check(*op.mode <= 07777);
  }
  return 0;
}
