#include "fault-injection/models.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "src/fs/paths.h"

namespace fstx::explore {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> RelevantErrnos(const std::string& point) {
  if (point.size() > 6 && point.compare(point.size() - 6, 6, ".after") == 0) return {EIO};
  if (point == "fs.create" || point == "fs.symlink" || point == "fs.mkdir")
    return {EIO, ENOSPC, EACCES, EROFS, ENAMETOOLONG};
  if (point == "fs.rename" || point == "fs.link") return {EIO, ENOSPC, EACCES, EXDEV, EROFS, ENAMETOOLONG};
  if (point == "fs.write") return {EIO, ENOSPC, EACCES, EROFS};
  if (point == "fs.unlink" || point == "fs.rmdir") return {EIO, EACCES, EROFS};
  if (point == "fs.syncdir" || point.rfind("journal.", 0) == 0) return {EIO, ENOSPC};
  return {EIO, EACCES};
}

std::string PointOf(const std::string& trace_line) { return trace_line.substr(0, trace_line.find(' ')); }

std::string DescribeEvent(const fault::Event& e) {
  std::string s = std::string(fault::event_kind_name(e.kind)) + " " + e.path;
  if (!e.path2.empty()) s += " -> " + e.path2;
  return s;
}

// For each crash point (an index into `points`), the first crash point
// whose kill leaves the same disk state. A kill before a directory fsync, or
// just after a journal commit, leaves what a kill at the next crash point
// leaves when only reads and ".after" points come between: neither the
// fsync nor a read changes the tree or the journal. (The completed run is
// never grouped: it reports success.)
std::vector<size_t> SameStateAs(const std::vector<std::string>& trace, const std::vector<uint64_t>& points) {
  static const std::set<std::string> kReads = {"fs.stat", "fs.read", "fs.readlink", "fs.listdir"};
  std::vector<size_t> first(points.size());
  for (size_t n = 0; n < points.size(); ++n) {
    first[n] = n;
    if (n == 0 || points[n] > trace.size()) continue;
    const uint64_t prev = points[n - 1];
    const std::string at = PointOf(trace[prev - 1]);
    if (at != "fs.syncdir" && at != "journal.commit.after") continue;
    bool quiet = true;
    for (uint64_t h = prev + 1; h < points[n] && quiet; ++h) {
      const std::string q = PointOf(trace[h - 1]);
      quiet = kReads.count(q) || (q.size() > 6 && q.compare(q.size() - 6, 6, ".after") == 0);
    }
    if (quiet) first[n] = first[n - 1];
  }
  return first;
}

// A process crash state: the workload killed at failpoint hit `hit`, or
// (torn) part-way through the write at that hit, half its bytes written.
// Kills in one `group` leave the same state (SameStateAs).
struct ProcessKill {
  uint64_t hit = 0;
  bool torn = false;
  size_t group = 0;
  std::string name() const { return std::to_string(hit) + (torn ? ":torn" : ""); }
};

// Every crash point, and after each write (fs.write: bytes written in the
// middle of a file) a torn kill of it. Kills are grouped by the state they
// leave only if `deterministic`: concurrent transactions interleave
// differently in every re-run, so the recorded trace says nothing sure
// about what comes between two hits of a re-run.
std::vector<ProcessKill> ProcessKills(const std::vector<std::string>& trace, bool deterministic) {
  const auto points = CrashPoints(trace);
  auto first = SameStateAs(trace, points);
  if (!deterministic)
    for (size_t n = 0; n < first.size(); ++n) first[n] = n;
  std::vector<ProcessKill> out;
  for (size_t n = 0; n < points.size(); ++n) {
    out.push_back({points[n], false, first[n]});
    if (points[n] <= trace.size() && PointOf(trace[points[n] - 1]) == "fs.write")
      out.push_back({points[n], true, points.size() + n});
  }
  return out;
}

class Runner {
 public:
  Runner(Model m, World& w, const Options& opt, const Slice& slice, const ProgressFn& progress)
      : m_(m), w_(w), opt_(opt), slice_(slice), progress_(progress),
        // VerifyKept re-runs the workload and expects the very state it
        // kept: with concurrent transactions the re-run interleaves
        // differently. (The power models' checks stay on: their states
        // come from the one recording, not from re-runs.)
        verify_(std::getenv("FSTX_EXPLORER_VERIFY_SIM") != nullptr && !(w.concurrent() && m == Model::kRecovery)) {
    run_.stats.model = m;
  }

