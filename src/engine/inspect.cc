// inspect.cc — the Inspector (fstx/inspect.h): list, get, health and
// dry-run recovery over a store opened read-only or a Journal's own.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>

#include <spdlog/spdlog.h>

#include "fstx/fstx.h"
#include "recovery/recover.h"
#include "src/engine/inspect_impl.h"
#include "src/ops/owner.h"

namespace fstx {

Inspector::Inspector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Inspector::~Inspector() = default;

Result<std::unique_ptr<Inspector>> Inspector::Open(const std::string& dir) {
  struct stat st;
  if (::lstat((dir + "/data.mdb").c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status(Code::kNotFound, "no journal at " + dir);
    return Status::FromErrno(errno, "cannot read journal: stat", dir + "/data.mdb");
  }
  StoreOptions so;
  so.dir = dir;
  so.read_only = true;
  auto store = JournalStore::Open(so);
  if (!store.ok()) return store.status();
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->owned = std::move(*store);
  impl->store = impl->owned.get();
  return std::make_unique<Inspector>(std::move(impl));
}

const std::string& Inspector::dir() const { return impl_->dir; }

Status Inspector::List(bool finished, TxList* out) const {
  // Each List call replaces its *bad, so collect the two tables apart.
  std::vector<BadRecord> bad_active, bad_history;
  out->finished.clear();
  Status s = impl_->store->ListActive(&out->unfinished, &bad_active);
  if (s.ok() && finished) s = impl_->store->ListHistory(&out->finished, &bad_history);
  out->corrupt = std::move(bad_active);
  out->corrupt.insert(out->corrupt.end(), bad_history.begin(), bad_history.end());
  return s;
}

Status Inspector::Get(uint64_t id, TxRecord* out, bool* finished) const {
  bool in_history = false;
  Status s = impl_->store->Get(id, out, &in_history);
  if (s.code() == Code::kNotFound) {
    return Status(Code::kNotFound, "no transaction " + std::to_string(id) + " in journal " + impl_->dir);
  }
  if (finished) *finished = in_history;
  return s;
}

Status Inspector::Health(JournalHealth* out) const {
  *out = JournalHealth();
  out->dir = impl_->dir;
  out->exists = true;
  StoreStats stats;
  Status s = impl_->store->Stats(&stats);
  if (!s.ok()) return s;
  out->format_version = stats.format_version;
  out->map_size = stats.map_size;
  out->used_bytes = stats.used_bytes;
  out->next_id = stats.next_id;
  // History is counted by LMDB (mdb_stat), not read: status stays fast with
  // a long history (nor does a read-only open check its pages: store.h);
  // `fstx verify` decodes every record.
  TxList list;
  if (!(s = List(false, &list)).ok()) return s;
  out->finished = stats.history;
  out->corrupt = std::move(list.corrupt);
  out->writer = ProbeWriter(impl_->dir);
  for (TxRecord& r : list.unfinished) {
    UnfinishedTx u;
    u.owner_alive = OwnerAlive(r.owner);
    u.locks = LockedPaths(r);
    // What recovery would act on now: a dead owner's transaction.
    out->recovery_pending = out->recovery_pending || (!u.owner_alive && r.state != TxState::kNeedsAttention);
    out->needs_attention = out->needs_attention || r.state == TxState::kNeedsAttention;
    u.record = std::move(r);
    out->unfinished.push_back(std::move(u));
  }
  return Status();
}

Status Inspector::RecoverDryRun(const std::vector<std::string>& roots, RecoveryReport* report) const {
  report->txs.clear();
  Result<std::unique_ptr<PosixFs>> fs = PosixFs::Open(roots);
  if (!fs.ok()) return fs.status();
  std::vector<TxRecord> active;
  std::vector<BadRecord> bad;
  Status s = impl_->store->ListActive(&active, &bad);
  if (!s.ok()) return s;
  for (const BadRecord& b : bad) {
    report->txs.push_back({b.id, "", Decision::kCorrupt, 0, 0, b.status.ToString() + " (record left untouched)"});
  }
  RecoveryEnv env;
  env.fs = fs.value().get();
  env.store = impl_->store;
  env.log = spdlog::default_logger_raw();
  env.sync_dir = [](const std::string& dir) {
    return Status(Code::kInvalidArgument, "dry run: not syncing " + dir);
  };
  for (const TxRecord& rec : active) {
    if (OwnerAlive(rec.owner)) {
      report->txs.push_back({rec.id, rec.label, Decision::kSkippedLiveOwner, 0, 0,
                             "owner pid " + std::to_string(rec.owner.pid) + " is alive"});
      continue;
    }
    report->txs.push_back(RecoverTransaction(env, rec, /*dry_run=*/true));
  }
  return Status();
}

Status ProbeHealth(const std::string& dir, JournalHealth* out) {
  *out = JournalHealth();
  out->dir = dir;
  auto in = Inspector::Open(dir);
  if (!in.ok()) return in.status().code() == Code::kNotFound ? Status() : in.status();
  return (*in)->Health(out);
}

std::vector<std::string> LockedPaths(const TxRecord& rec) {
  std::set<std::string> set;
  for (const Intent& in : rec.intents) {
    if (!in.src.empty()) set.insert(in.src);
    if (!in.path.empty()) set.insert(in.path);
  }
  return {set.begin(), set.end()};
}

WriterInfo ProbeWriter(const std::string& dir) {
  WriterInfo info;
  const std::string path = dir + "/writer.lock";
  // O_NOFOLLOW | O_NONBLOCK, read only if a regular file: a symlink or FIFO
  // there reads as "not held".
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return info;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return info;
  }
  // Writers hold it shared: an exclusive probe fails while any does.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    info.held = errno == EWOULDBLOCK;
  } else {
    ::flock(fd, LOCK_UN);
  }
  if (info.held) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) info.pid = std::strtoll(buf, nullptr, 10);
  }
  ::close(fd);
  return info;
}

}  // namespace fstx
