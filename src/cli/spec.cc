// spec.cc — parsing and checking the JSON spec of `fstx apply` (spec.h).
#include "spec.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <functional>
#include <initializer_list>
#include <set>

#include "text.h"
#include "fstx/paths.h"

namespace fstx::cli {
namespace {

using nlohmann::json;

constexpr size_t kMaxSymlinkTarget = 4095;  // PATH_MAX - 1

Status Bad(const std::string& msg) { return Status(Code::kInvalidArgument, msg); }

std::string JoinNames(std::initializer_list<const char*> names) {
  std::string out;
  for (const char* n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

const char* TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

// Reads the fields of one op object; every message starts with `where_`
// ("op 3 (rename)").
class OpReader {
 public:
  OpReader(const json& obj, std::string where, const std::vector<std::string>& roots)
      : obj_(obj), where_(std::move(where)), roots_(roots) {}

  // Every key must be one of `allowed` (plus "op").
  Status OnlyFields(std::initializer_list<const char*> allowed, const char* op) const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      if (it.key() == "op" || it.key() == "expect") continue;
      bool ok = false;
      for (const char* a : allowed) ok = ok || it.key() == a;
      if (!ok) {
        return Bad(where_ + ": unknown field '" + it.key() + "' (" + op + " takes " +
                   JoinNames(allowed) + ", expect)");
      }
    }
    return Status::Ok();
  }

  bool Has(const char* key) const { return obj_.contains(key); }

  Status String(const char* key, std::string* out) const {
    if (!obj_.contains(key)) return Bad(where_ + ": missing field '" + key + "'");
    const json& v = obj_.at(key);
    if (!v.is_string()) {
      return Bad(where_ + ": field '" + key + "' must be a string, got " + TypeName(v));
    }
    *out = v.get<std::string>();
    return Status::Ok();
  }

  Status Bool(const char* key, bool* out) const {
    if (!obj_.contains(key)) return Status::Ok();
    const json& v = obj_.at(key);
    if (!v.is_boolean()) {
      return Bad(where_ + ": field '" + key + "' must be true or false, got " + TypeName(v));
    }
    *out = v.get<bool>();
    return Status::Ok();
  }

  // An absolute, normal path beneath a root; stored normalised. A trailing
  // '/' is refused: it would be dropped, and "x/" suggests a directory
  // that write_file or symlink would not make.
  Status Path(const char* key, std::string* out) const {
    std::string raw;
    Status s = String(key, &raw);
    if (!s.ok()) return s;
    if (raw.empty() || raw[0] != '/') {
      return Bad(where_ + ": field '" + key + "' must be an absolute path, got '" + raw + "'");
    }
    if (raw.size() > 1 && raw.back() == '/') {
      return Bad(where_ + ": field '" + key + "' must not end with '/', got '" + raw + "'");
    }
    Result<std::string> norm = paths::CheckBeneathRoots(roots_, raw);
    if (!norm.ok()) return norm.status().Annotate(where_ + ": field '" + key + "'");
    *out = *norm;
    return Status::Ok();
  }

  // A non-negative integer (no fraction, no exponent beyond range).
  Status Offset(const char* key, uint64_t* out) const {
    if (!obj_.contains(key)) return Bad(where_ + ": missing field '" + key + "'");
    const json& v = obj_.at(key);
    if (!v.is_number_unsigned()) {
      return Bad(where_ + ": field '" + key + "' must be a non-negative integer, got " +
                 (v.is_number() ? v.dump() : std::string(TypeName(v))));
    }
    *out = v.get<uint64_t>();
    return Status::Ok();
  }

  // "content" (UTF-8 text) or "content_base64", exactly one.
  Status Content(std::string* out) const {
    bool plain = Has("content"), b64 = Has("content_base64");
    if (plain == b64) {
      return Bad(where_ + (plain ? ": give only one of 'content' and 'content_base64'"
                                 : ": missing field 'content' (or 'content_base64')"));
    }
    if (plain) return String("content", out);
    std::string text, err;
    Status s = String("content_base64", &text);
    if (!s.ok()) return s;
    if (!Base64Decode(text, out, &err)) return Bad(where_ + ": field 'content_base64' is not valid base64: " + err);
    return Status::Ok();
  }

  // write_file: Content(), or "content_file": a file whose content is
  // written (read at commit through a bounded buffer: for big files).
  Status ContentOrFile(std::string* data, std::string* file) const {
    if (!Has("content_file")) return Content(data);
    if (Has("content") || Has("content_base64"))
      return Bad(where_ + ": give only one of 'content', 'content_base64' and 'content_file'");
    Status s = String("content_file", file);
    if (s.ok() && file->empty()) return Bad(where_ + ": field 'content_file' is empty");
    return s;
  }

  // "expect": "absent" or "xxh128:<32 hex digits>" (fstx::ContentHash).
  Status Expect(std::optional<Precondition>* out) const {
    if (!obj_.contains("expect")) return Status::Ok();
    const json& v = obj_.at("expect");
    std::string text = v.is_string() ? v.get<std::string>() : std::string();
    if (text == "absent") {
      *out = Precondition::Absent();
      return Status::Ok();
    }
    bool hex = text.size() == 39 && text.rfind("xxh128:", 0) == 0 &&
               text.find_first_not_of("0123456789abcdefABCDEF", 7) == std::string::npos;
    if (!hex) {
      return Bad(where_ + ": field 'expect' must be \"absent\" or \"xxh128:\" and 32 hex digits "
                          "(the content hash `fstx hash FILE` prints), got " +
                 (v.is_string() ? "\"" + text.substr(0, 60) + "\"" : std::string(TypeName(v))));
    }
    *out = Precondition::Hash(text);
    return Status::Ok();
  }

  Status Mode(std::optional<uint32_t>* out) const {
    if (!obj_.contains("mode")) return Status::Ok();
    const json& v = obj_.at("mode");
    if (!v.is_string()) {
      return Bad(where_ + ": field 'mode' must be a string of octal digits like \"0644\", got " +
                 TypeName(v) + " (a JSON number would be read as decimal)");
    }
    uint32_t mode = 0;
    std::string err;
    if (!ParseMode(v.get<std::string>(), &mode, &err)) return Bad(where_ + ": " + err);
    *out = mode;
    return Status::Ok();
  }

 private:
  const json& obj_;
  std::string where_;
  const std::vector<std::string>& roots_;
};

// The optional "replace" flag of rename and symlink.
Status ReadReplace(const OpReader& r, Op* op) {
  bool replace = false;
  Status s = r.Bool("replace", &replace);
  op->replace = replace ? RenameMode::kReplace : RenameMode::kNoReplace;
  return s;
}

Status ParseOpBody(const json& v, size_t index, const std::vector<std::string>& roots, Op* op) {
  std::string where = "op " + std::to_string(index + 1);
  if (!v.is_object()) return Bad(where + ": must be an object, got " + TypeName(v));
  if (!v.contains("op")) return Bad(where + ": missing field 'op'");
  if (!v.at("op").is_string()) {
    return Bad(where + ": field 'op' must be a string, got " + TypeName(v.at("op")));
  }
  const std::string name = v.at("op").get<std::string>();
  where += " (" + name + ")";
  OpReader r(v, where, roots);
  Status s;
  if (name == "rename") {
    op->kind = OpKind::kRename;
    if (!(s = r.OnlyFields({"from", "to", "replace"}, "rename")).ok()) return s;
    if (!(s = r.Path("from", &op->src)).ok()) return s;
    if (!(s = r.Path("to", &op->path)).ok()) return s;
    return ReadReplace(r, op);
  }
  if (name == "write_file") {
    op->kind = OpKind::kWriteFile;
    if (!(s = r.OnlyFields({"path", "content", "content_base64", "content_file", "mode"}, "write_file")).ok()) {
      return s;
    }
    if (!(s = r.Path("path", &op->path)).ok()) return s;
    if (!(s = r.ContentOrFile(&op->data, &op->content_file)).ok()) return s;
    return r.Mode(&op->mode);
  }
  if (name == "symlink") {
    op->kind = OpKind::kSymlink;
    if (!(s = r.OnlyFields({"target", "path", "replace"}, "symlink")).ok()) return s;
    if (!(s = r.String("target", &op->data)).ok()) return s;
    if (op->data.empty() || op->data.find('\0') != std::string::npos) {
      return Bad(where + ": field 'target' must be a non-empty string without NUL bytes");
    }
    // symlink(2) takes at most PATH_MAX bytes with the NUL (ENAMETOOLONG).
    if (op->data.size() > kMaxSymlinkTarget) {
      return Bad(where + ": field 'target' is " + std::to_string(op->data.size()) +
                 " bytes, longer than PATH_MAX - 1 (" + std::to_string(kMaxSymlinkTarget) + ")");
    }
    if (!(s = r.Path("path", &op->path)).ok()) return s;
    return ReadReplace(r, op);
  }
  if (name == "remove") {
    op->kind = OpKind::kRemove;
    if (!(s = r.OnlyFields({"path"}, "remove")).ok()) return s;
    return r.Path("path", &op->path);
  }
  if (name == "mkdir") {
    op->kind = OpKind::kMkdir;
    if (!(s = r.OnlyFields({"path", "mode"}, "mkdir")).ok()) return s;
    if (!(s = r.Path("path", &op->path)).ok()) return s;
    return r.Mode(&op->mode);
  }
  if (name == "write_range") {
    op->kind = OpKind::kWriteRange;
    if (!(s = r.OnlyFields({"path", "offset", "content", "content_base64"}, "write_range")).ok()) return s;
    if (!(s = r.Path("path", &op->path)).ok()) return s;
    if (!(s = r.Offset("offset", &op->offset)).ok()) return s;
    if (!(s = r.Content(&op->data)).ok()) return s;
    if (op->data.empty()) return Bad(where + ": the content is empty: no bytes to write");
    return Status::Ok();
  }
  return Bad("op " + std::to_string(index + 1) + ": unknown op '" + name +
             "' (expected rename, write_file, write_range, symlink, remove or mkdir)");
}

Status ParseOp(const json& v, size_t index, const std::vector<std::string>& roots, Op* op) {
  Status s = ParseOpBody(v, index, roots, op);
  if (!s.ok()) return s;
  std::string where = "op " + std::to_string(index + 1) + " (" + v.at("op").get<std::string>() + ")";
  return OpReader(v, where, roots).Expect(&op->expect);
}

// nlohmann's message without its "[json.exception.parse_error.101] " tag.
std::string ParseErrorText(const json::exception& e) {
  std::string what = e.what();
  size_t close = what.find("] ");
  if (what.rfind("[json.exception.", 0) == 0 && close != std::string::npos) {
    what = what.substr(close + 2);
  }
  return "invalid JSON: " + what;
}

// Watches the parser's events for a key that appears twice in one object
// (nlohmann keeps the last one silently, so a typo'd duplicate would drop
// a value). Knows where the op objects are, to name the op.
class DuplicateKeys {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        Element();
        frames_.push_back(Frame{true, false, OpIndexOfNewObject(), {}, 0});
        break;
      case json::parse_event_t::array_start: {
        Element();
        // The "ops" array: the value of key "ops" of the top-level object.
        const bool ops = frames_.size() == 1 && frames_[0].object && last_key_ == "ops";
        frames_.push_back(Frame{false, ops, -1, {}, 0});
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case json::parse_event_t::key:
        if (!frames_.empty() && parsed.is_string()) {
          last_key_ = parsed.get<std::string>();
          if (!frames_.back().keys.insert(last_key_).second && error_.empty()) {
            const long op = frames_.back().op_index;
            error_ = (op >= 0 ? "op " + std::to_string(op + 1) + ": " : std::string()) +
                     "duplicate field '" + last_key_ + "' (each field may appear once)";
          }
        }
        break;
      case json::parse_event_t::value:
        Element();
        break;
    }
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool object;
    bool ops_array;
    long op_index;  // for an object that is an element of "ops"
    std::set<std::string> keys;
    long elements;  // for arrays: elements begun so far
  };
  // A value, object or array begins: count it as an element of an array.
  void Element() {
    if (!frames_.empty() && !frames_.back().object) frames_.back().elements++;
  }
  long OpIndexOfNewObject() const {
    if (frames_.empty() || !frames_.back().ops_array) return -1;
    return frames_.back().elements - 1;
  }
  std::vector<Frame> frames_;
  std::string last_key_;
  std::string error_;
};

}  // namespace

