#include "src/virt/rename.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "src/virt/host_files.h"
#include "src/virt/qcow2.h"
#include "src/virt/xml_edit.h"

namespace fstx::virt {
namespace {

constexpr size_t kMaxNameBytes = 200;  // NAME_VARS.fd must fit NAME_MAX with room to spare
constexpr uint64_t kMaxXmlBytes = 16u << 20;

std::string Dir(const std::string& p) {
  auto s = p.rfind('/');
  return s == 0 ? "/" : p.substr(0, s);
}
std::string Base(const std::string& p) { return p.substr(p.rfind('/') + 1); }

// lstat type: 0 absent, else S_IFMT bits.
mode_t TypeAt(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & S_IFMT;
}

Status ReadWhole(const std::string& path, uint64_t limit, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::FromErrno(errno, "read", path);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(Code::kInvalidArgument, path + " is not a regular file");
  }
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "read", path);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > limit) {
      ::close(fd);
      return Status(Code::kInvalidArgument, path + " is larger than " + std::to_string(limit) + " bytes");
    }
  }
  ::close(fd);
  *out = std::move(data);
  return Status();
}

Status Inconsistent(const std::string& old_name, const std::string& why) {
  return Status(Code::kInvalidArgument, "domain " + old_name + " is already inconsistent: " + why +
                                            " (see `fstx virt check " + old_name + "`; fix it before renaming)");
}

Status CheckName(const std::string& name) {
  if (name.empty()) return Status(Code::kInvalidArgument, "the new name is empty");
  if (name.size() > kMaxNameBytes)
    return Status(Code::kInvalidArgument, "the new name is " + std::to_string(name.size()) + " bytes; at most " +
                                              std::to_string(kMaxNameBytes) + " fit libvirt's file names");
  if (name[0] == '.') return Status(Code::kInvalidArgument, "the new name '" + name + "' starts with '.'");
  for (unsigned char c : name)
    if (c == '/' || c < 0x20 || c == 0x7f)
      return Status(Code::kInvalidArgument, "the new name may not contain '/' or control characters");
  return Status();
}

}  // namespace

std::string RenameWord(const std::string& file_name, const std::string& old_name, const std::string& new_name) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  std::string out;
  size_t i = 0;
  while (i < file_name.size()) {
    if (file_name.compare(i, old_name.size(), old_name) == 0 && (i == 0 || !word(file_name[i - 1])) &&
        (i + old_name.size() == file_name.size() || !word(file_name[i + old_name.size()]))) {
      out += new_name;
      i += old_name.size();
    } else {
      out += file_name[i++];
    }
  }
  return out;
}

Status CheckOffline(const Layout& layout, const std::string& name) {
  std::string pid;
  for (const auto& pf : layout.daemon_pidfiles)
    if (!(pid = LivePid(layout.OnDisk(pf), kDaemonPrograms)).empty())
      return Status(Code::kInvalidArgument,
                    "libvirt's daemon is running (pid " + pid + ", " + layout.OnDisk(pf) +
                        "): it keeps domain definitions in memory and would overwrite the renamed files; "
                        "stop it first (systemctl stop libvirtd virtqemud), then rename, then start it");
  const std::string pidfile = layout.OnDisk(layout.RunPid(name));
  if (!(pid = LivePid(pidfile, kDomainPrograms)).empty())
    return Status(Code::kInvalidArgument, "domain " + name + " is running (pid " + pid + ", " + pidfile +
                                              "): shut it down first (virsh shutdown " + name + ")");
  const std::string status = layout.OnDisk(layout.RunStatus(name));
  if (TypeAt(status) != 0)
    return Status(Code::kInvalidArgument, "domain " + name + " is running (" + status +
                                              " exists): shut it down first (virsh shutdown " + name + ")");
  return Status();
}

class Planner {
 public:
  Planner(const Layout& l, const RenameRequest& r) : l_(l), r_(r) {}

  Result<RenamePlan> Run() {
    Status s = CheckName(r_.new_name);
    if (s.ok() && r_.new_name == r_.old_name) s = Status(Code::kInvalidArgument, "the new name is the old name");
    if (s.ok()) s = CheckOffline(l_, r_.old_name);
    if (s.ok()) s = ReadDomain();
    if (s.ok()) s = CheckNewNameFree();
    if (s.ok()) s = ReadMoments("snapshot", l_.SnapshotDir(r_.old_name), MomentKind::kSnapshot, &snapshots_);
    if (s.ok()) s = ReadMoments("checkpoint", l_.CheckpointDir(r_.old_name), MomentKind::kCheckpoint, &checkpoints_);
    if (s.ok()) s = PlanFiles();
    if (s.ok() && r_.rename_images) s = PlanImages();
    if (s.ok()) s = Emit();
    if (!s.ok()) return s;
    return std::move(plan_);
  }

