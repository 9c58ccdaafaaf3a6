// bench_many_ops — how validation, commit and recovery grow with the number
// of ops in one transaction (issue 8 item 17: they must stay near
// n log n, not n^2).
//
// For each size N (default 1000, 10000, 100000) a tree of N files in
// N/100 directories is built; one transaction renames every file (N
// independent ops). Measured in this run:
//   validate_ms  Transaction::Validate() (planning against the tree)
//   commit_ms    Transaction::Commit() (journal, apply, sync, done)
//   recover_ms   Journal::Open recovering the same transaction after its
//                process was killed right after the prepared record was
//                durable (every op probed, then rolled back)
// and per-op microseconds, so that growth is visible as a ratio within the
// run: per_op_us at 100k over per_op_us at 1k is ~1 when linear.
// Usage: bench_many_ops [--sizes 1000,10000,100000] [--json]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fstx/fstx.h"
#include "src/testing.h"
#include "tests/testutil.h"

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

struct Tree {
  fstx::testing::TempDir dir;
  std::string root = dir / "root";
  std::string journal = dir / "journal";
  size_t n;
  explicit Tree(size_t count) : n(count) {
    fstx::testing::MkdirRaw(root);
    for (size_t d = 0; d < Dirs(); ++d) fstx::testing::MkdirRaw(Dir(d));
    for (size_t i = 0; i < n; ++i) fstx::testing::WriteFileRaw(File(i, ""), "x");
  }
  size_t Dirs() const { return (n + 99) / 100; }
  std::string Dir(size_t d) const { return root + "/d" + std::to_string(d); }
  std::string File(size_t i, const char* suffix) const {
    return Dir(i / 100) + "/f" + std::to_string(i) + suffix;
  }
  fstx::Options Opts() const {
    fstx::Options o;
    o.dir = journal;
    o.roots = {root};
    o.logger = nullptr;
    return o;
  }
  fstx::Transaction Build(fstx::Journal& j) const {
    fstx::Transaction tx = j.Begin("many");
    for (size_t i = 0; i < n; ++i) tx.Rename(File(i, ""), File(i, ".new"));
    return tx;
  }
};

struct Result {
  size_t ops;
  double validate_ms, commit_ms, recover_ms;
};

Result Measure(size_t n) {
  Result r{n, 0, 0, 0};
  {
    Tree t(n);
    auto j = fstx::Journal::Open(t.Opts());
    if (!j.ok()) throw std::runtime_error(j.status().ToString());
    fstx::Transaction tx = t.Build(*j.value());
    auto a = Clock::now();
    fstx::Status s = tx.Validate();
    auto b = Clock::now();
    if (!s.ok()) throw std::runtime_error(s.ToString());
    s = tx.Commit();
    auto c = Clock::now();
    if (!s.ok()) throw std::runtime_error(s.ToString());
    r.validate_ms = Ms(a, b);
    r.commit_ms = Ms(b, c);
  }
  Tree t(n);
  pid_t pid = ::fork();
  if (pid == 0) {
    auto j = fstx::testing::OpenWithHook(t.Opts(), [](std::string_view point) {
      if (point == "journal.commit.after") ::kill(::getpid(), SIGKILL);
      return fstx::Status();
    });
    if (!j.ok()) ::_exit(3);
    (void)t.Build(*j.value()).Commit();
    ::_exit(4);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status)) throw std::runtime_error("the committing child was not killed");
  auto a = Clock::now();
  auto j = fstx::Journal::Open(t.Opts());
  auto b = Clock::now();
  if (!j.ok()) throw std::runtime_error(j.status().ToString());
  const auto& rep = j.value()->open_report();
  if (rep.txs.size() != 1 || rep.txs[0].decision != fstx::Decision::kRolledBack)
    throw std::runtime_error("recovery did not roll the transaction back");
  r.recover_ms = Ms(a, b);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes = {1000, 10000, 100000};
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--sizes" && i + 1 < argc) {
      sizes.clear();
      std::stringstream ss(argv[++i]);
      for (std::string part; std::getline(ss, part, ',');) sizes.push_back(std::stoul(part));
    } else {
      std::fprintf(stderr, "usage: bench_many_ops [--sizes 1000,10000,100000] [--json]\n");
      return 2;
    }
  }
  try {
    double base[3] = {0, 0, 0};
    for (size_t n : sizes) {
      Result r = Measure(n);
      double per[3] = {r.validate_ms * 1000 / n, r.commit_ms * 1000 / n, r.recover_ms * 1000 / n};
      if (base[0] == 0) std::copy(per, per + 3, base);
      if (json) {
        std::printf(
            "{\"bench\":\"many_ops\",\"ops\":%zu,\"validate_ms\":%.1f,\"commit_ms\":%.1f,\"recover_ms\":%.1f,"
            "\"validate_us_per_op\":%.2f,\"commit_us_per_op\":%.2f,\"recover_us_per_op\":%.2f,"
            "\"validate_growth\":%.2f,\"commit_growth\":%.2f,\"recover_growth\":%.2f}\n",
            n, r.validate_ms, r.commit_ms, r.recover_ms, per[0], per[1], per[2], per[0] / base[0], per[1] / base[1],
            per[2] / base[2]);
      } else {
        std::printf("%7zu ops: validate %8.1f ms (%6.2f us/op, x%.2f)  commit %8.1f ms (%6.2f us/op, x%.2f)  "
                    "recover %8.1f ms (%6.2f us/op, x%.2f)\n",
                    n, r.validate_ms, per[0], per[0] / base[0], r.commit_ms, per[1], per[1] / base[1], r.recover_ms,
                    per[2], per[2] / base[2]);
      }
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_many_ops: %s\n", e.what());
    return 1;
  }
  return 0;
}