  Result<ModelRun> Run() {
    auto t0 = Clock::now();
    Status s;
    switch (m_) {
      case Model::kProcess: s = Process(); break;
      case Model::kPowerOrdered: s = PowerOrdered(); break;
      case Model::kPowerWeak: s = PowerWeak(); break;
      case Model::kErrors: s = Errors(); break;
      case Model::kRecovery: s = Recovery(); break;
    }
    if (!s.ok()) return s;
    run_.stats.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return run_;
  }

  // One state, by id.
  Result<ModelRun> One(const std::vector<std::string>& parts) {
    only_ = parts;
    return Run();
  }

 private:
  bool Wanted(uint64_t i, const std::string& id) {
    if (!only_.empty()) return id == Join(only_);
    return slice_.mine(i);
  }
  static std::string Join(const std::vector<std::string>& p) {
    std::string s;
    for (const auto& x : p) s += (s.empty() ? "" : ":") + x;
    return s;
  }
  // Reports progress at most every 50 ms (and at the end of a model): a
  // deduplicated state costs microseconds, a progress line a pipe write
  // and a parse in the parent.
  void Tick(uint64_t done, uint64_t total) {
    if (!progress_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_tick_ < std::chrono::milliseconds(50)) return;
    last_tick_ = now;
    progress_(m_, done, total, run_.stats.generated);
  }

  // Fingerprints the state in place; false if it was seen before.
  bool Fresh(int snap = -2) { return FreshKey(w_.StateKey(snap)); }
  // The same for a state whose fingerprint was computed before it was
  // built (in FSTX_EXPLORER_VERIFY_SIM mode it is compared with the built one).
  bool FreshKey(uint64_t key) {
    run_.keys.push_back(key);
    ++run_.stats.generated;
    if (!only_.empty()) return true;
    return seen_.insert(key).second;
  }

  void Judge(const StateResult& r, const std::string& id, std::vector<std::string> persisted) {
    ++run_.stats.checked;
    if (r.applied > 0 && static_cast<uint32_t>(r.applied) != w_.all()) ++run_.stats.partial;
    if (!r.what) return;
    Violation v;
    v.model = m_;
    v.state = id;
    v.what = *r.what;
    v.persisted = std::move(persisted);
    v.diff = r.diff;
    run_.violations.push_back(std::move(v));
  }

  std::string Killed(const ProcessKill& k) const {
    const auto& t = w_.trace();
    const uint64_t i = k.hit;
    return std::string(k.torn ? "killed part-way through failpoint " : "killed at failpoint ") + std::to_string(i) +
           " of " + std::to_string(t.size()) + ": " + (i - 1 < t.size() ? t[i - 1] : std::string("?")) +
           (k.torn ? " (half its bytes written)" : "") +
           (w_.concurrent() ? " (as recorded; the threads of this run may have interleaved otherwise)" : "");
  }

  Status Process() {
    const auto kills = ProcessKills(w_.trace(), !w_.concurrent());
    std::map<size_t, uint64_t> key_of;  // group -> its state's key, for the kills this worker ran
    run_.stats.crash_points = kills.size();
    for (size_t n = 0; n < kills.size(); ++n) {
      const ProcessKill& k = kills[n];
      const std::string id = "process:" + k.name();
      if (!Wanted(n, id)) continue;
      if (only_.empty() && key_of.count(k.group) && !verify_) {
        // The same state as a kill already run here: seen, not checked again.
        run_.keys.push_back(key_of[k.group]);
        ++run_.stats.generated;
        Tick(n + 1, kills.size());
        continue;
      }
      uint32_t reported = 0;
      auto killed = w_.CrashWorkload(k.hit, k.torn, &reported);
      if (!killed.ok()) return killed.status();
      // A run that ended (concurrent transactions: a re-run may have fewer
      // hits than the recording) is judged by what it reported.
      const bool ended = !killed.value() && !k.torn;
      if (Fresh()) Judge(w_.Check(ended ? std::optional<uint32_t>(reported) : std::nullopt), id, {Killed(k)});
      if (key_of.count(k.group) && key_of[k.group] != run_.keys.back())
        return Status(Code::kIoError, id + ": not the state of the crash point it was grouped with");
      key_of[k.group] = run_.keys.back();
      Tick(n + 1, kills.size());
    }
    return Status();
  }

