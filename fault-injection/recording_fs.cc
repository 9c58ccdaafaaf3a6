// recording_fs.cc — a trace of successful mutations, and its replay.
//
// RecordingFs holds its mutex across the target call and the recording, so
// the trace order is exactly the order in which the calls took effect, even
// with concurrent callers. Sequence numbers start at 1 (0 means "not
// recorded") and restart after Clear().
//
// Replay rebases the paths the calls act on; a symlink's target is content,
// not a path acted on, and is replayed as recorded.
#include "fstx/fault.h"
#include "src/fs/paths.h"

namespace fstx::fault {

const char* event_kind_name(Event::Kind k) {
  switch (k) {
    case Event::kCreate:
      return "create";
    case Event::kSymlink:
      return "symlink";
    case Event::kMkdir:
      return "mkdir";
    case Event::kRename:
      return "rename";
    case Event::kLink:
      return "link";
    case Event::kUnlink:
      return "unlink";
    case Event::kRmdir:
      return "rmdir";
    case Event::kSyncDir:
      return "syncdir";
    case Event::kJournalSync:
      return "journal_sync";
    case Event::kWrite:
      return "write";
  }
  return "unknown";
}

namespace {

Event MakeEvent(Event::Kind kind, const std::string& path, const std::string& path2 = "") {
  Event e;
  e.kind = kind;
  e.path = path;
  e.path2 = path2;
  return e;
}

}  // namespace

// Caller holds mu_.
void RecordingFs::Record(Event e) {
  e.seq = events_.size() + 1;
  events_.push_back(std::move(e));
}

Status RecordingFs::CreateFile(const std::string& path, std::string_view data, uint32_t mode,
                               int64_t uid, int64_t gid) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = target()->CreateFile(path, data, mode, uid, gid);
  if (s.ok()) {
    Event e = MakeEvent(Event::kCreate, path);
    e.data = std::string(data);
    e.mode = mode;
    Record(std::move(e));
  }
  return s;
}

Status RecordingFs::WriteAt(const std::string& path, uint64_t offset, std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = target()->WriteAt(path, offset, data);
  if (s.ok()) {
    Event e = MakeEvent(Event::kWrite, path);
    e.data = std::string(data);
    e.offset = offset;
    Record(std::move(e));
  }
  return s;
}

Status RecordingFs::Symlink(const std::string& target_path, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = target()->Symlink(target_path, path);
  if (s.ok()) {
    Event e = MakeEvent(Event::kSymlink, path);
    e.data = target_path;
    Record(std::move(e));
  }
  return s;
}

Status RecordingFs::Mkdir(const std::string& path, uint32_t mode) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = target()->Mkdir(path, mode);
  if (s.ok()) {
    Event e = MakeEvent(Event::kMkdir, path);
    e.mode = mode;
    Record(std::move(e));
  }
  return s;
}

Status RecordingFs::Rename(const std::string& from, const std::string& to, RenameMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = target()->Rename(from, to, mode);
  if (s.ok()) {
    Event e = MakeEvent(Event::kRename, from, to);
    e.replace = (mode == RenameMode::kReplace);
    Record(std::move(e));
  }
  return s;
}

Status RecordingFs::Link(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = target()->Link(from, to);
  if (s.ok()) Record(MakeEvent(Event::kLink, from, to));
  return s;
}

Status RecordingFs::Unlink(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = target()->Unlink(path);
  if (s.ok()) Record(MakeEvent(Event::kUnlink, path));
  return s;
}

Status RecordingFs::Rmdir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = target()->Rmdir(path);
  if (s.ok()) Record(MakeEvent(Event::kRmdir, path));
  return s;
}

Status RecordingFs::SyncDir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = target()->SyncDir(path);
  if (s.ok()) Record(MakeEvent(Event::kSyncDir, path));
  return s;
}

std::function<Status(std::string_view)> RecordingFs::Hook() {
  return [this](std::string_view point) -> Status {
    if (point == "journal.commit.after") {
      std::lock_guard<std::mutex> lock(mu_);
      Record(MakeEvent(Event::kJournalSync, ""));
    }
    return Status::Ok();
  };
}

std::vector<Event> RecordingFs::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

void RecordingFs::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  events_.clear();
}

Status Replay(Fs* fs, const std::vector<Event>& events, const std::string& from_root,
              const std::string& to_root) {
  for (const Event& e : events) {
    std::string path = paths::Rebase(e.path, from_root, to_root);
    std::string path2 = e.path2.empty() ? "" : paths::Rebase(e.path2, from_root, to_root);
    Status s;
    switch (e.kind) {
      case Event::kCreate:
        s = fs->CreateFile(path, e.data, e.mode, -1, -1);
        break;
      case Event::kSymlink:
        s = fs->Symlink(e.data, path);
        break;
      case Event::kMkdir:
        s = fs->Mkdir(path, e.mode);
        break;
      case Event::kRename:
        s = fs->Rename(path, path2, e.replace ? RenameMode::kReplace : RenameMode::kNoReplace);
        break;
      case Event::kLink:
        s = fs->Link(path, path2);
        break;
      case Event::kUnlink:
        s = fs->Unlink(path);
        break;
      case Event::kRmdir:
        s = fs->Rmdir(path);
        break;
      case Event::kWrite:
        s = fs->WriteAt(path, e.offset, e.data);
        break;
      case Event::kSyncDir:
      case Event::kJournalSync:
        break;  // barriers: nothing to apply
    }
    if (!s.ok()) {
      return s.Annotate("replay event " + std::to_string(e.seq) + " (" +
                        event_kind_name(e.kind) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace fstx::fault