Status ParseSpec(std::string_view text, const std::vector<std::string>& roots, Spec* out) {
  json doc;
  DuplicateKeys dups;
  try {
    doc = json::parse(text.begin(), text.end(), std::ref(dups));
  } catch (const json::exception& e) {
    // Syntax (parse_error) and also numbers that overflow (out_of_range).
    return Bad(ParseErrorText(e));
  }
  if (!dups.error().empty()) return Bad(dups.error());
  if (!doc.is_object()) return Bad("the spec must be a JSON object, got " + std::string(TypeName(doc)));
  Spec spec;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "label") {
      if (!v.is_string()) return Bad("field 'label' must be a string, got " + std::string(TypeName(v)));
      spec.label = v.get<std::string>();
    } else if (key == "policy") {
      std::string p = v.is_string() ? v.get<std::string>() : std::string();
      if (p == "rollback") {
        spec.policy = TxPolicy::kRollback;
      } else if (p == "rollforward") {
        spec.policy = TxPolicy::kRollforward;
      } else {
        return Bad("field 'policy' must be \"rollback\" or \"rollforward\", got " +
                   (v.is_string() ? "\"" + p + "\"" : std::string(TypeName(v))));
      }
    } else if (key != "ops") {
      return Bad("unknown field '" + key + "' (a spec has label, policy, ops)");
    }
  }
  if (!doc.contains("ops")) return Bad("missing field 'ops'");
  const json& ops = doc.at("ops");
  if (!ops.is_array()) return Bad("field 'ops' must be an array, got " + std::string(TypeName(ops)));
  if (ops.empty()) return Bad("field 'ops' is empty: a transaction needs at least one op");
  for (size_t i = 0; i < ops.size(); ++i) {
    Op op;
    Status s = ParseOp(ops[i], i, roots, &op);
    if (!s.ok()) return s;
    spec.ops.push_back(std::move(op));
  }
  *out = std::move(spec);
  return Status::Ok();
}

void AddToTransaction(const Spec& spec, Transaction* tx) {
  tx->SetPolicy(spec.policy);
  for (const Op& op : spec.ops) tx->Add(op);
}

Result<std::string> ReadSpecText(const std::string& name) {
  std::ostringstream ss;
  if (name == "-") {
    ss << std::cin.rdbuf();
    if (std::cin.bad()) return Status(Code::kIoError, "read spec from stdin failed");
    return ss.str();
  }
  std::ifstream in(name, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "open spec", name);
  ss << in.rdbuf();
  if (in.bad()) return Status::FromErrno(errno, "read spec", name);
  return ss.str();
}

}  // namespace fstx::cli
