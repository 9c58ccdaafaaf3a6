// hash.h — the content hash fstx records and checks (XXH3-128, libxxhash).
//
// It detects change (a precondition, a probe of content that is not held
// inline); it is not a defence against someone who can already write the
// file. Raw form: 16 bytes, big-endian (XXH128 canonical). Text form:
// "xxh128:" followed by 32 lowercase hex digits. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "fstx/status.h"

namespace fstx::hash {

std::string Raw(std::string_view data);

// Raw() of content fed in pieces: Stream s; s.Update(a); s.Update(b);
// s.Raw() == Raw(a + b). Thread-compatible.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  void Update(std::string_view piece);
  std::string Raw() const;

 private:
  struct State;
  State* state_;
};
std::string ToText(std::string_view raw);
// Accepts the text form (hex digits in either case); fails naming the text.
Result<std::string> FromText(std::string_view text);

}  // namespace fstx::hash
