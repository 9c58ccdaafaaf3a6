// Unit tests of fstx::virt::CheckDomains (src/virt/check.h) on trees built in
// temp dirs from the real libvirt 9.0 output in tests/virt/harness/sample-tree/
// (live/: a whole vm1; domrename/: what `virsh domrename vm1 vm2` left).
#include "src/virt/check.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/testutil.h"

namespace fstx::virt {
namespace {

namespace fs = std::filesystem;
using fstx::testing::TempDir;
using fstx::testing::WriteFileRaw;

const std::string kSamples = FSTX_SOURCE_DIR "/tests/virt/harness/sample-tree";

class CheckTest : public ::testing::Test {
 protected:
  // Copies sample-tree/NAME into the temp dir (symlinks copied as links).
  void Load(const std::string& sample) {
    fs::copy(kSamples + "/" + sample, tmp_.path(),
             fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing);
    fs::remove(tmp_.path() + "/MANIFEST");
    fs::remove(tmp_.path() + "/backing-chain.json");
    layout_.prefix = tmp_.path();
  }
  std::string P(const std::string& host) const { return layout_.OnDisk(host); }
  void Mkdirs(const std::string& host) { fs::create_directories(P(host)); }
  void Put(const std::string& host, const std::string& data) {
    fs::create_directories(fs::path(P(host)).parent_path());
    WriteFileRaw(P(host), data, 0600);
  }
  static std::string Read(const std::string& path) { return fstx::testing::ReadFileRaw(path); }

  CheckReport Check(const std::string& only = "") {
    auto r = CheckDomains(layout_, only);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CheckReport{};
  }
  static const DomainReport* Find(const CheckReport& r, const std::string& name) {
    for (const auto& d : r.domains)
      if (d.name == name) return &d;
    return nullptr;
  }
  // Problems of `kind` in the report (all domains), as "domain:path".
  static std::vector<std::string> Kinds(const CheckReport& r, const std::string& kind) {
    std::vector<std::string> out;
    for (const auto& d : r.domains)
      for (const auto& p : d.problems)
        if (p.kind == kind) out.push_back(d.name + ":" + p.path);
    return out;
  }
  static std::string Dump(const CheckReport& r) {
    std::string s;
    for (const auto& d : r.domains)
      for (const auto& p : d.problems) s += d.name + " " + p.severity + " " + p.kind + " " + p.path + "\n";
    return s.empty() ? "(no problems)" : s;
  }

