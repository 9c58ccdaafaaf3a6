// virt/qcow2.h — reading a qcow2 image's header and planning the in-place
// edit of its backing file name (what `qemu-img rebase -u -b NEW` does to the
// header, as byte ranges that a journal can record and undo).
//
// Format facts (qemu docs/interop/qcow2.txt): magic "QFI\xfb", big-endian;
// version u32 at 4 (2 or 3); backing_file_offset u64 at 8 (0: no backing
// file); backing_file_size u32 at 16 (not NUL-terminated, at most 1023);
// cluster_bits u32 at 20. Version 3 adds incompatible/compatible/autoclear
// features (u64 at 72/80/88), refcount_order u32 at 96 and header_length u32
// at 100; a version 2 header is 72 bytes. Header extensions (u32 type, u32
// length, data padded to 8) follow the header, ended by type 0; the backing
// file name lives after them, in the rest of the first cluster.
//
// All functions are pure: no I/O, no exceptions; errors are Status values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fstx/status.h"

namespace fstx::virt::qcow2 {

inline constexpr uint32_t kMaxBackingFileSize = 1023;
inline constexpr uint32_t kMinClusterBits = 9;   // 512 bytes (the format's minimum)
inline constexpr uint32_t kMaxClusterBits = 21;  // 2 MiB (qemu's limit)
inline constexpr uint64_t kV2HeaderLength = 72;
inline constexpr uint64_t kV3MinHeaderLength = 104;

inline constexpr uint32_t kExtEnd = 0x00000000;
inline constexpr uint32_t kExtBackingFormat = 0xE2792ACA;
inline constexpr uint32_t kExtFeatureTable = 0x6803F857;
inline constexpr uint32_t kExtBitmaps = 0x23852875;
inline constexpr uint32_t kExtCrypto = 0x0537BE77;
inline constexpr uint32_t kExtDataFile = 0x44415441;

// Incompatible feature bits (version 3).
inline constexpr uint64_t kIncompatDirty = 1ull << 0;
inline constexpr uint64_t kIncompatCorrupt = 1ull << 1;
inline constexpr uint64_t kIncompatDataFile = 1ull << 2;
inline constexpr uint64_t kIncompatCompression = 1ull << 3;
inline constexpr uint64_t kIncompatExtendedL2 = 1ull << 4;
inline constexpr uint64_t kIncompatKnown = (1ull << 5) - 1;
// Autoclear feature bits (version 3).
inline constexpr uint64_t kAutoclearBitmaps = 1ull << 0;
inline constexpr uint64_t kAutoclearDataFileRaw = 1ull << 1;

struct Extension {
  uint32_t type = 0;
  uint32_t length = 0;       // of the data, without padding
  uint64_t data_offset = 0;  // in the file
};

struct Header {
  uint32_t version = 0;
  uint64_t backing_file_offset = 0;
  uint32_t backing_file_size = 0;
  uint32_t cluster_bits = 0;
  uint64_t cluster_size = 0;  // 1 << cluster_bits
  uint64_t size = 0;          // virtual disk size
  uint32_t crypt_method = 0;
  uint64_t incompatible_features = 0;  // 0 for version 2
  uint64_t compatible_features = 0;
  uint64_t autoclear_features = 0;
  uint32_t refcount_order = 4;
  uint64_t header_length = 0;  // 72 for version 2
  std::vector<Extension> extensions;  // in file order, the end marker excluded
  // First byte after the header extensions (end marker included). If the
  // extension area has no end marker and runs up to the backing file name
  // (qemu accepts that), the name's offset.
  uint64_t extensions_end = 0;
  bool has_backing_file = false;  // offset != 0 and size != 0
  std::string backing_file;       // raw bytes of the name, "" if none
  std::string backing_format;     // from extension 0xE2792ACA, "" if none
};

// Parses the header, its extensions and the backing file name. `data` is the
// start of the image: at least up to the end of the extensions and of the
// backing file name (the first cluster is always enough).
//  kInvalidArgument: not a qcow2 image (magic), or `data` too short for what
//    the header says it needs (the message names both sizes);
//  kNotSupported: version not 2 or 3, cluster_bits outside [9, 21];
//  kCorruption: header_length, extensions or backing name inconsistent
//    (outside the first cluster, overlapping, name longer than 1023 bytes).
Result<Header> ParseHeader(std::string_view data);

// The backing file name as stored (relative names stay relative); "" if the
// image has none.
Result<std::string> ReadBackingFile(std::string_view head);

// A byte range to overwrite in place: `old_bytes` is what is there now (the
// before-image), `new_bytes` what goes there; same length.
struct RangeEdit {
  uint64_t offset = 0;
  std::string old_bytes;
  std::string new_bytes;
};

// Plans setting the backing file name of the image whose first cluster is
// `head` (pass the whole first cluster: 1 << cluster_bits bytes, or the
// whole file if it is shorter). The name is rewritten at the same
// backing_file_offset — never moved — and the backing format extension is
// left alone. Returns, in this order:
//   1. the name: offset = backing_file_offset, length max(old, new); the new
//      name followed by zero bytes over the rest of the old name when the new
//      one is shorter (the area is reserved for the name, so it is left clean);
//   2. backing_file_size: offset 16, 4 bytes big-endian (present even when
//      the length does not change).
// Refuses:
//   kInvalidArgument: new name empty, with a NUL byte, or over 1023 bytes;
//     image without a backing file; `head` too short;
//   kNotSupported: the image is marked dirty (bit 0: not closed cleanly or in
//     use; run `qemu-img check -r all`), corrupt (bit 1), or has incompatible
//     feature bits unknown to this code (bits 5-63); raw external data
//     (autoclear bit 1, which the format makes incompatible with a backing
//     file); the name lies inside the header or extension area; the new name
//     does not fit in the first cluster at the current offset;
//   and whatever ParseHeader refuses.
// Bits 2-4 (external data file, compression type, extended L2) do not touch
// the header bytes edited here and are accepted.
Result<std::vector<RangeEdit>> SetBackingFile(std::string_view head, std::string_view new_backing);

// Applies edits to an in-memory copy of the image's start (for checks and
// tests): each old_bytes must match. kInvalidArgument otherwise.
Status ApplyEdits(std::string& data, const std::vector<RangeEdit>& edits);

}  // namespace fstx::virt::qcow2
