// vmstore's own crash tests: the rename, as the daemon runs it (its own
// Commit and its retry on kStale), explored under every crash model by the
// installed fstx fault library.
//
// A failing state prints the command that replays exactly it, e.g.
//   ./vmstore_tests --gtest_filter=VmStore.RenameIsCrashSafe --replay power-weak:9:3
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <fstx/gtest.h>

#include "vmstore.h"

namespace {

class TempTree {
 public:
  TempTree() {
    char tmpl[] = "/tmp/vmstore-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempTree() {
    if (std::system(("rm -rf '" + path_ + "'").c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void Write(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

// The daemon's state for one autostarted VM "web".
void BuildState(const std::string& root) {
  for (const char* d : {"/etc", "/etc/autostart", "/images"}) ::mkdir((root + d).c_str(), 0755);
  Write(root + "/etc/web.xml", vmstore::Definition("web"));
  ::chmod((root + "/etc/web.xml").c_str(), 0600);
  ASSERT_EQ(::symlink("../web.xml", (root + "/etc/autostart/web.xml").c_str()), 0);
  Write(root + "/images/web.img", std::string(4096, 'I'));
}

TEST(VmStore, RenameIsCrashSafe) {
  TempTree tree;
  BuildState(tree.path());
  fstx::explore::Options o;
  o.tree = tree.path();
  o.jobs = 2;
  o.run = [](fstx::Journal& journal, const std::string& root) {
    return vmstore::RenameVm(journal, root, "web", "www");
  };
  EXPECT_CRASH_SAFE(o);
}

// A rename that skips the journal for one file is not crash-safe, and the
// explorer says so (the test of the test).
TEST(VmStore, ARenameOutsideTheTransactionIsCaught) {
  TempTree tree;
  BuildState(tree.path());
  fstx::explore::Options o;
  o.tree = tree.path();
  o.jobs = 2;
  o.models = {fstx::explore::Model::kProcess};
  o.run = [](fstx::Journal& journal, const std::string& root) {
    ::rename((root + "/images/web.img").c_str(), (root + "/images/www.img").c_str());  // the bug
    fstx::Transaction tx = journal.Begin("half-journaled rename");
    tx.Rename(root + "/etc/web.xml", root + "/etc/www.xml");
    return tx.Commit();
  };
  ::testing::AssertionResult r = fstx::testing::CrashSafe(o);
  EXPECT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("--replay process:"), std::string::npos) << r.message();
}

}  // namespace
