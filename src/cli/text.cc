// text.cc — base64, octal modes, timestamps and previews (see text.h).
#include "text.h"

#include <time.h>

#include <charconv>
#include <cstdio>
#include <ctime>

namespace fstx::cli {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Value of a base64 digit, or -1.
int DigitValue(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string Describe(unsigned char c) {
  char buf[16];
  if (c >= 0x21 && c < 0x7f) {
    std::snprintf(buf, sizeof buf, "'%c'", c);
  } else {
    std::snprintf(buf, sizeof buf, "byte 0x%02x", c);
  }
  return buf;
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16 |
                 static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8 |
                 static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16;
    if (rest == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool Base64Decode(std::string_view text, std::string* out, std::string* err) {
  // Strip up to two '=' of final padding, then every byte must be a digit.
  size_t len = text.size();
  size_t pad = 0;
  while (len > 0 && pad < 2 && text[len - 1] == '=') {
    --len;
    ++pad;
  }
  if (pad > 0 && text.size() % 4 != 0) {
    *err = "padded input must be a multiple of 4 characters long, got " +
           std::to_string(text.size());
    return false;
  }
  if (len % 4 == 1) {
    *err = "truncated input: " + std::to_string(len) + " digits cannot encode whole bytes";
    return false;
  }
  std::string result;
  result.reserve(len / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    int v = DigitValue(static_cast<unsigned char>(text[i]));
    if (v < 0) {
      *err = "invalid character " + Describe(static_cast<unsigned char>(text[i])) +
             " at offset " + std::to_string(i);
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      result += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits of the last digit must be zero, as an encoder writes them.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    *err = "non-zero trailing bits in the last digit at offset " + std::to_string(len - 1);
    return false;
  }
  *out = std::move(result);
  return true;
}

bool ParseMode(std::string_view text, uint32_t* mode, std::string* err) {
  if (text.empty() || text.size() > 5) {
    *err = "mode must be 1 to 4 octal digits like \"0644\", got \"" + std::string(text) + "\"";
    return false;
  }
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '7') {
      *err = "mode must be octal digits like \"0644\", got \"" + std::string(text) + "\"";
      return false;
    }
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  if (v > 07777) {
    *err = "mode \"" + std::string(text) + "\" is larger than 07777";
    return false;
  }
  *mode = v;
  return true;
}

std::string FormatMode(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

std::string FormatTime(int64_t us) {
  if (us == 0) return "-";
  time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm;
  if (gmtime_r(&secs, &tm) == nullptr) return std::to_string(us) + "us";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatDuration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  int64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
  char buf[64];
  if (d > 0) {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm", static_cast<long long>(d),
                  static_cast<long long>(h), static_cast<long long>(m));
  } else if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(s));
  } else if (m > 0) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(m),
                  static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  }
  return buf;
}

std::string Preview(std::string_view data, size_t max) {
  std::string out;
  size_t n = data.size() < max ? data.size() : max;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (n < data.size()) out += "...";
  return out;
}

namespace {

// Length of the well-formed UTF-8 sequence at s[i] (2..4), with its code
// point in *cp; 0 if the bytes there are not one.
size_t Utf8Sequence(std::string_view s, size_t i, uint32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t len = 0;
  uint32_t v = 0, min = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2, v = c & 0x1f, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, v = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    v = (v << 6) | (byte(i + k) & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

// Code points that move the cursor or reorder text: C1 controls, the
// bidirectional marks, embeddings, overrides and isolates, and the line
// and paragraph separators.
bool IsFormatControl(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char buf[16];
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      uint32_t cp = 0;
      size_t len = c >= 0x80 ? Utf8Sequence(s, i, &cp) : 0;
      if (len == 0) {
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else if (IsFormatControl(cp)) {
        std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(cp));
        out += buf;
        i += len;
        continue;
      } else {
        out.append(s.substr(i, len));
        i += len;
        continue;
      }
    }
    ++i;
  }
  return out;
}

std::string FormatBytes(uint64_t n) {
  char buf[32];
  if (n < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else if (n < (1ull << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024.0);
  } else if (n < (1ull << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f GiB",
                  static_cast<double>(n) / (1024.0 * 1024.0 * 1024.0));
  }
  return buf;
}

bool ParseTxId(std::string_view text, uint64_t* id) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *id);
  return ec == std::errc() && p == text.data() + text.size() && *id != 0;
}

}  // namespace fstx::cli
