// pkg_units_test.cc — the systemd units (src/systemd/*.in as configured
// into the build) and the drop-ins README.md's "Boot integration" shows:
// each passes `systemd-analyze verify` (which reports ordering cycles,
// unknown settings, missing executables), the early units follow the
// early-boot convention and carry the sandboxing, and the advice the README
// used to give for network roots is reported as the cycle it is — so the
// check can fail.
#include <gtest/gtest.h>

#include <boost/filesystem.hpp>

#include "tests/pkg/pkg_util.h"

namespace fstx::pkgtest {
namespace {

namespace fs = boost::filesystem;

const std::vector<std::string> kUnits = {"fstx-recover.service", "fstx-recover@.service",
                                         "fstx-recover-remote@.service"};

// A unit directory for systemd-analyze: the generated units, their
// ExecStart pointed at the built fstx (the installed path need not exist),
// and a man page directory so that Documentation=man:fstx(1) resolves.
class UnitDir {
 public:
  UnitDir() {
    fs::create_directories(dir_ / "units");
    fs::create_directories(dir_ / "man/man1");
    fs::copy_file(EnvPath("FSTX_MAN_PAGE"), dir_ / "man/man1/fstx.1");
    for (const std::string& unit : kUnits) {
      std::string text = ReadFileRaw(EnvPath("FSTX_UNIT_DIR") + "/" + unit);
      if (text == "<missing>") throw std::runtime_error("not generated: " + EnvPath("FSTX_UNIT_DIR") + "/" + unit);
      const std::string exec = "ExecStart=";
      size_t at = text.find(exec);
      size_t end = text.find(' ', at);
      if (at == std::string::npos || end == std::string::npos) throw std::runtime_error(unit + ": no ExecStart");
      text.replace(at + exec.size(), end - at - exec.size(), EnvPath("FSTX_BIN"));
      WriteFileRaw(units() + "/" + unit, text);
    }
  }
  std::string units() const { return dir_ / "units"; }
  // A drop-in at units()/<relative path>, e.g. "libvirtd.service.d/fstx.conf".
  void DropIn(const std::string& rel, const std::string& text) const {
    fs::create_directories(fs::path(units() + "/" + rel).parent_path());
    WriteFileRaw(units() + "/" + rel, text);
  }
  // systemd-analyze verify over these units (the system's own after them).
  Proc Verify(const std::vector<std::string>& names, bool check_man, std::vector<std::string>* argv) const {
    *argv = {"systemd-analyze", "verify"};
    if (!check_man) argv->push_back("--man=no");
    argv->insert(argv->end(), names.begin(), names.end());
    return RunProgram(*argv, {{"SYSTEMD_UNIT_PATH", units() + ":"}, {"MANPATH", dir_ / "man"}, {"SYSTEMD_PAGER", ""}});
  }