  // For each distinct process crash state: recover it uninterrupted once
  // (the reference), then kill recovery at each of its crash points, recover
  // again, and compare.
  Status Recovery() {
    const auto kills = ProcessKills(w_.trace(), !w_.concurrent());
    std::set<size_t> ran;  // groups whose state this worker built
    for (size_t n = 0; n < kills.size(); ++n) {
      const ProcessKill& k = kills[n];
      const std::string prefix = "recovery:" + k.name() + ":", want = Join(only_);
      if (!only_.empty() && (want.compare(0, prefix.size(), prefix) != 0 || want.find(':', prefix.size()) != std::string::npos))
        continue;
      if (only_.empty() && !slice_.mine(n)) continue;
      // The same crash state as a kill already run here: already seen.
      if (only_.empty() && ran.count(k.group)) continue;
      ran.insert(k.group);
      auto killed = w_.CrashWorkload(k.hit, k.torn);
      if (!killed.ok()) return killed.status();
      if (!seen_.insert(w_.StateKey()).second && only_.empty()) continue;
      Status s = RecoveryCrashes(k);
      if (!s.ok()) return s;
      Tick(n + 1, kills.size());
    }
    return Status();
  }

  // The process crash state of kill k is in place: put it aside, recover
  // it once uninterrupted (the reference, recorded), then for each of
  // recovery's crash points fingerprint the state a kill there leaves, in
  // memory, and only for a state not seen before put the crash state back,
  // kill recovery there, recover again, and compare. (Putting the state
  // back costs a tree copy; re-running the workload up to its kill, as
  // VerifyKept does, costs more with every op.)
  Status RecoveryCrashes(const ProcessKill& k) {
    KeptState kept;
    Status s = w_.Keep(&kept);
    RecoveryRecording rec;
    if (s.ok()) s = w_.TraceRecovery(&rec);
    Image reference;
    if (s.ok()) s = Capture(w_.root(), &reference);
    if (!s.ok()) return s;
    for (const uint64_t m : CrashPoints(rec.trace)) {
      if (m > rec.trace.size()) break;  // an uninterrupted recovery: the reference itself
      const std::string id = "recovery:" + k.name() + ":" + std::to_string(m);
      if (!only_.empty() && id != Join(only_)) continue;
      ++run_.stats.crash_points;
      uint64_t key = 0;
      const bool simulated = w_.RecoveryKey(kept, rec, m, &key);
      if (simulated && only_.empty() && seen_.count(key) && !verify_) {
        run_.keys.push_back(key);  // seen: not built or checked again
        ++run_.stats.generated;
        continue;
      }
      uint64_t slow_key = 0;
      s = verify_ ? VerifyKept(kept, k, m, &slow_key) : w_.PutBack(kept);
      if (!s.ok()) return s.Annotate(id);
      auto rk = w_.CrashRecovery(m);
      if (!rk.ok()) return rk.status();
      if (simulated && !verify_ ? FreshKey(key) : Fresh())
        Judge(w_.Check(std::nullopt, &reference), id,
              {Killed(k), "recovery killed at its failpoint " + std::to_string(m) + ": " + rec.trace[m - 1]});
      if (verify_ && slow_key != run_.keys.back())
        return Status(Code::kIoError, id + ": recovery killed in the kept state ends elsewhere than in the re-run one");
      if (verify_ && simulated && key != run_.keys.back())
        return Status(Code::kIoError, id + ": the simulated recovery state differs from the one built");
    }
    return Status();
  }

  // FSTX_EXPLORER_VERIFY_SIM: builds the recovery state the slow way too
  // (the workload re-run and killed as k says, recovery killed at m; its
  // key in *slow_key), then puts `kept` back and fails unless recovery sees
  // the same state in both before it is killed.
  Status VerifyKept(const KeptState& kept, const ProcessKill& k, uint64_t m, uint64_t* slow_key) {
    auto killed = w_.CrashWorkload(k.hit, k.torn);
    if (!killed.ok()) return killed.status();
    const uint64_t rerun = w_.ExactKey();
    auto rk = w_.CrashRecovery(m);
    if (!rk.ok()) return rk.status();
    *slow_key = w_.StateKey();
    Status s = w_.PutBack(kept);
    if (!s.ok()) return s;
    if (w_.ExactKey() != rerun) return Status(Code::kIoError, "the kept crash state put back differs from the re-run one");
    return Status();
  }

