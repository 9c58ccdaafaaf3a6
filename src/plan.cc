#include "src/plan.h"

#include <algorithm>
#include <climits>
#include <iterator>
#include <map>
#include <unordered_map>
#include <utility>

#include "fstx/fstx.h"
#include "journal/names.h"
#include "src/hash.h"
#include "src/ops.h"
#include "src/paths.h"
#include "src/stage.h"

namespace fstx {
namespace {

// What a path holds just before op k, according to the virtual namespace.
struct VNode {
  enum Origin { kReal, kCreated, kGone } origin = kReal;
  std::string real;        // kReal: where the object is on disk now
  size_t created_by = 0;   // kCreated: the op that creates it
  FileType created_type = FileType::kAbsent;
};

class Planner {
 public:
  Planner(Fs* fs, const std::vector<std::string>& roots, const std::vector<OpSpec>& ops)
      : fs_(fs), ops_(ops), stages_(fs, roots) {
    // Which ops name each path (as target or rename source): Lookup finds
    // the last earlier op that changes a path's meaning from the path's
    // prefixes, not by scanning every earlier op.
    for (size_t j = 0; j < ops_.size(); ++j) {
      if (ops_[j].kind == OpKind::kWriteRange) continue;  // bytes, not the namespace
      named_[ops_[j].path].push_back(j);
      if (ops_[j].kind == OpKind::kRename) named_[ops_[j].src].push_back(j);
    }
  }

  Status Run(std::vector<Intent>* out) {
    out->clear();
    for (size_t k = 0; k < ops_.size(); ++k) {
      Intent in;
      Status s = PlanOne(k, &in);
      if (s.ok()) s = Finish(k, &in);
      if (!s.ok()) return s.Annotate("op " + std::to_string(k + 1) + " (" + DescribeSpec(ops_[k]) + ")");
      out->push_back(std::move(in));
    }
    return Status();
  }

 private:
  // Where the object at `path` before op k is on disk now (it must be a
  // real object, or be created in a real directory by an earlier op).
  std::string RealDirOf(const std::string& dir, size_t k) const {
    std::string q = dir;
    VNode v = Lookup(q, k);
    while (v.origin == VNode::kCreated) {
      q = paths::Parent(q);
      v = Lookup(q, v.created_by);
    }
    return v.real;
  }

  // Staging directory, content hash, precondition.
  Status Finish(size_t k, Intent* in) {
    const OpSpec& op = ops_[k];
    if (ops::UsesStaging(*in)) {
      Result<std::string> st = stages_.ForDir(RealDirOf(paths::Parent(op.path), k));
      if (!st.ok()) return st.status();
      in->stage = *st;
    }
    if (op.kind == OpKind::kWriteFile || op.kind == OpKind::kWriteRange) {
      in->data_size = in->data.size();
      in->data_hash = hash::Raw(in->data);
    }
    return CheckExpect(k);
  }

  Status CheckExpect(size_t k) {
    const OpSpec& op = ops_[k];
    if (!op.expect_absent) return Status();
    const std::string& path = op.kind == OpKind::kRename ? op.src : op.path;
    FileInfo fi;
    Status s = Before(path, k, &fi);
    if (!s.ok()) return s;
    if (*op.expect_absent) {
      if (!fi.exists()) return Status();
      return Status(Code::kStale, path + " was expected to be absent, but a " + file_type_name(fi.type) +
                                      " is there: it changed since the plan was made");
    }
    Result<std::string> want = hash::FromText(op.expect_hash);
    if (!want.ok()) return want.status();
    if (!fi.exists())
      return Status(Code::kStale, path + " no longer exists: it changed since the plan was made", ENOENT);
    const std::string real = Lookup(path, k).real;
    std::string content;
    if (fi.type == FileType::kRegular) {
      s = fs_->ReadFile(real, kExpectReadLimit, &content);
    } else if (fi.type == FileType::kSymlink) {
      s = fs_->ReadLink(real, &content);
    } else {
      return Status(Code::kInvalidArgument, path + " is a " + file_type_name(fi.type) +
                                                "; only files and symlinks have a content hash to expect");
    }
    if (!s.ok()) return s;
    std::string got = hash::Raw(content);
    if (got == *want) return Status();
    return Status(Code::kStale, path + " changed since the plan was made (expected " + op.expect_hash +
                                    ", found " + hash::ToText(got) + ")");
  }

  static constexpr uint64_t kExpectReadLimit = 256ull << 20;

