// bench_vm_rename — what the journal costs over doing the same work durably
// by hand. All three are measured in one run, interleaved round by round so
// that machine noise hits them alike:
//   (a) fstx: the 7-op "rename a VM" transaction through Journal/Commit;
//   (b) bare: the same operations done durably by hand (the config written
//       to a temp file, fsynced and renamed over; each touched directory
//       fsynced once at the end; no journal);
//   (c) lmdb: one synced LMDB commit of a small record.
// Prints the medians and a/b, and checks the target a <= b + 1.2 c.
// Usage: bench_vm_rename [--iterations N] [--dir DIR] [--json]
#include <fcntl.h>
#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "fstx/fstx.h"
#include "tests/testutil.h"
#include "tests/vm_fixture.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

void FsyncPath(const std::string& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  Check(fd >= 0, "open " + p);
  Check(::fsync(fd) == 0, "fsync " + p);
  ::close(fd);
}

// (b): the same 7 operations, durable, by hand.
void BareRename(const std::string& r, const std::string& from, const std::string& to) {
  const std::string q = r + "/etc/qemu/";
  Check(::rename((q + from + ".xml").c_str(), (q + to + ".xml").c_str()) == 0, "rename config");
  const std::string xml = fstx::testing::DomainXml(to), tmp = q + "." + to + ".xml.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  Check(fd >= 0, "open tmp");
  Check(::write(fd, xml.data(), xml.size()) == static_cast<ssize_t>(xml.size()), "write");
  Check(::fsync(fd) == 0, "fsync");
  ::close(fd);
  Check(::rename(tmp.c_str(), (q + to + ".xml").c_str()) == 0, "rename tmp");
  const std::string link_tmp = q + "autostart/." + to + ".tmp";
  Check(::symlink(("../" + to + ".xml").c_str(), link_tmp.c_str()) == 0, "symlink");
  Check(::rename(link_tmp.c_str(), (q + "autostart/" + to + ".xml").c_str()) == 0, "rename link");
  Check(::unlink((q + "autostart/" + from + ".xml").c_str()) == 0, "unlink");
  Check(::rename((r + "/lib/snapshot/" + from).c_str(), (r + "/lib/snapshot/" + to).c_str()) == 0, "snap");
  Check(::rename((r + "/lib/images/" + from + ".qcow2").c_str(), (r + "/lib/images/" + to + ".qcow2").c_str()) == 0,
        "image");
  Check(::rename((r + "/run/" + from + ".sock").c_str(), (r + "/run/" + to + ".sock").c_str()) == 0, "sock");
  for (const char* d : {"/etc/qemu", "/etc/qemu/autostart", "/lib/snapshot", "/lib/images", "/run"}) FsyncPath(r + d);
}

class LmdbCommit {
 public:
  explicit LmdbCommit(const std::string& dir) {
    Check(::mkdir(dir.c_str(), 0700) == 0, "mkdir " + dir);
    Check(mdb_env_create(&env_) == 0, "mdb_env_create");
    mdb_env_set_mapsize(env_, 64ull << 20);
    Check(mdb_env_open(env_, dir.c_str(), 0, 0600) == 0, "mdb_env_open");
  }
  ~LmdbCommit() { mdb_env_close(env_); }
  void Once(uint64_t i) {
    MDB_txn* txn;
    MDB_dbi dbi;
    Check(mdb_txn_begin(env_, nullptr, 0, &txn) == 0, "txn");
    Check(mdb_dbi_open(txn, nullptr, 0, &dbi) == 0, "dbi");
    std::string value(200, 'r');
    MDB_val k{sizeof i, &i}, v{value.size(), value.data()};
    Check(mdb_put(txn, dbi, &k, &v, 0) == 0, "put");
    Check(mdb_txn_commit(txn) == 0, "commit");
  }

 private:
  MDB_env* env_ = nullptr;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 200;
  bool json = false;
  std::string base;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") json = true;
    else if (a == "--iterations" && i + 1 < argc) iterations = std::max(1, std::atoi(argv[++i]));
    else if (a == "--dir" && i + 1 < argc) base = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: bench_vm_rename [--iterations N] [--dir DIR] [--json]\n"
                   "  Measures (a) the 7-op VM rename through fstx, (b) the same done durably by\n"
                   "  hand, (c) one synced LMDB commit; prints medians, a/b, and a <= b + 1.2c.\n");
      return 2;
    }
  }
  try {
    if (!base.empty()) ::setenv("TMPDIR", base.c_str(), 1);
    fstx::testing::TempDir dir;
    const std::string fstx_root = dir / "fstx", bare_root = dir / "bare";
    fstx::testing::MkdirRaw(fstx_root);
    fstx::testing::MkdirRaw(bare_root);
    fstx::testing::BuildVmTree(fstx_root);
    fstx::testing::BuildVmTree(bare_root);
    LmdbCommit lmdb(dir / "lmdb");

    fstx::Options o;
    o.dir = dir / "journal";
    o.roots = {fstx_root};
    auto journal = fstx::Journal::Open(o);
    if (!journal.ok()) throw std::runtime_error(journal.status().ToString());

    std::vector<double> a, b, c;
    for (int i = 0; i < iterations + 10; ++i) {
      const std::string from = i % 2 ? "vm2" : "vm1", to = i % 2 ? "vm1" : "vm2";
      auto t0 = Clock::now();
      fstx::Transaction tx = journal->Begin("rename " + from + " to " + to);
      fstx::testing::AddVmRename(tx, fstx_root, from, to);
      fstx::Status s = tx.Commit();
      auto t1 = Clock::now();
      if (!s.ok()) throw std::runtime_error(s.ToString());
      BareRename(bare_root, from, to);
      auto t2 = Clock::now();
      lmdb.Once(static_cast<uint64_t>(i));
      auto t3 = Clock::now();
      if (i < 10) continue;  // warm-up
      a.push_back(Ms(t0, t1));
      b.push_back(Ms(t1, t2));
      c.push_back(Ms(t2, t3));
    }
    const double ma = Median(a), mb = Median(b), mc = Median(c);
    const bool target = ma <= mb + 1.2 * mc;
    if (json) {
      std::printf("{\"fstx_ms\": %.4f, \"bare_ms\": %.4f, \"lmdb_commit_ms\": %.4f, \"ratio\": %.3f, "
                  "\"overhead_in_commits\": %.3f, \"iterations\": %d, \"target_met\": %s}\n",
                  ma, mb, mc, ma / mb, (ma - mb) / mc, iterations, target ? "true" : "false");
    } else {
      std::printf("7-op VM rename, median of %d runs each (interleaved):\n", iterations);
      std::printf("  (a) fstx transaction      %8.3f ms\n", ma);
      std::printf("  (b) bare durable ops      %8.3f ms\n", mb);
      std::printf("  (c) one synced LMDB commit %7.3f ms\n", mc);
      std::printf("  a/b = %.3f   (a-b)/c = %.2f synced commits of overhead\n", ma / mb, (ma - mb) / mc);
      std::printf("  target a <= b + 1.2c: %s (%.3f <= %.3f)\n", target ? "met" : "NOT met", ma, mb + 1.2 * mc);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_vm_rename: %s\n", e.what());
    return 1;
  }
}
