// posix_fs_mutate_test.cc — PosixFs Rename, Link, Unlink, Rmdir and SyncDir on
// real directories (including renaming a listening UNIX socket), RemoveTree
// (which never follows symlinks) and concurrent use of one PosixFs.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/fs_fixture.h"

namespace fstx::fstest {
namespace {

TEST_F(PosixFsTest, RenameNoReplace) {
  WriteFileRaw(R("a"), "A");
  WriteFileRaw(R("b"), "B");
  ino_t ia = Inode(R("a"));
  ino_t ib = Inode(R("b"));
  Status s = fs_->Rename(R("a"), R("b"), RenameMode::kNoReplace);
  EXPECT_EQ(s.code(), Code::kExists);
  EXPECT_EQ(s.message(), "rename " + R("a") + " -> " + R("b") + ": File exists (EEXIST)");
  EXPECT_EQ(ReadFileRaw(R("a")), "A");
  EXPECT_EQ(ReadFileRaw(R("b")), "B");
  EXPECT_EQ(Inode(R("a")), ia);
  EXPECT_EQ(Inode(R("b")), ib);

  ASSERT_TRUE(fs_->Rename(R("a"), R("c"), RenameMode::kNoReplace).ok());
  EXPECT_FALSE(Exists(R("a")));
  EXPECT_EQ(Inode(R("c")), ia);
  EXPECT_EQ(fs_->Rename(R("a"), R("d"), RenameMode::kNoReplace).code(), Code::kNotFound);
}

TEST_F(PosixFsTest, RenameReplace) {
  WriteFileRaw(R("a"), "A");
  WriteFileRaw(R("b"), "B");
  ino_t ia = Inode(R("a"));
  ASSERT_TRUE(fs_->Rename(R("a"), R("b"), RenameMode::kReplace).ok());
  EXPECT_FALSE(Exists(R("a")));
  EXPECT_EQ(ReadFileRaw(R("b")), "A");
  EXPECT_EQ(Inode(R("b")), ia);
}

TEST_F(PosixFsTest, RenameDirectoryWithContents) {
  MkdirRaw(R("d"));
  MkdirRaw(R("d/sub"));
  WriteFileRaw(R("d/sub/f"), "deep");
  ASSERT_EQ(::symlink("sub/f", R("d/l").c_str()), 0);
  MkdirRaw(R("other"));
  ASSERT_TRUE(fs_->Rename(R("d"), R("other/moved"), RenameMode::kNoReplace).ok());
  EXPECT_FALSE(Exists(R("d")));
  EXPECT_EQ(ReadFileRaw(R("other/moved/sub/f")), "deep");
  EXPECT_EQ(ReadLinkRaw(R("other/moved/l")), "sub/f");
}

TEST_F(PosixFsTest, RenameListeningUnixSocket) {
  // Bind with a relative name so sun_path's 108-byte limit never matters.
  ScopedChdir cd(root_);
  ASSERT_TRUE(cd.ok());
  auto addr_of = [](const char* name) {
    sockaddr_un a;
    std::memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, name, sizeof a.sun_path - 1);
    return a;
  };
  int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(server, 0);
  sockaddr_un old_addr = addr_of("sock.old");
  sockaddr_un new_addr = addr_of("sock.new");
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&old_addr), sizeof old_addr), 0);
  ASSERT_EQ(::listen(server, 4), 0);

  FileInfo info;
  ASSERT_TRUE(fs_->Stat(R("sock.old"), &info).ok());
  EXPECT_EQ(info.type, FileType::kSocket);
  Status s = fs_->Rename(R("sock.old"), R("sock.new"), RenameMode::kNoReplace);
  ASSERT_TRUE(s.ok()) << s.ToString();

  int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&new_addr), sizeof new_addr), 0)
      << std::strerror(errno);
  int accepted = ::accept(server, nullptr, nullptr);
  EXPECT_GE(accepted, 0) << std::strerror(errno);
  EXPECT_EQ(::write(client, "hi", 2), 2);
  char buf[2] = {0, 0};
  EXPECT_EQ(::read(accepted, buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "hi");

  int stale = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(stale, 0);
  EXPECT_EQ(::connect(stale, reinterpret_cast<sockaddr*>(&old_addr), sizeof old_addr), -1);
  EXPECT_EQ(errno, ENOENT);

  ::close(stale);
  ::close(accepted);
  ::close(client);
  ::close(server);
}

TEST_F(PosixFsTest, LinkFileAndSymlinkItself) {
  WriteFileRaw(R("f"), "F");
  ASSERT_TRUE(fs_->Link(R("f"), R("g")).ok());
  EXPECT_EQ(Inode(R("g")), Inode(R("f")));

  MkdirRaw(R("target"));
  ASSERT_EQ(::symlink("target", R("l").c_str()), 0);
  ASSERT_TRUE(fs_->Link(R("l"), R("l2")).ok());
  FileInfo info;
  ASSERT_TRUE(fs_->Stat(R("l2"), &info).ok());
  EXPECT_EQ(info.type, FileType::kSymlink);
  EXPECT_EQ(info.ino, Inode(R("l")));
  EXPECT_EQ(ReadLinkRaw(R("l2")), "target");

  Status s = fs_->Link(R("f"), R("l2"));
  EXPECT_EQ(s.code(), Code::kExists);
  EXPECT_NE(s.message().find(R("f") + " -> " + R("l2")), std::string::npos) << s.message();
  EXPECT_EQ(fs_->Link(R("missing"), R("x")).code(), Code::kNotFound);
}