  TempDir tmp_;
  Layout layout_;
};

TEST_F(CheckTest, RealLibvirtDomainIsClean) {
  Load("live");
  CheckReport r = Check();
  ASSERT_EQ(r.domains.size(), 1u) << Dump(r);
  const DomainReport& d = r.domains[0];
  EXPECT_EQ(d.name, "vm1");
  EXPECT_TRUE(d.defined);
  EXPECT_EQ(d.config_name, "vm1");
  EXPECT_EQ(d.uuid, "3eae74c2-0d24-4b4d-9ee1-cb61e2c2e380");
  EXPECT_EQ(d.autostart, P("/etc/libvirt/qemu/autostart/vm1.xml"));
  EXPECT_EQ(d.autostart_target, "/etc/libvirt/qemu/vm1.xml");  // host path, as libvirt writes it
  EXPECT_EQ(d.snapshot_dir, P("/var/lib/libvirt/qemu/snapshot/vm1"));
  ASSERT_EQ(d.snapshots.size(), 2u);
  EXPECT_EQ(d.snapshots[0].root, "domainsnapshot");
  EXPECT_EQ(d.snapshots[0].name, "snap1");
  EXPECT_EQ(d.snapshots[1].embedded_name, "vm1");
  ASSERT_EQ(d.checkpoints.size(), 1u);
  EXPECT_EQ(d.checkpoints[0].root, "domaincheckpoint");
  EXPECT_EQ(d.nvram, "/var/lib/libvirt/qemu/nvram/vm1_VARS.fd");
  EXPECT_FALSE(d.nvram_exists);  // the samples carry no NVRAM: like a domain that never started
  EXPECT_FALSE(d.running);
  EXPECT_TRUE(d.problems.empty()) << Dump(r);  // an absent NVRAM alone is normal
  EXPECT_EQ(r.errors, 0);
  EXPECT_EQ(r.warnings, 0);

  Put("/var/lib/libvirt/qemu/nvram/vm1_VARS.fd", "vars");
  r = Check("vm1");
  ASSERT_EQ(r.domains.size(), 1u);
  EXPECT_TRUE(r.domains[0].nvram_exists);
  EXPECT_EQ(r.errors + r.warnings, 0) << Dump(r);
}

TEST_F(CheckTest, LibvirtDomrenameLeftoversAreReported) {
  Load("domrename");
  // What domrename really leaves: the NVRAM still under the old name,
  // which vm2.xml still names (so it is not "under the wrong name").
  Put("/var/lib/libvirt/qemu/nvram/vm1_VARS.fd", "vars");
  CheckReport r = Check();
  ASSERT_NE(Find(r, "vm2"), nullptr) << Dump(r);
  EXPECT_EQ(Find(r, "vm1"), nullptr) << Dump(r);
  auto cps = Kinds(r, "checkpoint-in-snapshot-dir");
  ASSERT_EQ(cps.size(), 1u) << Dump(r);
  EXPECT_EQ(cps[0], "vm2:" + P("/var/lib/libvirt/qemu/snapshot/vm2/cp1.xml"));
  // snap1, snap2 embed <name>vm1</name>: a warning each, not an error.
  auto stale = Kinds(r, "stale-embedded-name");
  EXPECT_EQ(stale.size(), 2u) << Dump(r);
  for (const auto& d : r.domains)
    for (const auto& p : d.problems) {
      if (p.kind == "stale-embedded-name") {
        EXPECT_EQ(p.severity, "warning");
      }
      if (p.kind == "checkpoint-in-snapshot-dir") {
        EXPECT_EQ(p.severity, "error");
        EXPECT_NE(p.message.find(P("/var/lib/libvirt/qemu/checkpoint/vm2")), std::string::npos) << p.message;
      }
    }
  EXPECT_TRUE(Kinds(r, "orphan-nvram").empty()) << Dump(r);
  EXPECT_TRUE(Kinds(r, "nvram-missing").empty()) << Dump(r);
  // ... but it is named after vm1: a warning.
  EXPECT_EQ(Kinds(r, "nvram-other-name"),
            std::vector<std::string>{"vm2:" + P("/var/lib/libvirt/qemu/nvram/vm1_VARS.fd")})
      << Dump(r);
  EXPECT_EQ(r.errors, 1) << Dump(r);
  EXPECT_EQ(r.warnings, 3) << Dump(r);
}

TEST_F(CheckTest, InterruptedDomrenameLeavesDanglingAutostartAndDuplicateUuid) {
  // libvirt's order: autostart/NEW.xml first, ..., NEW.xml, then unlink OLD.
  // Killed after the link: a dangling autostart link.
  Load("live");
  fs::create_symlink("/etc/libvirt/qemu/vm2.xml", P("/etc/libvirt/qemu/autostart/vm2.xml"));
  CheckReport r = Check();
  auto dang = Kinds(r, "dangling-autostart");
  ASSERT_EQ(dang.size(), 1u) << Dump(r);
  EXPECT_EQ(dang[0], "vm2:" + P("/etc/libvirt/qemu/autostart/vm2.xml"));
  EXPECT_EQ(r.errors, 1) << Dump(r);

  // Killed after snapshot/vm2 was made: an orphan snapshot dir.
  fs::create_directories(P("/var/lib/libvirt/qemu/snapshot/vm2"));
  fs::copy_file(P("/var/lib/libvirt/qemu/snapshot/vm1/snap1.xml"), P("/var/lib/libvirt/qemu/snapshot/vm2/snap1.xml"));
  r = Check();
  EXPECT_EQ(Kinds(r, "orphan-snapshot-dir").size(), 1u) << Dump(r);

  // Killed after NEW.xml was written, before OLD.xml was unlinked: two
  // configs with one UUID.
  std::string xml = Read(P("/etc/libvirt/qemu/vm1.xml"));
  xml.replace(xml.find("<name>vm1</name>"), 16, "<name>vm2</name>");
  Put("/etc/libvirt/qemu/vm2.xml", xml);
  r = Check();
  EXPECT_TRUE(Kinds(r, "dangling-autostart").empty()) << Dump(r);
  EXPECT_TRUE(Kinds(r, "orphan-snapshot-dir").empty()) << Dump(r);
  auto dup = Kinds(r, "duplicate-uuid");
  ASSERT_EQ(dup.size(), 2u) << Dump(r);
  EXPECT_EQ(dup[0], "vm1:" + P("/etc/libvirt/qemu/vm1.xml"));
  EXPECT_EQ(dup[1], "vm2:" + P("/etc/libvirt/qemu/vm2.xml"));
  // vm2's snapshot still embeds vm1.
  EXPECT_EQ(Kinds(r, "stale-embedded-name").size(), 1u) << Dump(r);
}

TEST_F(CheckTest, AutostartLinkForms) {
  Load("live");
  const std::string link = P("/etc/libvirt/qemu/autostart/vm1.xml");
  // Relative form that resolves to the config: fine.
  fs::remove(link);
  fs::create_symlink("../vm1.xml", link);
  EXPECT_TRUE(Kinds(Check(), "dangling-autostart").empty());
  // Points elsewhere (e.g. at the old name after a partial rename).
  fs::remove(link);
  fs::create_symlink("/etc/libvirt/qemu/vm0.xml", link);
  CheckReport r = Check();
  ASSERT_EQ(Kinds(r, "dangling-autostart").size(), 1u) << Dump(r);
  EXPECT_NE(r.domains[0].problems[0].message.find("ln -sfn /etc/libvirt/qemu/vm1.xml"), std::string::npos)
      << r.domains[0].problems[0].message;
  // A regular file instead of a link.
  fs::remove(link);
  WriteFileRaw(link, "x");
  EXPECT_EQ(Kinds(Check(), "dangling-autostart").size(), 1u);
  // The link's target must be looked up beneath the prefix, not on the host:
  // the host has no /etc/libvirt/qemu/vm1.xml, the prefix does -> clean.
  fs::remove(link);
  fs::create_symlink("/etc/libvirt/qemu/vm1.xml", link);
  EXPECT_TRUE(Kinds(Check(), "dangling-autostart").empty());
}

TEST_F(CheckTest, NameMismatchAndBadXml) {
  Load("live");
  fs::copy_file(P("/etc/libvirt/qemu/vm1.xml"), P("/etc/libvirt/qemu/vm3.xml"));
  CheckReport r = Check();
  auto nm = Kinds(r, "name-mismatch");
  ASSERT_EQ(nm.size(), 1u) << Dump(r);
  EXPECT_EQ(nm[0], "vm3:" + P("/etc/libvirt/qemu/vm3.xml"));
  EXPECT_EQ(Kinds(r, "duplicate-uuid").size(), 2u) << Dump(r);
  fs::remove(P("/etc/libvirt/qemu/vm3.xml"));

  // A staging leftover inside the snapshot directory: libvirt parses it.
  Put("/var/lib/libvirt/qemu/snapshot/vm1/.fstx-7-3-new", "<domainsnapshot><name>snap1");
  r = Check();
  auto bad = Kinds(r, "bad-xml");
  ASSERT_EQ(bad.size(), 1u) << Dump(r);
  EXPECT_EQ(bad[0], "vm1:" + P("/var/lib/libvirt/qemu/snapshot/vm1/.fstx-7-3-new"));
}

TEST_F(CheckTest, OrphanCheckpointDir) {
  Load("live");
  fs::create_directories(P("/var/lib/libvirt/qemu/checkpoint/vm2"));
  CheckReport r = Check();
  EXPECT_EQ(Kinds(r, "orphan-checkpoint-dir"), std::vector<std::string>{"vm2:" + P("/var/lib/libvirt/qemu/checkpoint/vm2")})
      << Dump(r);
  const DomainReport* d = Find(r, "vm2");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->defined);
}

TEST_F(CheckTest, NvramUnderTheWrongName) {
  Load("live");
  // vm1.xml names vm1_VARS.fd; the file exists only as vm2_VARS.fd.
  Put("/var/lib/libvirt/qemu/nvram/vm2_VARS.fd", "vars");
  CheckReport r = Check();
  auto miss = Kinds(r, "nvram-missing");
  ASSERT_EQ(miss.size(), 1u) << Dump(r);
  EXPECT_EQ(miss[0], "vm1:" + P("/var/lib/libvirt/qemu/nvram/vm1_VARS.fd"));
  auto orphan = Kinds(r, "orphan-nvram");
  ASSERT_EQ(orphan.size(), 1u) << Dump(r);
  EXPECT_EQ(orphan[0], "vm2:" + P("/var/lib/libvirt/qemu/nvram/vm2_VARS.fd"));
  EXPECT_EQ(r.errors, 1) << Dump(r);
  EXPECT_EQ(r.warnings, 1) << Dump(r);
  // Once vm1's own file is there, the other is only an orphan (warning).
  Put("/var/lib/libvirt/qemu/nvram/vm1_VARS.fd", "vars");
  r = Check();
  EXPECT_TRUE(Kinds(r, "nvram-missing").empty()) << Dump(r);
  EXPECT_EQ(r.errors, 0) << Dump(r);
}

TEST_F(CheckTest, RunningDomain) {
  Load("live");
  Put("/run/libvirt/qemu/vm1.xml", "<domstatus/>");
  CheckReport r = Check();
  ASSERT_EQ(Kinds(r, "running").size(), 1u) << Dump(r);
  EXPECT_TRUE(r.domains[0].running);
  fs::remove(P("/run/libvirt/qemu/vm1.xml"));

  // A pid file with a live pid (ours) counts; a dead pid does not.
  Put("/run/libvirt/qemu/vm1.pid", std::to_string(::getpid()));
  r = Check();
  ASSERT_EQ(Kinds(r, "running").size(), 1u) << Dump(r);
  EXPECT_NE(r.domains[0].run_detail.find(std::to_string(::getpid())), std::string::npos);
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // reaped: the pid is dead
  Put("/run/libvirt/qemu/vm1.pid", std::to_string(child));
  r = Check();
  EXPECT_TRUE(Kinds(r, "running").empty()) << Dump(r);

  // The daemon's pid file.
  Put("/run/libvirtd.pid", std::to_string(::getpid()));
  r = Check();
  EXPECT_NE(r.daemon_running.find(P("/run/libvirtd.pid")), std::string::npos) << r.daemon_running;
}

TEST_F(CheckTest, NameNotFoundNamesThePath) {
  Load("live");
  auto r = CheckDomains(layout_, "nosuch");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(P("/etc/libvirt/qemu/nosuch.xml")), std::string::npos) << r.status().message();
  // An empty tree: no domains, no error.
  TempDir empty;
  Layout l;
  l.prefix = empty.path();
  auto e = CheckDomains(l, "");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE(e->domains.empty());
}

TEST_F(CheckTest, SymlinksAreNotFollowed) {
  Load("live");
  // snapshot/vm9 as a symlink to vm1's snapshot dir: not a directory of
  // libvirt's, not read.
  fs::create_directory_symlink(P("/var/lib/libvirt/qemu/snapshot/vm1"), P("/var/lib/libvirt/qemu/snapshot/vm9"));
  // A config that is a symlink pointing out of the tree: not parsed.
  fs::create_symlink("/etc/passwd", P("/etc/libvirt/qemu/vm8.xml"));
  CheckReport r = Check();
  EXPECT_EQ(Find(r, "vm9"), nullptr) << Dump(r);
  EXPECT_EQ(Find(r, "vm8"), nullptr) << Dump(r);
  EXPECT_EQ(r.errors, 0) << Dump(r);
}

}  // namespace
}  // namespace fstx::virt
