// failpoints.cc — parsing failpoint specs and carrying out their actions.
//
// The grammar and the point names are documented in include/fstx/fault.h.
// Parse() is pure; a Failpoints object counts hits under its mutex and acts
// (crash, error, short write, delay) outside it, so a delay in one thread
// never blocks another thread's hits.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "fstx/fault.h"
#include "src/testing.h"

namespace fstx::fault {

namespace {

constexpr int kMaxDelayMs = 3600 * 1000;

struct ErrnoEntry {
  const char* name;
  int value;
};

// The errnos a rule may inject. The first group is what the design asks
// for; the rest are what a filesystem call can plausibly return.
constexpr ErrnoEntry kErrnos[] = {
    {"EIO", EIO},           {"ENOSPC", ENOSPC},   {"EACCES", EACCES},
    {"EXDEV", EXDEV},       {"EROFS", EROFS},     {"ENAMETOOLONG", ENAMETOOLONG},
    {"EPERM", EPERM},       {"ENOENT", ENOENT},   {"EEXIST", EEXIST},
    {"EDQUOT", EDQUOT},     {"EMLINK", EMLINK},   {"ENOTEMPTY", ENOTEMPTY},
    {"EBUSY", EBUSY},       {"ENOTDIR", ENOTDIR}, {"EISDIR", EISDIR},
    {"EINVAL", EINVAL},     {"ELOOP", ELOOP},     {"EAGAIN", EAGAIN},
    {"EINTR", EINTR},       {"ENOMEM", ENOMEM},   {"EFBIG", EFBIG},
    {"EMFILE", EMFILE},     {"ENFILE", ENFILE},   {"ETXTBSY", ETXTBSY},
    {"EOPNOTSUPP", EOPNOTSUPP}, {"ENOSYS", ENOSYS}, {"ESTALE", ESTALE},
    {"EBADF", EBADF},       {"EFAULT", EFAULT},   {"ENXIO", ENXIO},
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Parses a non-empty run of decimal digits; false on anything else or on
// overflow past `max`.
bool ParseUint(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool ValidPointChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

// Empty string if `point` is an acceptable point name, else what is wrong.
std::string CheckPoint(std::string_view point) {
  if (point.empty()) return "empty point name";
  if (point == "*") return "";  // any point: HIT counts every hit of every point
  for (char c : point) {
    if (!ValidPointChar(c)) return "point name '" + std::string(point) + "' has a bad character";
  }
  for (std::string_view prefix : {std::string_view("fs."), std::string_view("journal.")}) {
    if (point.substr(0, prefix.size()) == prefix) {
      if (point.size() == prefix.size()) {
        return "point name '" + std::string(point) + "' is only a prefix";
      }
      return "";
    }
  }
  return "unknown point '" + std::string(point) + "' (points start with 'fs.' or 'journal.')";
}

// Fills the action fields of `rule`; empty string on success.
std::string ParseAction(std::string_view text, Rule* rule) {
  if (text.empty()) return "empty action";
  std::string up = Upper(text);
  if (up == "CRASH") {
    rule->action = Action::kCrash;
    return "";
  }
  if (up == "SHORT") {
    rule->action = Action::kShortWrite;
    return "";
  }
  if (up.rfind("DELAY", 0) == 0) {
    std::string_view rest = Trim(text.substr(5));
    if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') {
      return "delay needs a duration in milliseconds: delay(MS)";
    }
    uint64_t ms = 0;
    if (!ParseUint(Trim(rest.substr(1, rest.size() - 2)), kMaxDelayMs, &ms)) {
      return "delay must be a whole number of milliseconds, 0.." + std::to_string(kMaxDelayMs);
    }
    rule->action = Action::kDelay;
    rule->delay_ms = static_cast<int>(ms);
    return "";
  }
  for (const ErrnoEntry& e : kErrnos) {
    if (up == e.name) {
      rule->action = Action::kError;
      rule->err = e.value;
      return "";
    }
  }
  return "unknown action '" + std::string(text) +
         "' (expected crash, short, delay(MS) or an errno name such as EIO)";
}

Status RuleError(std::string_view rule, const std::string& what) {
  return Status(Code::kInvalidArgument,
                "failpoint rule '" + std::string(rule) + "': " + what);
}

Result<Rule> ParseRule(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) return RuleError(text, "missing '=' before the action");
  std::string_view lhs = Trim(text.substr(0, eq));
  std::string_view action = Trim(text.substr(eq + 1));

  Rule rule;
  std::string_view point = lhs;
  size_t colon = lhs.find(':');
  if (colon != std::string_view::npos) {
    point = Trim(lhs.substr(0, colon));
    std::string_view hit = Trim(lhs.substr(colon + 1));
    if (hit == "*") {
      rule.hit = 0;
    } else if (!ParseUint(hit, UINT64_MAX, &rule.hit)) {
      return RuleError(text, "hit '" + std::string(hit) + "' is not a positive number or '*'");
    } else if (rule.hit == 0) {
      return RuleError(text, "hit must be >= 1 or '*'");
    }
  }
  std::string bad = CheckPoint(point);
  if (!bad.empty()) return RuleError(text, bad);
  rule.point = std::string(point);

  bad = ParseAction(action, &rule);
  if (!bad.empty()) return RuleError(text, bad);
  return rule;
}

// Writes the crash note with write(2): no stdio buffering to lose.
void WriteCrashNote(std::string_view point, uint64_t count) {
  std::string note =
      "fstx: failpoint " + std::string(point) + " hit " + std::to_string(count) + ": crash\n";
  const char* p = note.data();
  size_t left = note.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

// "injected at POINT PATH: <strerror> (<ENAME>)", without a dangling space
// when there is no path (journal points).
Status Injected(int err, const std::string& what, std::string_view point,
                const std::string& path) {
  if (path.empty()) return Status::FromErrno(err, what + " at", std::string(point));
  return Status::FromErrno(err, what + " at " + std::string(point), path);
}

}  // namespace

Result<std::vector<Rule>> Failpoints::Parse(std::string_view spec) {
  std::vector<Rule> rules;
  while (true) {
    size_t sep = spec.find_first_of(",;");
    std::string_view text = Trim(spec.substr(0, sep));
    if (!text.empty()) {
      Result<Rule> r = ParseRule(text);
      if (!r.ok()) return r.status();
      rules.push_back(std::move(r.value()));
    }
    if (sep == std::string_view::npos) break;
    spec.remove_prefix(sep + 1);
  }
  return rules;
}

Result<std::vector<Rule>> Failpoints::FromEnv() {
  const char* spec = std::getenv("FSTX_FAILPOINTS");
  if (spec == nullptr) return std::vector<Rule>{};
  Result<std::vector<Rule>> r = Parse(spec);
  if (!r.ok()) return r.status().Annotate("FSTX_FAILPOINTS");
  return r;
}

void Failpoints::Add(const Rule& rule) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back(rule);
}

void Failpoints::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
  hits_.clear();
  total_ = 0;
  trace_.clear();
}

