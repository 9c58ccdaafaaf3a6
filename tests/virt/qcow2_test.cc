// Tests of src/virt/qcow2: header parsing and the in-place backing-name edit,
// on real images made by qemu-img ($QEMU_IMG). The edits are applied with
// pwrite, as the journal's write_range will, and the result is checked by
// qemu-img itself: `info --backing-chain` opens the chain through the new
// name, `check` is clean, and the guest data reads through the chain.
#include "src/virt/qcow2.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace fstx::virt::qcow2 {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using nlohmann::json;

// --- Helpers -------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/fstx-qcow2-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = fs::canonical(tmpl).string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path, std::size_t max = SIZE_MAX) {
  std::ifstream in(path, std::ios::binary);
  std::string data;
  if (!in) return data;
  std::ostringstream ss;
  ss << in.rdbuf();
  data = ss.str();
  if (data.size() > max) data.resize(max);
  return data;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// What the planner does: read the header's cluster_bits, then the whole
// first cluster (or the file, if shorter).
std::string ReadFirstCluster(const std::string& path) {
  std::string head = ReadFile(path, 24);
  if (head.size() < 24) return head;
  uint32_t bits = 0;
  for (int i = 20; i < 24; ++i) bits = (bits << 8) | static_cast<unsigned char>(head[i]);
  if (bits < 9 || bits > 21) return head;
  return ReadFile(path, std::size_t{1} << bits);
}

struct RunResult {
  int exit_code = -1;
  std::string out, err;
  std::string Describe() const {
    return "exit " + std::to_string(exit_code) + "\n--- stdout:\n" + out + "--- stderr:\n" + err;
  }
};

