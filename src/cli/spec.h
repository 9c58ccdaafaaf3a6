// spec.h — the JSON transaction spec that `fstx apply` reads.
//
//   { "label": "rename vm1 to vm2", "policy": "rollback",
//     "ops": [ {"op": "rename", "from": "/a/x", "to": "/a/y", "replace": true},
//              {"op": "write_file", "path": "/a/y", "content": "..", "mode": "0600"},
//              {"op": "write_file", "path": "/a/b", "content_base64": "AAEC"},
//              {"op": "symlink", "target": "/a/y", "path": "/a/l", "replace": true},
//              {"op": "remove", "path": "/a/old"},
//              {"op": "mkdir", "path": "/a/new", "mode": "0755"},
//              {"op": "write_range", "path": "/a/img", "offset": 16, "content_base64": "AAAAIA=="},
//              {"op": "remove", "path": "/a/y.bak", "expect": "xxh128:0123..."} ] }
// Every op may carry "expect": "absent" or a content hash (Transaction::Expect).
//
// ParseSpec checks the shape of the document only: JSON syntax (with line
// and column), field names and types, op names, base64, modes, that every
// path is absolute, lexically normal and beneath one of `roots`, and that
// there is at least one op. It does not look at the filesystem; whether
// sources exist, destinations are free and ops conflict is
// Transaction::Validate()'s job. Ops are numbered from 1 (the first op in
// the file is "op 1"), as in the engine's own messages.
//
// On failure the Status is kInvalidArgument (or kOutsideRoot for a path
// outside the roots) with a message like
//   "op 3 (rename): unknown field 'too'"
// that the caller prefixes with "spec NAME: ". Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fstx/fstx.h"
#include "fstx/status.h"
#include "fstx/record.h"

namespace fstx::cli {

struct SpecOp {
  OpKind kind = OpKind::kRename;
  std::string path;    // rename: destination ("to"); otherwise "path"
  std::string from;    // rename: source
  std::string target;  // symlink: link target (any non-empty string)
  std::string data;    // write_file: decoded content
  bool replace = false;
  std::optional<uint32_t> mode;  // write_file / mkdir
  uint64_t offset = 0;           // write_range
  std::optional<Precondition> expect;
};

struct Spec {
  std::string label;
  TxPolicy policy = TxPolicy::kRollback;
  std::vector<SpecOp> ops;
};

Status ParseSpec(std::string_view text, const std::vector<std::string>& roots, Spec* out);

// The spec's text from a file, or from stdin for "-".
Result<std::string> ReadSpecText(const std::string& name);

// Adds the ops to `tx` in order and sets its policy.
void AddToTransaction(const Spec& spec, Transaction* tx);

}  // namespace fstx::cli
