// testutil.h — small helpers shared by the test suites: a scratch directory
// that is removed afterwards, and direct (non-fstx) file helpers used to set
// up trees and check results.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fstx::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/fstx-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    // Canonical, so that paths compare equal to what fstx resolves.
    path_ = boost::filesystem::canonical(tmpl).string();
  }
  ~TempDir() {
    boost::system::error_code ec;
    boost::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void WriteFileRaw(const std::string& path, const std::string& data, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("open " + path);
  if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    ::close(fd);
    throw std::runtime_error("write " + path);
  }
  ::fchmod(fd, mode);
  ::close(fd);
}

inline std::string ReadFileRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "<missing>";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

inline ino_t Inode(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

inline mode_t Mode(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

inline std::string ReadLinkRaw(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
}

inline void MkdirRaw(const std::string& path, mode_t mode = 0755) {
  if (::mkdir(path.c_str(), mode) != 0) throw std::runtime_error("mkdir " + path);
}

// A tree's observable state: relative path -> "type mode content-or-target".
// Sockets and fifos compare by type and mode. Staging names are included,
// so a leftover shows up as a difference; an empty staging directory
// (".fstx") is left out.
using TreeImage = std::map<std::string, std::string>;

inline TreeImage Snapshot(const std::string& root) {
  namespace bfs = boost::filesystem;
  TreeImage img;
  for (bfs::recursive_directory_iterator it(root), end; it != end; ++it) {
    const std::string p = it->path().string();
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    // fstx's staging directory is invisible while empty (journal/names.h).
    if (S_ISDIR(st.st_mode) && it->path().filename() == ".fstx" && bfs::is_empty(it->path())) {
      it.disable_recursion_pending();
      continue;
    }
    std::string rel = p.substr(root.size());
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    std::string v;
    if (S_ISREG(st.st_mode)) v = std::string("file ") + mode + " " + ReadFileRaw(p);
    else if (S_ISDIR(st.st_mode)) v = std::string("dir ") + mode;
    else if (S_ISLNK(st.st_mode)) v = "symlink " + ReadLinkRaw(p);
    else if (S_ISSOCK(st.st_mode)) v = std::string("socket ") + mode;
    else v = std::string("other ") + mode;
    img[rel] = v;
  }
  return img;
}

// Human-readable difference of two images, for assertion messages.
inline std::string Diff(const TreeImage& a, const TreeImage& b) {
  std::string out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) out += "- " + k + "\n";
    else if (it->second != v) out += "~ " + k + ": " + v.substr(0, 60) + " | " + it->second.substr(0, 60) + "\n";
  }
  for (const auto& [k, v] : b)
    if (!a.count(k)) out += "+ " + k + " (" + v.substr(0, 60) + ")\n";
  return out;
}

}  // namespace fstx::testing