  // What the run reported: its status (concurrent transactions: which
  // succeeded, and the first error).
  std::string Reported(const Status& st, uint32_t reported) const {
    if (!w_.concurrent()) return "the transaction reported: " + (st.ok() ? std::string("success") : st.ToString());
    return "the transactions that reported success: " + SubsetName(reported) +
           (st.ok() ? std::string() : "; the first error: " + st.ToString());
  }

  std::vector<std::string> Persisted(const std::vector<size_t>& persist, bool torn) {
    std::vector<std::string> out;
    for (size_t i : persist)
      if (!IsBarrier(w_.events()[i])) out.push_back(DescribeEvent(w_.events()[i]));
    if (torn && !out.empty()) out.back() += " (torn: half its data)";
    return out;
  }

  Status PowerState(const std::vector<size_t>& persist, size_t p, bool torn, const std::string& id) {
    const int snap = w_.SnapshotBefore(p);
    // Deduplicated before it is built: the state's fingerprint comes from
    // the events applied in memory; only a new state is built and checked.
    // A state that another worker meets first is left to it (a success
    // state is always checked: its verdict also depends on the success).
    // A torn last write means the call never returned: not a success.
    const bool success = p == w_.events().size() && w_.committed() && !torn;
    uint64_t key = 0;
    const bool simulated = w_.PowerKey(persist, snap, torn, &key);
    auto owner = owner_.find(key);
    const bool others = owner != owner_.end() && !slice_.mine(owner->second) && !success;
    if (simulated && only_.empty() && (seen_.count(key) || others) && !verify_) {
      run_.keys.push_back(key);
      ++run_.stats.generated;
      return Status();
    }
    Status s = w_.BuildPowerState(persist, snap, torn);
    if (!s.ok()) return s.Annotate(id);
    if (simulated && verify_ && key != w_.StateKey(snap))
      return Status(Code::kIoError, id + ": the simulated state differs from the one built");
    if (simulated ? FreshKey(key) : Fresh(snap))
      Judge(w_.Check(success ? std::optional<uint32_t>(w_.all()) : std::nullopt), id, Persisted(persist, torn));
    return Status();
  }

  // Every worker fingerprints every power state in memory (cheap) and
  // notes which crash point meets each state first: that point's worker
  // builds and checks it, the others only count it.
  void PlanPower(bool weak) {
    owner_.clear();
    if (!only_.empty()) return;
    const size_t e = w_.events().size();
    for (size_t p = 0; p <= e; ++p) {
      const int snap = w_.SnapshotBefore(p);
      std::vector<std::vector<size_t>> states;
      if (weak) {
        states = WeakStates(w_.events(), p, opt_.max_weak_subsets);
      } else {
        states.emplace_back();
        for (size_t i = 0; i < p; ++i) states.back().push_back(i);
      }
      for (const auto& persist : states)
        for (bool torn : {false, true}) {
          if (torn && !(weak && TornPossible(persist, p))) continue;
          uint64_t key;
          if (w_.PowerKey(persist, snap, torn, &key)) owner_.emplace(key, p);
        }
    }
  }

  // The last persisted event is the create or write just before the crash
  // point: it may be torn.
  bool TornPossible(const std::vector<size_t>& persist, size_t p) const {
    const auto last = p > 0 ? w_.events()[p - 1].kind : fault::Event::kSyncDir;
    return !persist.empty() && persist.back() == p - 1 &&
           (last == fault::Event::kCreate || last == fault::Event::kWrite);
  }

  Status PowerOrdered() {
    PlanPower(false);
    const size_t e = w_.events().size();
    run_.stats.crash_points = e + 1;
    for (size_t p = 0; p <= e; ++p) {
      const std::string id = "power-ordered:" + std::to_string(p);
      if (!Wanted(p, id)) continue;
      std::vector<size_t> persist;
      for (size_t i = 0; i < p; ++i) persist.push_back(i);
      Status s = PowerState(persist, p, false, id);
      if (!s.ok()) return s;
      Tick(p, e);
    }
    return Status();
  }

