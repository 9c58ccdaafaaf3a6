#include "recovery/abandon.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

#include "journal/names.h"
#include "src/ops/owner.h"
#include "src/fs/paths.h"
#include "src/ops/stage.h"

namespace fstx {
namespace {

constexpr uint32_t kPrivateDir = 0700;

// Creates `dir` (0700) unless it is already a directory; notes the parent
// for syncing when it was made.
Status EnsureDir(Fs* fs, const std::string& dir, std::set<std::string>* sync) {
  FileInfo fi;
  Status s = fs->Stat(dir, &fi);
  if (!s.ok()) return s;
  if (fi.type == FileType::kDirectory) return Status::Ok();
  if (fi.exists())
    return Status(Code::kExists, dir + " exists and is not a directory: move it away, then resolve again");
  s = fs->Mkdir(dir, kPrivateDir);
  if (s.code() == Code::kExists) return Status::Ok();
  if (s.ok()) sync->insert(paths::Parent(dir));
  return s;
}

class Keeper {
 public:
  Keeper(Fs* fs, uint64_t txid) : fs_(fs), txid_(txid) {}

  // Moves `src` (if it exists) into the kept directory of `stage`.
  Status Move(const std::string& stage, const std::string& src) {
    FileInfo fi;
    Status s = fs_->Stat(src, &fi);
    if (!s.ok() || !fi.exists()) return s;
    std::string dir;
    if (!(s = Prepare(stage, &dir)).ok()) return s;
    std::string dest = paths::Join(dir, src.substr(src.rfind('/') + 1));
    s = fs_->Rename(src, dest, RenameMode::kNoReplace);
    if (!s.ok()) return s.Annotate("keeping staging object " + src);
    sync_.insert(paths::Parent(src));
    sync_.insert(dir);
    return Status::Ok();
  }

  // Writes the before-image of op `op`'s range into the kept directory.
  Status SaveRange(const std::string& stage, uint32_t op, uint64_t offset, const std::string& bytes) {
    std::string dir;
    Status s = Prepare(stage, &dir);
    if (!s.ok()) return s;
    std::string path = paths::Join(dir, ".fstx-" + std::to_string(txid_) + "-" + std::to_string(op) +
                                            "-range-at-" + std::to_string(offset));
    std::string have;
    FileInfo fi;
    if (!(s = fs_->Stat(path, &fi)).ok()) return s;
    if (fi.type == FileType::kRegular) {
      s = fs_->ReadFile(path, bytes.size() + 1, &have);
      if (s.ok() && have == bytes) return Status::Ok();  // an earlier run wrote it whole
    }
    if (fi.exists() && !(s = fs_->Unlink(path)).ok()) return s;  // a torn copy of ours
    if (!(s = fs_->CreateFile(path, bytes, 0600)).ok()) return s.Annotate("saving a write_range before-image");
    sync_.insert(dir);
    return Status::Ok();
  }

  // Syncs what changed, then lists every kept directory.
  Status Finish(std::vector<std::string>* kept) {
    for (const std::string& d : sync_) {
      Status s = fs_->SyncDir(d);
      if (!s.ok()) return s;
    }
    kept->clear();
    for (const std::string& dir : dirs_) {
      std::vector<std::string> names;
      Status s = fs_->ListDir(dir, &names);
      if (!s.ok()) return s;
      for (const auto& n : names) kept->push_back(paths::Join(dir, n));
    }
    std::sort(kept->begin(), kept->end());
    return Status::Ok();
  }

  // Lists kept directories an earlier, interrupted run made for `stage`.
  void Consider(const std::string& stage) {
    FileInfo fi;
    std::string dir = KeptDir(stage, txid_);
    if (fs_->Stat(dir, &fi).ok() && fi.type == FileType::kDirectory) dirs_.insert(dir);
  }

 private:
  Status Prepare(const std::string& stage, std::string* dir) {
    *dir = KeptDir(stage, txid_);
    Status s = EnsureDir(fs_, paths::Parent(*dir), &sync_);
    if (s.ok()) s = EnsureDir(fs_, *dir, &sync_);
    if (s.ok()) dirs_.insert(*dir);
    return s;
  }

