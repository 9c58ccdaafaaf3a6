// Tests for journal/codec.{h,cc} and the enum names in journal/record.h:
// round trips, the envelope layout, and that every kind of damage is
// reported as the right error instead of a half-decoded record.
#include "journal/codec.h"

#include <gtest/gtest.h>

#include <string>

#include "journal/record.h"

namespace fstx {
namespace {

Fingerprint Fp(uint8_t type, uint64_t seed) {
  Fingerprint f;
  f.type = type;
  f.dev = 0x0102030405060708ull + seed;
  f.ino = 0xfffffffffffffff0ull - seed;
  f.mode = 0100644 + static_cast<uint32_t>(seed);
  f.uid = 1000 + static_cast<uint32_t>(seed);
  f.gid = 2000 + static_cast<uint32_t>(seed);
  f.size = 1ull << (32 + seed);
  f.btime_ns = 1700000000000000000ull + seed;
  return f;
}

TxRecord FullRecord() {
  TxRecord r;
  r.id = 0x1122334455667788ull;
  r.label = "rename domain vm1 -> vm2";
  r.owner.pid = 4242;
  r.owner.start_time = 987654321;
  r.owner.boot_id = "0c5e8bbc-7a53-4a1e-9a3f-55c1d2e0a001";
  r.policy = Policy::kRollforward;
  r.state = TxState::kRollingBack;
  r.created_us = 1700000000123456;
  r.finished_us = -5;  // signed fields keep their sign
  r.note = "rename /a -> /b: No space left on device (ENOSPC)";

  Intent ren;
  ren.kind = OpKind::kRename;
  ren.path = "/etc/libvirt/qemu/vm2.xml";
  ren.src = "/etc/libvirt/qemu/vm1.xml";
  ren.replace = true;
  ren.moved = Fp(1, 1);
  ren.before = Fp(1, 2);
  Intent wr;
  wr.kind = OpKind::kWriteFile;
  wr.path = "/var/lib/x/blob";
  wr.mode = 0640;
  wr.data = std::string("\0\x01\xff\x00binary\0", 11) + std::string(3000, '\xab');
  wr.before = Fp(1, 3);
  wr.stage = "/var/lib/x/.fstx";
  wr.data_size = wr.data.size();
  wr.data_hash = std::string("\x01\x02\0\xff", 4) + std::string(12, 'h');
  Intent sym;
  sym.kind = OpKind::kSymlink;
  sym.path = "/etc/libvirt/qemu/autostart/vm2.xml";
  sym.data = "../vm2.xml";
  sym.replace = false;
  Intent rm;
  rm.kind = OpKind::kRemove;
  rm.path = "/tmp/dir";
  rm.moved = Fp(2, 4);
  Intent mk;
  mk.kind = OpKind::kMkdir;
  mk.path = "/srv/new";
  mk.mode = 0750;
  r.intents = {ren, wr, sym, rm, mk};
  return r;
}

void ExpectSameFp(const Fingerprint& a, const Fingerprint& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.dev, b.dev);
  EXPECT_EQ(a.ino, b.ino);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.btime_ns, b.btime_ns);
}

void ExpectSameRecord(const TxRecord& a, const TxRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.label, b.label);
  EXPECT_EQ(a.owner.pid, b.owner.pid);
  EXPECT_EQ(a.owner.start_time, b.owner.start_time);
  EXPECT_EQ(a.owner.boot_id, b.owner.boot_id);
  EXPECT_EQ(a.policy, b.policy);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.created_us, b.created_us);
  EXPECT_EQ(a.finished_us, b.finished_us);
  EXPECT_EQ(a.note, b.note);
  ASSERT_EQ(a.intents.size(), b.intents.size());
  for (size_t i = 0; i < a.intents.size(); i++) {
    SCOPED_TRACE("intent " + std::to_string(i));
    const Intent& x = a.intents[i];
    const Intent& y = b.intents[i];
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.path, y.path);
    EXPECT_EQ(x.src, y.src);
    EXPECT_EQ(x.replace, y.replace);
    EXPECT_EQ(x.mode, y.mode);
    EXPECT_EQ(x.data, y.data);
    ExpectSameFp(x.moved, y.moved);
    ExpectSameFp(x.before, y.before);
    EXPECT_EQ(x.stage, y.stage);
    EXPECT_EQ(x.offset, y.offset);
    EXPECT_EQ(x.old_data, y.old_data);
    EXPECT_EQ(x.data_size, y.data_size);
    EXPECT_EQ(x.data_hash, y.data_hash);
  }
}

