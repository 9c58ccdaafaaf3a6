#include "journal/names.h"

#include <charconv>

namespace fstx {
namespace {

constexpr std::string_view kPrefix = ".fstx-";

const char* KindSuffix(StagingKind k) {
  switch (k) {
    case StagingKind::kNew: return "new";
    case StagingKind::kOld: return "old";
    case StagingKind::kDel: return "del";
  }
  return "new";
}

template <class T>
bool ParseNumber(std::string_view s, T* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string StagingLeaf(uint64_t txid, uint32_t op, StagingKind kind) {
  std::string s(kPrefix);
  s += std::to_string(txid);
  s += '-';
  s += std::to_string(op);
  s += '-';
  s += KindSuffix(kind);
  return s;
}

std::string StagingDirAt(const std::string& top) {
  return (top == "/" ? std::string() : top) + "/" + std::string(kStagingDirName);
}

bool IsStagingDirName(std::string_view leaf) { return leaf == kStagingDirName; }

std::string StagingPath(const std::string& stage, const std::string& target, uint64_t txid, uint32_t op,
                        StagingKind kind) {
  if (!stage.empty()) return stage + "/" + StagingLeaf(txid, op, kind);
  auto slash = target.rfind('/');
  std::string dir = slash == 0 || slash == std::string::npos ? "/" : target.substr(0, slash);
  if (dir.back() != '/') dir += '/';
  return dir + StagingLeaf(txid, op, kind);
}

bool ParseStagingLeaf(std::string_view leaf, StagingName* out) {
  if (leaf.substr(0, kPrefix.size()) != kPrefix) return false;
  leaf.remove_prefix(kPrefix.size());
  auto d1 = leaf.find('-');
  if (d1 == std::string_view::npos) return false;
  auto d2 = leaf.find('-', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  StagingName n;
  if (!ParseNumber(leaf.substr(0, d1), &n.txid)) return false;
  if (!ParseNumber(leaf.substr(d1 + 1, d2 - d1 - 1), &n.op)) return false;
  auto kind = leaf.substr(d2 + 1);
  if (kind == "new") n.kind = StagingKind::kNew;
  else if (kind == "old") n.kind = StagingKind::kOld;
  else if (kind == "del") n.kind = StagingKind::kDel;
  else return false;
  if (out) *out = n;
  return true;
}

namespace {
constexpr std::string_view kContentPrefix = ".fstx-content-";

// Splits `s` at its first '-' into *head and the rest.
bool Field(std::string_view* s, std::string_view* head) {
  auto d = s->find('-');
  if (d == std::string_view::npos) return false;
  *head = s->substr(0, d);
  s->remove_prefix(d + 1);
  return true;
}
}  // namespace

std::string ContentLeaf(const ContentName& n) {
  return std::string(kContentPrefix) + std::to_string(n.pid) + "-" + std::to_string(n.start_time) + "-" +
         n.boot.substr(0, kContentBootChars) + "-" + std::to_string(n.seq);
}

bool ParseContentLeaf(std::string_view leaf, ContentName* out) {
  if (leaf.substr(0, kContentPrefix.size()) != kContentPrefix) return false;
  leaf.remove_prefix(kContentPrefix.size());
  ContentName n;
  std::string_view pid, start, boot;
  if (!Field(&leaf, &pid) || !Field(&leaf, &start) || !Field(&leaf, &boot)) return false;
  if (!ParseNumber(pid, &n.pid) || n.pid <= 0 || !ParseNumber(start, &n.start_time) ||
      !ParseNumber(leaf, &n.seq) || boot.empty() || boot.size() > kContentBootChars)
    return false;
  for (char c : boot)
    if (c == '/' || c == '-') return false;
  n.boot = std::string(boot);
  if (out) *out = std::move(n);
  return true;
}

}  // namespace fstx
