// fork_test.cc — fork and exec (README "Fork and exec"): every fd fstx
// opens is close-on-exec, and a child forked without exec neither keeps the
// journal's writer lock alive after its parent lets go nor can write
// through its parent's journal.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "fstx/fstx.h"
#include "tests/testutil.h"

namespace fstx {
namespace {

using testing::ReadFileRaw;
using testing::TempDir;
using testing::WriteFileRaw;

Result<std::unique_ptr<Journal>> OpenOver(const TempDir& d) {
  Options o;
  o.dir = d / "journal";
  o.roots = {d / "tree"};
  return Journal::Open(o);
}

// Runs `argv` with stdout captured; returns its output.
std::string RunAndCapture(const char* const* argv) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return "<pipe failed>";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);  // dup2 clears close-on-exec on fd 1 only
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return text;
}

TEST(Fork, AnExecedChildInheritsNoFstxDescriptor) {
  TempDir d;
  ::mkdir((d / "tree").c_str(), 0755);
  WriteFileRaw(d / "tree/a", "A");
  auto j = OpenOver(d);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_TRUE((*j)->Begin("t").Rename(d / "tree/a", d / "tree/b").Commit().ok());
  auto in = Inspector::Open(d / "journal");  // refused: this process has it open
  EXPECT_EQ(in.status().code(), Code::kBusy) << in.status().ToString();
  // The child shell lists where each of its fds points.
  const char* argv[] = {"/bin/sh", "-c", "for f in /proc/$$/fd/*; do readlink \"$f\"; done", nullptr};
  const std::string fds = RunAndCapture(argv);
  ASSERT_FALSE(fds.empty());
  EXPECT_EQ(fds.find(d.path()), std::string::npos)
      << "a descriptor of the journal or the tree survived exec:\n" << fds;
}

TEST(Fork, AChildDoesNotKeepTheWriterLockAfterItsParentClosesTheJournal) {
  TempDir d;
  ::mkdir((d / "tree").c_str(), 0755);
  WriteFileRaw(d / "tree/a", "A");
  auto j = OpenOver(d);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  int release[2], result[2];
  ASSERT_EQ(::pipe2(release, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(result, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Writing through the parent's journal is refused, and nothing changes.
    Status s = (*j)->Begin("child").Rename(d / "tree/a", d / "tree/c").Commit();
    char c = s.ok() ? 'w' : 'r';
    (void)!::write(result[1], &c, 1);
    (void)!::read(release[0], &c, 1);  // lives on until the parent says
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(result[0], &c, 1), 1);
  EXPECT_EQ(c, 'r') << "the child committed through its parent's journal";
  EXPECT_EQ(ReadFileRaw(d / "tree/a"), "A");
  EXPECT_EQ(ReadFileRaw(d / "tree/c"), "<missing>");
  // While the parent has the journal, the lock is held (by the parent).
  WriterInfo w = ProbeWriter(d / "journal");
  EXPECT_TRUE(w.held);
  EXPECT_EQ(w.pid, ::getpid());
  // The parent lets go: the lock is free although the child still runs.
  j.value().reset();
  w = ProbeWriter(d / "journal");
  EXPECT_FALSE(w.held) << "the forked child keeps the writer lock alive";
  // Another process can take the journal: here, a second fork.
  pid_t other = ::fork();
  if (other == 0) {
    auto j2 = OpenOver(d);
    ::_exit(j2.ok() ? 0 : j2.status().code() == Code::kBusy ? 2 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(other, &status, 0), other);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "open in another process: exit " << status;
  (void)!::write(release[1], "x", 1);
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  for (int fd : {release[0], release[1], result[0], result[1]}) ::close(fd);
}

}  // namespace
}  // namespace fstx
