// record.cc — printable names of the record enums (record.h).
//
// These strings appear in CLI output, JSON reports and log lines; they are
// part of the user-visible surface, so keep them stable.
#include "journal/record.h"

#include "src/hash.h"

namespace fstx {

const char* op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::kRename: return "rename";
    case OpKind::kWriteFile: return "write_file";
    case OpKind::kSymlink: return "symlink";
    case OpKind::kRemove: return "remove";
    case OpKind::kMkdir: return "mkdir";
    case OpKind::kWriteRange: return "write_range";
  }
  return "unknown";
}

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::kRollback: return "rollback";
    case Policy::kRollforward: return "rollforward";
  }
  return "unknown";
}

const char* tx_state_name(TxState s) {
  switch (s) {
    case TxState::kPrepared: return "prepared";
    case TxState::kCommitted: return "committed";
    case TxState::kDone: return "done";
    case TxState::kRollingBack: return "rolling_back";
    case TxState::kAborted: return "aborted";
    case TxState::kNeedsAttention: return "needs_attention";
    case TxState::kAbandoned: return "abandoned";
  }
  return "unknown";
}

std::string data_hash_text(const Intent& in) {
  return in.data_hash.empty() ? std::string() : hash::ToText(in.data_hash);
}

void StripContent(TxRecord* rec) {
  for (Intent& in : rec->intents) {
    if (in.kind != OpKind::kWriteFile && in.kind != OpKind::kWriteRange) continue;
    in.data.clear();
    in.data.shrink_to_fit();
    in.old_data.clear();
    in.old_data.shrink_to_fit();
  }
}

}  // namespace fstx
