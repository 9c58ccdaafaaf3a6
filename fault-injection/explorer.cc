// explorer.cc — Explore(): split the crash states over worker processes,
// gather their findings, and report (include/fstx/explorer.h).
#include "fstx/explorer.h"

#include <malloc.h>
#include <poll.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "fault-injection/models.h"
#include "fault-injection/world.h"

namespace fstx::explore {
namespace {

using json = nlohmann::json;
constexpr long kTmpfsMagic = 0x01021994;

std::string ScratchBase(const Options& opt) {
  if (!opt.scratch.empty()) return opt.scratch;
  struct statfs sf;
  if (::statfs("/dev/shm", &sf) == 0 && sf.f_type == kTmpfsMagic && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

json ToJson(const ModelRun& r) {
  json v = json::array();
  for (const auto& x : r.violations)
    v.push_back({{"model", static_cast<int>(x.model)}, {"state", x.state}, {"what", x.what},
                 {"persisted", x.persisted}, {"diff", x.diff}});
  return {{"type", "run"},
          {"model", static_cast<int>(r.stats.model)},
          {"points", r.stats.crash_points},
          {"generated", r.stats.generated},
          {"checked", r.stats.checked},
          {"partial", r.stats.partial},
          {"seconds", r.stats.seconds},
          {"keys", r.keys},
          {"violations", v}};
}

void WriteLine(int fd, const json& j) {
  std::string line = j.dump() + "\n";
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd, line.data() + off, line.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Every journal open makes LMDB calloc a 2 MiB dirty-page list. Once glibc
// has raised its mmap threshold (it does after the first such free), that
// comes from the heap and is memset: 512 page faults per open, copy-on-write
// ones after every fork. A fixed threshold keeps large blocks as fresh,
// already-zero mappings (half the explorer's time went there). The worker
// is our own forked process: the caller's allocator is untouched.
void FastAllocator() { ::mallopt(M_MMAP_THRESHOLD, 128 * 1024); }

// A worker process: its own world, its share of every model's states.
[[noreturn]] void Worker(const Options& opt, const Image& pre, const std::string& base, int index, int fd) {
  FastAllocator();
  World w(opt, pre, base + "/w" + std::to_string(index));
  Status s = w.Prepare();
  if (!s.ok()) {
    WriteLine(fd, {{"type", "error"}, {"message", s.ToString()}});
    ::_exit(0);
  }
  Slice slice{index, opt.jobs};
  for (Model m : opt.models) {
    auto progress = [&](Model pm, uint64_t done, uint64_t total, uint64_t generated) {
      WriteLine(fd, {{"type", "progress"},
                     {"model", static_cast<int>(pm)},
                     {"done", done},
                     {"total", total},
                     {"generated", generated}});
    };
    auto r = RunModel(m, w, opt, slice, progress);
    if (!r.ok()) {
      WriteLine(fd, {{"type", "error"}, {"message", r.status().ToString()}});
      ::_exit(0);
    }
    WriteLine(fd, ToJson(r.value()));
  }
  ::_exit(0);
}

void Merge(const json& j, std::map<int, ModelStats>* stats, std::map<int, std::set<uint64_t>>* keys,
           std::vector<Violation>* violations) {
  int m = j["model"];
  ModelStats& st = (*stats)[m];
  st.model = static_cast<Model>(m);
  st.crash_points = std::max<uint64_t>(st.crash_points, j["points"].get<uint64_t>());
  st.generated += j["generated"].get<uint64_t>();
  st.checked += j["checked"].get<uint64_t>();
  st.partial += j["partial"].get<uint64_t>();
  st.seconds = std::max(st.seconds, j["seconds"].get<double>());
  for (uint64_t k : j["keys"]) (*keys)[m].insert(k);
  for (const auto& v : j["violations"]) {
    Violation x;
    x.model = static_cast<Model>(v["model"].get<int>());
    x.state = v["state"];
    x.what = v["what"];
    x.persisted = v["persisted"].get<std::vector<std::string>>();
    x.diff = v["diff"];
    violations->push_back(std::move(x));
  }
}

// Progress over every worker and model. Each worker walks all of a model's
// crash points (doing its share), so a model's progress is the mean of the
// workers'; the overall fraction weighs the models by their usual cost.
class ProgressTracker {
 public:
  ProgressTracker(const Options& opt, std::chrono::steady_clock::time_point t0) : opt_(opt), t0_(t0) {
    for (Model m : opt.models) weight_total_ += Weight(m);
  }

  Progress Update(int worker, const json& j, size_t violations) {
    const int m = j["model"];
    auto& st = state_[{worker, m}];
    st.done = j["done"];
    st.total = j["total"];
    st.generated = j["generated"];
    Progress pr;
    pr.model = static_cast<Model>(m);
    pr.total = st.total;
    pr.violations = violations;
    double fraction = 0;
    for (Model mm : opt_.models) {
      double f = 0;
      for (int w = 0; w < opt_.jobs; ++w) {
        auto it = state_.find({w, static_cast<int>(mm)});
        if (it == state_.end()) continue;
        const PerWorker& x = it->second;
        f += x.total ? static_cast<double>(x.done) / static_cast<double>(x.total) : 1.0;
        pr.states += x.generated;
        if (static_cast<int>(mm) == m) pr.done += x.done;
      }
      fraction += Weight(mm) * f / opt_.jobs;
    }
    pr.done /= static_cast<uint64_t>(opt_.jobs);
    pr.fraction = weight_total_ > 0 ? std::min(1.0, fraction / weight_total_) : 0;
    pr.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    return pr;
  }

 private:
  struct PerWorker {
    uint64_t done = 0, total = 0, generated = 0;
  };
  // Relative cost of a model's whole run (measured on the VM renames).
  static double Weight(Model m) {
    switch (m) {
      case Model::kProcess: return 1;
      case Model::kPowerOrdered: return 0.5;
      case Model::kPowerWeak: return 2;
      case Model::kErrors: return 3;
      case Model::kRecovery: return 6;
    }
    return 1;
  }
  const Options& opt_;
  std::chrono::steady_clock::time_point t0_;
  double weight_total_ = 0;
  std::map<std::pair<int, int>, PerWorker> state_;
};

}  // namespace

const char* model_name(Model m) {
  switch (m) {
    case Model::kProcess: return "process";
    case Model::kPowerOrdered: return "power-ordered";
    case Model::kPowerWeak: return "power-weak";
    case Model::kErrors: return "errors";
    case Model::kRecovery: return "recovery";
  }
  return "?";
}

std::vector<Model> AllModels() {
  return {Model::kProcess, Model::kPowerOrdered, Model::kPowerWeak, Model::kErrors, Model::kRecovery};
}

Result<std::vector<Model>> ParseModels(const std::string& csv) {
  std::vector<Model> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    std::string name = csv.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    bool found = false;
    for (Model m : AllModels())
      if (name == model_name(m)) {
        if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
        found = true;
      }
    if (!found)
      return Status(Code::kInvalidArgument, "unknown crash model '" + name +
                                                "' (models: process, power-ordered, power-weak, errors, recovery)");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string FormatReport(const Report& r, const std::string& replay_command, size_t max_violations) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %8s %10s %8s %8s %10s\n", "model", "points", "generated", "unique",
                "checked", "states/s");
  out += line;
  uint64_t generated = 0;
  for (const auto& m : r.models) {
    generated += m.generated;
    std::snprintf(line, sizeof line, "%-14s %8llu %10llu %8llu %8llu %10.0f\n", model_name(m.model),
                  static_cast<unsigned long long>(m.crash_points), static_cast<unsigned long long>(m.generated),
                  static_cast<unsigned long long>(m.unique), static_cast<unsigned long long>(m.checked),
                  m.seconds > 0 ? static_cast<double>(m.generated) / m.seconds : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "%llu states generated, %llu checked in %.2f s (%.0f states/s); %zu violation%s\n",
                static_cast<unsigned long long>(generated), static_cast<unsigned long long>(r.checked()), r.seconds,
                r.seconds > 0 ? static_cast<double>(generated) / r.seconds : 0.0, r.violations.size(),
                r.violations.size() == 1 ? "" : "s");
  out += line;
  size_t shown = 0;
  for (const auto& v : r.violations) {
    if (shown++ == max_violations) {
      out += "\n... and " + std::to_string(r.violations.size() - max_violations) + " more violations\n";
      break;
    }
    out += "\nVIOLATION [" + std::string(model_name(v.model)) + "] " + v.state + ": " + v.what + "\n";
    if (!v.persisted.empty()) out += "  what ran / persisted:\n";
    for (const auto& p : v.persisted) out += "    " + p + "\n";
    if (!v.diff.empty()) {
      out += "  tree after recovery, against the nearest expected image:\n";
      size_t start = 0;
      while (start < v.diff.size()) {
        size_t nl = v.diff.find('\n', start);
        out += "    " + v.diff.substr(start, nl - start) + "\n";
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
    }
    if (!replay_command.empty() && r.replayable) out += "  replay: " + replay_command + " --replay " + v.state + "\n";
  }
  return out;
}

uint64_t Report::checked() const {
  uint64_t n = 0;
  for (const auto& m : models) n += m.checked;
  return n;
}

namespace {

// At most 4 concurrent transactions: the oracle captures an image per
// subset and order (65 clean runs for 4), and a crashing child reports
// which succeeded in its exit code.
constexpr size_t kMaxConcurrent = 4;

Status CheckConcurrent(const Options& opt) {
  if (opt.concurrent.size() > kMaxConcurrent)
    return Status(Code::kInvalidArgument, "at most " + std::to_string(kMaxConcurrent) +
                                              " concurrent transactions (Options::concurrent has " +
                                              std::to_string(opt.concurrent.size()) + ")");
  for (const auto& add : opt.concurrent)
    if (!add) return Status(Code::kInvalidArgument, "an empty function in Options::concurrent");
  if (!opt.replay.empty())
    return Status(Code::kInvalidArgument,
                  "no replay with concurrent transactions: their threads interleave differently in every run");
  return Status::Ok();
}

Status CheckOptions(const Options& opt) {
  const int forms = (opt.workload ? 1 : 0) + (opt.run ? 1 : 0) + (opt.concurrent.empty() ? 0 : 1);
  if (forms == 0)
    return Status(Code::kInvalidArgument, "no workload given (Options::workload, run or concurrent)");
  if (forms > 1)
    return Status(Code::kInvalidArgument,
                  "more than one of Options::workload, run and concurrent is set: give one");
  if (!opt.concurrent.empty()) {
    Status s = CheckConcurrent(opt);
    if (!s.ok()) return s;
  }
  if (opt.jobs < 1 || opt.jobs > 256) return Status(Code::kInvalidArgument, "jobs must be 1..256");
  if (!boost::filesystem::is_directory(opt.tree))
    return Status(Code::kNotFound, "tree " + opt.tree + " is not a directory");
  return Status::Ok();
}

// --replay: the one named state, in this process.
Status ReplayOne(const Options& opt, const Image& pre, const std::string& base, Report* report) {
  World w(opt, pre, base + "/w0");
  Status s = w.Prepare();
  auto r = s.ok() ? RunState(opt.replay, w, opt) : Result<ModelRun>(s);
  if (!r.ok()) return r.status();
  report->models.push_back(r.value().stats);
  report->violations = r.value().violations;
  if (opt.keep) report->kept_dir = w.root();
  return Status::Ok();
}

// Forks opt.jobs workers; each reports on a pipe (fds, read ends).
Status StartWorkers(const Options& opt, const Image& pre, const std::string& base, std::vector<pid_t>* pids,
                    std::vector<int>* fds) {
  for (int k = 0; k < opt.jobs; ++k) {
    int p[2];
    if (::pipe(p) != 0) return Status::FromErrno(errno, "pipe", "");
    pid_t pid = ::fork();
    if (pid < 0) return Status::FromErrno(errno, "fork", "");
    if (pid == 0) {
      ::close(p[0]);
      for (int fd : *fds) ::close(fd);
      Worker(opt, pre, base, k, p[1]);
    }
    ::close(p[1]);
    pids->push_back(pid);
    fds->push_back(p[0]);
  }
  return Status::Ok();
}

// What the workers report, merged as it arrives.
struct Collected {
  std::map<int, ModelStats> stats;
  std::map<int, std::set<uint64_t>> keys;
  std::string error;
};

// One JSON line from worker k.
void TakeLine(const std::string& line, int k, const Options& opt, ProgressTracker* tracker, Collected* c,
              Report* report) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded()) return;
  if (j["type"] == "error") c->error = j["message"];
  else if (j["type"] == "run") Merge(j, &c->stats, &c->keys, &report->violations);
  else if (j["type"] == "progress" && opt.progress)
    opt.progress(tracker->Update(k, j, report->violations.size()));
}

// Reads every worker's lines until all pipes close.
void CollectReports(const Options& opt, std::chrono::steady_clock::time_point t0, std::vector<int> fds,
                    Collected* c, Report* report) {
  ProgressTracker tracker(opt, t0);
  std::vector<std::string> buffers(fds.size());
  size_t open = fds.size();
  while (open > 0) {
    std::vector<pollfd> pfds;
    for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
    if (::poll(pfds.data(), pfds.size(), -1) < 0 && errno != EINTR) break;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k] < 0 || !(pfds[k].revents & (POLLIN | POLLHUP))) continue;
      char buf[65536];
      ssize_t n = ::read(fds[k], buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[k]);
        fds[k] = -1;
        --open;
        continue;
      }
      buffers[k].append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = buffers[k].find('\n')) != std::string::npos;) {
        TakeLine(buffers[k].substr(0, nl), static_cast<int>(k), opt, &tracker, c, report);
        buffers[k].erase(0, nl + 1);
      }
    }
  }
}

}  // namespace