// Runs argv (no shell) with stdout/stderr captured through files in `scratch`.
RunResult RunCmd(const std::vector<std::string>& argv, const std::string& scratch) {
  RunResult r;
  std::string out = scratch + "/.stdout", err = scratch + "/.stderr";
  pid_t pid = ::fork();
  if (pid < 0) return r;
  if (pid == 0) {
    int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fe < 0) ::_exit(126);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

// $QEMU_IMG, which meson sets; its absence is a failure, never a skip.
std::string QemuImg() {
  const char* q = std::getenv("QEMU_IMG");
  if (!q || !*q) {
    ADD_FAILURE() << "QEMU_IMG is not set: run through `meson test` (tests/virt/meson.build finds "
                     "qemu-img; install qemu-utils)";
    return "";
  }
  if (::access(q, X_OK) != 0) {
    ADD_FAILURE() << "QEMU_IMG=" << q << " is not an executable (install qemu-utils)";
    return "";
  }
  return q;
}

class Qcow2Images : public ::testing::Test {
 protected:
  void SetUp() override {
    qemu_ = QemuImg();
    ASSERT_FALSE(qemu_.empty());
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
  }

  RunResult Qemu(std::vector<std::string> args) {
    args.insert(args.begin(), qemu_);
    return RunCmd(args, dir_.path());
  }

  void MustQemu(const std::vector<std::string>& args) {
    RunResult r = Qemu(args);
    ASSERT_EQ(r.exit_code, 0) << ::testing::PrintToString(args) << "\n" << r.Describe();
  }

  // A 1 MiB qcow2 base holding a recognizable pattern, and an overlay on it.
  void MakeChain(const std::string& base, const std::string& overlay, const std::string& compat,
                 const std::string& backing_name, const std::string& extra_opts = "") {
    pattern_ = std::string(1 << 20, '\0');
    for (std::size_t i = 0; i < pattern_.size(); ++i) {
      pattern_[i] = static_cast<char>((i * 7 + i / 4096) & 0xFF);
    }
    WriteFile(dir_ / "pattern.raw", pattern_);
    fs::create_directories(fs::path(base).parent_path());
    fs::create_directories(fs::path(overlay).parent_path());
    MustQemu({"convert", "-q", "-f", "raw", "-O", "qcow2", "-o", "compat=" + compat,
              dir_ / "pattern.raw", base});
    std::string opts = "compat=" + compat + (extra_opts.empty() ? "" : "," + extra_opts);
    MustQemu({"create", "-q", "-f", "qcow2", "-o", opts, "-b", backing_name, "-F", "qcow2",
              overlay});
  }

  json InfoChain(const std::string& image) {
    RunResult r = Qemu({"info", "--backing-chain", "--output=json", image});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    if (r.exit_code != 0) return json::array();
    json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(j.is_array()) << r.out;
    return j.is_array() ? j : json::array();
  }

  void ExpectCheckClean(const std::string& image) {
    RunResult r = Qemu({"check", image});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_THAT(r.out, HasSubstr("No errors were found")) << r.Describe();
  }

  // The guest data read through the chain equals the base's pattern.
  void ExpectDataThroughChain(const std::string& overlay) {
    std::string raw = dir_ / "through.raw";
    MustQemu({"convert", "-q", "-O", "raw", overlay, raw});
    EXPECT_TRUE(ReadFile(raw) == pattern_) << "data read through " << overlay << " differs";
    fs::remove(raw);
  }

  // Applies edits as write_range will: pwrite each range, then fdatasync.
  void PwriteEdits(const std::string& path, const std::vector<RangeEdit>& edits) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << path;
    for (const RangeEdit& e : edits) {
      ASSERT_EQ(::pwrite(fd, e.new_bytes.data(), e.new_bytes.size(), static_cast<off_t>(e.offset)),
                static_cast<ssize_t>(e.new_bytes.size()));
    }
    ASSERT_EQ(::fdatasync(fd), 0);
    ::close(fd);
  }

  std::vector<RangeEdit> MustPlan(const std::string& overlay, const std::string& name) {
    Result<std::vector<RangeEdit>> edits = SetBackingFile(ReadFirstCluster(overlay), name);
    EXPECT_TRUE(edits.ok()) << edits.status().ToString();
    return edits.ok() ? *edits : std::vector<RangeEdit>{};
  }

  // Renames the base file and repoints the overlay at it; checks with qemu.
  // qemu reports the backing file's path as `reported` (new_base_path if "").
  void RenameBaseAndCheck(const std::string& overlay, const std::string& old_base,
                          const std::string& new_name, const std::string& new_base_path,
                          std::string reported = "") {
    if (reported.empty()) reported = new_base_path;
    SCOPED_TRACE("rename to " + new_name);
    std::string before = ReadFile(overlay);
    Result<Header> h0 = ParseHeader(ReadFirstCluster(overlay));
    ASSERT_TRUE(h0.ok()) << h0.status().ToString();

    fs::create_directories(fs::path(new_base_path).parent_path());
    fs::rename(old_base, new_base_path);
    std::vector<RangeEdit> edits = MustPlan(overlay, new_name);
    ASSERT_EQ(edits.size(), 2u);
    const std::size_t len = std::max<std::size_t>(h0->backing_file.size(), new_name.size());
    EXPECT_EQ(edits[0].offset, h0->backing_file_offset);
    EXPECT_EQ(edits[0].old_bytes.size(), len);
    EXPECT_EQ(edits[0].old_bytes.substr(0, h0->backing_file.size()), h0->backing_file);
    EXPECT_EQ(edits[0].new_bytes, new_name + std::string(len - new_name.size(), '\0'));
    EXPECT_EQ(edits[1].offset, 16u);
    EXPECT_EQ(edits[1].old_bytes.size(), 4u);
    ASSERT_NO_FATAL_FAILURE(PwriteEdits(overlay, edits));

    // Only the planned bytes changed.
    std::string after = ReadFile(overlay);
    ASSERT_EQ(after.size(), before.size());
    std::string expect = before;
    ASSERT_TRUE(ApplyEdits(expect, edits).ok());
    EXPECT_TRUE(after == expect);

    Result<Header> h1 = ParseHeader(ReadFirstCluster(overlay));
    ASSERT_TRUE(h1.ok()) << h1.status().ToString();
    EXPECT_EQ(h1->backing_file, new_name);
    EXPECT_EQ(h1->backing_file_offset, h0->backing_file_offset);  // never moved
    EXPECT_EQ(h1->backing_format, "qcow2");                        // left alone

    json chain = InfoChain(overlay);
    ASSERT_EQ(chain.size(), 2u) << chain.dump(2);
    EXPECT_EQ(chain[0].value("backing-filename", ""), new_name);
    EXPECT_EQ(chain[0].value("full-backing-filename", ""), reported);
    EXPECT_EQ(chain[0].value("backing-filename-format", ""), "qcow2");
    EXPECT_EQ(chain[1].value("filename", ""), reported);
    ExpectCheckClean(overlay);
    ExpectDataThroughChain(overlay);
  }

  std::string qemu_;
  TempDir dir_;
  std::string pattern_;
};

