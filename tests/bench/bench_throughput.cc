// bench_throughput.cc — bench_scale's threads and procs phases, and the
// child processes of every phase.
#include <sqlite3.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "tests/bench/bench_scale.h"

namespace fstx::bench {

std::unique_ptr<Journal> OpenJournal(const Options& o) {
  auto j = Journal::Open(o);
  if (!j.ok()) throw std::runtime_error("open journal " + o.dir + ": " + j.status().ToString());
  return std::move(j.value());
}

Status CommitOne(Journal* j, const std::string& path, const std::string& data) {
  Transaction tx = j->Begin("bench");
  tx.WriteFile(path, data, 0644);
  return tx.Commit();
}

namespace {

// The SQLite baseline: an intent row (WAL, synchronous=FULL), the durable
// replace, the row marked done.
class SqliteLog {
 public:
  explicit SqliteLog(const std::string& db) {
    Check(sqlite3_open(db.c_str(), &db_) == SQLITE_OK, "sqlite3_open " + db);
    sqlite3_busy_timeout(db_, 30000);
    Exec("PRAGMA journal_mode=WAL");
    Exec("PRAGMA synchronous=FULL");
    Exec("CREATE TABLE IF NOT EXISTS intents(id INTEGER PRIMARY KEY, path TEXT, data BLOB, done INT)");
  }
  ~SqliteLog() { sqlite3_close(db_); }
  void Tx(const std::string& path, const std::string& data) {
    sqlite3_stmt* st = nullptr;
    Check(sqlite3_prepare_v2(db_, "INSERT INTO intents(path, data, done) VALUES(?, ?, 0)", -1, &st, nullptr) ==
              SQLITE_OK,
          "prepare");
    sqlite3_bind_text(st, 1, path.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string("sqlite insert: ") + sqlite3_errmsg(db_));
    const long long id = sqlite3_last_insert_rowid(db_);
    BareReplace(path, data);
    Exec("UPDATE intents SET done = 1 WHERE id = " + std::to_string(id));
  }

 private:
  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error("sqlite: " + sql + ": " + m);
    }
  }
  sqlite3* db_ = nullptr;
};

enum class Kind { kFstx, kBare, kSqlite };

// Transactions per second of `threads` threads, each rewriting its own file.
double Throughput(const Config& c, Kind kind, int threads, Journal* j, const std::string& root) {
  std::atomic<bool> stop{false};
  std::atomic<long> total{0};
  std::vector<std::thread> ts;
  std::string error;
  std::mutex emu;
  for (int t = 0; t < threads; ++t) {
    const std::string d = root + "/t" + std::to_string(t);
    Mkdirs(d);
    ts.emplace_back([&, t, d] {
      try {
        std::unique_ptr<SqliteLog> sql;
        if (kind == Kind::kSqlite) sql = std::make_unique<SqliteLog>(root + "/intents.db");
        long n = 0;
        for (; !stop; ++n) {
          const std::string data = "thread " + std::to_string(t) + " tx " + std::to_string(n) + "\n";
          if (kind == Kind::kFstx) {
            Status s = CommitOne(j, d + "/f", data);
            if (!s.ok()) throw std::runtime_error(s.ToString());
          } else if (kind == Kind::kBare) {
            BareReplace(d + "/f", data);
          } else {
            sql->Tx(d + "/f", data);
          }
        }
        total += n;
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> l(emu);
        error = e.what();
        stop = true;
      }
    });
  }
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(c.seconds));
  stop = true;
  for (auto& t : ts) t.join();
  const double secs = Ms(t0, Clock::now()) / 1000;
  if (!error.empty()) throw std::runtime_error(error);
  return static_cast<double>(total) / secs;
}

}  // namespace

// Every thread count and kind is measured once per round, the rounds one
// after another, and each figure is the median of its rounds: a load change
// on the shared machine then hits 1 and 8 threads alike instead of one of
// them.
void PhaseThreads(const Config& c) {
  const std::string root = c.dir + "/threads", bare = c.dir + "/threads-bare", sql = c.dir + "/threads-sqlite";
  Mkdirs(root), Mkdirs(bare), Mkdirs(sql);
  Options o;
  o.dir = c.dir + "/threads-journal";
  o.roots = {root};
  auto j = OpenJournal(o);
  Config per = c;
  per.seconds = c.seconds / c.tput_rounds;
  std::map<int, std::vector<double>> fr, br, sr;
  for (int r = 0; r < c.tput_rounds; ++r) {
    for (int n : {1, 2, 4, 8}) {
      fr[n].push_back(Throughput(per, Kind::kFstx, n, j.get(), root));
      br[n].push_back(Throughput(per, Kind::kBare, n, nullptr, bare));
      sr[n].push_back(Throughput(per, Kind::kSqlite, n, nullptr, sql));
    }
  }
  std::map<int, double> f, b, s;
  for (int n : {1, 2, 4, 8}) {
    f[n] = Median(fr[n]), b[n] = Median(br[n]), s[n] = Median(sr[n]);
    if (c.json)
      JsonLine("threads").Int("threads", n).Num("fstx_tx_per_s", f[n]).Num("bare_tx_per_s", b[n])
          .Num("sqlite_tx_per_s", s[n]).Int("rounds", c.tput_rounds).Print();
    else
      std::printf("%d threads: fstx %.0f tx/s, bare %.0f, sqlite %.0f (medians of %d rounds)\n", n, f[n], b[n], s[n],
                  c.tput_rounds);
  }
  JsonLine line("threads_summary");
  line.Num("tx_per_s_1", f[1]).Num("tx_per_s_8", f[8]).Num("sqlite_tx_per_s_8", s[8])
      .Num("bare_tx_per_s_8", b[8]).Num("scaling_8_over_1", f[8] / f[1])
      .Num("fstx_over_sqlite_8", f[8] / s[8]).Int("rounds", c.tput_rounds);
  if (c.json) line.Print();
  else
    std::printf("8 threads / 1: %.2fx   fstx / sqlite at 8 threads: %.2fx\n", f[8] / f[1], f[8] / s[8]);
}

