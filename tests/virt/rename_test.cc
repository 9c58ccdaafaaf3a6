// The domain rename planner (src/virt/rename.h) on a tree libvirt 9.0
// wrote (tests/virt/harness/sample-tree/live: XML files and the autostart
// link), completed with a real qcow2 chain made by qemu-img and an NVRAM
// file: the plan, the result byte for byte, the guards, a stale plan, and
// the crash explorer over the whole rename under every model.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fstx/explorer.h"
#include "fstx/fstx.h"
#include "src/virt/qcow2.h"
#include "src/virt/rename.h"
#include "tests/testutil.h"

namespace fstx::virt {
namespace {

namespace bfs = boost::filesystem;
using fstx::testing::ReadFileRaw;
using fstx::testing::TempDir;
using fstx::testing::WriteFileRaw;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(std::string(name) + " is not set (run through meson test)");
  return v;
}

void Sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd);
}

void CopyTree(const bfs::path& from, const bfs::path& to) {
  for (bfs::recursive_directory_iterator it(from), end; it != end; ++it) {
    bfs::path dst = to / bfs::relative(it->path(), from);
    if (bfs::is_symlink(it->symlink_status())) bfs::copy_symlink(it->path(), dst);
    else if (bfs::is_directory(it->status())) bfs::create_directories(dst);
    else bfs::copy_file(it->path(), dst);
  }
}

// A host tree beneath `root` as libvirt left it for vm1: the real sample
// XMLs, plus vm1.qcow2 <- vm1.snap1 <- vm1.snap2 (absolute host backing
// paths, as libvirt writes them), data-disk.qcow2 and the NVRAM file.
void BuildHost(const std::string& root) {
  const std::string sample = Env("VIRT_SAMPLE_TREE") + "/live";
  for (const char* top : {"etc", "var"}) CopyTree(sample + "/" + top, root + "/" + top);
  bfs::remove_all(root + "/var/log");
  ::chmod((root + "/etc/libvirt/qemu/vm1.xml").c_str(), 0600);  // as libvirt writes it
  const std::string img = root + "/var/lib/libvirt/images";
  bfs::create_directories(img);
  bfs::create_directories(root + "/var/lib/libvirt/qemu/nvram");
  WriteFileRaw(root + "/var/lib/libvirt/qemu/nvram/vm1_VARS.fd", std::string(8192, 'N'), 0600);
  const std::string q = Env("QEMU_IMG");
  Sh(q + " create -q -f qcow2 " + img + "/vm1.qcow2 1M");
  Sh(q + " create -q -f qcow2 -u -b /var/lib/libvirt/images/vm1.qcow2 -F qcow2 " + img + "/vm1.snap1 1M");
  Sh(q + " create -q -f qcow2 -u -b /var/lib/libvirt/images/vm1.snap1 -F qcow2 " + img + "/vm1.snap2 1M");
  Sh(q + " create -q -f qcow2 " + img + "/data-disk.qcow2 1M");
}

std::string BackingOf(const std::string& image) {
  std::string head = ReadFileRaw(image).substr(0, 65536);
  auto b = qcow2::ReadBackingFile(head);
  if (!b.ok()) throw std::runtime_error(b.status().ToString());
  return *b;
}

// How two files differ, line by line: the lines of `a` that changed.
std::vector<std::string> ChangedLines(const std::string& a, const std::string& b) {
  std::vector<std::string> la, lb, out;
  std::istringstream sa(a), sb(b);
  for (std::string l; std::getline(sa, l);) la.push_back(l);
  for (std::string l; std::getline(sb, l);) lb.push_back(l);
  EXPECT_EQ(la.size(), lb.size()) << "only values change, never the line structure";
  for (size_t i = 0; i < std::min(la.size(), lb.size()); ++i)
    if (la[i] != lb[i]) out.push_back(la[i]);
  return out;
}

class VirtRenameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "host";
    bfs::create_directories(root_);
    BuildHost(root_);
    layout_.prefix = root_;
  }
  std::unique_ptr<Journal> Open() {
    Options o;
    o.dir = dir_ / "journal";
    o.roots = {root_ + "/etc/libvirt", root_ + "/var/lib/libvirt"};
    auto j = Journal::Open(o);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j.value()) : nullptr;
  }
  std::string P(const std::string& host) const { return root_ + host; }
  TempDir dir_;
  std::string root_;
  Layout layout_;
};