uint32_t U32At(const std::string& s, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--)
    v = (v << 8) | static_cast<unsigned char>(s[off + static_cast<size_t>(i)]);
  return v;
}

void PutU32At(std::string* s, size_t off, uint32_t v) {
  for (size_t i = 0; i < 4; i++) (*s)[off + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// A fresh envelope (correct length and CRC) around an arbitrary payload, to
// reach the checks that come after the checksum.
std::string Reseal(const std::string& payload) {
  std::string out = EncodeRecord(TxRecord{}).substr(0, 16);
  PutU32At(&out, 8, static_cast<uint32_t>(payload.size()));
  PutU32At(&out, 12, Crc32c(payload));
  return out + payload;
}

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  // RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string inc;
  for (int i = 0; i < 32; i++) inc.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc32c(inc), 0x46DD794Eu);
}

// The bit-at-a-time definition, to check the fast ones against.
uint32_t Crc32cBitwise(std::string_view data) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

// Slicing-by-8 and the SSE 4.2 instruction agree with the definition on
// every length up to 300 bytes at every alignment, and when extended in
// pieces; the hardware one is checked wherever the CPU has it (the
// suite says which it tested).
TEST(Crc32cTest, FastImplementationsMatchTheDefinition) {
  std::string buf(320, '\0');
  uint32_t x = 12345;
  for (char& ch : buf) ch = static_cast<char>((x = x * 1103515245u + 12345u) >> 16);
  int hw_checked = 0;
  for (size_t align = 0; align < 8; ++align) {
    for (size_t len = 0; len + align <= 300; ++len) {
      const std::string_view d(buf.data() + align, len);
      const uint32_t want = Crc32cBitwise(d);
      ASSERT_EQ(crc32c::ExtendTable(0, d), want) << "len " << len << " align " << align;
      ASSERT_EQ(crc32c::ExtendTable(crc32c::ExtendTable(0, d.substr(0, len / 3)), d.substr(len / 3)), want);
      if (crc32c::HaveHardware()) {
        ASSERT_EQ(crc32c::ExtendHardware(0, d), want) << "len " << len << " align " << align;
        ASSERT_EQ(crc32c::ExtendHardware(crc32c::ExtendHardware(0, d.substr(0, len / 2)), d.substr(len / 2)), want);
        ++hw_checked;
      }
      ASSERT_EQ(Crc32c(d), want);
    }
  }
  RecordProperty("hardware_crc32c_checked", hw_checked);
}

TEST(CodecTest, RoundTripsEveryField) {
  TxRecord in = FullRecord();
  std::string bytes = EncodeRecord(in);
  TxRecord out;
  ASSERT_TRUE(DecodeRecord(bytes, &out).ok());
  ExpectSameRecord(in, out);
  EXPECT_EQ(EncodeRecord(out), bytes);  // deterministic
}

TEST(CodecTest, RoundTripsEmptyRecord) {
  TxRecord in;
  TxRecord out = FullRecord();
  ASSERT_TRUE(DecodeRecord(EncodeRecord(in), &out).ok());
  ExpectSameRecord(in, out);
}

TEST(CodecTest, EnvelopeLayout) {
  std::string bytes = EncodeRecord(FullRecord());
  ASSERT_GT(bytes.size(), 16u);
  EXPECT_EQ(bytes.substr(0, 4), "FXTR");
  EXPECT_EQ(bytes[4], 4);  // version, little-endian u16
  EXPECT_EQ(bytes[5], 0);
  EXPECT_EQ(bytes[6], 0);  // reserved
  EXPECT_EQ(bytes[7], 0);
  EXPECT_EQ(U32At(bytes, 8), bytes.size() - 16);
  EXPECT_EQ(U32At(bytes, 12), Crc32c(std::string_view(bytes).substr(16)));
  EXPECT_EQ(bytes[16], 1);  // cereal's endianness byte: little
  // The id follows as a little-endian u64.
  EXPECT_EQ(static_cast<unsigned char>(bytes[17]), 0x88);
  EXPECT_EQ(static_cast<unsigned char>(bytes[24]), 0x11);
}

