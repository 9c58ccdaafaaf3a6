// cli_harden_test.cc — `fstx` under hostile input and damaged journals
// (issue 8): a full journal filesystem, an unreadable journal, corrupt
// records and meta values, specs that must be refused before anything is
// journaled, control characters in labels and paths, and the exit codes
// monitoring reads. Each test runs the built binary on real files.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/mount.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/cli/cli_util.h"

namespace fstx::clitest {
namespace {

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string Quote(const std::string& s) { return json(s).dump(); }

// A tmpfs of `size` mounted on `dir` while the object lives (needs root).
class TmpfsMount {
 public:
  TmpfsMount(std::string dir, const std::string& size) : dir_(std::move(dir)) {
    std::string opts = "size=" + size + ",mode=0755";
    ok_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
    if (!ok_) why_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (ok_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }

 private:
  std::string dir_;
  bool ok_ = false;
  std::string why_;
};

// ---- item 13: a full journal filesystem is no_space ------------------------

TEST(CliHarden, FullJournalFilesystemIsNoSpaceNotIoError) {
  TempDir mnt_dir;
  Workspace ws;
  TmpfsMount mnt(mnt_dir.path(), "256k");
  if (!mnt.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << mnt.why();
  const std::string journal = mnt_dir.path() + "/j";
  auto fstx = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--journal", journal, "--root", ws.root()});
    return RunFstx(ws.io(), args);
  };
  auto write_spec = [&](const std::string& name, size_t bytes) {
    std::string file = ws.io() + "/" + name + ".json";
    WriteFileRaw(file, R"({"ops":[{"op":"write_file","path":)" + Quote(ws.R(name)) +
                           R"(,"content":)" + Quote(std::string(bytes, 'x')) + "}]}");
    return file;
  };
  RunResult r = fstx({"apply", write_spec("small", 10)});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  Snapshot pre = Snap(ws.root());

  // The prepared record does not fit: LMDB's short write must not read as EIO.
  for (size_t bytes : {size_t{400000}, size_t{1000000}}) {
    r = fstx({"apply", "--json", write_spec("big", bytes)});
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    json res = r.Json();
    EXPECT_EQ(res["error"]["code"], "no_space") << bytes << ": " << res.dump();
    EXPECT_TRUE(Contains(res["error"]["message"].get<std::string>(), "journal " + journal))
        << res.dump();
    EXPECT_FALSE(Contains(res["error"]["message"].get<std::string>(), "Input/output error"))
        << res.dump();
    EXPECT_TRUE(res["id"].is_null()) << res.dump();
    EXPECT_EQ(Diff(pre, Snap(ws.root())), "");
  }
  r = fstx({"list", "--all", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.Json()["transactions"].size(), 1u) << r.out;
  EXPECT_EQ(fstx({"status"}).exit_code, 0);
}

}  // namespace
}  // namespace fstx::clitest
