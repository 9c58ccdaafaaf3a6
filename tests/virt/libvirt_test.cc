// The real-libvirtd suite: `fstx virt rename` against a private libvirt 9.0
// daemon (tests/virt/harness/libvirt_env.sh), checked through virsh.
//
// Environment (set by meson): FSTX_BIN (the fstx executable), LIBVIRT_ENV
// (libvirt_env.sh). Needs root, libvirtd, virsh, qemu-img and
// qemu-system-x86_64: anything missing FAILS the suite with the reason (it
// never skips). Knobs: FSTX_VIRT_CRASH_CHECKS (daemon checks per crash
// matrix, default 6; 0 = every point), FSTX_VIRT_KEEP=1 keeps the state
// dirs under $TMPDIR for inspection.
//
// One golden STATE_DIR is made once (start, make-domain vm1, stop: a domain
// with UEFI NVRAM, two external snapshots, a checkpoint, autostart); every
// test works on its own `cp -a` clone of it (the harness identifies its
// processes by the STATE_DIR bind, so clones never touch each other).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------ processes ---

struct RunResult {
  int code = -1;        // exit code; 128+signal if killed by a signal
  bool signaled = false;
  int sig = 0;
  std::string out, err;
  double secs = 0;
  std::string cmd;
  bool Killed() const { return (signaled && sig == SIGKILL) || code == 137; }
  std::string Describe() const {
    return "`" + cmd + "` exit " + std::to_string(code) + (signaled ? " (signal " + std::to_string(sig) + ")" : "") +
           "\n--- stdout:\n" + out.substr(0, 6000) + "\n--- stderr:\n" + err.substr(0, 6000);
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) {
  if (s.find_first_of(" '\"$\\*;&|<>()") == std::string::npos && !s.empty()) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs argv (PATH lookup) with extra environment "K=V" entries; stdout and
// stderr are captured through temp files. Every call is under timeout(1).
RunResult RunCmd(std::vector<std::string> argv, const std::vector<std::string>& env = {}, int timeout_s = 600) {
  RunResult r;
  for (const auto& a : argv) r.cmd += (r.cmd.empty() ? "" : " ") + Quote(a);
  for (const auto& e : env) r.cmd = e + " " + r.cmd;
  argv.insert(argv.begin(), {"timeout", "-k", "5", std::to_string(timeout_s)});
  char out_t[] = "/tmp/fstx-virt-out-XXXXXX";
  char err_t[] = "/tmp/fstx-virt-err-XXXXXX";
  int ofd = ::mkstemp(out_t), efd = ::mkstemp(err_t);
  auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(ofd, 1);
    ::dup2(efd, 2);
    int nul = ::open("/dev/null", O_RDONLY);
    ::dup2(nul, 0);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execvp(cargv[0], cargv.data());
    std::fprintf(stderr, "exec %s failed\n", cargv[0]);
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (WIFEXITED(st)) r.code = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) {
    r.signaled = true;
    r.sig = WTERMSIG(st);
    r.code = 128 + r.sig;
  }
  ::close(ofd);
  ::close(efd);
  r.out = ReadAll(out_t);
  r.err = ReadAll(err_t);
  ::unlink(out_t);
  ::unlink(err_t);
  return r;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
const std::string& Fstx() {
  static std::string v = Env("FSTX_BIN");
  return v;
}
const std::string& Harness() {
  static std::string v = Env("LIBVIRT_ENV");
  return v;
}
RunResult H(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {"bash", Harness()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCmd(argv, env, 900);
}
std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.erase(0, 1);
  return s;
}
std::string ReplaceAll(std::string s, const std::string& a, const std::string& b) {
  for (size_t p = 0; (p = s.find(a, p)) != std::string::npos; p += b.size()) s.replace(p, a.size(), b);
  return s;
}
std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  std::string l;
  while (std::getline(ss, l)) v.push_back(l);
  return v;
}

// ------------------------------------------------------------ the tree ---

// A tree's observable state: rel path -> "type mode uid:gid content-hash/target".
// Empty `.fstx` staging directories are invisible (FORMAT.md); anything in
// one shows up as a difference.
using Tree = std::map<std::string, std::string>;

void SnapshotInto(const std::string& root, const std::string& label, Tree* t) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(root, ec))) return;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string p = it->path().string();
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode) && it->path().filename() == ".fstx" && fs::is_empty(it->path())) {
      it.disable_recursion_pending();
      continue;
    }
    char head[64];
    std::snprintf(head, sizeof head, "%04o %u:%u ", static_cast<unsigned>(st.st_mode & 07777), st.st_uid, st.st_gid);
    std::string v;
    if (S_ISREG(st.st_mode)) {
      std::string data = ReadAll(p);
      v = std::string("file ") + head + std::to_string(data.size()) + " " +
          std::to_string(std::hash<std::string>{}(data));
    } else if (S_ISDIR(st.st_mode)) {
      v = std::string("dir ") + head;
    } else if (S_ISLNK(st.st_mode)) {
      v = "link -> " + fs::read_symlink(it->path(), ec).string();
    } else {
      v = std::string("other ") + head;
    }
    (*t)[label + p.substr(root.size())] = v;
  }
}

