// codec.cc — envelope + cereal portable-binary payload of a TxRecord.
//
// The byte layout is specified in journal/FORMAT.md; keep the two in step.
// Decoding never trusts a length it has not checked: strings and vectors
// are bounded by the bytes actually left in the payload before anything is
// allocated, so even a payload with a valid checksum but hostile sizes
// fails cleanly with kCorruption.
#include "journal/codec.h"
#include "journal/crc32c.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdio>
#include <exception>
#include <istream>
#include <sstream>
#include <streambuf>
#include <type_traits>

#include "fstx/fs.h"

namespace fstx {
namespace {

constexpr size_t kHeaderSize = 16;  // magic, version, reserved, length, crc

// Read-only streambuf over caller memory; knows how much is left.
class MemBuf : public std::streambuf {
 public:
  MemBuf(const char* p, size_t n) {
    char* b = const_cast<char*>(p);
    setg(b, b, b + n);
  }
  size_t remaining() const { return static_cast<size_t>(egptr() - gptr()); }
};

// The buffer being decoded on this thread (bounds string/vector sizes).
thread_local const MemBuf* t_decoding = nullptr;
// The format version of the record being encoded or decoded on this thread.
thread_local uint16_t t_version = kFormatVersion;

void CheckSize(uint64_t n, size_t min_elem_bytes) {
  size_t left = t_decoding ? t_decoding->remaining() : 0;
  if (n > left / min_elem_bytes) {
    throw cereal::Exception("size " + std::to_string(n) + " exceeds the " + std::to_string(left) +
                            " payload bytes left");
  }
}

// Strings: cereal's own encoding (u64 size, then the bytes), but the size is
// checked against the remaining payload before the string is resized.
template <class Archive>
void Text(Archive& ar, std::string& s) {
  if constexpr (Archive::is_loading::value) {
    cereal::size_type n = 0;
    ar(cereal::make_size_tag(n));
    CheckSize(n, 1);
    s.resize(static_cast<size_t>(n));
    ar(cereal::binary_data(s.data(), s.size()));
  } else {
    ar(s);
  }
}

// Enums and bools go through an explicit uint8 so the byte on disk is the
// documented tag and loading never materialises an out-of-range value.
template <class Archive, class E>
void Tag(Archive& ar, E& e) {
  uint8_t v = static_cast<uint8_t>(e);
  ar(v);
  if constexpr (Archive::is_loading::value) e = static_cast<E>(v);
}

template <class Archive>
void Flag(Archive& ar, bool& b) {
  uint8_t v = b ? 1 : 0;
  ar(v);
  if constexpr (Archive::is_loading::value) {
    if (v > 1) throw cereal::Exception("bool byte " + std::to_string(v) + " is not 0 or 1");
    b = v == 1;
  }
}

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

void PutU16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v & 0xff));
  s->push_back(static_cast<char>(v >> 8));
}

void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; i++) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint16_t GetU16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

uint32_t GetU32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

Status Corrupt(const std::string& what) {
  return Status(Code::kCorruption, "journal record: " + what);
}

// Semantic checks after a successful cereal load: every tag must be known.
Status CheckTags(const TxRecord& r, uint16_t version) {
  const uint8_t max_kind = version >= 2 ? 6 : 5;  // write_range is format 2
  auto policy = static_cast<uint8_t>(r.policy);
  if (policy < 1 || policy > 2) return Corrupt("unknown policy tag " + std::to_string(policy));
  const uint8_t max_state = version >= 3 ? 7 : 6;  // abandoned is format 3
  auto state = static_cast<uint8_t>(r.state);
  if (state < 1 || state > max_state) return Corrupt("unknown state tag " + std::to_string(state));
  for (size_t i = 0; i < r.intents.size(); i++) {
    const Intent& in = r.intents[i];
    auto kind = static_cast<uint8_t>(in.kind);
    if (kind < 1 || kind > max_kind) {
      return Corrupt("intent " + std::to_string(i) + ": unknown op kind tag " +
                     std::to_string(kind));
    }
    // A staged content file is a write_file's, in its staging directory.
    if (!in.content.empty() &&
        (in.kind != OpKind::kWriteFile || in.stage.empty() || in.content.size() <= in.stage.size() + 1 ||
         in.content.compare(0, in.stage.size() + 1, in.stage + "/") != 0 ||
         in.content.find('/', in.stage.size() + 1) != std::string::npos)) {
      return Corrupt("intent " + std::to_string(i) + ": staged content path \"" + in.content +
                     "\" is not a write_file's file in its staging directory \"" + in.stage + "\"");
    }
    for (const Fingerprint* f : {&in.moved, &in.before}) {
      if (f->type > static_cast<uint8_t>(FileType::kOther)) {
        return Corrupt("intent " + std::to_string(i) + ": unknown file type tag " +
                       std::to_string(f->type));
      }
    }
  }
  return Status::Ok();
}


}  // namespace

// --- cereal serialize functions (field order is the on-disk order) ---

