// names.h — the only place that builds or parses staging names.
//
// Format 2 (journal/FORMAT.md): staging objects live in a staging
// directory, ".fstx", at the top of the filesystem (mount) beneath a root
// that holds the target: for a root /var/lib/libvirt on one filesystem,
// every staging object is /var/lib/libvirt/.fstx/<leaf>. A cross-directory
// rename within one mount is as atomic as a same-directory one, and the
// directories that daemons scan (libvirt reads every entry of
// snapshot/NAME/, dot-files included) never see a staging object. The
// staging directory of each op is recorded in its intent; recovery never
// searches for it.
// Format 1 put them next to the target (a sibling in the same directory);
// an intent with an empty staging directory still means that.
//
// The leaf is
//     .fstx-<txid>-<op>-<kind>      e.g. ".fstx-42-3-old"
// <txid> and <op> are decimal, <kind> is one of new / old / del. It does
// not embed the target's name, so it never exceeds NAME_MAX however long
// the target's name is.
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

// The name of the staging directory at the top of a mount beneath a root.
inline constexpr std::string_view kStagingDirName = ".fstx";

std::string StagingLeaf(uint64_t txid, uint32_t op, StagingKind kind);
// `stage` + "/" + leaf; with an empty `stage` (format 1), the sibling of
// `target` (an absolute path): dirname(target) + "/" + leaf.
std::string StagingPath(const std::string& stage, const std::string& target, uint64_t txid, uint32_t op,
                        StagingKind kind);
// The staging directory whose top is `top` (a root or a mount point).
std::string StagingDirAt(const std::string& top);
// True if `leaf` is the staging directory's name.
bool IsStagingDirName(std::string_view leaf);

struct StagingName {
  uint64_t txid = 0;
  uint32_t op = 0;
  StagingKind kind = StagingKind::kNew;
};
// True if `leaf` is exactly a staging name; fills *out.
bool ParseStagingLeaf(std::string_view leaf, StagingName* out);

// Format 4: content staged before its transaction has an id (a write_file
// too big to journal; Intent::content names it). The leaf names the
// process that staged it, so that recovery can tell the leftover of a dead
// process from the file a live one is about to journal:
//     .fstx-content-<pid>-<start_time>-<boot>-<seq>
// <pid>, <start_time> (the Owner's) and <seq> (per process) are decimal;
// <boot> is the first 8 characters of the owner's boot id.
struct ContentName {
  int64_t pid = 0;
  uint64_t start_time = 0;
  std::string boot;  // boot id prefix
  uint64_t seq = 0;
};
std::string ContentLeaf(const ContentName& n);
// True if `leaf` is exactly a staged-content name; fills *out.
bool ParseContentLeaf(std::string_view leaf, ContentName* out);
inline constexpr size_t kContentBootChars = 8;

}  // namespace fstx