// --- Real images ---------------------------------------------------------------

class Qcow2Compat : public Qcow2Images, public ::testing::WithParamInterface<const char*> {};

TEST_P(Qcow2Compat, ParseHeaderOfAQemuImage) {
  const std::string compat = GetParam();
  std::string base = dir_ / "base.qcow2", overlay = dir_ / "overlay.qcow2";
  ASSERT_NO_FATAL_FAILURE(MakeChain(base, overlay, compat, base));
  std::string head = ReadFirstCluster(overlay);
  ASSERT_EQ(head.size(), 65536u);
  Result<Header> h = ParseHeader(head);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->version, compat == "1.1" ? 3u : 2u);
  EXPECT_EQ(h->cluster_bits, 16u);
  EXPECT_EQ(h->cluster_size, 65536u);
  EXPECT_EQ(h->size, 1u << 20);
  EXPECT_EQ(h->header_length, compat == "1.1" ? 112u : 72u);
  EXPECT_TRUE(h->has_backing_file);
  EXPECT_EQ(h->backing_file, base);
  EXPECT_EQ(h->backing_file_size, base.size());
  EXPECT_EQ(h->backing_format, "qcow2");
  EXPECT_LE(h->extensions_end, h->backing_file_offset);
  ASSERT_FALSE(h->extensions.empty());
  EXPECT_EQ(h->extensions[0].type, kExtBackingFormat);
  EXPECT_EQ(h->incompatible_features, 0u);
  Result<std::string> name = ReadBackingFile(head);
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, base);

  // The base itself has no backing file.
  Result<Header> hb = ParseHeader(ReadFirstCluster(base));
  ASSERT_TRUE(hb.ok()) << hb.status().ToString();
  EXPECT_FALSE(hb->has_backing_file);
  EXPECT_EQ(hb->backing_file, "");
}

TEST_P(Qcow2Compat, RenameBaseToALongerThenAShorterName) {
  const std::string compat = GetParam();
  std::string base = dir_ / "base.qcow2", overlay = dir_ / "overlay.qcow2";
  ASSERT_NO_FATAL_FAILURE(MakeChain(base, overlay, compat, base));
  ExpectCheckClean(overlay);

  std::string longer = dir_ / "images/vm2-base-renamed-to-a-much-longer-name-than-before.qcow2";
  ASSERT_NO_FATAL_FAILURE(RenameBaseAndCheck(overlay, base, longer, longer));
  std::string shorter = dir_ / "b.qcow2";
  ASSERT_NO_FATAL_FAILURE(RenameBaseAndCheck(overlay, longer, shorter, shorter));

  // The tail of the longer name was zeroed: the name area is clean.
  Result<Header> h = ParseHeader(ReadFirstCluster(overlay));
  ASSERT_TRUE(h.ok());
  std::string area = ReadFile(overlay).substr(h->backing_file_offset, longer.size());
  EXPECT_EQ(area, shorter + std::string(longer.size() - shorter.size(), '\0'));
}

TEST_P(Qcow2Compat, RelativeBackingNameStaysRelative) {
  // qemu resolves a relative name against the overlay's directory and keeps
  // it relative in the header; the edit writes it as given.
  const std::string compat = GetParam();
  std::string overlay = dir_ / "vm/overlay.qcow2";
  ASSERT_NO_FATAL_FAILURE(MakeChain(dir_ / "vm/base.qcow2", overlay, compat, "base.qcow2"));
  EXPECT_EQ(*ReadBackingFile(ReadFirstCluster(overlay)), "base.qcow2");
  ASSERT_NO_FATAL_FAILURE(RenameBaseAndCheck(overlay, dir_ / "vm/base.qcow2",
                                             "pool/vm2-base.qcow2",
                                             dir_ / "vm/pool/vm2-base.qcow2"));
  ASSERT_NO_FATAL_FAILURE(RenameBaseAndCheck(overlay, dir_ / "vm/pool/vm2-base.qcow2",
                                             "../b.qcow2", dir_ / "b.qcow2",
                                             dir_ / "vm/../b.qcow2"));
}