TEST(RenameWordTest, OnlyWholeWords) {
  EXPECT_EQ(RenameWord("vm1.qcow2", "vm1", "vm2"), "vm2.qcow2");
  EXPECT_EQ(RenameWord("vm1-data.img", "vm1", "web"), "web-data.img");
  EXPECT_EQ(RenameWord("myvm1.img", "vm1", "vm2"), "myvm1.img");
  EXPECT_EQ(RenameWord("vm10.qcow2", "vm1", "vm2"), "vm10.qcow2");
  EXPECT_EQ(RenameWord("vm1_vm1.raw", "vm1", "x"), "x_x.raw");
}

TEST_F(VirtRenameTest, RenamesEveryFileAndOnlyTheValuesThatNameIt) {
  const std::string cfg = ReadFileRaw(P("/etc/libvirt/qemu/vm1.xml"));
  const std::string snap1 = ReadFileRaw(P("/var/lib/libvirt/qemu/snapshot/vm1/snap1.xml"));
  const std::string data_disk = ReadFileRaw(P("/var/lib/libvirt/images/data-disk.qcow2"));
  auto plan = PlanDomainRename(layout_, {"vm1", "vm2", true});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_FALSE(plan->uuid.empty());
  EXPECT_EQ(plan->images.size(), 3u);
  auto j = Open();
  ASSERT_TRUE(j);
  Transaction tx = j->Begin("virt rename");
  plan->AddTo(&tx);
  Status s = tx.Commit();
  ASSERT_TRUE(s.ok()) << s.ToString();

  for (const char* gone : {"/etc/libvirt/qemu/vm1.xml", "/etc/libvirt/qemu/autostart/vm1.xml",
                           "/var/lib/libvirt/qemu/snapshot/vm1", "/var/lib/libvirt/qemu/checkpoint/vm1",
                           "/var/lib/libvirt/qemu/nvram/vm1_VARS.fd", "/var/lib/libvirt/images/vm1.qcow2"})
    EXPECT_FALSE(bfs::exists(bfs::symlink_status(P(gone)))) << gone;
  EXPECT_EQ(fstx::testing::ReadLinkRaw(P("/etc/libvirt/qemu/autostart/vm2.xml")), "/etc/libvirt/qemu/vm2.xml");
  EXPECT_EQ(fstx::testing::Mode(P("/etc/libvirt/qemu/vm2.xml")), 0600u);
  const std::string cfg2 = ReadFileRaw(P("/etc/libvirt/qemu/vm2.xml"));
  for (const auto& line : ChangedLines(cfg, cfg2))
    EXPECT_NE(line.find("vm1"), std::string::npos) << "a changed line that did not name vm1: " << line;
  EXPECT_NE(cfg2.find("<name>vm2</name>"), std::string::npos);
  EXPECT_NE(cfg2.find(">/var/lib/libvirt/qemu/nvram/vm2_VARS.fd</nvram>"), std::string::npos);
  EXPECT_NE(cfg2.find("'/var/lib/libvirt/images/vm2.snap2'"), std::string::npos);
  EXPECT_NE(cfg2.find("'/var/lib/libvirt/images/data-disk.qcow2'"), std::string::npos);
  EXPECT_NE(cfg2.find("virsh edit vm1"), std::string::npos) << "comments stay as libvirt wrote them";
  const std::string snap2 = ReadFileRaw(P("/var/lib/libvirt/qemu/snapshot/vm2/snap1.xml"));
  for (const auto& line : ChangedLines(snap1, snap2))
    EXPECT_NE(line.find("vm1"), std::string::npos) << line;
  EXPECT_NE(snap2.find("<name>snap1</name>"), std::string::npos) << "the snapshot keeps its own name";
  EXPECT_EQ(BackingOf(P("/var/lib/libvirt/images/vm2.snap2")), "/var/lib/libvirt/images/vm2.snap1");
  EXPECT_EQ(BackingOf(P("/var/lib/libvirt/images/vm2.snap1")), "/var/lib/libvirt/images/vm2.qcow2");
  EXPECT_EQ(ReadFileRaw(P("/var/lib/libvirt/images/data-disk.qcow2")), data_disk);
  EXPECT_EQ(ReadFileRaw(P("/var/lib/libvirt/qemu/nvram/vm2_VARS.fd")), std::string(8192, 'N'));
  // qemu-img reads the edited header (without opening the host paths it
  // names): the same backing file, and a clean image.
  const std::string out = dir_ / "info.json";
  Sh(Env("QEMU_IMG") + " info --output=json " + P("/var/lib/libvirt/images/vm2.snap2") + " > " + out);
  EXPECT_NE(ReadFileRaw(out).find("\"backing-filename\": \"/var/lib/libvirt/images/vm2.snap1\""), std::string::npos)
      << ReadFileRaw(out);
}