TEST(CodecTest, EveryFlippedPayloadByteIsAChecksumMismatch) {
  std::string good = EncodeRecord(FullRecord());
  for (size_t i = 16; i < good.size(); i += 7) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    TxRecord out;
    out.label = "untouched";
    Status s = DecodeRecord(bad, &out);
    ASSERT_EQ(s.code(), Code::kCorruption) << "byte " << i;
    EXPECT_NE(s.message().find("checksum mismatch: stored 0x"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("computed 0x"), std::string::npos) << s.message();
    EXPECT_EQ(out.label, "untouched");  // never half-decoded
  }
}

TEST(CodecTest, ForeignMagic) {
  std::string bytes = EncodeRecord(FullRecord());
  bytes[0] = 'G';
  TxRecord out;
  Status s = DecodeRecord(bytes, &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("not an fstx record (foreign magic 0x52545847"), std::string::npos)
      << s.message();
}

TEST(CodecTest, TruncatedAndExtended) {
  std::string bytes = EncodeRecord(FullRecord());
  TxRecord out;
  for (size_t n : {size_t{0}, size_t{3}, size_t{15}}) {
    Status s = DecodeRecord(std::string_view(bytes).substr(0, n), &out);
    EXPECT_EQ(s.code(), Code::kCorruption);
    EXPECT_NE(s.message().find("too short"), std::string::npos) << s.message();
  }
  for (size_t n : {size_t{16}, size_t{17}, bytes.size() / 2, bytes.size() - 1}) {
    Status s = DecodeRecord(std::string_view(bytes).substr(0, n), &out);
    EXPECT_EQ(s.code(), Code::kCorruption);
    EXPECT_NE(s.message().find("length mismatch"), std::string::npos) << s.message();
  }
  Status s = DecodeRecord(bytes + "x", &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("length mismatch"), std::string::npos) << s.message();
}

TEST(CodecTest, NewerVersionIsNotSupportedOlderIsCorrupt) {
  std::string bytes = EncodeRecord(FullRecord());
  bytes[4] = 5;
  TxRecord out;
  Status s = DecodeRecord(bytes, &out);
  EXPECT_EQ(s.code(), Code::kNotSupported);
  EXPECT_NE(s.message().find("version 5"), std::string::npos) << s.message();
  bytes[4] = 0;
  s = DecodeRecord(bytes, &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("unknown format version 0"), std::string::npos) << s.message();
  bytes[4] = 2;
  bytes[6] = 1;  // reserved must stay 0
  EXPECT_EQ(DecodeRecord(bytes, &out).code(), Code::kCorruption);
}

TEST(CodecTest, ChecksummedButUndecodablePayload) {
  std::string payload = EncodeRecord(FullRecord()).substr(16);
  TxRecord out;
  // Cut short: cereal runs out of bytes.
  Status s = DecodeRecord(Reseal(payload.substr(0, payload.size() - 10)), &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("payload does not decode"), std::string::npos) << s.message();
  // Extra bytes after a complete record.
  s = DecodeRecord(Reseal(payload + "zz"), &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("trailing bytes"), std::string::npos) << s.message();
  // Big-endian archive marker.
  std::string be = payload;
  be[0] = 0;
  EXPECT_EQ(DecodeRecord(Reseal(be), &out).code(), Code::kCorruption);
}

