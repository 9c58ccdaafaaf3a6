// context.cc — journal directory, roots, the writer session and process
// probes (see context.h).
#include "context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "text.h"
#include "fstx/paths.h"

namespace fstx::cli {
namespace {

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}


}  // namespace

namespace {

// stderr, one line per message, control characters escaped.
class PrintableStderrSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string line =
        Printable(std::string_view(msg.payload.data(), msg.payload.size())) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

void SetupLogging(int verbosity) {
  auto logger = std::make_shared<spdlog::logger>("fstx-cli", std::make_shared<PrintableStderrSink>());
  logger->set_level(verbosity >= 2   ? spdlog::level::debug
                    : verbosity == 1 ? spdlog::level::info
                                     : spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

std::string DefaultJournalDir() {
  std::string env = Getenv("FSTX_JOURNAL");
  if (!env.empty()) return env;
  if (::geteuid() == 0) return "/var/lib/fstx";
  std::string state = Getenv("XDG_STATE_HOME");
  if (!state.empty() && state[0] == '/') return state + "/fstx";
  std::string home = Getenv("HOME");
  if (home.empty()) home = "/";
  return home + "/.local/state/fstx";
}

Result<std::string> AbsolutePath(const std::string& p) {
  if (p.empty()) return Status(Code::kInvalidArgument, "empty path");
  std::string abs = p;
  if (p[0] != '/') {
    char buf[4096];
    if (::getcwd(buf, sizeof buf) == nullptr) {
      return Status::FromErrno(errno, "getcwd for relative path", p);
    }
    abs = std::string(buf) + "/" + p;
  }
  // Drop "." components and resolve ".." lexically; Normalize refuses them.
  std::vector<std::string> parts;
  std::stringstream ss(abs);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const std::string& x : parts) out += "/" + x;
  return paths::Normalize(out.empty() ? "/" : out);
}

Status ResolveRoots(const std::vector<std::string>& flags, std::vector<std::string>* roots,
                    std::vector<std::string>* args) {
  std::vector<std::string> raw = flags;
  if (raw.empty()) {
    std::stringstream ss(Getenv("FSTX_ROOTS"));
    std::string item;
    while (std::getline(ss, item, ':')) {
      if (!item.empty()) raw.push_back(item);
    }
  }
  roots->clear();
  args->clear();
  for (const std::string& r : raw) {
    Result<std::string> abs = AbsolutePath(r);
    if (!abs.ok()) return abs.status().Annotate("root " + r);
    roots->push_back(*abs);
    if (r[0] == '/') {
      args->push_back(r);
    } else {
      char buf[PATH_MAX];
      if (::getcwd(buf, sizeof buf) == nullptr) return Status::FromErrno(errno, "getcwd for root", r);
      args->push_back(std::string(buf) + "/" + r);
    }
  }
  return Status::Ok();
}

namespace {

// realpath(3) as a Result, naming `shown` in the error.
Result<std::string> RealPath(const std::string& path, const std::string& shown) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return Status::FromErrno(errno, "root", shown);
  std::string out(real);
  std::free(real);
  return out;
}

}  // namespace

Status CheckRootsExist(const std::vector<std::string>& args, const std::vector<std::string>& roots) {
  for (size_t i = 0; i < roots.size(); ++i) {
    const std::string& given = i < args.size() ? args[i] : roots[i];
    Result<std::string> real = RealPath(given, given);
    if (!real.ok()) return real.status();
    struct stat st;
    if (::stat(real->c_str(), &st) != 0) return Status::FromErrno(errno, "root", given);
    if (!S_ISDIR(st.st_mode)) {
      return Status(Code::kInvalidArgument, "root " + given + ": not a directory");
    }
    Result<std::string> lexical = RealPath(roots[i], given);
    if (!lexical.ok() || *lexical != *real) {
      return Status(Code::kInvalidArgument,
                    "root " + given + " is the directory " + *real + ", but read textually it is " +
                        roots[i] + (lexical.ok() ? " (" + *lexical + ")" : " (which does not exist)") +
                        ": '..' after a symlink; give the root without '..'");
    }
  }
  return Status::Ok();
}

Status ProbeJournal(const std::string& dir, bool* exists) {
  *exists = false;
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::FromErrno(errno, "cannot read journal: stat", dir);
  }
  const std::string data = dir + "/data.mdb";
  if (::lstat(data.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::FromErrno(errno, "cannot read journal: stat", data);
  }
  *exists = true;
  return Status::Ok();
}

Result<std::unique_ptr<Inspector>> OpenReadOnly(const std::string& dir) { return Inspector::Open(dir); }

WriterSession::~WriterSession() { Close(); }

Status WriterSession::LoadFailpoints() {
  if (std::getenv("FSTX_FAILPOINTS") == nullptr) return Status::Ok();
  Result<std::vector<fault::Rule>> rules = fault::Failpoints::FromEnv();
  if (!rules.ok()) return rules.status().Annotate("FSTX_FAILPOINTS");
  for (const fault::Rule& r : *rules) failpoints_.Add(r);
  faults_ = !rules->empty();
  return Status::Ok();
}

namespace {
int64_t g_lock_wait_ms = 5000;
}  // namespace

void SetLockWaitMs(int64_t ms) { g_lock_wait_ms = ms; }

Status WriterSession::Open(const std::string& dir, const std::vector<std::string>& roots,
                           bool recover_on_open) {
  Options opts;
  opts.dir = dir;
  opts.roots = roots;
  opts.recover_on_open = recover_on_open;
  opts.lock_wait_ms = g_lock_wait_ms;
  if (faults_) {
    Result<std::unique_ptr<PosixFs>> fs = PosixFs::Open(roots);
    if (!fs.ok()) return fs.status();
    posix_ = std::move(*fs);
    fault_fs_ = std::make_unique<fault::FaultFs>(posix_.get(), &failpoints_);
    opts.fs = fault_fs_.get();
  }
  // With failpoints, the journal commits hit them too (the fault library's
  // testing engine; see README "ABI").
  Result<std::unique_ptr<Journal>> j = faults_ ? fault::OpenJournal(opts, &failpoints_) : Journal::Open(opts);
  if (!j.ok()) return j.status();
  journal_ = std::move(*j);
  return Status::Ok();
}

void WriterSession::Close() {
  journal_.reset();
  fault_fs_.reset();
  posix_.reset();
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace fstx::cli
