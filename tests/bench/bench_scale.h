// bench_scale.h — the phases of bench_scale (bench_scale.cc says what each
// measures) and what they share.
#pragma once

#include <string>

#include "fstx/fstx.h"
#include "tests/bench/bench_util.h"
#include "tests/testutil.h"

namespace fstx::bench {

struct Config {
  std::string self;  // argv[0], for child processes
  std::string dir;   // scratch directory
  bool json = false;
  double seconds = 3.0;         // per throughput figure, split over tput_rounds
  int tput_rounds = 3;          // interleaved rounds of the throughput phases (medians)
  uint64_t history = 1000000;   // history records for commit_ms_hist1m
  int recover = 1000;           // interrupted transactions to recover
  int write_mib = 100;          // size of the big write_file
  int rounds = 50;              // commits timed per history size
};

// Journal::Open or throw.
std::unique_ptr<Journal> OpenJournal(const Options& o);
// One 1-op transaction: `path` rewritten with `data`.
Status CommitOne(Journal* j, const std::string& path, const std::string& data);

void PhaseThreads(const Config& c);
void PhaseProcs(const Config& c);
void PhaseHistory(const Config& c);
void PhaseRecover(const Config& c);
void PhaseWrite(const Config& c);

// Child processes: bench_scale --child-procs | --child-crash | --child-write ...
int ChildMain(int argc, char** argv);
int ChildCrash(const std::string& journal, const std::string& root, int n);

}  // namespace fstx::bench