// Offsets in the payload of TxRecord{} (all strings empty):
//   0 endianness, 1..8 id, 9..16 label size, 17..24 pid, 25..32 start_time,
//   33..40 boot_id size, 41 policy, 42 state.
TEST(CodecTest, UnknownTagsAreCorruption) {
  std::string payload = EncodeRecord(TxRecord{}).substr(16);
  ASSERT_EQ(payload[41], 1);
  ASSERT_EQ(payload[42], 1);
  TxRecord out;
  std::string p = payload;
  p[41] = 9;
  Status s = DecodeRecord(Reseal(p), &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("unknown policy tag 9"), std::string::npos) << s.message();
  p = payload;
  p[42] = 0;
  s = DecodeRecord(Reseal(p), &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("unknown state tag 0"), std::string::npos) << s.message();

  TxRecord one;
  one.intents.resize(1);
  std::string ip = EncodeRecord(one).substr(16);
  // After the header fields: created(8) finished(8) note size(8) count(8).
  size_t kind_at = 43 + 8 + 8 + 8 + 8;
  ASSERT_EQ(ip[kind_at], 1);
  ip[kind_at] = 7;
  s = DecodeRecord(Reseal(ip), &out);
  EXPECT_NE(s.message().find("unknown op kind tag 7"), std::string::npos) << s.message();
  ip[kind_at] = 1;
  // path size(8) src size(8), then the replace flag.
  ip[kind_at + 1 + 16] = 2;
  s = DecodeRecord(Reseal(ip), &out);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("bool"), std::string::npos) << s.message();
}

TEST(CodecTest, HostileSizesFailWithoutAllocating) {
  std::string payload = EncodeRecord(TxRecord{}).substr(16);
  TxRecord out;
  for (uint64_t size : {uint64_t{1} << 40, ~uint64_t{0}, uint64_t{1000}}) {
    std::string p = payload;
    for (size_t i = 0; i < 8; i++) p[9 + i] = static_cast<char>((size >> (8 * i)) & 0xff);  // label
    Status s = DecodeRecord(Reseal(p), &out);
    EXPECT_EQ(s.code(), Code::kCorruption);
    EXPECT_NE(s.message().find("exceeds"), std::string::npos) << s.message();
  }
  // Intent count.
  std::string p = payload;
  for (size_t i = 0; i < 8; i++) p[p.size() - 8 + i] = '\x7f';
  EXPECT_EQ(DecodeRecord(Reseal(p), &out).code(), Code::kCorruption);
}

// FORMAT.md's worked example as fstx 0.1 wrote it: format version 1,
// 222 bytes.
const std::string kV1Example(
      "\x46\x58\x54\x52\x01\x00\x00\x00\xce\x00\x00\x00\xbd\xa7\x02\x12"
      "\x01\x07\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00"
      "\x00\x64\x65\x6d\x6f\xd2\x04\x00\x00\x00\x00\x00\x00\x2e\x16\x00"
      "\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x62\x31\x01"
      "\x01\x00\x40\x1e\x18\x24\x0a\x06\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
      "\x00\x03\x04\x00\x00\x00\x00\x00\x00\x00\x2f\x61\x2f\x6c\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00\x00"
      "\x00\x00\x00\x74\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x03\x03\x08\x00\x00\x00\x00\x00\x00\x34\x12\x00\x00\x00\x00"
      "\x00\x00\xff\xa1\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00"
      "\x00\x00\x00\x00\x00\x00\x15\xcd\x85\x3d\xfe\x9c\x97\x17",
    222);

// The symlink intent of the worked examples in journal/FORMAT.md.
TxRecord DocExampleRecord() {
  TxRecord r;
  r.id = 7;
  r.label = "demo";
  r.owner.pid = 1234;
  r.owner.start_time = 5678;
  r.owner.boot_id = "b1";
  r.created_us = 1700000000000000;
  Intent in;
  in.kind = OpKind::kSymlink;
  in.path = "/a/l";
  in.replace = true;
  in.data = "t";
  in.before.type = 3;
  in.before.dev = 0x803;
  in.before.ino = 0x1234;
  in.before.mode = 0120777;
  in.before.size = 1;
  in.before.btime_ns = 1700000000123456789ull;
  r.intents.push_back(in);
  return r;
}

