#include "fault-injection/tree_image.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <vector>

#include "journal/names.h"

namespace fstx::explore {
namespace {

FileType TypeOf(mode_t m) {
  if (S_ISREG(m)) return FileType::kRegular;
  if (S_ISDIR(m)) return FileType::kDirectory;
  if (S_ISLNK(m)) return FileType::kSymlink;
  if (S_ISSOCK(m)) return FileType::kSocket;
  if (S_ISFIFO(m)) return FileType::kFifo;
  return FileType::kOther;
}

Status ReadAll(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open", path);
  out->clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno(e, "read", path);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status();
}

Status WriteAll(const std::string& path, const std::string& data, uint32_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create", path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno(e, "write", path);
    }
    off += static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);
  ::close(fd);
  return Status();
}

Status MakeSocket(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    return Status(Code::kInvalidArgument, "socket path too long to re-create: " + path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno(errno, "socket", path);
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int e = errno;
  ::close(fd);
  return rc == 0 ? Status() : Status::FromErrno(e, "bind", path);
}

Status ListNames(const std::string& dir, std::vector<std::string>* names) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::FromErrno(errno, "opendir", dir);
  names->clear();
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names->push_back(n);
  }
  ::closedir(d);
  return Status();
}

// Depth-first walk calling fn(relative path, statx) for each entry, a
// directory before its contents. Empty staging directories are skipped
// unless `all`.
template <class Fn>
Status Walk(const std::string& root, const std::string& rel, Fn fn, bool all = false) {
  std::vector<std::string> names;
  Status ls = ListNames(root + rel, &names);
  if (!ls.ok()) return ls;
  for (const auto& n : names) {
    std::string r = rel + "/" + n;
    struct statx sx;
    if (::statx(AT_FDCWD, (root + r).c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
      return Status::FromErrno(errno, "stat", root + r);
    if (!all && S_ISDIR(sx.stx_mode) && IsStagingDirName(n)) {
      // fstx's own staging directory: not part of what a user sees while
      // it is empty; anything left in it shows up as a difference.
      std::vector<std::string> inside;
      Status ls2 = ListNames(root + r, &inside);
      if (!ls2.ok()) return ls2;
      if (inside.empty()) continue;
    }
    Status s = fn(r, sx);
    if (!s.ok()) return s;
    if (S_ISDIR(sx.stx_mode)) {
      s = Walk(root, r, fn, all);
      if (!s.ok()) return s;
    }
  }
  return Status();
}

// Removes everything in the directory open as `dirfd` (closed here); `dir`
// names it for errors. Entries are removed by name relative to the
// directory: no lstat, no path walks.
Status RemoveContentsAt(int dirfd, const std::string& dir) {
  DIR* d = ::fdopendir(dirfd);
  if (!d) {
    ::close(dirfd);
    return Status::FromErrno(errno, "opendir", dir);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  Status s;
  for (const auto& n : names) {
    if (::unlinkat(dirfd, n.c_str(), 0) == 0) continue;
    if (errno != EISDIR) {
      s = Status::FromErrno(errno, "unlink", dir + "/" + n);
      break;
    }
    ::fchmodat(dirfd, n.c_str(), 0700, 0);
    int sub = ::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    s = sub < 0 ? Status::FromErrno(errno, "open", dir + "/" + n) : RemoveContentsAt(sub, dir + "/" + n);
    if (s.ok() && ::unlinkat(dirfd, n.c_str(), AT_REMOVEDIR) != 0) s = Status::FromErrno(errno, "rmdir", dir + "/" + n);
    if (!s.ok()) break;
  }
  ::closedir(d);
  return s;
}

Status RemoveContents(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open", dir);
  return RemoveContentsAt(fd, dir);
}

Ident IdentOf(const struct statx& sx) {
  Ident id;
  id.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  id.ino = sx.stx_ino;
  if (sx.stx_mask & STATX_BTIME)
    id.btime_ns = static_cast<uint64_t>(sx.stx_btime.tv_sec) * 1000000000ull + sx.stx_btime.tv_nsec;
  return id;
}

}  // namespace

Status IdentityOf(const std::string& path, Ident* out) {
  struct statx sx;
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
    return Status::FromErrno(errno, "stat", path);
  *out = IdentOf(sx);
  return Status();
}

namespace {

// What a user observes at `path`, which statx described.
Status ReadNode(const std::string& path, const struct statx& sx, Node* n) {
  n->type = TypeOf(sx.stx_mode);
  n->mode = sx.stx_mode & 07777;
  if (n->type == FileType::kRegular) return ReadAll(path, &n->data);
  if (n->type == FileType::kSymlink) {
    n->data.resize(sx.stx_size + 1);
    ssize_t len = ::readlink(path.c_str(), n->data.data(), n->data.size());
    if (len < 0) return Status::FromErrno(errno, "readlink", path);
    n->data.resize(static_cast<size_t>(len));
  }
  return Status();
}

// Creates `n` at `path` (a directory as 0700: its mode is set once it is filled).
Status MakeNode(const std::string& path, const Node& n) {
  const char* p = path.c_str();
  switch (n.type) {
    case FileType::kDirectory:
      if (::mkdir(p, 0700) != 0) return Status::FromErrno(errno, "mkdir", path);
      return Status();
    case FileType::kRegular: return WriteAll(path, n.data, n.mode);
    case FileType::kSymlink:
      if (::symlink(n.data.c_str(), p) != 0) return Status::FromErrno(errno, "symlink", path);
      return Status();
    case FileType::kSocket: {
      Status s = MakeSocket(path);
      if (s.ok()) ::chmod(p, n.mode);
      return s;
    }
    case FileType::kFifo:
      if (::mkfifo(p, n.mode) != 0) return Status::FromErrno(errno, "mkfifo", path);
      ::chmod(p, n.mode);
      return Status();
    default: return Status(Code::kNotSupported, "cannot re-create " + path + " (device node)");
  }
}

}  // namespace

Status Capture(const std::string& root, Image* out) {
  out->clear();
  return Walk(root, "", [&](const std::string& rel, const struct statx& sx) {
    Node n;
    Status s = ReadNode(root + rel, sx, &n);
    if (s.ok()) (*out)[rel] = std::move(n);
    return s;
  });
}

Status Restore(const Image& img, const std::string& root) {
  Status s = RemoveContents(root);
  if (!s.ok()) return s;
  for (const auto& [rel, n] : img) {  // sorted: a directory precedes its entries
    s = MakeNode(root + rel, n);
    if (!s.ok()) return s;
  }
  // Directory modes last, deepest first, so read-only dirs can be filled.
  for (auto it = img.rbegin(); it != img.rend(); ++it)
    if (it->second.type == FileType::kDirectory) ::chmod((root + it->first).c_str(), it->second.mode);
  return Status();
}

Status Save(const std::string& root, SavedTree* out) {
  out->clear();
  Status s = Walk(
      root, "",
      [&](const std::string& rel, const struct statx& sx) {
        SavedObject o;
        o.rel = rel;
        o.id = IdentOf(sx);
        Status s = ReadNode(root + rel, sx, &o.node);
        if (s.ok()) out->push_back(std::move(o));
        return s;
      },
      true);
  // By path, as an Image is: the order does not depend on the directories'.
  std::sort(out->begin(), out->end(), [](const SavedObject& a, const SavedObject& b) { return a.rel < b.rel; });
  return s;
}

Status Rebuild(const SavedTree& saved, const std::string& root, IdMap* moved) {
  Status s = RemoveContents(root);
  if (!s.ok()) return s;
  moved->clear();
  std::map<std::pair<uint64_t, uint64_t>, std::string> first;  // saved identity -> its first path
  for (const auto& o : saved) {
    const std::string p = root + o.rel;
    const std::pair<uint64_t, uint64_t> key{o.id.dev, o.id.ino};
    auto seen = first.find(key);
    if (seen != first.end()) {  // a hard link to an object already rebuilt
      if (::link((root + seen->second).c_str(), p.c_str()) != 0) return Status::FromErrno(errno, "link", p);
      continue;
    }
    s = MakeNode(p, o.node);
    Ident id;
    if (s.ok()) s = IdentityOf(p, &id);
    if (!s.ok()) return s;
    first.emplace(key, o.rel);
    (*moved)[key] = id;
  }
  for (auto it = saved.rbegin(); it != saved.rend(); ++it)  // contents before their directory
    if (it->node.type == FileType::kDirectory) ::chmod((root + it->rel).c_str(), it->node.mode);
  return Status();
}

std::string DescribeNode(const Node& n) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", n.mode);
  std::string s = std::string(file_type_name(n.type)) + " " + mode;
  if (n.type == FileType::kSymlink) s += " -> " + n.data;
  if (n.type == FileType::kRegular) {
    std::string preview = n.data.substr(0, 32);
    for (char& c : preview)
      if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = '.';
    s += " " + std::to_string(n.data.size()) + " bytes \"" + preview + (n.data.size() > 32 ? "...\"" : "\"");
  }
  return s;
}

std::string Diff(const Image& expected, const Image& got, size_t max_lines) {
  std::string out;
  size_t lines = 0;
  auto add = [&](const std::string& l) {
    if (lines++ < max_lines) out += l + "\n";
  };
  for (const auto& [p, n] : expected) {
    auto it = got.find(p);
    if (it == got.end()) add("- " + p + " (expected " + DescribeNode(n) + ")");
    else if (it->second != n) add("~ " + p + ": expected " + DescribeNode(n) + ", found " + DescribeNode(it->second));
  }
  for (const auto& [p, n] : got)
    if (!expected.count(p)) add("+ " + p + " (" + DescribeNode(n) + ")");
  if (lines > max_lines) out += "... " + std::to_string(lines - max_lines) + " more\n";
  return out;
}

size_t Distance(const Image& a, const Image& b) {
  size_t d = 0;
  for (const auto& [p, n] : a) {
    auto it = b.find(p);
    if (it == b.end() || it->second != n) ++d;
  }
  for (const auto& [p, n] : b)
    if (!a.count(p)) ++d;
  return d;
}

uint64_t Fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

namespace {
std::string LeafOf(const std::string& path) { return path.substr(path.rfind('/') + 1); }
}  // namespace

void ContentRanks::Add(const std::string& path) {
  ContentName n;
  if (ParseContentLeaf(LeafOf(path), &n)) order_.emplace(std::make_tuple(n.pid, n.start_time, n.seq), LeafOf(path));
}

std::string ContentRanks::Canon(const std::string& path) {
  if (ranks_.empty())
    for (const auto& [k, leaf] : order_) ranks_.emplace(leaf, ".fstx-content-#" + std::to_string(ranks_.size()));
  auto it = ranks_.find(LeafOf(path));
  return it == ranks_.end() ? path : path.substr(0, path.size() - it->first.size()) + it->second;
}

uint64_t Hash(const Image& img) {
  ContentRanks content;
  for (const auto& e : img) content.Add(e.first);
  if (!content.empty()) {  // hash it under canonical names, in their order
    Image canon;
    for (const auto& [p, n] : img) canon.emplace(content.Canon(p), n);
    return Hash(canon);
  }
  uint64_t h = 1469598103934665603ull;
  for (const auto& [p, n] : img) {
    h = Fnv1a(p, h);
    h = Fnv1a(std::string(1, static_cast<char>(n.type)) + std::to_string(n.mode), h);
    // Contents can be large: the library's hash, folded in.
    h = (h ^ std::hash<std::string>()(n.data)) * 1099511628211ull;
  }
  return h;
}

Status Identities(const std::string& root, std::map<std::string, Ident>* out) {
  out->clear();
  return Walk(root, "", [&](const std::string& rel, const struct statx& sx) {
    (*out)[rel] = IdentOf(sx);
    return Status();
  });
}

}  // namespace fstx::explore