  Status PowerWeak() {
    PlanPower(true);
    const size_t e = w_.events().size();
    run_.stats.crash_points = e + 1;
    for (size_t p = 0; p <= e; ++p) {
      if (only_.empty() && !slice_.mine(p)) continue;
      if (!only_.empty() && only_[1] != std::to_string(p)) continue;
      auto states = WeakStates(w_.events(), p, opt_.max_weak_subsets);
      for (size_t k = 0; k < states.size(); ++k) {
        const auto& persist = states[k];
        std::string id = "power-weak:" + std::to_string(p) + ":" + std::to_string(k);
        if (only_.empty() || Join(only_) == id) {
          Status s = PowerState(persist, p, false, id);
          if (!s.ok()) return s;
        }
        if (TornPossible(persist, p) && (only_.empty() || Join(only_) == id + ":torn")) {
          Status s = PowerState(persist, p, true, id + ":torn");
          if (!s.ok()) return s;
        }
      }
      Tick(p, e);
    }
    return Status();
  }

  Status Errors() {
    const uint64_t h = w_.trace().size();
    run_.stats.crash_points = h;
    // States are dealt out one by one: a "before" point has several errnos
    // and its ".after" point one, so dealing out points would leave one
    // worker most of the runs.
    uint64_t state = 0;
    for (uint64_t i = 1; i <= h; ++i) {
      const std::string point = PointOf(w_.trace()[i - 1]);
      for (int err : RelevantErrnos(point)) {
        const std::string id = "errors:" + std::to_string(i) + ":" + errno_name(err);
        if (!Wanted(state++, id)) continue;
        uint32_t reported = 0;
        Status st = w_.FailWorkload(i, err, &reported);
        std::vector<std::string> what{"failpoint " + std::to_string(i) + " (" + w_.trace()[i - 1] + ") failed with " +
                                          errno_name(err) + (w_.concurrent() ? " (the point as recorded)" : ""),
                                      Reported(st, reported)};
        Image now;
        const bool captured = reported != w_.all() && Capture(w_.root(), &now).ok();
        StateResult early;
        if (captured && !w_.Unrecovered(reported, now, &early)) {
          ++run_.stats.generated;
          Judge(early, id, what);
          continue;
        }
        // The oracle's verdict depends on the state and on which
        // transactions reported success, and on nothing else: both are in
        // the key, and a state seen before is not checked again.
        const uint64_t key = w_.StateKey(-2, captured ? &now : nullptr) ^ reported;
        run_.keys.push_back(key);
        ++run_.stats.generated;
        if (only_.empty() && !seen_.insert(key).second) continue;
        Judge(w_.Check(reported), id, what);
      }
      Tick(i, h);
    }
    return Status();
  }

  Model m_;
  World& w_;
  const Options& opt_;
  Slice slice_;
  ProgressFn progress_;
  std::chrono::steady_clock::time_point last_tick_{};
  ModelRun run_;
  std::set<uint64_t> seen_;
  std::map<uint64_t, size_t> owner_;  // power state key -> the first crash point that meets it
  // FSTX_EXPLORER_VERIFY_SIM: build every state that deduplication would
  // skip, and fail if it is not the state it was taken for.
  const bool verify_;
  std::vector<std::string> only_;
};

}  // namespace

Result<ModelRun> RunModel(Model m, World& w, const Options& opt, const Slice& slice, const ProgressFn& progress) {
  return Runner(m, w, opt, slice, progress).Run();
}

Result<ModelRun> RunState(const std::string& id, World& w, const Options& opt) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= id.size(); ++i) {
    if (i == id.size() || id[i] == ':') {
      parts.push_back(id.substr(start, i - start));
      start = i + 1;
    }
  }
  auto models = ParseModels(parts[0]);
  if (!models.ok() || parts.size() < 2)
    return Status(Code::kInvalidArgument, "bad state id '" + id + "' (expected MODEL:POINT[:...])");
  Runner r(models.value()[0], w, opt, Slice{}, nullptr);
  return r.One(parts);
}

}  // namespace fstx::explore