TEST_F(VirtRenameTest, RefusedWhileTheDaemonOrTheDomainRuns) {
  // A live process named libvirtd whose pid is in the daemon's pid file.
  const std::string fake = dir_ / "libvirtd";
  bfs::copy_file("/bin/sleep", fake);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(fake.c_str(), "libvirtd", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  ::usleep(100000);
  bfs::create_directories(P("/run"));
  WriteFileRaw(P("/run/libvirtd.pid"), std::to_string(pid) + "\n");
  auto plan = PlanDomainRename(layout_, {"vm1", "vm2", false});
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("stop it first"), std::string::npos) << plan.status().message();
  // The pid is dead now: a stale pid file does not block.
  EXPECT_TRUE(PlanDomainRename(layout_, {"vm1", "vm2", false}).ok());
  bfs::create_directories(P("/run/libvirt/qemu"));
  WriteFileRaw(P("/run/libvirt/qemu/vm1.xml"), "<domstatus/>");
  plan = PlanDomainRename(layout_, {"vm1", "vm2", false});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("virsh shutdown vm1"), std::string::npos) << plan.status().message();
}

TEST_F(VirtRenameTest, TakenNamesBadNamesAndInconsistentDomainsAreRefused) {
  bfs::create_directories(P("/var/lib/libvirt/qemu/checkpoint/web"));
  auto plan = PlanDomainRename(layout_, {"vm1", "web", false});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kExists);
  EXPECT_NE(plan.status().message().find(P("/var/lib/libvirt/qemu/checkpoint/web")), std::string::npos);
  for (const char* bad : {"", "a/b", ".hidden", "line\nbreak"})
    EXPECT_EQ(PlanDomainRename(layout_, {"vm1", bad, false}).status().code(), Code::kInvalidArgument) << bad;
  EXPECT_EQ(PlanDomainRename(layout_, {"nope", "vm2", false}).status().code(), Code::kNotFound);
  // What libvirt's own domrename leaves: a checkpoint file in the snapshot
  // directory.
  bfs::copy_file(P("/var/lib/libvirt/qemu/checkpoint/vm1/cp1.xml"), P("/var/lib/libvirt/qemu/snapshot/vm1/cp1.xml"));
  plan = PlanDomainRename(layout_, {"vm1", "vm2", false});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("already inconsistent"), std::string::npos) << plan.status().message();
}

// The plan was made, then someone edited the config: Commit fails with
// kStale naming the file, and nothing changes.
TEST_F(VirtRenameTest, StalePlanChangesNothing) {
  auto plan = PlanDomainRename(layout_, {"vm1", "vm2", true});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const std::string cfg = P("/etc/libvirt/qemu/vm1.xml");
  WriteFileRaw(cfg, ReadFileRaw(cfg) + "<!-- edited -->\n", 0600);
  const auto before = fstx::testing::Snapshot(root_);
  auto j = Open();
  ASSERT_TRUE(j);
  Transaction tx = j->Begin("stale");
  plan->AddTo(&tx);
  Status s = tx.Commit();
  EXPECT_EQ(s.code(), Code::kStale) << s.ToString();
  EXPECT_NE(s.message().find(cfg), std::string::npos) << s.message();
  EXPECT_EQ(fstx::testing::Snapshot(root_), before);
}

// The whole rename, with images, under every crash model: process kills
// at every point, power loss (ordered and weak, torn writes), every
// injected error, and recovery itself killed.
TEST_F(VirtRenameTest, CrashExplorerFindsNoViolation) {
  for (bool images : {false, true}) {
    explore::Options o;
    o.tree = root_;
    o.jobs = 2;
    o.workload = [images](Transaction& tx, const std::string& r) {
      Layout l;
      l.prefix = r;
      auto plan = PlanDomainRename(l, {"vm1", "vm2", images});
      if (!plan.ok()) throw std::runtime_error(plan.status().ToString());
      plan->AddTo(&tx);
    };
    auto rep = explore::Explore(o);
    ASSERT_TRUE(rep.ok()) << rep.status().ToString();
    EXPECT_TRUE(rep->ok()) << explore::FormatReport(*rep);
    // The explorer checks each distinct state once (a crash point that
    // leaves the same tree and journal as another is not checked again):
    // the whole plan yields ~1,000 crash states, ~130 of them distinct.
    uint64_t generated = 0, unique = 0;
    for (const auto& m : rep->models) {
      generated += m.generated;
      unique += m.unique;
      EXPECT_GT(m.checked, 0u) << explore::model_name(m.model);
    }
    EXPECT_GT(generated, 800u);
    EXPECT_GT(unique, 100u);
    std::printf("[ virt explore ] images=%d: %s", images ? 1 : 0, explore::FormatReport(*rep).c_str());
  }
}

}  // namespace
}  // namespace fstx::virt