TEST_P(Qcow2Compat, UndoingTheEditsRestoresTheImage) {
  // The journal's undo writes old_bytes back: the file is byte-identical.
  const std::string compat = GetParam();
  std::string base = dir_ / "base.qcow2", overlay = dir_ / "overlay.qcow2";
  ASSERT_NO_FATAL_FAILURE(MakeChain(base, overlay, compat, base));
  std::string original = ReadFile(overlay);
  std::vector<RangeEdit> edits = MustPlan(overlay, dir_ / "a-longer-name-for-the-base.qcow2");
  ASSERT_EQ(edits.size(), 2u);
  ASSERT_NO_FATAL_FAILURE(PwriteEdits(overlay, edits));
  EXPECT_FALSE(ReadFile(overlay) == original);
  std::vector<RangeEdit> undo = edits;
  for (RangeEdit& e : undo) std::swap(e.old_bytes, e.new_bytes);
  ASSERT_NO_FATAL_FAILURE(PwriteEdits(overlay, undo));
  EXPECT_TRUE(ReadFile(overlay) == original);
  ExpectCheckClean(overlay);
  ExpectDataThroughChain(overlay);
}

TEST_P(Qcow2Compat, RefusesANameThatDoesNotFitTheFirstCluster) {
  const std::string compat = GetParam();
  std::string base = dir_ / "base.qcow2", overlay = dir_ / "overlay.qcow2";
  ASSERT_NO_FATAL_FAILURE(MakeChain(base, overlay, compat, base, "cluster_size=512"));
  std::string head = ReadFirstCluster(overlay);
  ASSERT_EQ(head.size(), 512u);
  Result<Header> h = ParseHeader(head);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const std::size_t room = 512 - h->backing_file_offset;

  // An absolute path of exactly `room` bytes (components under NAME_MAX).
  std::string exact = dir_.path();
  while (exact.size() + 1 < room) {
    std::size_t n = std::min<std::size_t>(200, room - exact.size() - 1);
    exact += "/" + std::string(n, 'd');
  }
  ASSERT_EQ(exact.size(), room);
  exact.replace(exact.size() - 6, 6, ".qcow2");

  Result<std::vector<RangeEdit>> too_long = SetBackingFile(head, exact + "x");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), Code::kNotSupported);
  EXPECT_THAT(too_long.status().message(), HasSubstr("does not fit in the first cluster"));
  EXPECT_THAT(too_long.status().message(), HasSubstr("at most " + std::to_string(room)));

  // Exactly filling the cluster works, and qemu agrees.
  ASSERT_NO_FATAL_FAILURE(RenameBaseAndCheck(overlay, base, exact, exact));
}

TEST_P(Qcow2Compat, RefusesAnImageWithoutBackingFile) {
  std::string img = dir_ / "plain.qcow2";
  MustQemu({"create", "-q", "-f", "qcow2", "-o", std::string("compat=") + GetParam(), img, "1M"});
  Result<std::vector<RangeEdit>> r = SetBackingFile(ReadFirstCluster(img), "/x/base.qcow2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("no backing file"));
  Result<std::string> name = ReadBackingFile(ReadFirstCluster(img));
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, "");
}

INSTANTIATE_TEST_SUITE_P(V3AndV2, Qcow2Compat, ::testing::Values("1.1", "0.10"),
                         [](const auto& info) {
                           return std::string(info.param) == "1.1" ? "v3" : "v2";
                         });

