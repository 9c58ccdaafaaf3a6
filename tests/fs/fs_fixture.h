// fs_fixture.h — the fixture shared by the PosixFs test files: a scratch
// directory with a root (confined PosixFs opened on it) and an "outside"
// sibling that fstx must never reach, plus small scoped helpers.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fstx/fs.h"
#include "tests/testutil.h"

namespace fstx::fstest {

using testing::Exists;
using testing::Inode;
using testing::MkdirRaw;
using testing::Mode;
using testing::ReadFileRaw;
using testing::ReadLinkRaw;
using testing::TempDir;
using testing::WriteFileRaw;

// Sets the umask for one scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t m) : old_(::umask(m)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

// Changes the working directory for one scope.
class ScopedChdir {
 public:
  explicit ScopedChdir(const std::string& dir) {
    if (::getcwd(old_, sizeof old_) == nullptr) old_[0] = '\0';
    ok_ = ::chdir(dir.c_str()) == 0;
  }
  ~ScopedChdir() {
    if (old_[0] != '\0' && ::chdir(old_) != 0) std::abort();
  }
  bool ok() const { return ok_; }

 private:
  char old_[PATH_MAX];
  bool ok_ = false;
};

class PosixFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = td_ / "root";
    outside_ = td_ / "outside";
    MkdirRaw(root_);
    MkdirRaw(outside_);
    Result<std::unique_ptr<PosixFs>> fs = PosixFs::Open({root_});
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    posix_ = std::move(*fs);
    fs_ = posix_.get();
  }

  std::string R(const std::string& rel) const { return root_ + "/" + rel; }
  std::string O(const std::string& rel) const { return outside_ + "/" + rel; }

  std::vector<std::string> List(const std::string& path) {
    std::vector<std::string> names;
    Status s = fs_->ListDir(path, &names);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::sort(names.begin(), names.end());
    return names;
  }

  // Directly, not through fstx: for checking places fstx may not reach.
  static std::vector<std::string> ListRaw(const std::string& path) {
    std::vector<std::string> names;
    for (const auto& e : boost::filesystem::directory_iterator(path)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  TempDir td_;
  std::string root_;
  std::string outside_;
  std::unique_ptr<PosixFs> posix_;
  // Calls go through the Fs interface, as the engine's do (the default
  // uid/gid arguments of CreateFile are declared there).
  Fs* fs_ = nullptr;
};

}  // namespace fstx::fstest
