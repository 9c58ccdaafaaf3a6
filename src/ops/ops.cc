#include "src/ops/ops.h"

#include "journal/names.h"
#include "src/ops/barrier.h"
#include "src/fs/paths.h"
#include "src/ops/planted.h"

namespace fstx::ops {
namespace {

std::string Staging(const Intent& in, uint64_t txid, uint32_t index, StagingKind kind) {
  return StagingPath(in.stage, in.path, txid, index, kind);
}

Status NeedsAttention(const Intent& in, const std::string& why) {
  return Status(Code::kNeedsAttention, Describe(in) + ": " + why);
}

std::string DescribeFound(const FileInfo& fi) {
  if (!fi.exists()) return "nothing";
  return std::string("a ") + file_type_name(static_cast<FileType>(fi.type)) + " (inode " +
         std::to_string(fi.ino) + ")";
}

bool IsDir(const Fingerprint& fp) { return fp.type == static_cast<uint8_t>(FileType::kDirectory); }

// Removes `path` if it is `fp`'s object (or, with fp absent, whatever is
// there: only for staging names this op itself creates).
Status RemoveIfOurs(Fs* fs, const std::string& path, const Fingerprint* fp) {
  FileInfo fi;
  Status s = fs->Stat(path, &fi);
  if (!s.ok() || !fi.exists()) return s;
  if (fp && !SameObject(fi, *fp)) return Status();  // not ours: leave it
  return fi.type == FileType::kDirectory ? RemoveTree(fs, path) : fs->Unlink(path);
}

// Is the object at the target the one this op puts there?
bool IsNewObject(Fs* fs, const Intent& in, const FileInfo& fi) {
  if (in.kind == OpKind::kSymlink) {
    if (fi.type != FileType::kSymlink) return false;
    std::string target;
    return fs->ReadLink(in.path, &target).ok() && target == in.data;
  }
  if (!in.content.empty()) return SameObject(fi, in.moved);  // the staged file itself
  if (fi.type != FileType::kRegular || fi.size != in.data.size() || fi.mode != in.mode) return false;
  std::string content;
  return fs->ReadFile(in.path, in.data.size(), &content).ok() && content == in.data;
}

// ---- rename ----

Status ApplyRename(Fs* fs, const Intent& in, const std::string& old) {
  if (!in.before.present()) return fs->Rename(in.src, in.path, RenameMode::kNoReplace);
  if (IsDir(in.before)) {
    Status s = fs->Rename(in.path, old, RenameMode::kNoReplace);
    if (!s.ok()) return s;
    return fs->Rename(in.src, in.path, RenameMode::kNoReplace);
  }
  Status s = fs->Link(in.path, old);
  if (!s.ok()) return s;
  return fs->Rename(in.src, in.path, RenameMode::kReplace);
}

ProbeResult ProbeRename(Fs* fs, const Intent& in, const std::string& old) {
  FileInfo src, dst;
  Status s = fs->Stat(in.path, &dst);
  if (s.ok()) s = fs->Stat(in.src, &src);
  if (!s.ok()) return {State::kUnknown, s.ToString()};
  if (SameObject(dst, in.moved)) return {State::kApplied, ""};
  if (SameObject(src, in.moved)) {
    if (!in.before.present() && !dst.exists()) return {State::kNotApplied, ""};
    if (in.before.present() && SameObject(dst, in.before)) return {State::kNotApplied, ""};
    FileInfo o;
    if (in.before.present() && !dst.exists() && fs->Stat(old, &o).ok() && SameObject(o, in.before))
      return {State::kPartial, ""};
    return {State::kUnknown, "found " + DescribeFound(dst) + " at " + in.path +
                                 ", expected " + (in.before.present() ? "the replaced object" : "nothing")};
  }
  return {State::kUnknown, "the object moved from " + in.src + " (inode " + std::to_string(in.moved.ino) +
                               ") is at neither path; found " + DescribeFound(src) + " at " + in.src +
                               " and " + DescribeFound(dst) + " at " + in.path};
}

// ---- write_file / symlink ----

// With staged content (format 4) the new file exists before the record
// does: `fresh` is Intent::content, and it is put in place as it is.
Status ApplyPut(Fs* fs, const Intent& in, const std::string& staging_new, const std::string& old) {
  const std::string& fresh = in.content.empty() ? staging_new : in.content;
  Status s = !in.content.empty()             ? Status()
             : in.kind == OpKind::kSymlink ? fs->Symlink(in.data, fresh)
                                           : fs->CreateFile(fresh, in.data, in.mode,
                                                            in.before.present() ? in.before.uid : -1,
                                                            in.before.present() ? in.before.gid : -1);
  if (!s.ok()) return s;
  if (!in.before.present()) return fs->Rename(fresh, in.path, RenameMode::kNoReplace);
  // The replaced file's ACLs, SELinux label and other attributes go with
  // it, as its owner and mode do.
  if (in.kind == OpKind::kWriteFile && in.before.type == static_cast<uint8_t>(FileType::kRegular) &&
      !(s = fs->CopyXattrs(in.path, fresh)).ok())
    return s;
  s = fs->Link(in.path, old);
  if (!s.ok()) return s;
  return fs->Rename(fresh, in.path, RenameMode::kReplace);
}

ProbeResult ProbePut(Fs* fs, const Intent& in) {
  FileInfo fi;
  Status s = fs->Stat(in.path, &fi);
  if (!s.ok()) return {State::kUnknown, s.ToString()};
  if (in.before.present() ? SameObject(fi, in.before) : !fi.exists()) return {State::kNotApplied, ""};
  if (fi.exists() && IsNewObject(fs, in, fi)) return {State::kApplied, ""};
  return {State::kUnknown, "found " + DescribeFound(fi) + " at " + in.path +
                               " that is neither the object it replaced nor the new " +
                               (in.kind == OpKind::kSymlink ? "symlink" : "content")};
}

// ---- remove ----

ProbeResult ProbeRemove(Fs* fs, const Intent& in, const std::string& del) {
  FileInfo fi, d;
  Status s = fs->Stat(in.path, &fi);
  if (s.ok()) s = fs->Stat(del, &d);
  if (!s.ok()) return {State::kUnknown, s.ToString()};
  if (SameObject(fi, in.moved)) return {State::kNotApplied, ""};
  if (!fi.exists() && SameObject(d, in.moved)) return {State::kApplied, ""};
  // Gone from both: the staging object is deleted only after the commit
  // point, so the op was applied (undo would then need attention).
  if (!fi.exists() && !d.exists()) return {State::kApplied, ""};
  return {State::kUnknown, "the removed object (inode " + std::to_string(in.moved.ino) +
                               ") is at neither " + in.path + " nor its staging name; found " +
                               DescribeFound(fi) + " at " + in.path};
}

// ---- mkdir ----

ProbeResult ProbeMkdir(Fs* fs, const Intent& in) {
  FileInfo fi;
  Status s = fs->Stat(in.path, &fi);
  if (!s.ok()) return {State::kUnknown, s.ToString()};
  if (!fi.exists() || SameObject(fi, in.moved)) return {State::kNotApplied, ""};
  if (fi.type == FileType::kDirectory) return {State::kApplied, ""};
  return {State::kUnknown, "found " + DescribeFound(fi) + " at " + in.path + ", expected a directory"};
}

// ---- write_range ----
//
// No staging object: the before-image of the range is in the intent. The
// file must be the very object fingerprinted at prepare time; then the
// range holds the new bytes (applied), the old bytes (not applied), or a
// mix of the two — a write torn by a crash, which only fstx can have made
// while it holds the path: partial, and undo or redo writes the range
// whole again.

ProbeResult ProbeWriteRange(Fs* fs, const Intent& in) {
  FileInfo fi;
  Status s = fs->Stat(in.path, &fi);
  if (!s.ok()) return {State::kUnknown, s.ToString()};
  if (!SameObject(fi, in.before))
    return {State::kUnknown, "found " + DescribeFound(fi) + " at " + in.path + ", expected the file written (inode " +
                                 std::to_string(in.before.ino) + ")"};
  std::string now;
  s = fs->ReadAt(in.path, in.offset, in.data.size(), &now);
  if (!s.ok()) return {State::kUnknown, s.ToString()};
  if (now == in.data) return {State::kApplied, ""};
  if (now == in.old_data) return {State::kNotApplied, ""};
  if (now.size() == in.data.size()) return {State::kPartial, ""};
  return {State::kUnknown, in.path + " is shorter than the range " + std::to_string(in.offset) + "+" +
                               std::to_string(in.data.size()) + " it held"};
}

// Removes what an interrupted Apply may have left behind, in the
// not-applied state: the new staging object and an extra link to the
// replaced object.
Status CleanStale(Fs* fs, uint64_t txid, uint32_t index, const Intent& in) {
  switch (in.kind) {
    case OpKind::kRename:
      if (in.before.present() && !IsDir(in.before))
        return RemoveIfOurs(fs, Staging(in, txid, index, StagingKind::kOld), &in.before);
      return Status();
    case OpKind::kWriteFile:
    case OpKind::kSymlink: {
      // Staged content is not stale: redo puts it in place (DropContent).
      Status s = in.content.empty() ? RemoveIfOurs(fs, Staging(in, txid, index, StagingKind::kNew), nullptr)
                                    : Status();
      if (!s.ok() || !in.before.present()) return s;
      return RemoveIfOurs(fs, Staging(in, txid, index, StagingKind::kOld), &in.before);
    }
    case OpKind::kMkdir:
      return RemoveIfOurs(fs, Staging(in, txid, index, StagingKind::kNew), nullptr);
    case OpKind::kRemove:
    case OpKind::kWriteRange:
      return Status();
  }
  return Status();
}

}  // namespace

// When the op will not be applied, or after the commit point (then it is
// gone already: it was renamed into place).
Status DropContent(Fs* fs, const Intent& in) {
  return in.content.empty() ? Status() : RemoveIfOurs(fs, in.content, &in.moved);
}

const char* state_name(State s) {
  switch (s) {
    case State::kNotApplied: return "not-applied";
    case State::kPartial: return "partial";
    case State::kApplied: return "applied";
    case State::kUnknown: return "unknown";
  }
  return "?";
}

Fingerprint FingerprintOf(const FileInfo& fi) {
  Fingerprint fp;
  fp.type = static_cast<uint8_t>(fi.type);
  if (!fi.exists()) return fp;
  fp.dev = fi.dev;
  fp.ino = fi.ino;
  fp.mode = fi.mode;
  fp.uid = fi.uid;
  fp.gid = fi.gid;
  fp.size = fi.size;
  fp.btime_ns = fi.btime_ns;
  return fp;
}

bool SameObject(const FileInfo& fi, const Fingerprint& fp) {
  // A reused inode number has a new birth time (where the fs reports one).
  return fp.present() && fi.exists() && fi.dev == fp.dev && fi.ino == fp.ino &&
         (fp.btime_ns == 0 || fi.btime_ns == 0 || fp.btime_ns == fi.btime_ns);
}

Status Apply(Fs* fs, uint64_t txid, uint32_t index, const Intent& in) {
  switch (in.kind) {
    case OpKind::kRename:
      return ApplyRename(fs, in, Staging(in, txid, index, StagingKind::kOld));
    case OpKind::kWriteFile:
    case OpKind::kSymlink:
      return ApplyPut(fs, in, Staging(in, txid, index, StagingKind::kNew),
                      Staging(in, txid, index, StagingKind::kOld));
    case OpKind::kRemove:
      return fs->Rename(in.path, Staging(in, txid, index, StagingKind::kDel), RenameMode::kNoReplace);
    case OpKind::kMkdir: {
      std::string fresh = Staging(in, txid, index, StagingKind::kNew);
      Status s = fs->Mkdir(fresh, in.mode);
      if (!s.ok()) return s;
      return fs->Rename(fresh, in.path, RenameMode::kNoReplace);
    }
    case OpKind::kWriteRange:
      return fs->WriteAt(in.path, in.offset, in.data);
  }
  return Status(Code::kInvalidArgument, "unknown op kind");
}

ProbeResult Probe(Fs* fs, uint64_t txid, uint32_t index, const Intent& in) {
  switch (in.kind) {
    case OpKind::kRename:
      return ProbeRename(fs, in, Staging(in, txid, index, StagingKind::kOld));
    case OpKind::kWriteFile:
    case OpKind::kSymlink:
      return ProbePut(fs, in);
    case OpKind::kRemove:
      return ProbeRemove(fs, in, Staging(in, txid, index, StagingKind::kDel));
    case OpKind::kMkdir:
      return ProbeMkdir(fs, in);
    case OpKind::kWriteRange:
      return ProbeWriteRange(fs, in);
  }
  return {State::kUnknown, "unknown op kind"};
}

Status Undo(Fs* fs, uint64_t txid, uint32_t index, const Intent& in) {
  return Undo(fs, txid, index, in, Probe(fs, txid, index, in));
}

Status Undo(Fs* fs, uint64_t txid, uint32_t index, const Intent& in, const ProbeResult& p) {
  const std::string old = Staging(in, txid, index, StagingKind::kOld);
  Status s;
  switch (p.state) {
    case State::kUnknown:
      return NeedsAttention(in, p.why);
    case State::kNotApplied:
      break;
    case State::kApplied:
      switch (in.kind) {
        case OpKind::kRename:
          if (planted::Is(planted::Bug::kSkipUndoRename)) return Status();
          s = fs->Rename(in.path, in.src, RenameMode::kNoReplace);
          if (s.ok() && in.before.present()) s = fs->Rename(old, in.path, RenameMode::kNoReplace);
          break;
        case OpKind::kWriteFile:
        case OpKind::kSymlink:
          s = in.before.present() ? fs->Rename(old, in.path, RenameMode::kReplace) : fs->Unlink(in.path);
          break;
        case OpKind::kRemove:
          s = fs->Rename(Staging(in, txid, index, StagingKind::kDel), in.path, RenameMode::kNoReplace);
          break;
        case OpKind::kMkdir:
          s = fs->Rmdir(in.path);
          if (s.code() == Code::kExists)
            return NeedsAttention(in, "directory " + in.path + " is not empty: something else wrote into it");
          break;
        case OpKind::kWriteRange:
          s = fs->WriteAt(in.path, in.offset, in.old_data);
          break;
      }
      break;
    case State::kPartial:
      if (in.kind == OpKind::kWriteRange) {  // a torn write: put the old bytes back whole
        s = fs->WriteAt(in.path, in.offset, in.old_data);
        break;
      }
      // rename: source back in place, target still at old
      s = fs->Rename(old, in.path, RenameMode::kNoReplace);
      break;
  }
  if (!s.ok()) return s.Annotate("undo " + Describe(in));
  return DiscardStaging(fs, txid, index, in);
}

Status Redo(Fs* fs, uint64_t txid, uint32_t index, const Intent& in) {
  ProbeResult p = Probe(fs, txid, index, in);
  Status s;
  switch (p.state) {
    case State::kUnknown:
      return NeedsAttention(in, p.why);
    case State::kApplied:
      return Status();
    case State::kPartial:
      s = in.kind == OpKind::kWriteRange ? fs->WriteAt(in.path, in.offset, in.data)
                                         : fs->Rename(in.src, in.path, RenameMode::kNoReplace);
      break;
    case State::kNotApplied:
      s = CleanStale(fs, txid, index, in);
      if (s.ok()) s = Apply(fs, txid, index, in);
      break;
  }
  return s.ok() ? s : s.Annotate("redo " + Describe(in));
}

Status DiscardStaging(Fs* fs, uint64_t txid, uint32_t index, const Intent& in) {
  Status s = CleanStale(fs, txid, index, in);
  return s.ok() ? DropContent(fs, in) : s;
}

bool Overlap(const Intent& a, const Intent& b) {
  for (const auto& p : Paths(a))
    for (const auto& q : Paths(b))
      if (paths::IsSameOrAncestor(p, q) || paths::IsAncestor(q, p)) return true;
  return false;
}

Status Cleanup(Fs* fs, uint64_t txid, uint32_t index, const Intent& in) {
  Status s = DiscardStaging(fs, txid, index, in);  // staged content is gone already: renamed into place
  if (!s.ok()) return s;
  switch (in.kind) {
    case OpKind::kRename:
      if (in.before.present() && IsDir(in.before))
        return RemoveIfOurs(fs, Staging(in, txid, index, StagingKind::kOld), &in.before);
      return Status();  // a non-directory's old link went with CleanStale
    case OpKind::kRemove:
      return RemoveIfOurs(fs, Staging(in, txid, index, StagingKind::kDel), &in.moved);
    default:
      return Status();
  }
}

Status UndoReverse(Fs* fs, uint64_t txid, const std::vector<Intent>& intents, size_t count,
                   BarrierTracker* barriers) {
  for (size_t j = count; j-- > 0;) {
    Status s = barriers->Before(intents[j]);
    if (!s.ok()) return s;
    s = Undo(fs, txid, static_cast<uint32_t>(j), intents[j]);
    barriers->After(intents[j]);
    if (!s.ok()) return s;
  }
  return Status();
}

std::set<std::string> Paths(const Intent& in) {
  std::set<std::string> p{in.path};
  if (in.kind == OpKind::kRename) p.insert(in.src);
  return p;
}

std::set<std::string> Dirs(const Intent& in) {
  std::set<std::string> d;
  if (in.kind == OpKind::kWriteRange) return d;  // data only, synced by WriteAt itself
  for (const auto& p : Paths(in)) d.insert(paths::Parent(p));
  if (UsesStaging(in)) d.insert(StageDir(in));
  return d;
}

bool UsesStaging(const Intent& in) {
  switch (in.kind) {
    case OpKind::kRename: return in.before.present();
    case OpKind::kWriteFile:
    case OpKind::kSymlink:
    case OpKind::kRemove:
    case OpKind::kMkdir: return true;
    case OpKind::kWriteRange: return false;
  }
  return false;
}

std::string StageDir(const Intent& in) { return in.stage.empty() ? paths::Parent(in.path) : in.stage; }

std::string Describe(const Intent& in) {
  std::string s = op_kind_name(in.kind);
  if (in.kind == OpKind::kRename) return s + " " + in.src + " -> " + in.path;
  return s + " " + in.path;
}

}  // namespace fstx::ops
