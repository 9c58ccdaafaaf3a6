// fuzz_failpoints.cc — libFuzzer harness for the FSTX_FAILPOINTS parser
// (fstx::fault::Failpoints::Parse, fault-injection/failpoints.cc).
//
// Any input: no crash, no sanitizer report; an error is kInvalidArgument
// with a message. Accepted rules are usable: a point name, an action, an
// errno for kError, a delay within an hour for kDelay, and no more rules
// than the spec has ',' / ';'-separated parts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fstx/fault.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view spec(reinterpret_cast<const char*>(data), size);
  fstx::Result<std::vector<fstx::fault::Rule>> r = fstx::fault::Failpoints::Parse(spec);
  if (!r.ok()) {
    Check(r.status().code() == fstx::Code::kInvalidArgument && !r.status().message().empty());
    return 0;
  }
  size_t parts = 1;
  for (char c : spec) parts += c == ',' || c == ';';
  Check(r->size() <= parts);
  for (const fstx::fault::Rule& rule : *r) {
    Check(!rule.point.empty());
    Check(rule.action != fstx::fault::Action::kNone);
    if (rule.action == fstx::fault::Action::kError) Check(rule.err > 0);
    if (rule.action == fstx::fault::Action::kDelay) {
      Check(rule.delay_ms >= 0 && rule.delay_ms <= 3600 * 1000);
    }
  }
  return 0;
}