  // The last op before `limit` that names `q` or an ancestor of it (as
  // target or rename source); `limit` if none. O(depth * log n).
  size_t LastNaming(const std::string& q, size_t limit) const {
    size_t best = limit;
    for (std::string a = q;; a = paths::Parent(a)) {
      auto it = named_.find(a);
      if (it != named_.end()) {
        const std::vector<size_t>& js = it->second;
        auto lb = std::lower_bound(js.begin(), js.end(), limit);
        if (lb != js.begin() && (best == limit || *(lb - 1) > best)) best = *(lb - 1);
      }
      if (a == "/") break;
    }
    return best;
  }

  // What `path` names just before op k: the earlier ops are walked back
  // from the last one that names the path or an ancestor of it.
  VNode Lookup(const std::string& path, size_t k) const {
    std::string q = path;
    for (size_t j = LastNaming(q, k); j != k; k = j, j = LastNaming(q, k)) {
      const OpSpec& op = ops_[j];
      switch (op.kind) {
        case OpKind::kRename:
          if (paths::IsSameOrAncestor(op.path, q)) {
            q = paths::Rebase(q, op.path, op.src);
            continue;
          }
          if (paths::IsSameOrAncestor(op.src, q)) return {VNode::kGone, "", 0, FileType::kAbsent};
          break;
        case OpKind::kWriteFile:
        case OpKind::kSymlink:
        case OpKind::kMkdir:
          if (q == op.path) {
            FileType t = op.kind == OpKind::kMkdir     ? FileType::kDirectory
                         : op.kind == OpKind::kSymlink ? FileType::kSymlink
                                                       : FileType::kRegular;
            return {VNode::kCreated, "", j, t};
          }
          if (paths::IsAncestor(op.path, q)) return {VNode::kGone, "", 0, FileType::kAbsent};
          break;
        case OpKind::kRemove:
          if (paths::IsSameOrAncestor(op.path, q)) return {VNode::kGone, "", 0, FileType::kAbsent};
          break;
        case OpKind::kWriteRange:
          break;  // changes bytes, not the namespace
      }
    }
    return {VNode::kReal, q, 0, FileType::kAbsent};
  }

  Status StatReal(const std::string& path, FileInfo* fi) {
    auto it = cache_.find(path);
    if (it != cache_.end()) {
      *fi = it->second;
      return Status();
    }
    Status s = fs_->Stat(path, fi);
    if (s.ok()) cache_[path] = *fi;
    return s;
  }

  // The object at `path` before op k: *fi (absent if none). Fails for an
  // object created by an earlier op of this transaction.
  Status Before(const std::string& path, size_t k, FileInfo* fi) {
    VNode v = Lookup(path, k);
    *fi = FileInfo();
    if (v.origin == VNode::kGone) return Status();
    if (v.origin == VNode::kCreated)
      return Status(Code::kInvalidArgument, path + " is created by op " + std::to_string(v.created_by + 1) +
                                                " of this transaction; a transaction may not touch an "
                                                "object it creates (create it at its final path instead)");
    return StatReal(v.real, fi);
  }

  Status CheckParent(const std::string& path, size_t k) {
    std::string parent = paths::Parent(path);
    VNode v = Lookup(parent, k);
    if (v.origin == VNode::kCreated && v.created_type == FileType::kDirectory) return Status();
    FileInfo fi;
    if (v.origin == VNode::kReal) {
      Status s = StatReal(v.real, &fi);
      if (!s.ok()) return s;
    }
    if (fi.type != FileType::kDirectory)
      return Status(Code::kNotFound, "parent directory " + parent + " does not exist" +
                                         (v.origin == VNode::kGone ? " at that point of the transaction" : ""));
    return Status();
  }