void PhaseProcs(const Config& c) {
  const std::string root = c.dir + "/procs", jdir = c.dir + "/procs-journal", bare = c.dir + "/procs-bare";
  Mkdirs(root), Mkdirs(bare);
  const double secs = c.seconds / c.tput_rounds;
  // [bare?][processes]: the same rewrites done durably by hand, in the same
  // rounds, show what the machine itself gives 4 processes over 1.
  std::vector<double> rates[2][5];
  long busy[5] = {0, 0, 0, 0, 0};
  for (int r = 0; r < c.tput_rounds; ++r) {
    for (int b : {0, 1}) {
      for (int n : {1, 4}) {
        std::vector<std::string> outs(static_cast<size_t>(n));
        std::vector<std::thread> ts;
        for (int i = 0; i < n; ++i)
          ts.emplace_back([&, i] {
            outs[static_cast<size_t>(i)] = RunChild({c.self, "--child-procs", b ? "-" : jdir, b ? bare : root,
                                                     std::to_string(n * 10 + i), std::to_string(secs)});
          });
        for (auto& t : ts) t.join();
        long committed = 0;
        for (const auto& out : outs) {
          long k = 0, bz = 0;
          if (std::sscanf(out.c_str(), "%ld %ld", &k, &bz) != 2) throw std::runtime_error("child said: " + out);
          committed += k, busy[n] += b ? 0 : bz;
        }
        rates[b][n].push_back(static_cast<double>(committed) / secs);
      }
    }
  }
  const double r1 = Median(rates[0][1]), r4 = Median(rates[0][4]);
  const double b1 = Median(rates[1][1]), b4 = Median(rates[1][4]);
  if (c.json)
    JsonLine("procs").Num("procs1_tx_per_s", r1).Num("procs4_tx_per_s", r4).Int("procs4_busy", busy[4])
        .Num("procs4_over_1", r4 / r1).Num("bare_procs1_tx_per_s", b1).Num("bare_procs4_tx_per_s", b4)
        .Num("bare_procs4_over_1", b4 / b1).Int("rounds", c.tput_rounds).Print();
  else
    std::printf("processes: 1 -> %.0f tx/s, 4 -> %.0f tx/s (%.2fx), %ld busy refusals; bare ops: 1 -> %.0f, "
                "4 -> %.0f (%.2fx) (medians of %d rounds)\n",
                r1, r4, r4 / r1, busy[4], b1, b4, b4 / b1, c.tput_rounds);
}

namespace {

// One process of the procs phase: commits 1-op transactions on its own
// file for `seconds`, (re)trying Open when the journal is busy; prints
// "COMMITTED BUSY". With `jdir` "-", rewrites the file durably by hand
// (bench_util's BareReplace) instead.
int ChildProcs(const std::string& jdir, const std::string& root, const std::string& idx, double seconds) {
  Options o;
  o.dir = jdir;
  o.roots = {root};
  const std::string d = root + "/p" + idx;
  Mkdirs(d);
  long committed = 0, busy = 0;
  std::unique_ptr<Journal> j;
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const bool bare = jdir == "-";
  while (Clock::now() < end) {
    const std::string data = "process " + idx + " tx " + std::to_string(committed) + "\n";
    if (bare) {
      BareReplace(d + "/f", data);
      ++committed;
      continue;
    }
    if (!j) {
      auto r = Journal::Open(o);
      if (r.ok()) {
        j = std::move(r.value());
      } else if (r.status().code() == Code::kBusy) {
        ++busy;
        ::usleep(1000);
        continue;
      } else {
        throw std::runtime_error(r.status().ToString());
      }
    }
    Status s = CommitOne(j.get(), d + "/f", data);
    if (s.ok()) ++committed;
    else if (s.code() == Code::kBusy) ++busy;
    else throw std::runtime_error(s.ToString());
  }
  std::printf("%ld %ld\n", committed, busy);
  return 0;
}

// The write100m child: one write_file of the file `src` into ROOT/big;
// prints the milliseconds the transaction took.
int ChildWrite(const std::string& jdir, const std::string& root, const std::string& src) {
  Options o;
  o.dir = jdir;
  o.roots = {root};
  auto j = OpenJournal(o);
  auto t0 = Clock::now();
  Transaction tx = j->Begin("big write");
  tx.WriteFileFrom(root + "/big", src, 0644);
  Status s = tx.Commit();
  if (!s.ok()) throw std::runtime_error(s.ToString());
  std::printf("%.4f\n", Ms(t0, Clock::now()));
  return 0;
}

}  // namespace

int ChildMain(int argc, char** argv) {
  const std::string mode = argv[1];
  if (mode == "--child-procs" && argc == 6) return ChildProcs(argv[2], argv[3], argv[4], std::atof(argv[5]));
  if (mode == "--child-crash" && argc == 5) return ChildCrash(argv[2], argv[3], std::atoi(argv[4]));
  if (mode == "--child-write" && argc == 5) return ChildWrite(argv[2], argv[3], argv[4]);
  std::fprintf(stderr, "bench_scale: bad child arguments\n");
  return 2;
}

}  // namespace fstx::bench
