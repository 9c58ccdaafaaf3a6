// plan.h — validate a transaction's ops and capture what recovery needs.
//
// Each op is checked against the tree as the earlier ops of the same
// transaction will leave it (a virtual namespace: a path is translated back
// through earlier renames to where its object is now, or known to be
// created, or absent). For each op it records the fingerprints of the
// objects it moves or replaces, so that recovery can tell applied from not.
//
// Refused, with kInvalidArgument / kOutsideRoot / kNotFound / kExists and a
// message "op N (rename /a -> /b): why": paths that are not absolute and
// normal or not beneath a root, a root itself, staging names, a missing
// source or parent, an existing target without replace, replacing a
// directory with a symlink, moving a directory into itself, and any op on
// an object created by an earlier op of the same transaction (write it at
// its final path instead: each op's before-state must be a real object or
// nothing, which is what makes every probe decidable).
// write_range: the range must lie within the existing regular file, and two
// ranges of one transaction in the same file may not overlap.
// Reads through `fs` only (Stat, ReadAt, and ReadFile/ReadLink for
// preconditions). Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fstx/fs.h"
#include "journal/record.h"

namespace fstx {

struct OpSpec {
  OpKind kind = OpKind::kRename;
  std::string path;  // target
  std::string src;   // rename source
  bool replace = false;
  std::optional<uint32_t> mode;
  std::string data;  // content / symlink target / write_range bytes
  uint64_t offset = 0;  // write_range
  // Precondition on the op's object: absent, or this content hash (text
  // form, src/hash.h).
  std::optional<bool> expect_absent;
  std::string expect_hash;
  // write_file from a file (Transaction::WriteFileFrom): the content is
  // read from here, not from `data`.
  std::string content_file;
};

std::string DescribeSpec(const OpSpec& op);

// Lexical checks only (no filesystem access): normalises the paths in
// place and checks them against the roots. Refused besides: a path that is
// a root or an ancestor of one (moving it would move a root), and a path
// with a staging directory (".fstx") among its components.
// `protect`: paths no op may name, lie beneath or be an ancestor of (the
// journal's own directory).
Status CheckLexical(const std::vector<std::string>& roots, std::vector<OpSpec>* ops,
                    const std::vector<std::string>& protect = {});

// Full validation; fills *out with one intent per op, with its staging
// directory (stage.h) and content size and hash. Preconditions are checked
// here (kStale).
Status Plan(Fs* fs, const std::vector<std::string>& roots, const std::vector<OpSpec>& ops,
            std::vector<Intent>* out);

}  // namespace fstx