  Status PlanOne(size_t k, Intent* in) {
    const OpSpec& op = ops_[k];
    in->kind = op.kind;
    in->path = op.path;
    in->src = op.src;
    in->replace = op.replace;
    in->data = op.data;
    Status s = CheckParent(op.path, k);
    if (!s.ok()) return s;
    FileInfo target;
    s = Before(op.path, k, &target);
    if (!s.ok()) return s;

    switch (op.kind) {
      case OpKind::kRename: {
        if (paths::IsSameOrAncestor(op.src, op.path) || paths::IsAncestor(op.path, op.src))
          return Status(Code::kInvalidArgument, "cannot move " + op.src + " into itself or onto its ancestor");
        FileInfo src;
        s = Before(op.src, k, &src);
        if (!s.ok()) return s;
        if (!src.exists()) return Status(Code::kNotFound, "source " + op.src + " does not exist", ENOENT);
        if (target.exists()) {
          if (!op.replace)
            return Status(Code::kExists, "target " + op.path + " exists (set replace to replace it)", EEXIST);
          if (target.dev == src.dev && target.ino == src.ino)
            return Status(Code::kInvalidArgument, op.src + " and " + op.path + " are the same file");
          // rename(2) fails with EISDIR / ENOTDIR here: refuse before journaling.
          if ((src.type == FileType::kDirectory) != (target.type == FileType::kDirectory))
            return Status(Code::kInvalidArgument, std::string("cannot replace the ") + file_type_name(target.type) +
                                                      " " + op.path + " with the " + file_type_name(src.type) + " " +
                                                      op.src + " (a directory only replaces a directory)");
        }
        in->moved = ops::FingerprintOf(src);
        in->before = ops::FingerprintOf(target);
        return Status();
      }
      case OpKind::kWriteFile:
        if (target.exists() && target.type != FileType::kRegular)
          return Status(Code::kInvalidArgument, op.path + " is a " + file_type_name(target.type) +
                                                    ", not a regular file");
        in->before = ops::FingerprintOf(target);
        in->mode = op.mode ? *op.mode : (target.exists() ? target.mode : 0644);
        return Status();
      case OpKind::kSymlink:
        if (target.exists() && !op.replace)
          return Status(Code::kExists, op.path + " exists (set replace to retarget it)", EEXIST);
        if (target.type == FileType::kDirectory)
          return Status(Code::kInvalidArgument, op.path + " is a directory; a symlink cannot replace it");
        if (op.data.empty()) return Status(Code::kInvalidArgument, "empty symlink target");
        // symlink(2) takes at most PATH_MAX bytes with the NUL: refuse here,
        // not with ENAMETOOLONG after journaling.
        if (op.data.size() >= PATH_MAX)
          return Status(Code::kInvalidArgument, "symlink target is " + std::to_string(op.data.size()) +
                                                    " bytes; at most " + std::to_string(PATH_MAX - 1) + " are allowed");
        in->before = ops::FingerprintOf(target);
        return Status();
      case OpKind::kRemove: {
        if (!target.exists()) return Status(Code::kNotFound, op.path + " does not exist", ENOENT);
        in->moved = ops::FingerprintOf(target);
        // Deleting a tree must never reach into another filesystem.
        std::string mount;
        s = FindMountBelow(fs_, Lookup(op.path, k).real, &mount);
        if (!s.ok()) return s;
        if (!mount.empty())
          return Status(Code::kInvalidArgument, op.path + " holds a mount point, " + mount +
                                                    ": unmount it first (fstx never removes another filesystem's files)");
        return Status();
      }
      case OpKind::kMkdir:
        if (target.exists()) return Status(Code::kExists, op.path + " exists", EEXIST);
        in->mode = op.mode ? *op.mode : 0755;
        // An object an earlier op moves away from this path: the probe
        // must not take it for the new directory.
        s = StatReal(op.path, &target);
        if (!s.ok()) return s;
        in->moved = ops::FingerprintOf(target);
        return Status();
      case OpKind::kWriteRange:
        return PlanWriteRange(k, target, in);
    }
    return Status(Code::kInvalidArgument, "unknown op");
  }

