// virt/qcow2.cc — qcow2 header parsing and the in-place backing file name
// edit; see qcow2.h.

#include "src/virt/qcow2.h"

#include <algorithm>
#include <cstdio>

namespace fstx::virt::qcow2 {
namespace {

constexpr std::string_view kMagic("QFI\xfb", 4);

uint32_t Be32(std::string_view d, std::size_t off) {
  uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(d[off + i]);
  return v;
}

uint64_t Be64(std::string_view d, std::size_t off) {
  return (static_cast<uint64_t>(Be32(d, off)) << 32) | Be32(d, off + 4);
}

std::string PutBe32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 3; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return s;
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string N(uint64_t v) { return std::to_string(v); }

uint64_t Align8(uint64_t v) { return (v + 7) & ~uint64_t{7}; }

Status Truncated(uint64_t need, std::size_t have, const std::string& what) {
  return Status(Code::kInvalidArgument,
                "qcow2 header truncated: " + what + " needs the first " + N(need) +
                    " bytes, only " + N(have) +
                    " given (pass the whole first cluster; a shorter file is not a valid image)");
}

Status Corrupt(const std::string& what) {
  return Status(Code::kCorruption, "qcow2 header inconsistent: " + what);
}

Status CheckMagic(std::string_view data) {
  if (data.size() < kMagic.size() || data.substr(0, kMagic.size()) != kMagic) {
    std::string got = data.size() < 4 ? N(data.size()) + " bytes" : "magic " + Hex(Be32(data, 0));
    return Status(Code::kInvalidArgument,
                  "not a qcow2 image: " + got + ", expected the magic \"QFI\\xfb\" (0x514649fb)");
  }
  return Status::Ok();
}

// The fields every version has: version, where the backing file name is,
// cluster size, disk size, encryption.
Status ParseCommonFields(std::string_view data, Header& h) {
  if (data.size() < kV2HeaderLength) return Truncated(kV2HeaderLength, data.size(), "the header");
  h.version = Be32(data, 4);
  if (h.version != 2 && h.version != 3) {
    return Status(Code::kNotSupported,
                  "qcow2 version " + N(h.version) + " is not supported (only 2 and 3)");
  }
  h.backing_file_offset = Be64(data, 8);
  h.backing_file_size = Be32(data, 16);
  h.cluster_bits = Be32(data, 20);
  if (h.cluster_bits < kMinClusterBits || h.cluster_bits > kMaxClusterBits) {
    return Status(Code::kNotSupported, "qcow2 cluster_bits " + N(h.cluster_bits) +
                                           " is outside [9, 21] (512 B to 2 MiB clusters)");
  }
  h.cluster_size = uint64_t{1} << h.cluster_bits;
  h.size = Be64(data, 24);
  h.crypt_method = Be32(data, 32);
  return Status::Ok();
}

// Version 3's feature bits and header_length; version 2's fixed length.
Status ParseVersion3Fields(std::string_view data, Header& h) {
  if (h.version == 3) {
    if (data.size() < kV3MinHeaderLength) {
      return Truncated(kV3MinHeaderLength, data.size(), "the version 3 header");
    }
    h.incompatible_features = Be64(data, 72);
    h.compatible_features = Be64(data, 80);
    h.autoclear_features = Be64(data, 88);
    h.refcount_order = Be32(data, 96);
    h.header_length = Be32(data, 100);
    if (h.header_length < kV3MinHeaderLength || h.header_length % 8 != 0) {
      return Corrupt("header_length " + N(h.header_length) +
                     " (version 3 needs at least 104 and a multiple of 8)");
    }
    if (h.header_length > h.cluster_size) {
      return Corrupt("header_length " + N(h.header_length) + " is beyond the first cluster (" +
                     N(h.cluster_size) + " bytes)");
    }
    if (h.header_length > data.size()) {
      return Truncated(h.header_length, data.size(), "header_length " + N(h.header_length));
    }
  } else {
    h.header_length = kV2HeaderLength;
  }
  return Status::Ok();
}

// The backing file name's place: checked as qemu does (at most 1023 bytes,
// inside the first cluster), and not inside the header.
Status CheckBackingFilePlace(const Header& h) {
  const uint64_t boff = h.backing_file_offset;
  if (boff != 0) {
    if (h.backing_file_size > kMaxBackingFileSize) {
      return Corrupt("backing_file_size " + N(h.backing_file_size) + " is over 1023");
    }
    if (boff > h.cluster_size || boff + h.backing_file_size > h.cluster_size) {
      return Corrupt("backing file name at offset " + N(boff) + " (" +
                     N(h.backing_file_size) + " bytes) runs past the first cluster (" +
                     N(h.cluster_size) + " bytes)");
    }
    if (boff < h.header_length) {
      return Corrupt("backing file name at offset " + N(boff) + " overlaps the " +
                     N(h.header_length) + "-byte header");
    }
  }
  return Status::Ok();
}

// Header extensions, as qemu reads them: from header_length up to the
// backing file name (or the end of the first cluster), until the end marker.
Status ParseExtensions(std::string_view data, Header& h) {
  const uint64_t boff = h.backing_file_offset;
  const uint64_t limit = boff != 0 ? boff : h.cluster_size;
  uint64_t off = h.header_length;
  bool ended = false;
  while (off < limit) {
    if (off + 8 > limit) {
      return Corrupt("header extension at offset " + N(off) + " crosses offset " + N(limit) +
                     (boff != 0 ? " (the backing file name)" : " (the end of the first cluster)"));
    }
    if (off + 8 > data.size()) return Truncated(off + 8, data.size(), "the header extensions");
    Extension e;
    e.type = Be32(data, off);
    e.length = Be32(data, off + 4);
    e.data_offset = off + 8;
    if (e.length > limit - e.data_offset) {
      return Corrupt("header extension " + Hex(e.type) + " at offset " + N(off) + " (" +
                     N(e.length) + " bytes) runs past offset " + N(limit));
    }
    if (e.type == kExtEnd) {
      h.extensions_end = std::min<uint64_t>(e.data_offset + Align8(e.length), limit);
      ended = true;
      break;
    }
    if (e.data_offset + e.length > data.size()) {
      return Truncated(e.data_offset + e.length, data.size(),
                       "header extension " + Hex(e.type));
    }
    if (e.type == kExtBackingFormat && h.backing_format.empty()) {
      h.backing_format = std::string(data.substr(e.data_offset, e.length));
    }
    h.extensions.push_back(e);
    off = e.data_offset + Align8(e.length);
  }
  if (!ended) h.extensions_end = off;
  return Status::Ok();
}

Status ReadBackingFileName(std::string_view data, Header& h) {
  const uint64_t boff = h.backing_file_offset;
  if (boff != 0 && h.backing_file_size != 0) {
    if (boff + h.backing_file_size > data.size()) {
      return Truncated(boff + h.backing_file_size, data.size(), "the backing file name");
    }
    h.has_backing_file = true;
    h.backing_file = std::string(data.substr(boff, h.backing_file_size));
  }
  return Status::Ok();
}

}  // namespace

Result<Header> ParseHeader(std::string_view data) {
  Header h;
  if (Status s = CheckMagic(data); !s.ok()) return s;
  if (Status s = ParseCommonFields(data, h); !s.ok()) return s;
  if (Status s = ParseVersion3Fields(data, h); !s.ok()) return s;
  if (Status s = CheckBackingFilePlace(h); !s.ok()) return s;
  if (Status s = ParseExtensions(data, h); !s.ok()) return s;
  if (Status s = ReadBackingFileName(data, h); !s.ok()) return s;
  return h;
}

Result<std::string> ReadBackingFile(std::string_view head) {
  Result<Header> h = ParseHeader(head);
  if (!h.ok()) return h.status();
  return h->backing_file;
}

Result<std::vector<RangeEdit>> SetBackingFile(std::string_view head,
                                              std::string_view new_backing) {
  Result<Header> hr = ParseHeader(head);
  if (!hr.ok()) return hr.status();
  const Header& h = *hr;
  if (!h.has_backing_file) {
    return Status(Code::kInvalidArgument,
                  "qcow2 image has no backing file (backing_file_offset " +
                      N(h.backing_file_offset) + ", backing_file_size " +
                      N(h.backing_file_size) + "); there is no backing name to change");
  }
  const uint64_t inc = h.incompatible_features;
  if (inc & kIncompatDirty) {
    return Status(Code::kNotSupported,
                  "qcow2 image is marked dirty (incompatible feature bit 0): it was not closed "
                  "cleanly or is in use by a running QEMU; stop the guest and run "
                  "`qemu-img check -r all` on it first");
  }
  if (inc & kIncompatCorrupt) {
    return Status(Code::kNotSupported,
                  "qcow2 image is marked corrupt (incompatible feature bit 1); run "
                  "`qemu-img check -r all` on it first");
  }
  if (inc & ~kIncompatKnown) {
    return Status(Code::kNotSupported,
                  "qcow2 image has unknown incompatible feature bits " +
                      Hex(inc & ~kIncompatKnown) + "; not editing a header this code does not "
                      "fully understand");
  }
  if (h.autoclear_features & kAutoclearDataFileRaw) {
    return Status(Code::kNotSupported,
                  "qcow2 image has a raw external data file (autoclear bit 1), which the format "
                  "makes incompatible with a backing file; not editing");
  }
  if (new_backing.empty()) {
    return Status(Code::kInvalidArgument, "new qcow2 backing file name is empty");
  }
  if (new_backing.find('\0') != std::string_view::npos) {
    return Status(Code::kInvalidArgument, "new qcow2 backing file name contains a NUL byte");
  }
  if (new_backing.size() > kMaxBackingFileSize) {
    return Status(Code::kInvalidArgument, "new qcow2 backing file name is " +
                                              N(new_backing.size()) +
                                              " bytes; the format allows at most 1023");
  }
  const uint64_t off = h.backing_file_offset;
  if (off < h.extensions_end) {
    return Status(Code::kNotSupported,
                  "qcow2 backing file name at offset " + N(off) +
                      " lies inside the header extension area (which ends at " +
                      N(h.extensions_end) + "); not editing it in place");
  }
  if (off + new_backing.size() > h.cluster_size) {
    return Status(Code::kNotSupported,
                  "new qcow2 backing file name (" + N(new_backing.size()) +
                      " bytes) does not fit in the first cluster at offset " + N(off) +
                      ": at most " + N(h.cluster_size - off) + " bytes fit before byte " +
                      N(h.cluster_size) + " (the name is never moved)");
  }
  const uint64_t len = std::max<uint64_t>(h.backing_file_size, new_backing.size());
  if (off + len > head.size()) return Truncated(off + len, head.size(), "the new backing name");

  std::vector<RangeEdit> edits(2);
  edits[0].offset = off;
  edits[0].old_bytes = std::string(head.substr(off, len));
  edits[0].new_bytes = std::string(new_backing);
  edits[0].new_bytes.resize(len, '\0');
  edits[1].offset = 16;
  edits[1].old_bytes = std::string(head.substr(16, 4));
  edits[1].new_bytes = PutBe32(static_cast<uint32_t>(new_backing.size()));
  return edits;
}

Status ApplyEdits(std::string& data, const std::vector<RangeEdit>& edits) {
  for (const RangeEdit& e : edits) {
    if (e.old_bytes.size() != e.new_bytes.size()) {
      return Status(Code::kInvalidArgument, "range edit at offset " + N(e.offset) +
                                                ": old and new lengths differ");
    }
    if (e.offset > data.size() || e.old_bytes.size() > data.size() - e.offset) {
      return Status(Code::kInvalidArgument, "range edit at offset " + N(e.offset) + " (" +
                                                N(e.old_bytes.size()) + " bytes) is past the " +
                                                N(data.size()) + " bytes given");
    }
    if (data.compare(e.offset, e.old_bytes.size(), e.old_bytes) != 0) {
      return Status(Code::kInvalidArgument,
                    "range edit at offset " + N(e.offset) + ": the bytes there changed");
    }
  }
  for (const RangeEdit& e : edits) data.replace(e.offset, e.new_bytes.size(), e.new_bytes);
  return Status::Ok();
}

}  // namespace fstx::virt::qcow2
