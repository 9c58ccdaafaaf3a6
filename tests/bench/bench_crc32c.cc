// bench_crc32c — the journal's record checksum: the byte-at-a-time table
// (what fstx used before, the baseline), slicing-by-8, and the SSE 4.2
// instruction, on the same 1 MiB buffer in one run, interleaved round by
// round. Prints MB/s and the speedups over the baseline.
// Usage: bench_crc32c [--rounds N] [--json]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "journal/crc32c.h"

namespace {

using Clock = std::chrono::steady_clock;

uint32_t ByteAtATime(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return ~c;
}

template <typename F>
double MbPerS(F f, std::string_view data, uint32_t* sink) {
  auto t0 = Clock::now();
  *sink ^= f(data);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return data.size() / 1e6 / s;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 50;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") json = true;
    else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: bench_crc32c [--rounds N] [--json]\n"
                           "  CRC-32C throughput: byte table (baseline), slicing-by-8, SSE 4.2.\n");
      return 2;
    }
  }
  std::string buf(1 << 20, '\0');
  uint32_t x = 1;
  for (char& ch : buf) ch = static_cast<char>((x = x * 1103515245u + 12345u) >> 16);
  const bool hw = fstx::crc32c::HaveHardware();
  std::vector<double> base, slice8, sse;
  uint32_t sink = 0;
  for (int r = 0; r < rounds; ++r) {
    base.push_back(MbPerS(ByteAtATime, buf, &sink));
    slice8.push_back(MbPerS([](std::string_view d) { return fstx::crc32c::ExtendTable(0, d); }, buf, &sink));
    if (hw) sse.push_back(MbPerS([](std::string_view d) { return fstx::crc32c::ExtendHardware(0, d); }, buf, &sink));
  }
  const double b = Median(base), s8 = Median(slice8), h = hw ? Median(sse) : 0;
  if (json) {
    std::printf("{\"bench\": \"crc32c\", \"byte_table_mb_s\": %.0f, \"slice8_mb_s\": %.0f, \"sse42_mb_s\": %.0f, "
                "\"slice8_speedup\": %.2f, \"sse42_speedup\": %.2f, \"hardware\": %s, \"sink\": %u}\n",
                b, s8, h, s8 / b, hw ? h / b : 0.0, hw ? "true" : "false", sink & 1);
  } else {
    std::printf("byte table %.0f MB/s; slicing-by-8 %.0f MB/s (x%.1f); SSE 4.2 %s\n", b, s8, s8 / b,
                hw ? (std::to_string(static_cast<int>(h)) + " MB/s (x" + std::to_string(h / b).substr(0, 4) + ")").c_str()
                   : "not available");
  }
  return 0;
}
