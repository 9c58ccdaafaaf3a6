// fstx hash: the content hash that a spec's "expect" field takes.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fstx/fstx.h"
#include "cli.h"
#include "text.h"

namespace fstx::cli {

// The content of a regular file, or a symlink's target (never followed).
static Status ReadContent(const std::string& path, std::string* out) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat", path);
  if (S_ISLNK(st.st_mode)) {
    std::string buf(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return Status::FromErrno(errno, "readlink", path);
    out->assign(buf.data(), static_cast<size_t>(n));
    return Status::Ok();
  }
  if (!S_ISREG(st.st_mode))
    return Status(Code::kInvalidArgument, path + " is not a regular file or a symlink: it has no content hash");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "open", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::FromErrno(errno, "read", path);
  *out = std::move(ss).str();
  return Status::Ok();
}

int CmdHash(const std::vector<std::string>& files, bool json) {
  nlohmann::json out = nlohmann::json::array();
  int rc = kExitOk;
  for (const std::string& f : files) {
    std::string content;
    Status s = ReadContent(f, &content);
    if (!s.ok()) {
      PrintError("hash", s.message());
      rc = kExitFailed;
      continue;
    }
    const std::string h = ContentHash(content);
    if (json) out.push_back({{"path", f}, {"hash", h}, {"size", content.size()}});
    else std::cout << h << "  " << f << "\n";
  }
  if (json) std::cout << out.dump() << "\n";
  return rc;
}

}  // namespace fstx::cli