// The worked example in journal/FORMAT.md, byte for byte: a change here is a
// format change (bump kFormatVersion and update the document).
TEST(CodecTest, MatchesFormatDocExample) {
  TxRecord r = DocExampleRecord();
  r.intents[0].stage = "/a/.fstx";
  // Version 4 is the version-1 bytes with the version-2 intent fields
  // appended (stage "/a/.fstx", then zero offset, old_data, data_size and
  // data_hash), the version-4 one (empty content), and a new header:
  // version 4, length 262, its CRC (which covers the payload only).
  std::string golden = kV1Example;
  golden.replace(4, 12, std::string("\x04\x00\x00\x00\x06\x01\x00\x00\xb0\xc2\x58\xee", 12));
  golden += std::string("\x08\x00\x00\x00\x00\x00\x00\x00/a/.fstx", 16) + std::string(32 + 8, '\0');
  ASSERT_EQ(golden.size(), 278u);
  EXPECT_EQ(EncodeRecord(r), golden);
  TxRecord back;
  ASSERT_TRUE(DecodeRecord(golden, &back).ok());
  EXPECT_EQ(back.intents.at(0).data, "t");
  EXPECT_EQ(back.intents.at(0).stage, "/a/.fstx");
  EXPECT_EQ(back.intents.at(0).content, "");
}

// The same record as fstx 0.2/0.3 wrote it (version 3, FORMAT.md section
// 8): it decodes unchanged, with no staged content.
TEST(CodecTest, DecodesFormatVersion3Records) {
  std::string v3 = kV1Example;
  v3.replace(4, 12, std::string("\x03\x00\x00\x00\xfe\x00\x00\x00\x62\x3b\x37\x8d", 12));
  v3 += std::string("\x08\x00\x00\x00\x00\x00\x00\x00/a/.fstx", 16) + std::string(32, '\0');
  ASSERT_EQ(v3.size(), 270u);
  TxRecord back;
  ASSERT_TRUE(DecodeRecord(v3, &back).ok());
  TxRecord want = DocExampleRecord();
  want.intents[0].stage = "/a/.fstx";
  ExpectSameRecord(want, back);
  EXPECT_EQ(back.intents[0].content, "");
}

// Staged content (format 4) belongs to a write_file, in its own staging
// directory: a record naming any other path there is corrupt, so that
// recovery never renames or deletes a file a record merely points at.
TEST(CodecTest, StagedContentMustBeAWriteFilesStagingFile) {
  TxRecord r = DocExampleRecord();
  Intent& in = r.intents[0];
  in.stage = "/a/.fstx";
  in.kind = OpKind::kWriteFile;
  in.data.clear();
  for (const char* bad : {"/a/x", "/a/.fstx/", "/a/.fstx/d/x", "/b/.fstx/c", "/a/.fstxc"}) {
    in.content = bad;
    TxRecord back;
    Status s = DecodeRecord(EncodeRecord(r), &back);
    EXPECT_EQ(s.code(), Code::kCorruption) << bad;
    EXPECT_NE(s.message().find("staged content path"), std::string::npos) << s.message();
  }
  in.content = "/a/.fstx/.fstx-content-1-2-abcd-3";
  TxRecord back;
  ASSERT_TRUE(DecodeRecord(EncodeRecord(r), &back).ok());
  EXPECT_EQ(back.intents[0].content, in.content);
  in.kind = OpKind::kSymlink;  // only a write_file stages content
  EXPECT_EQ(DecodeRecord(EncodeRecord(r), &back).code(), Code::kCorruption);
}

// A format-1 record (FORMAT.md's version-1 example) still decodes: no
// staging directory (sibling staging names), content size from the data.
TEST(CodecTest, DecodesFormatVersion1Records) {
  const std::string& v1 = kV1Example;
  TxRecord back;
  ASSERT_TRUE(DecodeRecord(v1, &back).ok());
  TxRecord want = DocExampleRecord();
  want.intents[0].data_size = 1;
  ExpectSameRecord(want, back);
  EXPECT_EQ(back.intents[0].stage, "");
  // A version-1 record may not hold a write_range (op kind 6).
  std::string p = v1.substr(16);
  // endianness, id, label, pid, start time, boot id, policy, state,
  // created, finished, note, intent count: then the first intent's kind.
  const size_t kind_at = 1 + 8 + (8 + 4) + 8 + 8 + (8 + 2) + 1 + 1 + 8 + 8 + (8 + 0) + 8;
  ASSERT_EQ(p[kind_at], 3);
  p[kind_at] = 6;
  std::string sealed = Reseal(p);
  sealed[4] = 1;
  Status s = DecodeRecord(sealed, &back);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("unknown op kind tag 6"), std::string::npos) << s.message();
}

