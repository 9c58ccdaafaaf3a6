// text.h — the small text encodings the fstx command reads and prints:
// base64 (spec content_base64, show --json), octal permission modes,
// timestamps, durations and printable previews of binary data.
//
// Pure functions, no I/O, thread-safe. Decoders return false and set *err to
// a message that says what is wrong and where; they never throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fstx::cli {

// Standard alphabet (RFC 4648 section 4) with '=' padding.
std::string Base64Encode(std::string_view data);
// Accepts the standard alphabet, with or without the final '=' padding.
// Refuses any other byte (whitespace included), padding in the middle and a
// length that cannot come from an encoder; *err names the offset.
bool Base64Decode(std::string_view text, std::string* out, std::string* err);

// "0644", "644", "04755": one to four octal digits, at most 07777.
bool ParseMode(std::string_view text, uint32_t* mode, std::string* err);
// Always four digits: 0644 -> "0644".
std::string FormatMode(uint32_t mode);

// Microseconds since the epoch -> "2024-05-01T12:00:00Z"; 0 -> "-".
std::string FormatTime(int64_t us);
// 3723 -> "1h02m03s"; negative durations print as "0s".
std::string FormatDuration(int64_t seconds);
// At most `max` bytes of `data` as printable ASCII: \n \t \\ and \xNN
// escapes, "..." appended when cut.
std::string Preview(std::string_view data, size_t max = 60);
// `s` for a terminal: printable ASCII and well-formed UTF-8 as they are;
// \\, \n, \t, \r, and \xNN for other control bytes, DEL and bytes that are
// not UTF-8; \u{XXXX} for C1 controls, bidirectional marks/overrides/
// isolates and the line/paragraph separators. Labels, paths and messages
// in human output go through it, so a newline in a label cannot forge a
// line (JSON output carries the exact bytes instead).
std::string Printable(std::string_view s);
// "8.0 MiB", "512 B".
std::string FormatBytes(uint64_t n);
// A transaction id as `fstx list` prints it: a positive decimal number.
bool ParseTxId(std::string_view text, uint64_t* id);

}  // namespace fstx::cli
