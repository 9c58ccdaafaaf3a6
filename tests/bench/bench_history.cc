// bench_history.cc — bench_scale's history, recover and write100m phases.
// The history is filled directly through the journal store (a bench-only
// shortcut: a million real transactions would take an hour).
#include <signal.h>

#include <atomic>
#include <thread>

#include "journal/store.h"
#include "tests/bench/bench_scale.h"

#ifndef FSTX_CLI_PATH
#error "FSTX_CLI_PATH: the fstx command, for status_ms_hist1m"
#endif

namespace fstx::bench {
namespace {

// `n` finished 1-op write_file transactions, straight into history.
void FillHistory(const std::string& jdir, uint64_t n, const std::string& root) {
  StoreOptions so;
  so.dir = jdir;
  so.history_max_count = n * 2;
  auto store = JournalStore::Open(so);
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  const int64_t now = static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const uint64_t kBatch = 20000;
  for (uint64_t first = 1; first <= n; first += kBatch) {
    WriteBatch b;
    for (uint64_t id = first; id < first + kBatch && id <= n; ++id) {
      TxRecord r;
      r.id = id;
      r.label = "history " + std::to_string(id);
      r.owner.pid = 1;
      r.state = TxState::kDone;
      r.created_us = now - 1000;
      r.finished_us = now;
      Intent in;
      in.kind = OpKind::kWriteFile;
      in.path = root + "/h/f" + std::to_string(id % 1000);
      in.mode = 0644;
      in.stage = root + "/.fstx";
      in.data_size = 100;
      in.data_hash = std::string(16, 'h');
      in.before = Fingerprint{1, 2049, id, 0100644, 0, 0, 100, 0};
      r.intents.push_back(in);
      b.to_history.push_back(std::move(r));
    }
    Status s = (*store)->Write(&b);
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
}

struct CommitTime {
  double median = 0, first = 0;
};

// Median and first commit time of `rounds` 1-op transactions on each of
// two journals, interleaved round by round (which goes first alternating)
// so that the shared machine's load hits both alike.
std::pair<CommitTime, CommitTime> CommitTimes(const Config& c, const std::string& j0, const std::string& j1,
                                              const std::string& root) {
  std::unique_ptr<Journal> js[2];
  const std::string dirs[2] = {j0, j1};
  for (int k = 0; k < 2; ++k) {
    Options o;
    o.dir = dirs[k];
    o.roots = {root};
    o.history_max_count = c.history * 2;
    js[k] = OpenJournal(o);
  }
  std::vector<double> ms[2];
  for (int i = 0; i < c.rounds; ++i)
    for (int n = 0; n < 2; ++n) {
      const int k = (i + n) % 2;
      auto t0 = Clock::now();
      Status s = CommitOne(js[k].get(), root + "/f" + std::to_string(k), "round " + std::to_string(i) + "\n");
      if (!s.ok()) throw std::runtime_error(s.ToString());
      ms[k].push_back(Ms(t0, Clock::now()));
    }
  return {{Median(ms[0]), ms[0].front()}, {Median(ms[1]), ms[1].front()}};
}

}  // namespace

void PhaseHistory(const Config& c) {
  const std::string root = c.dir + "/hist", j0 = c.dir + "/hist0-journal", j1 = c.dir + "/hist1-journal";
  Mkdirs(root);
  auto t0 = Clock::now();
  FillHistory(j1, c.history, root);
  const double fill_ms = Ms(t0, Clock::now());
  const auto [h0, h1] = CommitTimes(c, j0, j1, root);
  const double m0 = h0.median, first0 = h0.first, m1 = h1.median, first1 = h1.first;
  std::vector<double> st;
  for (int i = 0; i < 3; ++i) {
    auto s0 = Clock::now();
    int status = 0;
    const char* cli = std::getenv("FSTX_CLI");
    RunChild({cli && *cli ? cli : FSTX_CLI_PATH, "--journal", j1, "status", "--json"}, nullptr, &status);
    st.push_back(Ms(s0, Clock::now()));
  }
  const double status_ms = Median(st);
  if (c.json)
    JsonLine("history").Int("history_records", static_cast<long long>(c.history)).Num("commit_ms_hist0", m0)
        .Num("commit_ms_hist1m", m1).Num("first_commit_ms_hist0", first0).Num("first_commit_ms_hist1m", first1)
        .Num("status_ms_hist1m", status_ms).Num("hist1m_over_hist0", m1 / m0).Num("fill_ms", fill_ms).Print();
  else
    std::printf("commit with %llu in history: %.3f ms (first %.3f), with none: %.3f ms (first %.3f); "
                "status %.1f ms\n",
                static_cast<unsigned long long>(c.history), m1, first1, m0, first0, status_ms);
}

namespace {

// A Fs that parks the calling thread forever at its third rename, to
// leave each transaction half-applied when the process is killed.
class ParkingFs : public FsWrapper {
 public:
  ParkingFs(Fs* t, std::atomic<int>* parked) : FsWrapper(t), parked_(parked) {}
  Status Rename(const std::string& from, const std::string& to, RenameMode mode) override {
    thread_local int renames = 0;
    if (++renames == 3) {
      ++*parked_;
      for (;;) ::pause();
    }
    return FsWrapper::Rename(from, to, mode);
  }

