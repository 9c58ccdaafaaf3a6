// crc32c.h — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
// checksum of every journal record (FORMAT.md §3).
//
// Crc32c() picks the fastest implementation this CPU has: the SSE 4.2
// crc32 instruction on x86-64 (checked once at run time), otherwise eight
// lookup tables that consume eight bytes per step ("slicing by 8"). Both
// give the same value as the bit-at-a-time definition; the tests compare
// them on every length and alignment.
#pragma once

#include <cstdint>
#include <string_view>

namespace fstx {

uint32_t Crc32c(std::string_view data);

namespace crc32c {
// Extends `crc` (a finished CRC, 0 for none) by `data`, with one
// implementation; for tests and benchmarks.
uint32_t ExtendTable(uint32_t crc, std::string_view data);
uint32_t ExtendHardware(uint32_t crc, std::string_view data);  // only if HaveHardware()
bool HaveHardware();
}  // namespace crc32c

}  // namespace fstx
