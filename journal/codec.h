// codec.h — the byte encoding of a TxRecord (see journal/FORMAT.md).
//
// A stored value is an envelope: magic "FXTR", format version, payload
// length, CRC-32C of the payload, then the payload (cereal portable binary
// of TxRecord). DecodeRecord verifies all of it on every read and never
// returns a half-decoded record: a foreign magic, an unknown version, a
// length or checksum mismatch, or a payload cereal cannot read all yield
// kCorruption with a message that says which check failed.
#pragma once

#include <string>
#include <string_view>

#include "fstx/status.h"
#include "journal/crc32c.h"  // Crc32c, the records' checksum
#include "journal/record.h"

namespace fstx {

inline constexpr uint32_t kRecordMagic = 0x52545846;  // "FXTR" little-endian
// Records are written in kFormatVersion and read in any version from
// kOldestFormatVersion on (FORMAT.md "Versions").
inline constexpr uint16_t kFormatVersion = 4;
inline constexpr uint16_t kOldestFormatVersion = 1;

std::string EncodeRecord(const TxRecord& rec);
Status DecodeRecord(std::string_view bytes, TxRecord* rec);

}  // namespace fstx