Status Failpoints::Hit(std::string_view point, const std::string& path, bool* short_write) {
  Rule rule;  // a copy: acted on after the lock is released
  uint64_t count = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hits_.find(point);
    if (it == hits_.end()) it = hits_.emplace(std::string(point), 0).first;
    count = ++it->second;
    ++total_;
    if (trace_on_) trace_.push_back(std::string(point) + " " + path);
    for (const Rule& r : rules_) {
      if (r.point == point && (r.hit == 0 || r.hit == count)) {
        rule = r;
        break;
      }
      if (r.point == "*" && (r.hit == 0 || r.hit == total_)) {
        rule = r;
        count = total_;
        break;
      }
    }
  }

  switch (rule.action) {
    case Action::kNone:
      return Status::Ok();
    case Action::kCrash:
      if (!quiet_) WriteCrashNote(point, count);
      ::kill(::getpid(), SIGKILL);
      ::_exit(137);
    case Action::kError:
      return Injected(rule.err, "injected", point, path);
    case Action::kDelay:
      std::this_thread::sleep_for(std::chrono::milliseconds(rule.delay_ms));
      return Status::Ok();
    case Action::kShortWrite:
      if (short_write != nullptr) {
        *short_write = true;
        return Status::Ok();
      }
      // A point that cannot write short fails the way a short write would.
      return Injected(EIO, "injected short write", point, path);
  }
  return Status::Ok();
}

void Failpoints::SetQuiet(bool quiet) {
  std::lock_guard<std::mutex> lock(mu_);
  quiet_ = quiet;
}

void Failpoints::EnableTrace(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  trace_on_ = on;
}

std::vector<std::string> Failpoints::trace() const {
  std::lock_guard<std::mutex> lock(mu_);
  return trace_;
}

uint64_t Failpoints::hits(std::string_view point) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hits_.find(point);
  return it == hits_.end() ? 0 : it->second;
}

std::map<std::string, uint64_t> Failpoints::all_hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::map<std::string, uint64_t>(hits_.begin(), hits_.end());
}

uint64_t Failpoints::total_hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

std::function<Status(std::string_view)> JournalHook(Failpoints* fp) {
  return [fp](std::string_view point) -> Status {
    if (fp == nullptr) return Status::Ok();
    return fp->Hit(point);
  };
}

}  // namespace fstx::fault

namespace fstx::fault {

Result<std::unique_ptr<Journal>> OpenJournal(const fstx::Options& options, Failpoints* fp) {
  return testing::OpenWithHook(options, JournalHook(fp));
}

}  // namespace fstx::fault