 private:
  struct Moment {
    std::string file;  // leaf
    std::string xml;
    MomentKind kind;
  };

  Status ReadDomain() {
    const std::string cfg = l_.OnDisk(l_.Config(r_.old_name));
    if (TypeAt(cfg) == 0) return Status(Code::kNotFound, "no domain " + r_.old_name + ": " + cfg + " does not exist");
    Status s = ReadWhole(cfg, kMaxXmlBytes, &config_);
    if (!s.ok()) return s;
    Result<DomainXmlInfo> info = InspectDomainXml(config_);
    if (!info.ok()) return info.status().Annotate(cfg);
    info_ = *info;
    if (info_.name != r_.old_name)
      return Inconsistent(r_.old_name, cfg + " defines a domain named '" + info_.name + "'");
    plan_.uuid = info_.uuid;
    const std::string link = l_.OnDisk(l_.Autostart(r_.old_name));
    if (TypeAt(link) != 0) {
      if (TypeAt(link) != S_IFLNK) return Inconsistent(r_.old_name, link + " is not a symlink");
      if (!ReadLinkText(link, &autostart_target_)) return Status::FromErrno(errno, "readlink", link);
      if (Base(autostart_target_) != r_.old_name + ".xml")
        return Inconsistent(r_.old_name, link + " points to " + autostart_target_ + ", not to " + r_.old_name + ".xml");
      has_autostart_ = true;
    }
    // A managed save image embeds the domain's XML, name included, and
    // libvirt refuses to restore it into a domain of another name (and
    // refuses to rename such a domain itself): renaming the file would
    // strand the saved state. Refused, with the way out.
    const std::string save = l_.OnDisk(l_.ManagedSave(r_.old_name));
    if (TypeAt(save) != 0)
      return Status(Code::kInvalidArgument,
                    "domain " + r_.old_name + " has a managed save image, " + save +
                        ", whose embedded XML names it: start the domain and shut it down, or drop the saved "
                        "state (virsh managedsave-remove " + r_.old_name + "), then rename");
    return Status();
  }

  Status CheckNewNameFree() {
    for (const std::string& p : {l_.Config(r_.new_name), l_.Autostart(r_.new_name), l_.SnapshotDir(r_.new_name),
                                 l_.CheckpointDir(r_.new_name), l_.Nvram(r_.new_name), l_.ManagedSave(r_.new_name),
                                 l_.RunStatus(r_.new_name)}) {
      if (TypeAt(l_.OnDisk(p)) != 0)
        return Status(Code::kExists, "the name " + r_.new_name + " is taken: " + l_.OnDisk(p) +
                                         " exists (choose another name, or remove what is left of domain " +
                                         r_.new_name + ")",
                      EEXIST);
    }
    return Status();
  }

  Status ReadMoments(const char* what, const std::string& host_dir, MomentKind want, std::vector<Moment>* out) {
    const std::string dir = l_.OnDisk(host_dir);
    mode_t t = TypeAt(dir);
    if (t == 0) return Status();
    if (t != S_IFDIR) return Inconsistent(r_.old_name, dir + " is not a directory");
    std::vector<std::string> names;
    Status s = ListSorted(dir, &names);
    if (!s.ok()) return s;
    for (const auto& n : names) {
      Moment m;
      m.file = n;
      s = ReadWhole(dir + "/" + n, kMaxXmlBytes, &m.xml);
      if (!s.ok()) return Inconsistent(r_.old_name, "unexpected entry in the " + std::string(what) + " directory: " +
                                                        s.message());
      Result<MomentKind> k = DetectKind(m.xml);
      if (!k.ok() || *k != want)
        return Inconsistent(r_.old_name, dir + "/" + n + " is not " + (want == MomentKind::kSnapshot ? "snapshot" : "checkpoint") +
                                             " metadata (libvirt would fail to load it)");
      m.kind = want;
      out->push_back(std::move(m));
    }
    return Status();
  }

  Status PlanFiles() {
    if (!info_.nvram.empty() && info_.nvram == l_.Nvram(r_.old_name)) {
      file_map_[info_.nvram] = l_.Nvram(r_.new_name);
      nvram_exists_ = TypeAt(l_.OnDisk(info_.nvram)) == S_IFREG;
      if (!nvram_exists_) plan_.notes.push_back("the NVRAM file " + l_.OnDisk(info_.nvram) +
                                               " does not exist yet (the domain never started): only its path is renamed");
    } else if (!info_.nvram.empty()) {
      plan_.notes.push_back("NVRAM " + info_.nvram + " does not follow the NAME_VARS.fd convention: left as it is");
    }
    return Status();
  }