TEST_F(Qcow2Images, RefusesARawFile) {
  std::string img = dir_ / "disk.raw";
  MustQemu({"create", "-q", "-f", "raw", img, "1M"});
  Result<std::vector<RangeEdit>> r = SetBackingFile(ReadFile(img, 65536), "/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("not a qcow2 image"));
  EXPECT_FALSE(ParseHeader("").ok());
  EXPECT_FALSE(ParseHeader("QFI").ok());
}

TEST_F(Qcow2Images, RefusesATruncatedHeader) {
  std::string base = dir_ / "base.qcow2", overlay = dir_ / "overlay.qcow2";
  ASSERT_NO_FATAL_FAILURE(MakeChain(base, overlay, "1.1", base));
  std::string head = ReadFirstCluster(overlay);
  Result<Header> h = ParseHeader(head);
  ASSERT_TRUE(h.ok());
  const std::size_t cuts[] = {50, 100, 108, static_cast<std::size_t>(h->extensions_end - 4),
                              static_cast<std::size_t>(h->backing_file_offset + 3)};
  for (std::size_t cut : cuts) {
    SCOPED_TRACE(cut);
    Result<std::vector<RangeEdit>> r = SetBackingFile(head.substr(0, cut), "/x.qcow2");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("truncated"));
  }
  // Up to the end of the old name is enough to parse; a longer new name
  // needs the bytes it overwrites.
  std::string upto = head.substr(0, h->backing_file_offset + h->backing_file_size);
  EXPECT_TRUE(ParseHeader(upto).ok());
  EXPECT_TRUE(SetBackingFile(upto, "/short").ok());
  Result<std::vector<RangeEdit>> longer = SetBackingFile(upto, base + ".longer");
  ASSERT_FALSE(longer.ok());
  EXPECT_THAT(longer.status().message(), HasSubstr("truncated"));
}

void PutBe32(std::string& d, std::size_t off, uint32_t v) {
  for (int i = 3; i >= 0; --i) {
    d[off + static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
}

void PutBe64(std::string& d, std::size_t off, uint64_t v) {
  PutBe32(d, off, static_cast<uint32_t>(v >> 32));
  PutBe32(d, off + 4, static_cast<uint32_t>(v));
}

TEST_F(Qcow2Images, RefusesAV3HeaderLengthPastTheData) {
  std::string base = dir_ / "base.qcow2", overlay = dir_ / "overlay.qcow2";
  ASSERT_NO_FATAL_FAILURE(MakeChain(base, overlay, "1.1", base));
  std::string head = ReadFirstCluster(overlay);

  std::string past_data = head.substr(0, 512);
  PutBe32(past_data, 100, 4096);  // inside the 64 KiB cluster, past the 512 bytes given
  Result<Header> r1 = ParseHeader(past_data);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r1.status().message(), HasSubstr("header_length 4096"));

  std::string past_cluster = head;
  PutBe32(past_cluster, 100, 65536 + 8);
  Result<Header> r2 = ParseHeader(past_cluster);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), Code::kCorruption);
  EXPECT_THAT(r2.status().message(), HasSubstr("beyond the first cluster"));

  std::string odd = head;
  PutBe32(odd, 100, 100);
  EXPECT_EQ(ParseHeader(odd).status().code(), Code::kCorruption);

  // header_length past the backing name: the name would be inside the header.
  std::string over_name = head;
  PutBe32(over_name, 100, 2048);
  Result<Header> r3 = ParseHeader(over_name);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.status().code(), Code::kCorruption);
  EXPECT_THAT(r3.status().message(), HasSubstr("overlaps the 2048-byte header"));
}