template <class Archive>
void serialize(Archive& ar, Fingerprint& f) {
  ar(f.type, f.dev, f.ino, f.mode, f.uid, f.gid, f.size, f.btime_ns);
}

template <class Archive>
void serialize(Archive& ar, Intent& i) {
  Tag(ar, i.kind);
  Text(ar, i.path);
  Text(ar, i.src);
  Flag(ar, i.replace);
  ar(i.mode);
  Text(ar, i.data);
  ar(i.moved, i.before);
  if (t_version >= 2) {
    Text(ar, i.stage);
    ar(i.offset);
    Text(ar, i.old_data);
    ar(i.data_size);
    Text(ar, i.data_hash);
    if (t_version >= 4) Text(ar, i.content);
  } else if constexpr (Archive::is_loading::value) {
    i.data_size = i.data.size();  // format 1 always held the content inline
  }
}

template <class Archive>
void serialize(Archive& ar, Owner& o) {
  ar(o.pid, o.start_time);
  Text(ar, o.boot_id);
}

template <class Archive>
void serialize(Archive& ar, TxRecord& r) {
  ar(r.id);
  Text(ar, r.label);
  ar(r.owner);
  Tag(ar, r.policy);
  Tag(ar, r.state);
  ar(r.created_us, r.finished_us);
  Text(ar, r.note);
  if constexpr (Archive::is_loading::value) {
    cereal::size_type n = 0;
    ar(cereal::make_size_tag(n));
    CheckSize(n, 1);  // every intent takes well over one byte
    r.intents.resize(static_cast<size_t>(n));
    for (Intent& in : r.intents) ar(in);
  } else {
    ar(r.intents);
  }
}

std::string EncodeRecord(const TxRecord& rec) {
  std::ostringstream payload_stream(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(
        payload_stream, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    ar(rec);
  }
  std::string payload = std::move(payload_stream).str();

  std::string out;
  out.reserve(kHeaderSize + payload.size());
  PutU32(&out, kRecordMagic);
  PutU16(&out, kFormatVersion);  // EncodeRecord always writes the newest
  PutU16(&out, 0);
  PutU32(&out, static_cast<uint32_t>(payload.size()));
  PutU32(&out, Crc32c(payload));
  out += payload;
  return out;
}

Status DecodeRecord(std::string_view bytes, TxRecord* rec) {
  if (bytes.size() < kHeaderSize) {
    return Corrupt("too short: " + std::to_string(bytes.size()) + " bytes, the header alone is " +
                   std::to_string(kHeaderSize));
  }
  const auto* h = reinterpret_cast<const unsigned char*>(bytes.data());
  uint32_t magic = GetU32(h);
  if (magic != kRecordMagic) {
    return Corrupt("not an fstx record (foreign magic " + Hex32(magic) + ", expected " +
                   Hex32(kRecordMagic) + ")");
  }
  uint16_t version = GetU16(h + 4);
  if (version > kFormatVersion) {
    return Status(Code::kNotSupported, "journal record: format version " + std::to_string(version) +
                                           " is newer than this fstx supports (" +
                                           std::to_string(kFormatVersion) + "); upgrade fstx");
  }
  if (version < kOldestFormatVersion)
    return Corrupt("unknown format version " + std::to_string(version));
  uint16_t reserved = GetU16(h + 6);
  if (reserved != 0)
    return Corrupt("reserved header field is " + std::to_string(reserved) + ", not 0");
  uint32_t length = GetU32(h + 8);
  size_t actual = bytes.size() - kHeaderSize;
  if (length != actual) {
    return Corrupt("length mismatch: header says " + std::to_string(length) +
                   " payload bytes, value holds " + std::to_string(actual));
  }
  std::string_view payload = bytes.substr(kHeaderSize);
  uint32_t stored = GetU32(h + 12);
  uint32_t computed = Crc32c(payload);
  if (stored != computed) {
    return Corrupt("checksum mismatch: stored " + Hex32(stored) + ", computed " + Hex32(computed));
  }

  // cereal writes the archive's endianness first; fstx always writes 1.
  if (payload.empty() || payload[0] != 1) {
    return Corrupt("payload does not decode: endianness byte is not 1 (little-endian)");
  }

  TxRecord tmp;
  MemBuf buf(payload.data(), payload.size());
  const MemBuf* saved = t_decoding;
  t_decoding = &buf;
  t_version = version;
  std::string error;
  try {
    std::istream in(&buf);
    cereal::PortableBinaryInputArchive ar(in);
    ar(tmp);
  } catch (const cereal::Exception& e) {
    error = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  }
  t_decoding = saved;
  t_version = kFormatVersion;
  if (!error.empty()) return Corrupt("payload does not decode: " + error);
  if (buf.remaining() != 0) {
    return Corrupt("trailing bytes: " + std::to_string(buf.remaining()) +
                   " payload bytes left after the record");
  }
  Status s = CheckTags(tmp, version);
  if (!s.ok()) return s;
  *rec = std::move(tmp);
  return Status::Ok();
}

}  // namespace fstx