  // The qcow2 backing file an image names, as a host path, or "".
  Result<std::string> BackingOf(const std::string& host_image, std::string* stored) {
    stored->clear();
    std::string head;
    int fd = ::open(l_.OnDisk(host_image).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return std::string();  // not there (yet): nothing to follow
    head.resize(1 << 16);
    ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    ::close(fd);
    if (n < 4) return std::string();
    head.resize(static_cast<size_t>(n));
    if (head.compare(0, 4, "QFI\xfb") != 0) return std::string();
    Result<qcow2::Header> h = qcow2::ParseHeader(head);
    if (!h.ok()) return h.status().Annotate(l_.OnDisk(host_image));
    heads_[host_image] = head;
    if (!h->has_backing_file) return std::string();
    *stored = h->backing_file;
    if (stored->empty() || (*stored)[0] == '/') return *stored;
    if (stored->find(':') != std::string::npos && stored->find('/') == std::string::npos)
      return std::string();  // a protocol (nbd:, ...), not a file
    return Dir(host_image) + "/" + *stored;
  }

  Status PlanImages() {
    std::vector<std::string> todo = info_.disk_files;
    todo.insert(todo.end(), info_.backing_files.begin(), info_.backing_files.end());
    for (const auto& m : snapshots_) {
      Result<MomentXmlInfo> mi = InspectMomentXml(m.xml);
      if (!mi.ok()) return mi.status();
      todo.insert(todo.end(), mi->disk_files.begin(), mi->disk_files.end());
      for (const auto* d : {&mi->domain, &mi->inactive_domain})
        if (d->has_value()) {
          todo.insert(todo.end(), (*d)->disk_files.begin(), (*d)->disk_files.end());
          todo.insert(todo.end(), (*d)->backing_files.begin(), (*d)->backing_files.end());
        }
    }
    std::set<std::string> seen;
    std::map<std::string, std::string> stored_backing, resolved_backing;
    while (!todo.empty()) {
      std::string img = todo.back();
      todo.pop_back();
      if (img.empty() || img[0] != '/' || !seen.insert(img).second) continue;
      std::string stored;
      Result<std::string> b = BackingOf(img, &stored);
      if (!b.ok()) return b.status();
      if (!b->empty()) {
        stored_backing[img] = stored;
        resolved_backing[img] = *b;
        todo.push_back(*b);
      }
    }
    for (const auto& img : seen) {
      std::string nb = RenameWord(Base(img), r_.old_name, r_.new_name);
      if (nb == Base(img)) continue;
      if (TypeAt(l_.OnDisk(img)) != S_IFREG) {
        plan_.notes.push_back("image " + img + " is named by the domain but does not exist: only references are renamed");
      }
      const std::string to = Dir(img) + "/" + nb;
      if (TypeAt(l_.OnDisk(to)) != 0)
        return Status(Code::kExists, "image " + l_.OnDisk(to) + " exists: cannot rename " + img + " to it", EEXIST);
      file_map_[img] = to;
      plan_.images.emplace_back(img, to);
    }
    // Overlays whose backing file is renamed: rewrite the header's name in
    // the same form (absolute stays absolute, relative stays relative).
    for (const auto& [img, target] : resolved_backing) {
      auto it = file_map_.find(target);
      if (it == file_map_.end()) continue;
      const std::string& stored = stored_backing[img];
      std::string now = stored[0] == '/' ? it->second : RenameWord(stored, r_.old_name, r_.new_name);
      if (stored[0] != '/' && Dir(img) + "/" + now != it->second)
        now = it->second;  // a relative name whose directory part carries the name: write it absolute
      Result<std::vector<qcow2::RangeEdit>> edits = qcow2::SetBackingFile(heads_[img], now);
      if (!edits.ok()) return edits.status().Annotate("image " + l_.OnDisk(img));
      for (const auto& e : *edits) {
        PlannedOp op = Planned({OpKind::kWriteRange, l_.OnDisk(img), "", "qcow2 header at " +
                                    std::to_string(e.offset) + ": backing file " + stored + " -> " + now});
        op.op.data = e.new_bytes;
        op.op.offset = e.offset;
        header_ops_.push_back(std::move(op));
      }
    }
    return Status();
  }

  // An op as the plan lists it: `from` is a rename's source or a
  // symlink's target.
  struct Shown {
    OpKind kind;
    std::string path, from, detail;
  };
  static PlannedOp Planned(Shown shown) {
    PlannedOp p;
    p.op.kind = shown.kind;
    p.op.path = std::move(shown.path);
    (shown.kind == OpKind::kSymlink ? p.op.data : p.op.src) = std::move(shown.from);
    p.detail = std::move(shown.detail);
    return p;
  }

  // `data`: a write_file's content; `expect_content`: what the op's object
  // must still hold at commit.
  void Add(Shown shown, std::string data = "", const std::string* expect_content = nullptr) {
    PlannedOp p = Planned(std::move(shown));
    if (p.op.kind == OpKind::kWriteFile) p.op.data = std::move(data);
    if (expect_content) p.op.expect = Precondition::Content(*expect_content);
    plan_.ops.push_back(std::move(p));
  }

  Status Edited(const std::string& xml, MomentKind kind, const std::string& where, std::string* out) {
    RenameEdits e{r_.old_name, r_.new_name, file_map_};
    Result<std::string> x = RenameInXml(xml, kind, e);
    if (!x.ok()) {
      if (x.status().message().find("name") != std::string::npos && x.status().code() == Code::kInvalidArgument)
        return Inconsistent(r_.old_name, where + ": " + x.status().message());
      return x.status().Annotate(where);
    }
    *out = std::move(*x);
    return Status();
  }

  Status Emit() {
    for (auto& op : header_ops_) plan_.ops.push_back(std::move(op));
    const std::string old_cfg = l_.OnDisk(l_.Config(r_.old_name)), new_cfg = l_.OnDisk(l_.Config(r_.new_name));
    std::string xml;
    Status s = Edited(config_, MomentKind::kDomain, old_cfg, &xml);
    if (!s.ok()) return s;
    Add({OpKind::kRename, new_cfg, old_cfg, "the domain's config"}, "", &config_);
    Add({OpKind::kWriteFile, new_cfg, "", "<name> " + r_.old_name + " -> " + r_.new_name +
                                        (file_map_.empty() ? "" : ", and the paths of renamed files")},
        xml, &config_);
    if (has_autostart_) {
      // The same form of target libvirt wrote, with the file renamed.
      const size_t slash = autostart_target_.rfind('/');
      const std::string target =
          (slash == std::string::npos ? "" : autostart_target_.substr(0, slash + 1)) + r_.new_name + ".xml";
      Add({OpKind::kSymlink, l_.OnDisk(l_.Autostart(r_.new_name)), target, "autostart link"});
      plan_.ops.back().op.expect = Precondition::Absent();
      Add({OpKind::kRemove, l_.OnDisk(l_.Autostart(r_.old_name)), "", "the old autostart link"}, "", &autostart_target_);
    }
    s = MoveMoments(l_.SnapshotDir(r_.old_name), l_.SnapshotDir(r_.new_name), snapshots_, "snapshot");
    if (s.ok()) s = MoveMoments(l_.CheckpointDir(r_.old_name), l_.CheckpointDir(r_.new_name), checkpoints_, "checkpoint");
    if (!s.ok()) return s;
    if (nvram_exists_)
      Add({OpKind::kRename, l_.OnDisk(l_.Nvram(r_.new_name)), l_.OnDisk(l_.Nvram(r_.old_name)), "UEFI variables"});
    for (const auto& [from, to] : plan_.images)
      if (TypeAt(l_.OnDisk(from)) == S_IFREG) Add({OpKind::kRename, l_.OnDisk(to), l_.OnDisk(from), "disk image"});
    return Status();
  }

  Status MoveMoments(const std::string& from, const std::string& to, const std::vector<Moment>& ms, const char* what) {
    if (TypeAt(l_.OnDisk(from)) != S_IFDIR) return Status();
    Add({OpKind::kRename, l_.OnDisk(to), l_.OnDisk(from), std::string(what) + " directory"});
    for (const auto& m : ms) {
      std::string xml;
      Status s = Edited(m.xml, m.kind, l_.OnDisk(from) + "/" + m.file, &xml);
      if (!s.ok()) return s;
      if (xml == m.xml) continue;
      Add({OpKind::kWriteFile, l_.OnDisk(to) + "/" + m.file, "", std::string(what) + " metadata: embedded domain renamed"},
          xml, &m.xml);
    }
    return Status();
  }

  const Layout& l_;
  const RenameRequest& r_;
  RenamePlan plan_;
  std::string config_;
  DomainXmlInfo info_;
  std::string autostart_target_;
  bool has_autostart_ = false;
  bool nvram_exists_ = false;
  std::vector<Moment> snapshots_, checkpoints_;
  std::map<std::string, std::string> file_map_;  // host paths
  std::map<std::string, std::string> heads_;     // host image -> its first bytes
  std::vector<PlannedOp> header_ops_;
};

void RenamePlan::AddTo(Transaction* tx) const {
  for (const PlannedOp& p : ops) tx->Add(p.op);
}

Result<RenamePlan> PlanDomainRename(const Layout& layout, const RenameRequest& req) {
  return Planner(layout, req).Run();
}

}  // namespace fstx::virt