Result<Report> Explore(const Options& options) {
  auto t0 = std::chrono::steady_clock::now();
  Status s = CheckOptions(options);
  if (!s.ok()) return s;
  // Concurrent transactions: each worker records its own run, and the
  // threads interleave differently in each, so the workers' states would
  // not be numbered alike (the slices would miss and repeat states, and a
  // state one worker leaves to another might never be built). One worker
  // explores every state of its one recording.
  Options opt = options;
  if (!opt.concurrent.empty()) opt.jobs = 1;
  Image pre;
  s = Capture(opt.tree, &pre);
  if (!s.ok()) return s.Annotate("reading the tree");

  std::string tmpl = ScratchBase(opt) + "/fstx-crashtest-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return Status::FromErrno(errno, "mkdtemp", tmpl);
  const std::string base = tmpl;
  Report report;
  report.replayable = opt.concurrent.empty();
  Collected c;
  if (!opt.replay.empty()) {
    s = ReplayOne(opt, pre, base, &report);
  } else {
    std::vector<pid_t> pids;
    std::vector<int> fds;
    s = StartWorkers(opt, pre, base, &pids, &fds);
    CollectReports(opt, t0, fds, &c, &report);
    for (pid_t pid : pids) ::waitpid(pid, nullptr, 0);
  }
  boost::system::error_code ec;
  if (!opt.keep) boost::filesystem::remove_all(base, ec);
  if (!s.ok()) return s;
  if (!c.error.empty()) return Status(Code::kIoError, "crash explorer: " + c.error);
  if (opt.replay.empty()) {
    for (Model m : opt.models) {
      ModelStats st = c.stats[static_cast<int>(m)];
      st.model = m;
      st.unique = c.keys[static_cast<int>(m)].size();
      report.models.push_back(st);
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace fstx::explore
