// posix_fs_test.cc — PosixFs::Open and the reading and creating calls on real
// directories: each call's success and its failures.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tests/fs/fs_fixture.h"

namespace fstx::fstest {
namespace {

// ---- Open -----------------------------------------------------------------

TEST_F(PosixFsTest, OpenNormalisesAndRejectsBadRoots) {
  auto fs = PosixFs::Open({root_ + "//", outside_});
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  EXPECT_EQ((*fs)->roots(), (std::vector<std::string>{root_, outside_}));

  auto missing = PosixFs::Open({root_, td_ / "nope"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(td_ / "nope"), std::string::npos);

  WriteFileRaw(R("file"), "x");
  auto file = PosixFs::Open({R("file")});
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Code::kNotFound);  // ENOTDIR

  EXPECT_EQ(PosixFs::Open({"relative/dir"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(PosixFs::Open({root_ + "/../x"}).status().code(), Code::kInvalidArgument);
}

TEST_F(PosixFsTest, RootPathMayContainSymlink) {
  ASSERT_EQ(::symlink(root_.c_str(), (td_ / "alias").c_str()), 0);
  auto fs = PosixFs::Open({td_ / "alias"});
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  ASSERT_TRUE(
      static_cast<Fs*>(fs.value().get())->CreateFile(td_ / "alias/f", "via alias", 0644).ok());
  EXPECT_EQ(ReadFileRaw(R("f")), "via alias");
}

TEST_F(PosixFsTest, SlashRootAndNestedRoots) {
  auto slash = PosixFs::Open({"/"});
  ASSERT_TRUE(slash.ok()) << slash.status().ToString();
  ASSERT_TRUE(static_cast<Fs*>(slash.value().get())->CreateFile(R("s"), "slash", 0600).ok());
  EXPECT_EQ(ReadFileRaw(R("s")), "slash");
  FileInfo info;
  ASSERT_TRUE((*slash)->Stat("/", &info).ok());
  EXPECT_EQ(info.type, FileType::kDirectory);

  MkdirRaw(R("inner"));
  auto nested = PosixFs::Open({root_, R("inner")});
  ASSERT_TRUE(nested.ok());
  ASSERT_TRUE(static_cast<Fs*>(nested.value().get())->CreateFile(R("inner/f"), "n", 0600).ok());
  EXPECT_EQ(ReadFileRaw(R("inner/f")), "n");
  ASSERT_TRUE((*nested)->Stat(R("inner"), &info).ok());
  EXPECT_EQ(info.type, FileType::kDirectory);
  // The inner root is a root: it cannot be removed even though it also lies
  // beneath the outer one.
  EXPECT_EQ((*nested)->Rmdir(R("inner")).code(), Code::kInvalidArgument);
  EXPECT_TRUE(Exists(R("inner")));
}

// ---- Stat -----------------------------------------------------------------

TEST_F(PosixFsTest, StatTypesAndFields) {
  WriteFileRaw(R("f"), "12345", 0640);
  MkdirRaw(R("d"), 0750);
  ASSERT_EQ(::symlink("f", R("l").c_str()), 0);
  ASSERT_EQ(::mkfifo(R("p").c_str(), 0600), 0);

  FileInfo info;
  ASSERT_TRUE(fs_->Stat(R("f"), &info).ok());
  EXPECT_EQ(info.type, FileType::kRegular);
  EXPECT_EQ(info.mode, 0640u);
  EXPECT_EQ(info.size, 5u);
  EXPECT_EQ(info.ino, Inode(R("f")));
  EXPECT_EQ(info.uid, ::geteuid());
  EXPECT_TRUE(info.exists());

  ASSERT_TRUE(fs_->Stat(R("d"), &info).ok());
  EXPECT_EQ(info.type, FileType::kDirectory);
  EXPECT_EQ(info.mode, 0750u);

  ASSERT_TRUE(fs_->Stat(R("l"), &info).ok());
  EXPECT_EQ(info.type, FileType::kSymlink);  // not followed
  EXPECT_EQ(info.ino, Inode(R("l")));

  ASSERT_TRUE(fs_->Stat(R("p"), &info).ok());
  EXPECT_EQ(info.type, FileType::kFifo);

  ASSERT_TRUE(fs_->Stat(root_, &info).ok());
  EXPECT_EQ(info.type, FileType::kDirectory);
  EXPECT_EQ(info.ino, Inode(root_));

  EXPECT_STREQ(file_type_name(FileType::kRegular), "file");
  EXPECT_STREQ(file_type_name(FileType::kAbsent), "absent");
  EXPECT_STREQ(file_type_name(FileType::kSocket), "socket");
}

TEST_F(PosixFsTest, StatMissingIsAbsentNotError) {
  WriteFileRaw(R("f"), "x");
  FileInfo info;
  info.type = FileType::kRegular;
  ASSERT_TRUE(fs_->Stat(R("missing"), &info).ok());
  EXPECT_EQ(info.type, FileType::kAbsent);
  EXPECT_FALSE(info.exists());
  info.type = FileType::kRegular;
  ASSERT_TRUE(fs_->Stat(R("no/such/dir/x"), &info).ok());
  EXPECT_EQ(info.type, FileType::kAbsent);
  info.type = FileType::kRegular;
  ASSERT_TRUE(fs_->Stat(R("f/x"), &info).ok());  // parent is a file
  EXPECT_EQ(info.type, FileType::kAbsent);
}

// ---- ReadFile / ReadLink / ListDir --------------------------------------

TEST_F(PosixFsTest, ReadFile) {
  std::string big(200000, 'b');
  big[12345] = 'X';
  WriteFileRaw(R("big"), big);
  WriteFileRaw(R("empty"), "");
  std::string out;
  ASSERT_TRUE(fs_->ReadFile(R("big"), big.size(), &out).ok());
  EXPECT_EQ(out, big);
  ASSERT_TRUE(fs_->ReadFile(R("empty"), 0, &out).ok());
  EXPECT_EQ(out, "");

  Status s = fs_->ReadFile(R("big"), big.size() - 1, &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find(R("big")), std::string::npos) << s.message();
  EXPECT_EQ(fs_->ReadFile(R("missing"), 10, &out).code(), Code::kNotFound);

  MkdirRaw(R("d"));
  EXPECT_EQ(fs_->ReadFile(R("d"), 10, &out).code(), Code::kInvalidArgument);
  ASSERT_EQ(::mkfifo(R("p").c_str(), 0600), 0);
  EXPECT_EQ(fs_->ReadFile(R("p"), 10, &out).code(), Code::kInvalidArgument);  // no hang
}

TEST_F(PosixFsTest, ReadFileDoesNotFollowLeafSymlink) {
  WriteFileRaw(O("secret"), "secret");
  ASSERT_EQ(::symlink(O("secret").c_str(), R("l").c_str()), 0);
  std::string out;
  Status s = fs_->ReadFile(R("l"), 100, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(out, "");
}

TEST_F(PosixFsTest, ReadLink) {
  std::string long_target = "/some/where/" + std::string(1000, 't');
  ASSERT_EQ(::symlink(long_target.c_str(), R("long").c_str()), 0);
  ASSERT_EQ(::symlink("rel", R("short").c_str()), 0);
  std::string out;
  ASSERT_TRUE(fs_->ReadLink(R("long"), &out).ok());
  EXPECT_EQ(out, long_target);
  ASSERT_TRUE(fs_->ReadLink(R("short"), &out).ok());
  EXPECT_EQ(out, "rel");
  WriteFileRaw(R("f"), "x");
  EXPECT_EQ(fs_->ReadLink(R("f"), &out).code(), Code::kInvalidArgument);  // EINVAL
  EXPECT_EQ(fs_->ReadLink(R("missing"), &out).code(), Code::kNotFound);
}

TEST_F(PosixFsTest, ListDir) {
  MkdirRaw(R("d"));
  WriteFileRaw(R("d/a"), "");
  MkdirRaw(R("d/b"));
  ASSERT_EQ(::symlink("/nowhere", R("d/c").c_str()), 0);
  EXPECT_EQ(List(R("d")), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(List(root_), (std::vector<std::string>{"d"}));
  MkdirRaw(R("empty"));
  EXPECT_TRUE(List(R("empty")).empty());

  std::vector<std::string> names;
  EXPECT_EQ(fs_->ListDir(R("missing"), &names).code(), Code::kNotFound);
  EXPECT_FALSE(fs_->ListDir(R("d/a"), &names).ok());
  ASSERT_EQ(::symlink("d", R("dl").c_str()), 0);
  EXPECT_FALSE(fs_->ListDir(R("dl"), &names).ok());  // not followed
}

// ---- CreateFile / Symlink / Mkdir ----------------------------------------

TEST_F(PosixFsTest, CreateFileExactModeAndContent) {
  ScopedUmask um(077);
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(fs_->CreateFile(R("f"), data, 0644).ok());
  EXPECT_EQ(ReadFileRaw(R("f")), data);
  EXPECT_EQ(Mode(R("f")), 0644u);

  ASSERT_TRUE(fs_->CreateFile(R("suid"), "", 04755).ok());
  EXPECT_EQ(Mode(R("suid")), 04755u);
  EXPECT_EQ(ReadFileRaw(R("suid")), "");
}

TEST_F(PosixFsTest, CreateFileOwner) {
  ASSERT_TRUE(fs_->CreateFile(R("mine"), "x", 0600, ::geteuid(), ::getegid()).ok());
  struct stat st;
  ASSERT_EQ(::lstat(R("mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(st.st_gid, ::getegid());

  // A foreign owner: applied when privileged, silently kept best-effort if not.
  ASSERT_TRUE(fs_->CreateFile(R("theirs"), "x", 0640, 12345, 23456).ok());
  ASSERT_EQ(::lstat(R("theirs").c_str(), &st), 0);
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_uid, 12345u);
    EXPECT_EQ(st.st_gid, 23456u);
  } else {
    EXPECT_EQ(st.st_uid, ::geteuid());
  }
  EXPECT_EQ(Mode(R("theirs")), 0640u);
  EXPECT_EQ(ReadFileRaw(R("theirs")), "x");

  // Only the part that differs is changed (no fchown for what the new file
  // already has): a foreign user with our group, and the reverse.
  if (::geteuid() == 0) {
    ASSERT_TRUE(fs_->CreateFile(R("user"), "x", 0600, 12345, ::getegid()).ok());
    ASSERT_EQ(::lstat(R("user").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 12345u);
    EXPECT_EQ(st.st_gid, ::getegid());
    ASSERT_TRUE(fs_->CreateFile(R("group"), "x", 0600, ::geteuid(), 23456).ok());
    ASSERT_EQ(::lstat(R("group").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, ::geteuid());
    EXPECT_EQ(st.st_gid, 23456u);
  }
}

TEST_F(PosixFsTest, CreateFileRefusesExisting) {
  WriteFileRaw(R("f"), "old");
  Status s = fs_->CreateFile(R("f"), "new", 0600);
  EXPECT_EQ(s.code(), Code::kExists);
  EXPECT_EQ(s.err(), EEXIST);
  EXPECT_NE(s.message().find(R("f")), std::string::npos) << s.message();
  EXPECT_EQ(ReadFileRaw(R("f")), "old");

  // A dangling symlink at the leaf is not followed to create its target.
  ASSERT_EQ(::symlink(O("created").c_str(), R("l").c_str()), 0);
  EXPECT_EQ(fs_->CreateFile(R("l"), "x", 0600).code(), Code::kExists);
  EXPECT_FALSE(Exists(O("created")));

  EXPECT_EQ(fs_->CreateFile(R("nodir/f"), "x", 0600).code(), Code::kNotFound);
}

TEST_F(PosixFsTest, Symlink) {
  ASSERT_TRUE(fs_->Symlink("../anything/at/all", R("l")).ok());
  EXPECT_EQ(ReadLinkRaw(R("l")), "../anything/at/all");
  Status s = fs_->Symlink("x", R("l"));
  EXPECT_EQ(s.code(), Code::kExists);
  EXPECT_EQ(ReadLinkRaw(R("l")), "../anything/at/all");
}

TEST_F(PosixFsTest, MkdirExactMode) {
  ScopedUmask um(077);
  ASSERT_TRUE(fs_->Mkdir(R("d"), 0755).ok());
  EXPECT_EQ(Mode(R("d")), 0755u);
  ASSERT_TRUE(fs_->Mkdir(R("d/sticky"), 01777).ok());
  EXPECT_EQ(Mode(R("d/sticky")), 01777u);
  EXPECT_EQ(fs_->Mkdir(R("d"), 0700).code(), Code::kExists);
  EXPECT_EQ(Mode(R("d")), 0755u);
  EXPECT_EQ(fs_->Mkdir(R("x/y"), 0700).code(), Code::kNotFound);
}

}  // namespace
}  // namespace fstx::fstest
