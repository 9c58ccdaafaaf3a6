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
std::string ToText(std::string_view raw);
// Accepts the text form (hex digits in either case); fails naming the text.
Result<std::string> FromText(std::string_view text);

}  // namespace fstx::hash