  Fs* fs_;
  uint64_t txid_;
  std::set<std::string> sync_, dirs_;
};

}  // namespace

std::string KeptDir(const std::string& stage, uint64_t txid) {
  return stage + "/abandoned/" + std::to_string(txid);
}

Status KeepStaging(Fs* fs, const std::vector<std::string>& roots, const TxRecord& rec,
                   std::vector<std::string>* kept) {
  Keeper k(fs, rec.id);
  StageFinder finder(fs, roots);
  for (size_t j = 0; j < rec.intents.size(); ++j) {
    const Intent& in = rec.intents[j];
    const auto op = static_cast<uint32_t>(j);
    std::string stage = in.stage;
    if (stage.empty()) {  // format 1: siblings; keep them in the mount's staging directory
      auto f = finder.ForDir(paths::Parent(in.path));
      if (!f.ok()) return f.status().Annotate("finding the staging directory for " + in.path);
      stage = f.value();
    }
    k.Consider(stage);
    for (StagingKind kind : {StagingKind::kNew, StagingKind::kOld, StagingKind::kDel}) {
      Status s = k.Move(stage, StagingPath(in.stage, in.path, rec.id, op, kind));
      if (!s.ok()) return s;
    }
    if (!in.content.empty()) {  // format 4: the written file not yet in place
      Status s = k.Move(stage, in.content);
      if (!s.ok()) return s;
    }
    if (in.kind == OpKind::kWriteRange && !in.old_data.empty()) {
      Status s = k.SaveRange(stage, op, in.offset, in.old_data);
      if (!s.ok()) return s;
    }
  }
  return k.Finish(kept);
}

Status KeepStagingById(Fs* fs, const std::vector<std::string>& roots, uint64_t txid,
                       std::vector<std::string>* kept) {
  Keeper k(fs, txid);
  for (const std::string& root : roots) {
    const std::string stage = StagingDirAt(root);
    k.Consider(stage);
    std::vector<std::string> names;
    Status s = fs->ListDir(stage, &names);
    if (s.code() == Code::kNotFound) continue;
    if (!s.ok()) return s.Annotate("listing the staging directory");
    for (const std::string& leaf : names) {
      StagingName n;
      if (!ParseStagingLeaf(leaf, &n) || n.txid != txid) continue;
      if (!(s = k.Move(stage, paths::Join(stage, leaf))).ok()) return s;
    }
  }
  return k.Finish(kept);
}

Status SaveRawRecord(const std::string& journal_dir, uint64_t txid, const std::string& bytes,
                     std::string* path) {
  const std::string dir = journal_dir + "/abandoned";
  *path = dir + "/" + std::to_string(txid) + ".record";
  auto fail = [&](const std::string& what, const std::string& p) {
    return Status::FromErrno(errno, what, p);
  };
  bool made = ::mkdir(dir.c_str(), kPrivateDir) == 0;
  if (!made && errno != EEXIST) return fail("mkdir", dir);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return fail("open", dir);
  const std::string leaf = std::to_string(txid) + ".record";
  int fd = ::openat(dfd, leaf.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  Status s;
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    s = fail("open", *path);
  } else if (!S_ISREG(st.st_mode)) {
    s = Status(Code::kExists, *path + " exists and is not a regular file");
  } else if (::ftruncate(fd, 0) != 0) {
    s = fail("truncate", *path);
  } else {
    size_t done = 0;
    while (done < bytes.size() && s.ok()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) s = fail("write", *path);
      else done += static_cast<size_t>(n);
    }
    if (s.ok() && ::fsync(fd) != 0) s = fail("fsync", *path);
    if (s.ok() && ::fsync(dfd) != 0) s = fail("fsync", dir);
  }
  if (fd >= 0) ::close(fd);
  ::close(dfd);
  if (s.ok() && made) {  // the abandoned/ entry itself
    int pfd = ::open(journal_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0 || ::fsync(pfd) != 0) s = fail("fsync", journal_dir);
    if (pfd >= 0) ::close(pfd);
  }
  return s;
}

std::string WhoAndWhen() {
  uid_t uid = ::getuid();
  std::string name;
  struct passwd pw {};
  struct passwd* res = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) name = res->pw_name;
  time_t now = ::time(nullptr);
  struct tm tm {};
  char when[32] = "?";
  if (::gmtime_r(&now, &tm)) ::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return "uid " + std::to_string(uid) + (name.empty() ? "" : " (" + name + ")") + ", pid " +
         std::to_string(::getpid()) + ", at " + when;
}

}  // namespace fstx
