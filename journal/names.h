// names.h — the only place that builds or parses staging names.
//
// A staging object is a hidden sibling of the target, in the same directory
// (so every step is an atomic rename(2) on one filesystem):
//     .fstx-<txid>-<op>-<kind>      e.g. ".fstx-42-3-old"
// <txid> and <op> are decimal, <kind> is one of new / old / del. The name
// does not embed the target's name, so it never exceeds NAME_MAX however
// long the target's name is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fstx {

enum class StagingKind : uint8_t {
  kNew,  // the object being put in place (written file, new symlink, new dir)
  kOld,  // the replaced object, kept until the transaction is finished
  kDel,  // the removed object, kept until the transaction is finished
};

std::string StagingLeaf(uint64_t txid, uint32_t op, StagingKind kind);
// Sibling of `target` (an absolute path): dirname(target) + "/" + leaf.
std::string StagingPath(const std::string& target, uint64_t txid, uint32_t op, StagingKind kind);

struct StagingName {
  uint64_t txid = 0;
  uint32_t op = 0;
  StagingKind kind = StagingKind::kNew;
};
// True if `leaf` is exactly a staging name; fills *out.
bool ParseStagingLeaf(std::string_view leaf, StagingName* out);

}  // namespace fstx