  Status PlanWriteRange(size_t k, const FileInfo& target, Intent* in) {
    const OpSpec& op = ops_[k];
    if (!target.exists()) return Status(Code::kNotFound, op.path + " does not exist", ENOENT);
    if (target.type != FileType::kRegular)
      return Status(Code::kInvalidArgument, op.path + " is a " + file_type_name(target.type) +
                                                ", not a regular file");
    if (op.data.empty()) return Status(Code::kInvalidArgument, "empty range: no bytes to write");
    if (op.offset > target.size || op.data.size() > target.size - op.offset)
      return Status(Code::kInvalidArgument, "range " + std::to_string(op.offset) + "+" +
                                                std::to_string(op.data.size()) + " lies beyond the end of " +
                                                op.path + " (" + std::to_string(target.size) +
                                                " bytes); write_range never grows a file");
    Status s = fs_->ReadAt(Lookup(op.path, k).real, op.offset, op.data.size(), &in->old_data);
    if (!s.ok()) return s;
    if (in->old_data.size() != op.data.size())
      return Status(Code::kInvalidArgument, op.path + " shrank while it was being read");
    // Two ranges of one transaction may not overlap: the probe of the later
    // one could not tell its before-image from the earlier one's not
    // having run. Ranges that do not overlap are told apart exactly.
    // The ranges of a file are disjoint and kept by offset: only the last
    // one starting before this one's end can overlap it.
    std::map<uint64_t, Range>& mine = ranges_[{target.dev, target.ino}];
    const uint64_t end = op.offset + op.data.size();
    if (auto it = mine.lower_bound(end); it != mine.begin()) {
      const Range& w = std::prev(it)->second;
      if (w.offset + w.size > op.offset)
        return Status(Code::kInvalidArgument, "range " + std::to_string(op.offset) + "+" + std::to_string(op.data.size()) +
                                                  " overlaps the range op " + std::to_string(w.op + 1) +
                                                  " writes in the same file; merge them into one write_range");
    }
    mine[op.offset] = Range{op.offset, op.data.size(), k};
    in->offset = op.offset;
    in->before = ops::FingerprintOf(target);
    return Status();
  }

  struct Range {
    uint64_t offset, size;
    size_t op;
  };

  Fs* fs_;
  const std::vector<OpSpec>& ops_;
  StageFinder stages_;
  std::map<std::string, FileInfo> cache_;
  std::map<std::pair<uint64_t, uint64_t>, std::map<uint64_t, Range>> ranges_;  // (dev, inode) -> by offset
  std::unordered_map<std::string, std::vector<size_t>> named_;  // path -> ops naming it, ascending
};

}  // namespace

std::string DescribeSpec(const OpSpec& op) {
  std::string s = op_kind_name(op.kind);
  if (op.kind == OpKind::kRename) return s + " " + op.src + " -> " + op.path;
  return s + " " + op.path;
}

Status CheckLexical(const std::vector<std::string>& roots, std::vector<OpSpec>* ops,
                    const std::vector<std::string>& protect) {
  if (ops->empty()) return Status(Code::kInvalidArgument, "transaction has no operations");
  if (ops->size() > kMaxOpsPerTransaction)
    return Status(Code::kInvalidArgument, "transaction has " + std::to_string(ops->size()) + " operations; at most " +
                                              std::to_string(kMaxOpsPerTransaction) +
                                              " are allowed in one transaction: split it");
  for (size_t k = 0; k < ops->size(); ++k) {
    OpSpec& op = (*ops)[k];
    auto fail = [&](const Status& s) {
      return s.Annotate("op " + std::to_string(k + 1) + " (" + DescribeSpec(op) + ")");
    };
    std::vector<std::string*> ps{&op.path};
    if (op.kind == OpKind::kRename) ps.push_back(&op.src);
    for (std::string* p : ps) {
      auto r = paths::CheckBeneathRoots(roots, *p);
      if (!r.ok()) return fail(r.status());
      *p = r.value();
      if (ParseStagingLeaf(paths::Leaf(*p), nullptr))
        return fail(Status(Code::kInvalidArgument, *p + " is an fstx staging name"));
      for (std::string q = *p; q != "/"; q = paths::Parent(q))
        if (IsStagingDirName(paths::Leaf(q)))
          return fail(Status(Code::kInvalidArgument, *p + " lies in an fstx staging directory (" + q + ")"));
      for (const std::string& j : protect)
        if (paths::IsSameOrAncestor(*p, j) || paths::IsAncestor(j, *p))
          return fail(Status(Code::kInvalidArgument, *p + " is the journal's directory " + j +
                                                         ", beneath it or an ancestor of it: a transaction may "
                                                         "not touch its own journal"));
      for (const std::string& r : roots)
        if (paths::IsSameOrAncestor(*p, r))
          return fail(Status(Code::kInvalidArgument, *p + " is the root " + r + " or an ancestor of it: "
                                                         "an op may not move, replace or remove a root"));
    }
    if (op.mode && (*op.mode & ~07777u))
      return fail(Status(Code::kInvalidArgument, "mode " + std::to_string(*op.mode) + " has bits beyond 07777"));
  }
  return Status();
}

Status Plan(Fs* fs, const std::vector<std::string>& roots, const std::vector<OpSpec>& ops,
            std::vector<Intent>* out) {
  return Planner(fs, roots, ops).Run(out);
}

}  // namespace fstx
