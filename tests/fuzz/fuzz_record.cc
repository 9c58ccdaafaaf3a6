// fuzz_record.cc — libFuzzer harness for the journal record decoder
// (fstx::DecodeRecord, journal/codec.cc; the format is journal/FORMAT.md).
//
// The first input byte picks how the rest is used:
//   even: as a whole stored value (header and payload), exactly as read
//         from LMDB;
//   odd:  as a payload, wrapped in a valid header (magic, current version,
//         length and the CRC-32C computed here), so that mutations reach
//         the cereal payload decoder instead of stopping at the checksum.
// Any input: no crash, no sanitizer report, no huge allocation (libFuzzer's
// -malloc_limit_mb), and an error is kCorruption or kNotSupported. The
// format is canonical (every field checked, no trailing bytes), so a value
// of the current version that decodes must re-encode to exactly the same
// bytes; an older version's (still read, FORMAT.md section 7) re-encodes in
// the current version, which must decode and re-encode to itself.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "journal/codec.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void Put(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++, v >>= 8) out->push_back(static_cast<char>(v & 0xff));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string value;
  if (data[0] & 1) {
    Put(&value, fstx::kRecordMagic, 4);
    Put(&value, fstx::kFormatVersion, 2);
    Put(&value, 0, 2);
    Put(&value, rest.size(), 4);
    Put(&value, fstx::Crc32c(rest), 4);
    value.append(rest);
  } else {
    value.assign(rest);
  }
  fstx::TxRecord rec;
  fstx::Status s = fstx::DecodeRecord(value, &rec);
  if (!s.ok()) {
    Check(s.code() == fstx::Code::kCorruption || s.code() == fstx::Code::kNotSupported);
    return 0;
  }
  const std::string again = fstx::EncodeRecord(rec);
  const bool current = static_cast<uint8_t>(value[4]) == (fstx::kFormatVersion & 0xff) &&
                       static_cast<uint8_t>(value[5]) == (fstx::kFormatVersion >> 8);
  if (current) {
    Check(again == value);
  } else {
    fstx::TxRecord back;
    Check(fstx::DecodeRecord(again, &back).ok());
    Check(fstx::EncodeRecord(back) == again);
  }
  return 0;
}