TEST_F(Qcow2Images, RefusesADirtyImage) {
  std::string base = dir_ / "base.qcow2", overlay = dir_ / "overlay.qcow2";
  ASSERT_NO_FATAL_FAILURE(MakeChain(base, overlay, "1.1", base));
  // Mark it dirty the way a QEMU killed with lazy refcounts leaves it.
  std::string head = ReadFirstCluster(overlay);
  PutBe64(head, 72, kIncompatDirty);
  Result<std::vector<RangeEdit>> r = SetBackingFile(head, dir_ / "b.qcow2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotSupported);
  EXPECT_THAT(r.status().message(), HasSubstr("dirty"));
  EXPECT_THAT(r.status().message(), HasSubstr("qemu-img check -r all"));

  PutBe64(head, 72, kIncompatCorrupt);
  EXPECT_THAT(SetBackingFile(head, "/b").status().message(), HasSubstr("corrupt"));
  PutBe64(head, 72, 1ull << 40);
  EXPECT_THAT(SetBackingFile(head, "/b").status().message(),
              HasSubstr("unknown incompatible feature bits 0x10000000000"));
  PutBe64(head, 72, kIncompatCompression | kIncompatExtendedL2);
  EXPECT_TRUE(SetBackingFile(head, "/b").ok());
  PutBe64(head, 72, 0);
  PutBe64(head, 88, kAutoclearDataFileRaw);
  EXPECT_EQ(SetBackingFile(head, "/b").status().code(), Code::kNotSupported);
}

TEST_F(Qcow2Images, RefusesBadNewNames) {
  std::string base = dir_ / "base.qcow2", overlay = dir_ / "overlay.qcow2";
  ASSERT_NO_FATAL_FAILURE(MakeChain(base, overlay, "1.1", base));
  std::string head = ReadFirstCluster(overlay);
  EXPECT_EQ(SetBackingFile(head, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SetBackingFile(head, std::string("/a\0b", 4)).status().code(),
            Code::kInvalidArgument);
  Result<std::vector<RangeEdit>> big = SetBackingFile(head, "/" + std::string(1023, 'a'));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(big.status().message(), HasSubstr("at most 1023"));
  EXPECT_TRUE(SetBackingFile(head, std::string(1023, 'a')).ok());
}

// --- Synthetic headers -------------------------------------------------------------

// A minimal header: version, cluster_bits, backing name at `boff`.
std::string Synthetic(uint32_t version, uint32_t cluster_bits, uint64_t boff,
                      const std::string& name, std::size_t size = 512) {
  std::string d(size, '\0');
  d.replace(0, 4, std::string("QFI\xfb", 4));
  PutBe32(d, 4, version);
  PutBe64(d, 8, boff);
  PutBe32(d, 16, static_cast<uint32_t>(name.size()));
  PutBe32(d, 20, cluster_bits);
  if (version == 3) {
    PutBe32(d, 96, 4);
    PutBe32(d, 100, 104);
  }
  if (boff) d.replace(boff, name.size(), name);
  return d;
}

TEST(Qcow2Synthetic, NameRightAfterAV2HeaderWithoutEndMarker) {
  // Old images may carry the name at byte 72 with no extension area: qemu
  // reads extensions only up to the name, so this is valid.
  std::string d = Synthetic(2, 9, 72, "base.img");
  Result<Header> h = ParseHeader(d);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->extensions_end, 72u);
  EXPECT_TRUE(h->extensions.empty());
  EXPECT_EQ(h->backing_file, "base.img");
  Result<std::vector<RangeEdit>> e = SetBackingFile(d, "renamed.img");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_TRUE(ApplyEdits(d, *e).ok());
  EXPECT_EQ(*ReadBackingFile(d), "renamed.img");
}

TEST(Qcow2Synthetic, StructuralErrors) {
  EXPECT_EQ(ParseHeader(Synthetic(4, 16, 0, "")).status().code(), Code::kNotSupported);
  EXPECT_EQ(ParseHeader(Synthetic(1, 16, 0, "")).status().code(), Code::kNotSupported);
  EXPECT_THAT(ParseHeader(Synthetic(3, 8, 0, "")).status().message(), HasSubstr("[9, 21]"));
  EXPECT_EQ(ParseHeader(Synthetic(3, 22, 0, "")).status().code(), Code::kNotSupported);

  // Name offset inside the header.
  std::string in_header = Synthetic(3, 9, 96, "x");
  PutBe32(in_header, 100, 104);
  EXPECT_EQ(ParseHeader(in_header).status().code(), Code::kCorruption);
  // Name past the first cluster.
  std::string past = Synthetic(2, 9, 500, "0123456789abcdef", 1024);
  EXPECT_THAT(ParseHeader(past).status().message(), HasSubstr("runs past the first cluster"));
  // A stored name over 1023 bytes.
  std::string huge = Synthetic(2, 12, 72, std::string(1024, 'n'), 4096);
  EXPECT_THAT(ParseHeader(huge).status().message(), HasSubstr("over 1023"));

  // An extension running into the backing name.
  std::string ext = Synthetic(3, 9, 200, "base");
  PutBe32(ext, 104, 0x12345678);
  PutBe32(ext, 108, 100);  // data 112..212 > 200
  Result<Header> h = ParseHeader(ext);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Code::kCorruption);
  EXPECT_THAT(h.status().message(), HasSubstr("header extension 0x12345678"));

  // Extension padding ending past the name: the name is inside the extension area.
  std::string pad = Synthetic(3, 9, 120, "base");
  PutBe32(pad, 104, 0x12345678);
  PutBe32(pad, 108, 1);  // data 112..113, padded to 120: fine
  ASSERT_TRUE(ParseHeader(pad).ok());
  EXPECT_EQ(ParseHeader(pad)->extensions_end, 120u);
  PutBe64(pad, 8, 116);  // name at 116 < padded end 120
  pad.replace(116, 4, "base");
  Result<Header> hp = ParseHeader(pad);
  ASSERT_TRUE(hp.ok()) << hp.status().ToString();  // qemu accepts it...
  Result<std::vector<RangeEdit>> ep = SetBackingFile(pad, "b2");
  ASSERT_FALSE(ep.ok());  // ...but it is not edited in place
  EXPECT_EQ(ep.status().code(), Code::kNotSupported);
  EXPECT_THAT(ep.status().message(), HasSubstr("inside the header extension area"));
}

