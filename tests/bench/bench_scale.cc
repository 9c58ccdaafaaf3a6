// bench_scale — how fstx scales (README "Benchmarks", issue 9). Phases,
// each printing one JSON object per line with --json:
//   threads   1-op transactions from 1, 2, 4, 8 threads on one journal, and
//             the same protocol by hand (bare) and over SQLite (an intent
//             row in WAL mode with synchronous=FULL, the durable replace,
//             the row marked done): tx_per_s_1, tx_per_s_8, sqlite_tx_per_s_8
//   procs     1 and 4 processes committing on one journal:
//             procs1_tx_per_s, procs4_tx_per_s, procs4_busy
//             (threads and procs: --rounds N interleaved rounds of
//             --seconds S / N per measurement, medians; default 3 of 1 s)
//   history   commit cost with an empty history and with --history N
//             (default 1M) records in it, `fstx status` on the latter:
//             commit_ms_hist0, commit_ms_hist1m, status_ms_hist1m
//   recover   --recover N (default 1000) 7-op transactions interrupted
//             half-way (the process SIGKILLed), recovered by Journal::Open:
//             recover_1000_ms
//   write100m a --write-mib (default 100) MiB write_file from a file through
//             fstx (in a child: its peak RSS) and by hand:
//             write100m_ms, bare_write100m_ms, write100m_rss_mb,
//             journal_bytes_after_write100m
// Usage: bench_scale [--only PHASE] [--seconds S] [--rounds N] [--history N]
//                    [--recover N] [--write-mib N] [--dir DIR] [--smoke] [--json]
#include "tests/bench/bench_scale.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <map>

namespace fstx::bench {
namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: bench_scale [--only threads|procs|history|recover|write100m] [--seconds S]\n"
               "                   [--rounds N] [--history N] [--recover N] [--write-mib N] [--dir DIR]\n"
               "                   [--smoke] [--json]\n"
               "  --seconds S  time per throughput figure (threads, procs), split over --rounds N\n"
               "               interleaved rounds whose median is reported (default 3 s, 3 rounds)\n");
  std::exit(2);
}

}  // namespace
}  // namespace fstx::bench

int main(int argc, char** argv) {
  using namespace fstx::bench;
  Config c;
  c.self = argv[0];
  std::string base, only;
  spdlog::set_level(spdlog::level::warn);  // not one line per recovered transaction
  if (argc > 1 && std::string(argv[1]).rfind("--child-", 0) == 0) {
    try {
      return ChildMain(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_scale child: %s\n", e.what());
      return 1;
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) Usage();
      return std::string(argv[++i]);
    };
    if (a == "--json") c.json = true;
    else if (a == "--only") only = next();
    else if (a == "--seconds") c.seconds = std::atof(next().c_str());
    else if (a == "--rounds") c.tput_rounds = std::max(1, std::atoi(next().c_str()));
    else if (a == "--history") c.history = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--recover") c.recover = std::atoi(next().c_str());
    else if (a == "--write-mib") c.write_mib = std::atoi(next().c_str());
    else if (a == "--dir") base = next();
    else if (a == "--smoke") {
      c.seconds = 0.2, c.tput_rounds = 1, c.history = 2000, c.recover = 10, c.write_mib = 2, c.rounds = 5;
    } else Usage();
  }
  try {
    if (!base.empty()) ::setenv("TMPDIR", base.c_str(), 1);
    fstx::testing::TempDir dir;
    c.dir = dir.path();
    std::map<std::string, void (*)(const Config&)> phases = {
        {"threads", PhaseThreads}, {"procs", PhaseProcs}, {"history", PhaseHistory},
        {"recover", PhaseRecover}, {"write100m", PhaseWrite}};
    if (!only.empty() && !phases.count(only)) Usage();
    for (const char* name : {"threads", "procs", "history", "recover", "write100m"})
      if (only.empty() || only == name) phases[name](c);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_scale: %s\n", e.what());
    return 1;
  }
}