 private:
  std::atomic<int>* parked_;
};

void BuildVm(const std::string& r, int i) {
  const std::string v = "vm" + std::to_string(i);
  fstx::testing::WriteFileRaw(r + "/etc/" + v + ".xml", "<domain>" + v + "</domain>\n");
  Check(::symlink(("../" + v + ".xml").c_str(), (r + "/etc/autostart/" + v + ".xml").c_str()) == 0, "symlink");
  Mkdirs(r + "/snap/" + v);
  fstx::testing::WriteFileRaw(r + "/snap/" + v + "/s1.xml", "snap\n");
  fstx::testing::WriteFileRaw(r + "/img/" + v + ".qcow2", "image\n");
  fstx::testing::WriteFileRaw(r + "/run/" + v + ".sock", "");
}

}  // namespace

// Starts `n` 7-op transactions in `n` threads, parks each after two
// renames, then SIGKILLs the process.
int ChildCrash(const std::string& jdir, const std::string& root, int n) {
  Options o;
  o.dir = jdir;
  o.roots = {root};
  o.recover_on_open = false;
  auto posix = PosixFs::Open({root});
  if (!posix.ok()) throw std::runtime_error(posix.status().ToString());
  std::atomic<int> parked{0}, failed{0};
  ParkingFs fs(posix.value().get(), &parked);
  o.fs = &fs;
  auto j = OpenJournal(o);
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i)
    ts.emplace_back([&, i] {
      const std::string v = "vm" + std::to_string(i), w = "w" + std::to_string(i);
      Transaction tx = j->Begin("rename " + v);
      tx.Rename(root + "/etc/" + v + ".xml", root + "/etc/" + w + ".xml")
          .WriteFile(root + "/etc/" + w + ".xml", "<domain>" + w + "</domain>\n", 0600)
          .Symlink("../" + w + ".xml", root + "/etc/autostart/" + w + ".xml")
          .Remove(root + "/etc/autostart/" + v + ".xml")
          .Rename(root + "/snap/" + v, root + "/snap/" + w)
          .Rename(root + "/img/" + v + ".qcow2", root + "/img/" + w + ".qcow2")
          .Rename(root + "/run/" + v + ".sock", root + "/run/" + w + ".sock");
      Status s = tx.Commit();
      std::fprintf(stderr, "bench_scale: tx %d finished without parking: %s\n", i, s.ToString().c_str());
      ++failed;
    });
  while (parked + failed < n) ::usleep(1000);
  ::kill(::getpid(), SIGKILL);
  return 1;
}

void PhaseRecover(const Config& c) {
  const std::string root = c.dir + "/recover", jdir = c.dir + "/recover-journal";
  for (const char* d : {"/etc/autostart", "/snap", "/img", "/run"}) Mkdirs(root + d);
  for (int i = 0; i < c.recover; ++i) BuildVm(root, i);
  // A real tree is on disk long before a transaction runs: without this,
  // recovery's first rename over a file the bench just wrote also waits
  // for that file's delayed allocation to be written back (ext4's
  // auto_da_alloc), a cost of the set-up, not of recovery.
  SyncFs(root);
  int status = 0;
  RunChild({c.self, "--child-crash", jdir, root, std::to_string(c.recover)}, nullptr, &status);
  if (!WIFSIGNALED(status)) throw std::runtime_error("the crash child was not killed");
  Options o;
  o.dir = jdir;
  o.roots = {root};
  auto t0 = Clock::now();
  auto j = OpenJournal(o);
  const double ms = Ms(t0, Clock::now());
  int rolled_back = 0;
  for (const auto& t : j->open_report().txs) rolled_back += t.decision == fstx::Decision::kRolledBack;
  if (rolled_back != c.recover)
    throw std::runtime_error("recovered " + std::to_string(rolled_back) + " of " + std::to_string(c.recover));
  for (int i = 0; i < c.recover; ++i)
    if (!fstx::testing::Exists(root + "/etc/vm" + std::to_string(i) + ".xml"))
      throw std::runtime_error("vm" + std::to_string(i) + " not rolled back");
  if (c.json)
    JsonLine("recover").Int("transactions", c.recover).Num("recover_1000_ms", ms).Print();
  else
    std::printf("recovering %d interrupted 7-op transactions: %.1f ms\n", c.recover, ms);
}

void PhaseWrite(const Config& c) {
  const std::string root = c.dir + "/write", bare = c.dir + "/write-bare", jdir = c.dir + "/write-journal";
  const std::string src = c.dir + "/big.src";
  Mkdirs(root), Mkdirs(bare);
  {
    std::string chunk(1 << 20, '\0');
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((i * 2654435761u) >> 13);
    int fd = ::open(src.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    Check(fd >= 0, "open " + src);
    for (int i = 0; i < c.write_mib; ++i)
      Check(::write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()), "write " + src);
    Check(::fsync(fd) == 0, "fsync " + src);
    ::close(fd);
  }
  // The bare write runs before and after fstx's (the mean is the
  // baseline): whichever goes second finds the device still busy with the
  // first one's 100 MiB.
  auto bare_once = [&] {
    auto t0 = Clock::now();
    BareReplaceFrom(bare + "/big", src);
    return Ms(t0, Clock::now());
  };
  const double bare_before = bare_once();
  long rss_kb = 0;
  const std::string out = RunChild({c.self, "--child-write", jdir, root, src}, &rss_kb);
  const double fstx_ms = std::atof(out.c_str());
  const double bare_ms = (bare_before + bare_once()) / 2;
  const uint64_t jbytes = FileBytes(jdir + "/data.mdb");
  if (c.json)
    JsonLine("write100m").Int("mib", c.write_mib).Num("write100m_ms", fstx_ms).Num("bare_write100m_ms", bare_ms)
        .Num("write100m_over_bare", fstx_ms / bare_ms).Num("write100m_rss_mb", static_cast<double>(rss_kb) / 1024)
        .Int("journal_bytes_after_write100m", static_cast<long long>(jbytes)).Print();
  else
    std::printf("%d MiB write_file: fstx %.1f ms, bare %.1f ms (%.2fx); child peak RSS %.1f MiB; journal %llu "
                "bytes\n",
                c.write_mib, fstx_ms, bare_ms, fstx_ms / bare_ms, static_cast<double>(rss_kb) / 1024,
                static_cast<unsigned long long>(jbytes));
}

}  // namespace fstx::bench