 private:
  TempDir dir_;
};

std::string Generated(const std::string& unit) { return ReadFileRaw(EnvPath("FSTX_UNIT_DIR") + "/" + unit); }

TEST(PkgUnits, EarlyUnitsFollowTheEarlyBootConvention) {
  for (const std::string unit : {"fstx-recover.service", "fstx-recover@.service"}) {
    const std::string text = Generated(unit);
    for (const char* line : {"DefaultDependencies=no\n", "After=local-fs.target\n",
                             "Before=sysinit.target shutdown.target\n", "Conflicts=shutdown.target\n",
                             "WantedBy=sysinit.target\n", "PrivateNetwork=yes\n"}) {
      EXPECT_TRUE(Contains(text, line)) << unit << " lacks " << line << text;
    }
  }
  const std::string remote = Generated("fstx-recover-remote@.service");
  EXPECT_FALSE(Contains(remote, "DefaultDependencies=no")) << remote;
  EXPECT_FALSE(Contains(remote, "Before=sysinit.target")) << remote;
  EXPECT_FALSE(Contains(remote, "\nPrivateNetwork=")) << remote;
  EXPECT_TRUE(Contains(remote, "After=remote-fs.target")) << remote;
  EXPECT_TRUE(Contains(remote, "WantedBy=multi-user.target")) << remote;
}

TEST(PkgUnits, EveryUnitCarriesTheSandboxing) {
  for (const std::string& unit : kUnits) {
    const std::string text = Generated(unit);
    for (const char* line : {"NoNewPrivileges=yes\n", "ProtectSystem=yes\n", "RestrictAddressFamilies=AF_UNIX\n",
                             "ProtectKernelTunables=yes\n", "ProtectKernelModules=yes\n", "PrivateDevices=yes\n",
                             "CapabilityBoundingSet=CAP_CHOWN "}) {
      EXPECT_TRUE(Contains(text, line)) << unit << " lacks " << line << text;
    }
    EXPECT_FALSE(Contains(text, "@hardening@")) << text;
    EXPECT_FALSE(Contains(text, "ProtectSystem=strict")) << "roots such as /etc/libvirt must stay writable";
  }
}

TEST(PkgUnits, GeneratedUnitsPassSystemdAnalyzeVerify) {
  UnitDir dir;
  std::vector<std::string> argv;
  Proc p = dir.Verify({"fstx-recover.service", "fstx-recover@libvirt.service", "fstx-recover-remote@libvirt.service"},
                      /*check_man=*/true, &argv);
  EXPECT_EQ(p.code, 0) << p.Describe(argv);
  EXPECT_EQ(p.err, "") << p.Describe(argv);
}

// The ```ini blocks of README.md whose first line is a comment naming
// their path beneath /etc/systemd/system/: path -> text.
std::vector<std::pair<std::string, std::string>> ReadmeDropIns() {
  const std::string readme = ReadFileRaw(EnvPath("FSTX_README"));
  const std::string open = "```ini\n# /etc/systemd/system/";
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t at = readme.find(open); at != std::string::npos; at = readme.find(open, at + 1)) {
    size_t path_at = at + open.size();
    size_t nl = readme.find('\n', path_at);
    size_t end = readme.find("```", nl);
    out.emplace_back(readme.substr(path_at, nl - path_at), readme.substr(nl + 1, end - nl - 1));
  }
  return out;
}

TEST(PkgUnits, ReadmeDropInsPassSystemdAnalyzeVerify) {
  if (!fs::exists("/lib/systemd/system/libvirtd.service") && !fs::exists("/usr/lib/systemd/system/libvirtd.service")) {
    FAIL() << "libvirtd.service is not installed (libvirt-daemon-system, in setup.sh's PACKAGES): the README's "
              "drop-ins are for it";
  }
  auto dropins = ReadmeDropIns();
  ASSERT_GE(dropins.size(), 4u) << "README.md's Boot integration shows fewer drop-ins than it did";
  for (const auto& [rel, text] : dropins) {
    const size_t d = rel.find(".d/");
    ASSERT_NE(d, std::string::npos) << rel << " is not a drop-in path";
    const std::string unit = rel.substr(0, d);
    UnitDir dir;  // one drop-in at a time: the two libvirtd ones are alternatives
    dir.DropIn(rel, text);
    std::vector<std::string> argv;
    // --man=no: libvirtd's own man page need not be installed.
    Proc p = dir.Verify({unit}, /*check_man=*/false, &argv);
    EXPECT_EQ(p.code, 0) << rel << ":\n" << text << p.Describe(argv);
    EXPECT_FALSE(Contains(p.err, "cycle")) << rel << ":\n" << text << p.Describe(argv);
  }
}

TEST(PkgUnits, TheOldNetworkRootAdviceIsACycle) {
  UnitDir dir;
  dir.DropIn("fstx-recover@libvirt.service.d/remote.conf", "[Unit]\nAfter=remote-fs.target\nDefaultDependencies=yes\n");
  std::vector<std::string> argv;
  Proc p = dir.Verify({"fstx-recover@libvirt.service"}, /*check_man=*/false, &argv);
  EXPECT_NE(p.code, 0) << p.Describe(argv);
  EXPECT_TRUE(Contains(p.err, "ordering cycle")) << p.Describe(argv);
}

}  // namespace
}  // namespace fstx::pkgtest