TEST(Qcow2Synthetic, ApplyEditsChecksTheBeforeImage) {
  std::string d = Synthetic(3, 9, 112, "base");
  PutBe32(d, 104, 0);  // end marker at 104..112
  Result<std::vector<RangeEdit>> e = SetBackingFile(d, "b");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].old_bytes, "base");
  EXPECT_EQ((*e)[0].new_bytes, std::string("b\0\0\0", 4));
  EXPECT_EQ((*e)[1].old_bytes, std::string("\0\0\0\4", 4));
  EXPECT_EQ((*e)[1].new_bytes, std::string("\0\0\0\1", 4));
  std::string changed = d;
  changed[113] = 'X';
  Status s = ApplyEdits(changed, *e);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("changed"));
  std::string copy = d;
  ASSERT_TRUE(ApplyEdits(copy, *e).ok());
  EXPECT_EQ(*ReadBackingFile(copy), "b");
  EXPECT_EQ(copy.substr(112, 4), std::string("b\0\0\0", 4));
}

}  // namespace
}  // namespace fstx::virt::qcow2

namespace fstx::virt::qcow2 {
namespace {

// Random corruption of real headers: ParseHeader/SetBackingFile return a
// value, never crash or read out of bounds (the sanitizer build runs this
// too), and any planned edit stays inside the first cluster, after the
// extension area, within the bytes given.
TEST_F(Qcow2Images, MutatedHeadersNeverMisbehave) {
  std::string heads[2];
  for (int v = 0; v < 2; ++v) {
    std::string base = dir_ / ("base" + std::to_string(v) + ".qcow2");
    std::string overlay = dir_ / ("overlay" + std::to_string(v) + ".qcow2");
    ASSERT_NO_FATAL_FAILURE(MakeChain(base, overlay, v ? "0.10" : "1.1", base,
                                      "cluster_size=4096"));
    heads[v] = ReadFirstCluster(overlay);
  }
  uint64_t seed = 0xD1B54A32D192ED03ull;
  auto next = [&seed]() {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  int planned = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string h = heads[iter % 2];
    int muts = 1 + static_cast<int>(next() % 4);
    for (int m = 0; m < muts; ++m) {
      // Mostly the interesting first 640 bytes; sometimes truncate.
      std::size_t at = next() % 640;
      if (next() % 16 == 0) {
        h.resize(at);
      } else if (at < h.size()) {
        h[at] = static_cast<char>(next() % 5 == 0 ? 0 : next());
      }
    }
    Result<Header> ph = ParseHeader(h);
    std::string name(1 + next() % 300, 'n');
    Result<std::vector<RangeEdit>> e = SetBackingFile(h, name);
    if (!e.ok()) {
      EXPECT_NE(e.status().message(), "");
      continue;
    }
    ++planned;
    ASSERT_TRUE(ph.ok());
    ASSERT_EQ(e->size(), 2u);
    const RangeEdit& n = (*e)[0];
    EXPECT_GE(n.offset, ph->extensions_end);
    EXPECT_GE(n.offset, ph->header_length);
    EXPECT_LE(n.offset + n.new_bytes.size(), h.size());
    EXPECT_LE(n.offset + name.size(), ph->cluster_size);
    std::string copy = h;
    ASSERT_TRUE(ApplyEdits(copy, *e).ok());
    Result<std::string> back = ReadBackingFile(copy);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, name);
  }
  EXPECT_GT(planned, 1000);
}

}  // namespace
}  // namespace fstx::virt::qcow2