// What the rename may touch: STATE/etc/libvirt and STATE/var/lib/libvirt.
Tree Snapshot(const std::string& state) {
  Tree t;
  SnapshotInto(state + "/etc/libvirt", "/etc/libvirt", &t);
  SnapshotInto(state + "/var/lib/libvirt", "/var/lib/libvirt", &t);
  return t;
}

// "file 0600 0:0" of an image entry: type, mode, owner.
std::string Head(const std::string& v) {
  std::istringstream in(v);
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string Diff(const Tree& a, const Tree& b, size_t max_lines = 25) {
  std::vector<std::string> out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) out.push_back("- " + k + "  (" + v + ")");
    else if (it->second != v) out.push_back("~ " + k + "  (" + v + " | " + it->second + ")");
  }
  for (const auto& [k, v] : b)
    if (!a.count(k)) out.push_back("+ " + k + "  (" + v + ")");
  std::string s;
  for (size_t i = 0; i < out.size() && i < max_lines; ++i) s += out[i] + "\n";
  if (out.size() > max_lines) s += "... " + std::to_string(out.size() - max_lines) + " more\n";
  return s;
}

// ------------------------------------------------------- the golden domain ---

struct Golden {
  bool ok = false;
  std::string why;      // failure reason
  std::string base;     // suite temp dir
  std::string state;    // base/golden
  std::string uuid;
  Tree pre;
  int clones = 0;
};

std::string MissingPrereqs() {
  std::string why;
  if (::geteuid() != 0) why += "must run as root (mount namespaces, libvirtd); ";
  if (Fstx().empty() || ::access(Fstx().c_str(), X_OK) != 0) why += "FSTX_BIN='" + Fstx() + "' is not executable; ";
  if (Harness().empty() || ::access(Harness().c_str(), R_OK) != 0)
    why += "LIBVIRT_ENV='" + Harness() + "' is not readable; ";
  for (const char* tool : {"libvirtd", "virtlogd", "virsh", "qemu-img", "qemu-system-x86_64", "xmllint", "jq",
                           "unshare", "nsenter"}) {
    RunResult r = RunCmd({"sh", "-c", std::string("command -v ") + tool}, {}, 10);
    if (r.code != 0)
      why += std::string(tool) +
             " not found (install libvirt-daemon-system libvirt-clients qemu-utils qemu-system-x86 ovmf "
             "libxml2-utils jq); ";
  }
  if (::access("/usr/share/OVMF/OVMF_CODE_4M.fd", R_OK) != 0) why += "/usr/share/OVMF/OVMF_CODE_4M.fd missing (ovmf); ";
  return why;
}

Golden& TheGolden() {
  static Golden g;
  static bool made = false;
  if (made) return g;
  made = true;
  g.why = MissingPrereqs();
  if (!g.why.empty()) return g;
  std::string tmpl = (Env("TMPDIR").empty() ? std::string("/tmp") : Env("TMPDIR")) + "/fstx-virt-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    g.why = "mkdtemp " + tmpl + " failed";
    return g;
  }
  g.base = fs::canonical(tmpl).string();
  g.state = g.base + "/golden";
  auto t0 = Clock::now();
  RunResult r = H({"start", g.state});
  if (r.code != 0) {
    g.why = "the private libvirtd did not come up: " + r.Describe();
    return g;
  }
  RunResult m = H({"make-domain", g.state, "vm1"});
  RunResult u = H({"virsh", g.state, "domuuid", "vm1"});
  RunResult s = H({"stop", g.state});
  if (m.code != 0) {
    g.why = "make-domain vm1 failed: " + m.Describe();
    return g;
  }
  if (u.code != 0 || Trim(u.out).size() != 36) {
    g.why = "virsh domuuid vm1 failed: " + u.Describe();
    return g;
  }
  if (s.code != 0) {
    g.why = "stopping the daemon failed: " + s.Describe();
    return g;
  }
  g.uuid = Trim(u.out);
  g.pre = Snapshot(g.state);
  std::printf("[golden] %s: vm1 uuid %s, %zu paths, made in %.1f s\n", g.state.c_str(), g.uuid.c_str(),
              g.pre.size(), std::chrono::duration<double>(Clock::now() - t0).count());
  g.ok = true;
  return g;
}

class GoldenCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    Golden& g = TheGolden();
    if (g.base.empty() || !Env("FSTX_VIRT_KEEP").empty()) return;
    std::error_code ec;
    fs::remove_all(g.base, ec);
  }
};
[[maybe_unused]] const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new GoldenCleanup);

// The daemon of one STATE_DIR, stopped when this goes out of scope (also
// when an assertion fails half-way).
class Daemon {
 public:
  explicit Daemon(std::string state) : state_(std::move(state)) {}
  ~Daemon() { Stop(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  RunResult Start() {
    RunResult r = H({"start", state_});
    running_ = true;  // stop even a half-started one
    return r;
  }
  RunResult Stop() {
    if (!running_) return {};
    running_ = false;
    return H({"stop", state_});
  }

 private:
  std::string state_;
  bool running_ = false;
};

#define REQUIRE_GOLDEN()                                      \
  Golden& golden = TheGolden();                               \
  ASSERT_TRUE(golden.ok) << "real-libvirtd suite cannot run: " << golden.why

class VirtLibvirt : public ::testing::Test {
 public:
  // A fresh clone of the golden STATE_DIR (daemon stopped).
  std::string Clone(const std::string& label) {
    Golden& g = TheGolden();
    std::string dst = g.base + "/" + label + "-" + std::to_string(++g.clones);
    RunResult r = RunCmd({"cp", "-a", g.state, dst}, {}, 120);
    EXPECT_EQ(r.code, 0) << r.Describe();
    return dst;
  }
  // fstx inside the private view (host paths), journal STATE/journal.
  static RunResult FstxIn(const std::string& state, std::vector<std::string> args,
                          const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {"exec", state, "env"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.insert(argv.end(), {Fstx(), "--journal", state + "/journal"});
    argv.insert(argv.end(), args.begin(), args.end());
    return H(argv);
  }
  static RunResult RecoverIn(const std::string& state) {
    return FstxIn(state, {"--root", "/etc/libvirt", "--root", "/var/lib/libvirt", "recover"});
  }
  // check-domain through virsh on a started daemon; returns the key=value summary.
  static std::map<std::string, std::string> CheckDomain(const std::string& state, const std::string& name,
                                                        const std::string& images, bool start_test,
                                                        std::string* failure) {
    std::vector<std::string> args = {"check-domain", state, name, "--expect-uuid", TheGolden().uuid,
                                     "--expect-images-prefix", images};
    if (start_test) args.push_back("--start-test");
    RunResult r = H(args);
    std::map<std::string, std::string> kv;
    for (const auto& l : Lines(r.out)) {
      auto eq = l.find('=');
      if (eq != std::string::npos) kv[l.substr(0, eq)] = l.substr(eq + 1);
    }
    if (r.code != 0) *failure = r.Describe();
    return kv;
  }
  // Start, check NAME, stop (RAII). Fails the test with the harness' reasons.
  static void StartAndCheck(const std::string& state, const std::string& name, const std::string& images,
                            bool start_test, const std::string& context) {
    Daemon d(state);
    RunResult s = d.Start();
    ASSERT_EQ(s.code, 0) << context << ": the private libvirtd did not start: " << s.Describe();
    std::string failure;
    auto kv = CheckDomain(state, name, images, start_test, &failure);
    EXPECT_TRUE(failure.empty()) << context << ": virsh does not see " << name << " whole: " << failure;
    EXPECT_EQ(kv["result"], "OK") << context;
    EXPECT_EQ(kv["domains"], name) << context << ": 'virsh list --all' must show exactly " << name;
    EXPECT_EQ(kv["uuid"], TheGolden().uuid) << context;
    RunResult st = d.Stop();
    EXPECT_EQ(st.code, 0) << context << ": stop: " << st.Describe();
  }
};

// ------------------------------------------------- byte-level comparison ---

// Files libvirt keeps for the domain (host paths), before a rename of vm1.
const std::vector<std::string> kRenamed = {
    "/etc/libvirt/qemu/vm1.xml",           "/etc/libvirt/qemu/autostart/vm1.xml",
    "/var/lib/libvirt/qemu/snapshot/vm1",  "/var/lib/libvirt/qemu/checkpoint/vm1",
    "/var/lib/libvirt/qemu/nvram/vm1_VARS.fd"};
const std::vector<std::string> kImages = {"/var/lib/libvirt/images/vm1.qcow2", "/var/lib/libvirt/images/vm1.snap1",
                                          "/var/lib/libvirt/images/vm1.snap2"};

// Where a pre-rename path is after renaming vm1 -> vm2.
std::string After(const std::string& p, bool images) {
  std::vector<std::string> moved = kRenamed;
  if (images) moved.insert(moved.end(), kImages.begin(), kImages.end());
  for (const auto& m : moved)
    if (p == m || p.rfind(m + "/", 0) == 0) return ReplaceAll(m, "vm1", "vm2") + p.substr(m.size());
  return p;
}

bool IsXmlRewritten(const std::string& p) {
  return p.size() > 4 && p.compare(p.size() - 4, 4, ".xml") == 0 &&
         ((p.rfind("/etc/libvirt/qemu/", 0) == 0 && p.find('/', 18) == std::string::npos) ||
          p.find("/qemu/snapshot/") != std::string::npos ||
          p.find("/qemu/checkpoint/") != std::string::npos) &&
         p.find("/autostart/") == std::string::npos;
}

// The byte-level contract of a rename vm1 -> vm2 done on `state` (a clone
// of golden): the same set of paths with vm1's renamed; every other file
// byte-identical with the same mode and owner; the XMLs changed only in
// lines that named vm1; the autostart link in libvirt's form.
void ExpectExactRename(const std::string& state, bool images) {
  Golden& g = TheGolden();
  const std::string orig = g.state;
  Tree post = Snapshot(state);
  Tree want;
  for (const auto& [p, v] : g.pre) want[After(p, images)] = v;
  // Same set of paths.
  std::set<std::string> a, b;
  for (const auto& kv : want) a.insert(kv.first);
  for (const auto& kv : post) b.insert(kv.first);
  for (const auto& p : a) EXPECT_TRUE(b.count(p)) << "missing after the rename: " << state << p;
  for (const auto& p : b) EXPECT_TRUE(a.count(p)) << "unexpected after the rename: " << state << p;
  int identical = 0, xml = 0;
  for (const auto& [pre_path, pre_v] : g.pre) {
    const std::string p = After(pre_path, images);
    if (!post.count(p)) continue;
    const std::string& v = post[p];
    if (IsXmlRewritten(pre_path)) {
      ++xml;
      // Mode and owner kept (the part of the image before the size).
      EXPECT_EQ(Head(v), Head(pre_v)) << p << ": mode/owner changed";
      std::vector<std::string> lo = Lines(ReadAll(orig + pre_path)), ln = Lines(ReadAll(state + p));
      ASSERT_EQ(lo.size(), ln.size()) << p << ": line count changed (" << lo.size() << " -> " << ln.size() << ")";
      int changed = 0;
      for (size_t i = 0; i < lo.size(); ++i) {
        if (lo[i] == ln[i]) {
          // Unchanged lines may keep vm1 only in image paths (without
          // --rename-images) and in libvirt's header comment ("virsh edit
          // vm1": comments stay as libvirt wrote them).
          if (lo[i].find("vm1") != std::string::npos) {
            const bool image = !images && lo[i].find("/var/lib/libvirt/images/vm1.") != std::string::npos;
            const bool comment = lo[i].find("virsh edit vm1") != std::string::npos;
            EXPECT_TRUE(image || comment) << p << ":" << i + 1 << " still names vm1: " << ln[i];
          }
          continue;
        }
        ++changed;
        EXPECT_NE(lo[i].find("vm1"), std::string::npos)
            << p << ":" << i + 1 << ": a line without vm1 changed:\n  - " << lo[i] << "\n  + " << ln[i];
        std::string expect = ReplaceAll(lo[i], "vm1", "vm2");
        if (!images && lo[i].find("/var/lib/libvirt/images/vm1.") != std::string::npos) {
          ADD_FAILURE() << p << ":" << i + 1 << ": an image path changed without --rename-images: " << ln[i];
          continue;
        }
        EXPECT_EQ(ln[i], expect) << p << ":" << i + 1 << ": changed other than vm1 -> vm2";
      }
      EXPECT_GT(changed, 0) << p << ": no line changed (its <name> must)";
    } else if (pre_path == "/etc/libvirt/qemu/autostart/vm1.xml") {
      EXPECT_EQ(v, "link -> /etc/libvirt/qemu/vm2.xml") << "autostart link (libvirt's absolute host form)";
    } else if (images && (pre_path == "/var/lib/libvirt/images/vm1.snap1" ||
                          pre_path == "/var/lib/libvirt/images/vm1.snap2")) {
      // qcow2 overlays: only the backing-file name in the header changed.
      std::string o = ReadAll(orig + pre_path), n = ReadAll(state + p);
      ASSERT_EQ(o.size(), n.size()) << p;
      size_t first = std::string::npos, last = 0;
      for (size_t i = 0; i < o.size(); ++i)
        if (o[i] != n[i]) {
          if (first == std::string::npos) first = i;
          last = i;
        }
      ASSERT_NE(first, std::string::npos) << p << ": header unchanged: still names its vm1 backing file";
      EXPECT_LT(last, 65536u) << p << ": bytes changed beyond the header cluster (at " << last << ")";
      EXPECT_EQ(ReplaceAll(o.substr(0, 65536), "images/vm1.", "images/vm2."), n.substr(0, 65536))
          << p << ": header changed other than the backing name vm1 -> vm2";
      EXPECT_EQ(Head(v), Head(pre_v)) << p << ": mode/owner changed";
    } else {
      EXPECT_EQ(v, pre_v) << p << " (was " << pre_path << "): must be byte-identical with the same mode and owner";
      if (v == pre_v) ++identical;
    }
  }
  EXPECT_EQ(xml, 4) << "expected vm2.xml, snap1.xml, snap2.xml, cp1.xml to be rewritten";
  std::printf("[exact] %s: %d XML files changed only in vm1 lines, %d files byte-identical\n", state.c_str(), xml,
              identical);
}

// The XML files of golden: vm1.xml + 2 snapshots + 1 checkpoint, plus any
// other config XML libvirt keeps in /etc/libvirt/qemu (none: networks/ is a dir).
int CountXml() {
  int n = 0;
  for (const auto& [p, v] : TheGolden().pre)
    if (IsXmlRewritten(p) && v.rfind("file", 0) == 0) ++n;
  return n;
}

// ------------------------------------------------------------------ tests ---

TEST_F(VirtLibvirt, Prerequisites) {
  std::string why = MissingPrereqs();
  ASSERT_TRUE(why.empty()) << why;
  REQUIRE_GOLDEN();
  // The golden domain is what the issue asks for.
  EXPECT_TRUE(golden.pre.count("/etc/libvirt/qemu/vm1.xml"));
  EXPECT_EQ(golden.pre["/etc/libvirt/qemu/autostart/vm1.xml"], "link -> /etc/libvirt/qemu/vm1.xml");
  EXPECT_TRUE(golden.pre.count("/var/lib/libvirt/qemu/snapshot/vm1/snap1.xml"));
  EXPECT_TRUE(golden.pre.count("/var/lib/libvirt/qemu/snapshot/vm1/snap2.xml"));
  EXPECT_TRUE(golden.pre.count("/var/lib/libvirt/qemu/checkpoint/vm1/cp1.xml"));
  EXPECT_TRUE(golden.pre.count("/var/lib/libvirt/qemu/nvram/vm1_VARS.fd"));
  for (const auto& i : kImages) EXPECT_TRUE(golden.pre.count(i)) << i;
  EXPECT_EQ(CountXml(), 4) << "golden tree: expected vm1.xml, snap1.xml, snap2.xml, cp1.xml";
}

// fstx virt check on the tree libvirt wrote: clean.
TEST_F(VirtLibvirt, CheckOnRealTreeIsClean) {
  REQUIRE_GOLDEN();
  std::string s = Clone("check");
  RunResult r = RunCmd({Fstx(), "virt", "check", "--json", "--prefix", s}, {}, 60);
  ASSERT_EQ(r.code, 0) << r.Describe();
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_EQ(j["domains"].size(), 1u) << r.out;
  EXPECT_EQ(j["domains"][0]["name"], "vm1");
  EXPECT_EQ(j["domains"][0]["uuid"], golden.uuid);
  EXPECT_EQ(j["problems"], 0) << r.out;
  EXPECT_EQ(j["domains"][0]["files"]["nvram_exists"], true);
  EXPECT_EQ(j["domains"][0]["files"]["snapshots"].size(), 2u);
  EXPECT_EQ(j["domains"][0]["files"]["checkpoints"].size(), 1u);
  RunResult missing = RunCmd({Fstx(), "virt", "check", "vm7", "--prefix", s}, {}, 60);
  EXPECT_EQ(missing.code, 1) << missing.Describe();
  EXPECT_NE(missing.err.find(s + "/etc/libvirt/qemu/vm7.xml"), std::string::npos) << missing.Describe();
}

// a. Clean rename, no images, run inside the private view.
TEST_F(VirtLibvirt, RenameInsideView) {
  REQUIRE_GOLDEN();
  std::string s = Clone("rename");
  RunResult r = FstxIn(s, {"virt", "rename", "vm1", "vm2"});
  ASSERT_EQ(r.code, 0) << r.Describe();
  std::printf("[rename] vm1 -> vm2 (no images) in %.2f s\n", r.secs);
  ExpectExactRename(s, false);
  RunResult c = RunCmd({Fstx(), "virt", "check", "--prefix", s}, {}, 60);
  EXPECT_EQ(c.code, 0) << "fstx virt check after the rename: " << c.Describe();
  StartAndCheck(s, "vm2", "vm1", false, "after rename vm1 -> vm2");
}

// b. With --rename-images: the guest starts from the renamed chain.
TEST_F(VirtLibvirt, RenameImagesInsideView) {
  REQUIRE_GOLDEN();
  std::string s = Clone("rename-images");
  RunResult r = FstxIn(s, {"virt", "rename", "vm1", "vm2", "--rename-images"});
  ASSERT_EQ(r.code, 0) << r.Describe();
  std::printf("[rename] vm1 -> vm2 --rename-images in %.2f s\n", r.secs);
  ExpectExactRename(s, true);
  for (const auto& i : kImages) EXPECT_FALSE(fs::exists(fs::symlink_status(s + i))) << s + i << " still exists";
  EXPECT_TRUE(fs::exists(s + "/var/lib/libvirt/images/data-disk.qcow2"));
  RunResult q = H({"exec", s, "qemu-img", "info", "-U", "--backing-chain", "/var/lib/libvirt/images/vm2.snap2"});
  ASSERT_EQ(q.code, 0) << q.Describe();
  EXPECT_EQ(q.out.find("vm1"), std::string::npos) << "qemu-img still sees a vm1 name in the chain:\n" << q.out;
  EXPECT_NE(q.out.find("backing file: /var/lib/libvirt/images/vm2.snap1"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("backing file: /var/lib/libvirt/images/vm2.qcow2"), std::string::npos) << q.out;
  StartAndCheck(s, "vm2", "vm2", true, "after rename vm1 -> vm2 --rename-images");
}

// c. From outside the namespace with --prefix: files carry host paths.
TEST_F(VirtLibvirt, RenameWithPrefixFromOutside) {
  REQUIRE_GOLDEN();
  std::string s = Clone("prefix");
  RunResult r = RunCmd({Fstx(), "--journal", s + "/journal", "virt", "rename", "vm1", "vm2", "--rename-images",
                     "--prefix", s},
                    {}, 300);
  ASSERT_EQ(r.code, 0) << r.Describe();
  ExpectExactRename(s, true);
  EXPECT_EQ(fs::read_symlink(s + "/etc/libvirt/qemu/autostart/vm2.xml").string(), "/etc/libvirt/qemu/vm2.xml");
  // No file of libvirt's may carry the prefix (XML, link targets, qcow2 headers).
  Tree t = Snapshot(s);
  for (const auto& [p, v] : t) {
    if (v.rfind("link", 0) == 0) {
      EXPECT_EQ(v.find(s), std::string::npos) << p << " " << v;
      continue;
    }
    if (v.rfind("file", 0) != 0) continue;
    EXPECT_EQ(ReadAll(s + p).find(s), std::string::npos) << s + p << " carries the prefix " << s;
  }
  StartAndCheck(s, "vm2", "vm2", false, "after rename --prefix");
}

// d. Crash matrix: killed at every failpoint, recovered, exactly vm1 or vm2.
void CrashMatrix(bool images) {
  Golden& g = TheGolden();
  const std::string tag = images ? "crash-images" : "crash";
  std::vector<std::string> rename = {"virt", "rename", "vm1", "vm2"};
  if (images) rename.push_back("--rename-images");
  auto clone = [&](const std::string& label) {
    std::string dst = g.base + "/" + label;
    RunResult r = RunCmd({"cp", "-a", g.state, dst}, {}, 120);
    EXPECT_EQ(r.code, 0) << r.Describe();
    return dst;
  };
  // The expected post-rename tree: a clean run.
  std::string clean = clone(tag + "-clean");
  RunResult cr = VirtLibvirt::FstxIn(clean, rename);
  ASSERT_EQ(cr.code, 0) << cr.Describe();
  const Tree post = Snapshot(clean);
  ASSERT_NE(post, g.pre);
  auto t0 = Clock::now();
  struct Point {
    int n;
    std::string dir;
    bool is_post;
  };
  std::vector<Point> points;
  int n_pre = 0, n_post = 0, completed_at = 0;
  for (int n = 1; n <= 5000; ++n) {
    std::string dir = clone(tag + "-" + std::to_string(n));
    RunResult r = VirtLibvirt::FstxIn(dir, rename, {"FSTX_FAILPOINTS=*:" + std::to_string(n) + "=crash"});
    if (r.code == 0) {  // ran to the end: no failpoint N
      EXPECT_TRUE(Snapshot(dir) == post) << "uncrashed run differs from the clean run:\n" << Diff(post, Snapshot(dir));
      completed_at = n;
      fs::remove_all(dir);
      break;
    }
    ASSERT_TRUE(r.Killed()) << "crash point " << n << ": expected SIGKILL (exit 137): " << r.Describe();
    RunResult rec = VirtLibvirt::RecoverIn(dir);
    ASSERT_EQ(rec.code, 0) << "crash point " << n << ": fstx recover: " << rec.Describe();
    Tree t = Snapshot(dir);
    bool is_pre = t == g.pre, is_post = t == post;
    ASSERT_TRUE(is_pre || is_post) << "crash point " << n << " (" << dir
                                   << "): after recovery the tree is neither exactly vm1 nor exactly vm2\n"
                                   << "vs pre-rename:\n" << Diff(g.pre, t) << "vs post-rename:\n" << Diff(post, t);
    (is_pre ? n_pre : n_post)++;
    points.push_back({n, dir, is_post});
  }
  ASSERT_GT(completed_at, 0) << "the rename never completed within 5000 crash points";
  const double sweep = std::chrono::duration<double>(Clock::now() - t0).count();
  // Through virsh: every k-th point, plus the first pre and first post ones.
  const int want_checks = Env("FSTX_VIRT_CRASH_CHECKS").empty() ? 6 : std::atoi(Env("FSTX_VIRT_CRASH_CHECKS").c_str());
  const size_t P = points.size();
  const size_t k = (want_checks <= 0 || static_cast<size_t>(want_checks) >= P) ? 1 : (P + want_checks - 1) / want_checks;
  std::set<size_t> chosen;
  for (size_t i = 0; i < P; i += k) chosen.insert(i);
  if (P) chosen.insert(P - 1);
  for (size_t i = 0; i < P; ++i)
    if (!points[i].is_post) { chosen.insert(i); break; }
  for (size_t i = 0; i < P; ++i)
    if (points[i].is_post) { chosen.insert(i); break; }
  auto t1 = Clock::now();
  for (size_t i : chosen) {
    const Point& p = points[i];
    const std::string name = p.is_post ? "vm2" : "vm1";
    const std::string imgs = (p.is_post && images) ? "vm2" : "vm1";
    VirtLibvirt::StartAndCheck(p.dir, name, imgs, false,
                               "crash point " + std::to_string(p.n) + " (" + p.dir + ", recovered to " + name + ")");
    if (::testing::Test::HasFatalFailure()) return;
  }
  const double checks = std::chrono::duration<double>(Clock::now() - t1).count();
  for (const auto& p : points) fs::remove_all(p.dir);
  std::printf("[crash-matrix%s] %zu crash points (run completed at failpoint %d): %d recovered to vm1 (pre), "
              "%d to vm2 (post), 0 other; sweep %.1f s; %zu checked through virsh (every %zu-th + first pre/post "
              "+ last) in %.1f s\n",
              images ? " --rename-images" : "", P, completed_at, n_pre, n_post, sweep, chosen.size(), k, checks);
  ::testing::Test::RecordProperty(images ? "crash_points_images" : "crash_points", static_cast<int>(P));
  EXPECT_GT(n_pre, 0);
  EXPECT_GT(n_post, 0);
}

TEST_F(VirtLibvirt, CrashMatrix) {
  REQUIRE_GOLDEN();
  CrashMatrix(false);
}
TEST_F(VirtLibvirt, CrashMatrixRenameImages) {
  REQUIRE_GOLDEN();
  CrashMatrix(true);
}

// e. Guards: refused with exit 2, nothing changed.
TEST_F(VirtLibvirt, RefusesWhileDaemonRuns) {
  REQUIRE_GOLDEN();
  std::string s = Clone("guard-daemon");
  Daemon d(s);
  RunResult st = d.Start();
  ASSERT_EQ(st.code, 0) << st.Describe();
  Tree before = Snapshot(s);
  RunResult r = FstxIn(s, {"virt", "rename", "vm1", "vm2"});
  EXPECT_EQ(r.code, 2) << r.Describe();
  EXPECT_NE(r.err.find("libvirtd"), std::string::npos) << "the message must name libvirtd: " << r.Describe();
  EXPECT_NE(r.err.find("stop"), std::string::npos) << "the message must tell to stop it: " << r.Describe();
  Tree after = Snapshot(s);
  EXPECT_TRUE(before == after) << Diff(before, after);
  std::string failure;
  auto kv = CheckDomain(s, "vm1", "vm1", false, &failure);
  EXPECT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(kv["result"], "OK");
}

// A live process that looks like a guest's QEMU (comm "qemu-system-x86"):
// a copy of sleep(1) under that name. Killed when this goes out of scope.
class FakeQemu {
 public:
  explicit FakeQemu(const std::string& dir) {
    const std::string bin = dir + "/qemu-system-x86_64";
    fs::copy_file("/bin/sleep", bin, fs::copy_options::overwrite_existing);
    fs::permissions(bin, fs::perms::owner_all);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl(bin.c_str(), bin.c_str(), "300", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::usleep(100 * 1000);
  }
  ~FakeQemu() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

std::vector<std::string> ProblemKinds(const std::string& json_text) {
  std::vector<std::string> kinds;
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded()) return {"<unparsable: " + json_text.substr(0, 200) + ">"};
  for (const auto& d : j["domains"])
    for (const auto& p : d["problems"]) kinds.push_back(p["kind"].get<std::string>());
  return kinds;
}

TEST_F(VirtLibvirt, RefusesRunningDomainOffline) {
  REQUIRE_GOLDEN();
  std::string s = Clone("guard-running");
  FakeQemu qemu(s + "/harness");
  ASSERT_GT(qemu.pid(), 0);
  // A running domain's traces, as libvirt leaves them, in an offline tree.
  fs::create_directories(s + "/run/libvirt/qemu");
  std::ofstream(s + "/run/libvirt/qemu/vm1.xml") << "<domstatus state='running' pid='" << qemu.pid() << "'/>\n";
  std::ofstream(s + "/run/libvirt/qemu/vm1.pid") << qemu.pid();
  Tree before = Snapshot(s);
  RunResult r = RunCmd({Fstx(), "--journal", s + "/journal", "virt", "rename", "vm1", "vm2", "--prefix", s}, {}, 120);
  EXPECT_EQ(r.code, 2) << r.Describe();
  EXPECT_NE(r.err.find("running"), std::string::npos) << r.Describe();
  EXPECT_TRUE(Snapshot(s) == before) << Diff(before, Snapshot(s));
  RunResult c = RunCmd({Fstx(), "virt", "check", "vm1", "--json", "--prefix", s}, {}, 60);
  EXPECT_EQ(ProblemKinds(c.out), std::vector<std::string>{"running"}) << c.Describe();
  // Only the pid file, its QEMU alive (the issue: "pidfiles with live pids"):
  // still refused.
  fs::remove(s + "/run/libvirt/qemu/vm1.xml");
  before = Snapshot(s);
  r = RunCmd({Fstx(), "--journal", s + "/journal", "virt", "rename", "vm1", "vm2", "--prefix", s}, {}, 120);
  EXPECT_EQ(r.code, 2) << "a live vm1.pid alone must refuse: " << r.Describe();
  EXPECT_TRUE(Snapshot(s) == before) << Diff(before, Snapshot(s));
}

TEST_F(VirtLibvirt, RefusesTakenName) {
  REQUIRE_GOLDEN();
  const std::vector<std::pair<std::string, bool>> taken = {
      {"/etc/libvirt/qemu/vm2.xml", false},
      {"/var/lib/libvirt/qemu/snapshot/vm2", true},
      {"/var/lib/libvirt/qemu/checkpoint/vm2", true},
      {"/var/lib/libvirt/qemu/nvram/vm2_VARS.fd", false},
  };
  for (const auto& [path, dir] : taken) {
    std::string s = Clone("guard-taken");
    if (dir) fs::create_directories(s + path);
    else std::ofstream(s + path) << "taken\n";
    Tree before = Snapshot(s);
    RunResult r = RunCmd({Fstx(), "--journal", s + "/journal", "virt", "rename", "vm1", "vm2", "--prefix", s}, {}, 120);
    EXPECT_EQ(r.code, 2) << path << " exists: " << r.Describe();
    EXPECT_NE(r.err.find(path), std::string::npos) << "the message must name " << path << ": " << r.Describe();
    EXPECT_TRUE(Snapshot(s) == before) << path << ": " << Diff(before, Snapshot(s));
    fs::remove_all(s);
  }
}

// libvirt's own `virsh domrename` on the same domain, recorded once for the
// README's contrast, and what `fstx virt check` says of what it left.
TEST_F(VirtLibvirt, LibvirtDomrenameContrast) {
  REQUIRE_GOLDEN();
  std::string s = Clone("domrename");
  {
    Daemon d(s);
    RunResult st = d.Start();
    ASSERT_EQ(st.code, 0) << st.Describe();
    RunResult r = H({"try-domrename", s, "vm1", "vm2"});
    std::printf("[domrename] virsh domrename vm1 vm2: exit %d\n%s", r.code, r.out.c_str());
    RunResult st2 = d.Stop();
    ASSERT_EQ(st2.code, 0) << st2.Describe();
    RunResult st3 = d.Start();  // libvirt re-reads what it wrote
    ASSERT_EQ(st3.code, 0) << st3.Describe();
    std::string failure;
    auto kv = CheckDomain(s, "vm2", "vm1", false, &failure);
    std::printf("[domrename] after a daemon restart, check-domain vm2: result=%s checkpoints='%s' nvram=%s\n",
                kv["result"].c_str(), kv["checkpoints"].c_str(), kv["nvram"].c_str());
    EXPECT_FALSE(failure.empty()) << "libvirt 9.0's domrename was expected to lose the checkpoint";
  }
  RunResult c = RunCmd({Fstx(), "virt", "check", "--prefix", s}, {}, 60);
  std::printf("[domrename] fstx virt check on what it left: exit %d\n%s", c.code, c.out.c_str());
  EXPECT_EQ(c.code, 1) << c.Describe();
  EXPECT_NE(c.out.find("checkpoint-in-snapshot-dir"), std::string::npos) << c.Describe();
}

}  // namespace