// State 7 (abandoned) is format 3: a record of an older version holding it
// is corrupt, as an older reader would say of a version-3 record.
TEST(CodecTest, AbandonedStateIsFormat3) {
  TxRecord r = DocExampleRecord();
  r.intents[0].stage = "/a/.fstx";
  r.state = TxState::kAbandoned;
  std::string bytes = EncodeRecord(r);
  TxRecord back;
  ASSERT_TRUE(DecodeRecord(bytes, &back).ok());
  EXPECT_EQ(back.state, TxState::kAbandoned);
  // The same payload without the version-4 field (an empty content
  // string), claimed as version 2.
  bytes = Reseal(bytes.substr(16, bytes.size() - 16 - 8));
  bytes[4] = 2;
  Status s = DecodeRecord(bytes, &back);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("unknown state tag 7"), std::string::npos) << s.message();
}

TEST(CodecTest, HistoryKeepsNoWrittenContent) {
  TxRecord r = FullRecord();
  StripContent(&r);
  for (const Intent& in : r.intents) {
    if (in.kind == OpKind::kWriteFile) {
      EXPECT_TRUE(in.data.empty());
      EXPECT_EQ(in.data_size, 3011u);
      EXPECT_EQ(in.data_hash.size(), 16u);
    }
    if (in.kind == OpKind::kSymlink) {
      EXPECT_EQ(in.data, "../vm2.xml");
    }
  }
}

TEST(RecordNamesTest, AllEnumsHaveStableNames) {
  EXPECT_STREQ(op_kind_name(OpKind::kRename), "rename");
  EXPECT_STREQ(op_kind_name(OpKind::kWriteFile), "write_file");
  EXPECT_STREQ(op_kind_name(OpKind::kSymlink), "symlink");
  EXPECT_STREQ(op_kind_name(OpKind::kRemove), "remove");
  EXPECT_STREQ(op_kind_name(OpKind::kMkdir), "mkdir");
  EXPECT_STREQ(policy_name(Policy::kRollback), "rollback");
  EXPECT_STREQ(policy_name(Policy::kRollforward), "rollforward");
  EXPECT_STREQ(tx_state_name(TxState::kPrepared), "prepared");
  EXPECT_STREQ(tx_state_name(TxState::kCommitted), "committed");
  EXPECT_STREQ(tx_state_name(TxState::kDone), "done");
  EXPECT_STREQ(tx_state_name(TxState::kRollingBack), "rolling_back");
  EXPECT_STREQ(tx_state_name(TxState::kAborted), "aborted");
  EXPECT_STREQ(tx_state_name(TxState::kNeedsAttention), "needs_attention");
  EXPECT_STREQ(tx_state_name(TxState::kAbandoned), "abandoned");
  EXPECT_STREQ(op_kind_name(static_cast<OpKind>(99)), "unknown");
}

TEST(RecordNamesTest, TagValuesAreOnDiskConstants) {
  // Renumbering any of these breaks existing journals (FORMAT.md).
  EXPECT_EQ(static_cast<int>(OpKind::kRename), 1);
  EXPECT_EQ(static_cast<int>(OpKind::kMkdir), 5);
  EXPECT_EQ(static_cast<int>(Policy::kRollforward), 2);
  EXPECT_EQ(static_cast<int>(TxState::kNeedsAttention), 6);
  EXPECT_EQ(kRecordMagic, 0x52545846u);
  EXPECT_EQ(static_cast<int>(OpKind::kWriteRange), 6);
  EXPECT_EQ(static_cast<int>(TxState::kAbandoned), 7);
  EXPECT_EQ(kFormatVersion, 4);
  EXPECT_EQ(kOldestFormatVersion, 1);
}

}  // namespace
}  // namespace fstx
