#include "src/fs/hash.h"

#include <xxhash.h>

#include <new>

namespace fstx::hash {
namespace {
constexpr std::string_view kPrefix = "xxh128:";
constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string Raw(std::string_view data) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(data.data(), data.size()));
  return std::string(reinterpret_cast<const char*>(c.digest), sizeof c.digest);
}

struct Stream::State {
  XXH3_state_t* xxh = XXH3_createState();
};

Stream::Stream() : state_(new State) {
  if (!state_->xxh) throw std::bad_alloc();
  XXH3_128bits_reset(state_->xxh);
}

Stream::~Stream() {
  XXH3_freeState(state_->xxh);
  delete state_;
}

void Stream::Update(std::string_view piece) { XXH3_128bits_update(state_->xxh, piece.data(), piece.size()); }

std::string Stream::Raw() const {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits_digest(state_->xxh));
  return std::string(reinterpret_cast<const char*>(c.digest), sizeof c.digest);
}

std::string ToText(std::string_view raw) {
  std::string s(kPrefix);
  for (unsigned char b : raw) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

Result<std::string> FromText(std::string_view text) {
  const std::string bad = "content hash '" + std::string(text.substr(0, 80)) + "' is not \"xxh128:\" and 32 hex digits";
  if (text.substr(0, kPrefix.size()) != kPrefix) return Status(Code::kInvalidArgument, bad);
  text.remove_prefix(kPrefix.size());
  if (text.size() != 32) return Status(Code::kInvalidArgument, bad);
  std::string raw;
  for (size_t i = 0; i < 32; i += 2) {
    int hi = HexValue(text[i]), lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return Status(Code::kInvalidArgument, bad);
    raw += static_cast<char>(hi * 16 + lo);
  }
  return raw;
}

}  // namespace fstx::hash