TEST_F(PosixFsTest, UnlinkAndRmdir) {
  WriteFileRaw(R("f"), "F");
  MkdirRaw(R("d"));
  MkdirRaw(R("full"));
  WriteFileRaw(R("full/x"), "x");

  ASSERT_TRUE(fs_->Unlink(R("f")).ok());
  EXPECT_FALSE(Exists(R("f")));
  EXPECT_EQ(fs_->Unlink(R("f")).code(), Code::kNotFound);
  EXPECT_FALSE(fs_->Unlink(R("d")).ok());  // EISDIR
  EXPECT_TRUE(Exists(R("d")));

  EXPECT_FALSE(fs_->Rmdir(R("full/x")).ok());              // ENOTDIR
  EXPECT_EQ(fs_->Rmdir(R("full")).code(), Code::kExists);  // ENOTEMPTY
  EXPECT_EQ(ReadFileRaw(R("full/x")), "x");
  ASSERT_TRUE(fs_->Rmdir(R("d")).ok());
  EXPECT_FALSE(Exists(R("d")));
}

TEST_F(PosixFsTest, SyncDir) {
  MkdirRaw(R("d"));
  EXPECT_TRUE(fs_->SyncDir(R("d")).ok());
  EXPECT_TRUE(fs_->SyncDir(root_).ok());
  EXPECT_EQ(fs_->SyncDir(R("missing")).code(), Code::kNotFound);
  WriteFileRaw(R("f"), "");
  EXPECT_FALSE(fs_->SyncDir(R("f")).ok());
  ASSERT_EQ(::symlink("d", R("dl").c_str()), 0);
  EXPECT_EQ(fs_->SyncDir(R("dl")).code(), Code::kOutsideRoot);
  EXPECT_EQ(fs_->SyncDir(outside_).code(), Code::kOutsideRoot);
}

TEST_F(PosixFsTest, RemoveTreeDoesNotFollowSymlinks) {
  MkdirRaw(O("keep"));
  WriteFileRaw(O("keep/precious"), "P");
  MkdirRaw(R("t"));
  MkdirRaw(R("t/a"));
  MkdirRaw(R("t/a/b"));
  MkdirRaw(R("t/a/empty"));
  MkdirRaw(R("t/e"));
  WriteFileRaw(R("t/f"), "1");
  WriteFileRaw(R("t/a/b/g"), "2");
  ASSERT_EQ(::symlink(O("keep").c_str(), R("t/a/to_outside").c_str()), 0);
  ASSERT_EQ(::symlink("/does/not/exist", R("t/dangling").c_str()), 0);
  ASSERT_EQ(::mkfifo(R("t/a/b/fifo").c_str(), 0600), 0);

  Status s = RemoveTree(fs_, R("t"));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(Exists(R("t")));
  EXPECT_EQ(ReadFileRaw(O("keep/precious")), "P");
  EXPECT_TRUE(List(root_).empty());

  EXPECT_TRUE(RemoveTree(fs_, R("t")).ok());  // absent is ok

  WriteFileRaw(R("single"), "s");
  ASSERT_TRUE(RemoveTree(fs_, R("single")).ok());
  EXPECT_FALSE(Exists(R("single")));

  ASSERT_EQ(::symlink(O("keep").c_str(), R("dirlink").c_str()), 0);
  ASSERT_TRUE(RemoveTree(fs_, R("dirlink")).ok());
  EXPECT_FALSE(Exists(R("dirlink")));
  EXPECT_EQ(ReadFileRaw(O("keep/precious")), "P");

  EXPECT_EQ(RemoveTree(fs_, O("keep")).code(), Code::kOutsideRoot);
  EXPECT_EQ(ReadFileRaw(O("keep/precious")), "P");
}

TEST_F(PosixFsTest, ConcurrentUse) {
  constexpr int kThreads = 8;
  constexpr int kFiles = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string dir = R("t" + std::to_string(t));
      if (!fs_->Mkdir(dir, 0755).ok()) ++failures;
      for (int i = 0; i < kFiles; ++i) {
        std::string p = dir + "/f" + std::to_string(i);
        if (!fs_->CreateFile(p, p, 0644).ok()) ++failures;
        std::string out;
        if (!fs_->ReadFile(p, 1000, &out).ok() || out != p) ++failures;
      }
      if (!RemoveTree(fs_, dir).ok()) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(List(root_).empty());
}

}  // namespace
}  // namespace fstx::fstest
