#include "src/engine/content.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>

#include "journal/names.h"
#include "src/fs/hash.h"
#include "src/ops/ops.h"
#include "src/ops/owner.h"

namespace fstx {
namespace {

// The copy buffer: what a staged write holds in memory at once.
constexpr size_t kPiece = 1 << 20;

std::atomic<uint64_t> g_seq{0};

std::string OpName(size_t k, const Op& op) {
  return "op " + std::to_string(k + 1) + " (write_file " + op.path + ")";
}

std::string BootPrefix(const Owner& o) { return o.boot_id.empty() ? "none" : o.boot_id.substr(0, kContentBootChars); }

// A fresh staged-content path in `stage` for this process.
std::string NewContentPath(const std::string& stage) {
  const Owner self = CurrentOwner();
  ContentName n;
  n.pid = self.pid;
  n.start_time = self.start_time;
  n.boot = BootPrefix(self);
  n.seq = g_seq++;
  return stage + "/" + ContentLeaf(n);
}

}  // namespace

StagedContent::~StagedContent() {
  for (Pending& p : pending_)
    if (p.fd >= 0) ::close(p.fd);
}

Status StagedContent::Load(std::vector<Op>* ops) {
  for (size_t k = 0; k < ops->size(); ++k) {
    Op& op = (*ops)[k];
    if (op.kind != OpKind::kWriteFile) continue;
    if (op.content_file.empty()) {
      if (op.data.size() <= inline_max_) continue;
      pending_.push_back({k, -1, std::move(op.data), "its data"});
      op.data.clear();
      continue;
    }
    int fd = ::open(op.content_file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      const int err = errno;
      if (fd >= 0) ::close(fd);
      return Status(Code::kInvalidArgument, OpName(k, op) + ": content file " + op.content_file + ": " +
                                                std::strerror(err), err);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status(Code::kInvalidArgument, OpName(k, op) + ": content file " + op.content_file +
                                                " is not a regular file");
    }
    if (static_cast<uint64_t>(st.st_size) > inline_max_) {
      pending_.push_back({k, fd, std::string(), op.content_file});
      continue;
    }
    // Small: into the record, as WriteFile's data.
    op.data.clear();
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) op.data.append(buf, static_cast<size_t>(n));
    const int err = errno;
    ::close(fd);
    if (n < 0)
      return Status(Code::kIoError, OpName(k, op) + ": reading content file " + op.content_file + ": " +
                                        std::strerror(err), err);
  }
  return Status();
}

Status StagedContent::StageOne(Fs* fs, Pending* p, Intent* in) {
  const std::string path = NewContentPath(in->stage);
  if (track_) track_(path, true);
  hash::Stream h;
  uint64_t size = 0;  // handed out so far
  std::string buf;
  if (p->fd >= 0) buf.resize(kPiece);
  Fs::ChunkSource next = [&](std::string_view* piece) -> Status {
    if (p->fd < 0) {  // from memory: the data in slices
      *piece = std::string_view(p->data).substr(size, kPiece);
    } else {
      ssize_t n;
      do n = ::read(p->fd, buf.data(), buf.size());
      while (n < 0 && errno == EINTR);
      if (n < 0) return Status::FromErrno(errno, "reading content file", p->name);
      *piece = std::string_view(buf.data(), static_cast<size_t>(n));
    }
    h.Update(*piece);
    size += piece->size();
    return Status();
  };
  Status s = fs->CreateFileFrom(path, next, in->mode, in->before.present() ? in->before.uid : -1,
                                in->before.present() ? in->before.gid : -1);
  FileInfo fi;
  if (s.ok()) s = fs->Stat(path, &fi);
  if (s.ok() && (fi.type != FileType::kRegular || fi.size != size))
    s = Status(Code::kIoError, "staged content " + path + " is not the " + std::to_string(size) +
                                   "-byte file just written");
  if (!s.ok()) {
    (void)fs->Unlink(path);  // if that fails too, recovery deletes it: no longer in flight
    if (track_) track_(path, false);
    return s;
  }
  in->content = path;
  in->moved = ops::FingerprintOf(fi);
  in->data.clear();
  in->data_size = size;
  in->data_hash = h.Raw();
  return Status();
}

Status StagedContent::Stage(Fs* fs, std::vector<Intent>* intents,
                            const std::function<Status(const std::string&)>& sync_dir) {
  std::set<std::string> dirs;
  Status s;
  for (Pending& p : pending_) {
    Intent& in = (*intents)[p.op];
    s = StageOne(fs, &p, &in);
    if (!s.ok()) {
      s = s.Annotate("op " + std::to_string(p.op + 1) + " (" + ops::Describe(in) + "): staging its content");
      break;
    }
    dirs.insert(in.stage);
  }
  for (auto it = dirs.begin(); s.ok() && it != dirs.end(); ++it) s = sync_dir(*it);
  if (!s.ok()) {
    DiscardContent(fs, *intents);
    if (track_)
      for (const Intent& in : *intents)
        if (!in.content.empty()) track_(in.content, false);
  }
  return s;
}

void DiscardContent(Fs* fs, const std::vector<Intent>& intents) {
  for (const Intent& in : intents) (void)ops::DropContent(fs, in);
}

ContentStager WhoStaged(const std::string& leaf) {
  ContentName n;
  if (!ParseContentLeaf(leaf, &n)) return ContentStager::kNotContent;
  const Owner self = CurrentOwner();
  if (n.boot != BootPrefix(self)) return ContentStager::kDead;  // staged before this boot
  if (n.pid == self.pid && n.start_time == self.start_time) return ContentStager::kThisProcess;
  Owner o;
  o.pid = n.pid;
  o.start_time = n.start_time;
  o.boot_id = self.boot_id;
  return OwnerAlive(o) ? ContentStager::kOtherLive : ContentStager::kDead;
}

}  // namespace fstx
