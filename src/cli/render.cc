// render.cc — JSON and text views of records and reports (see render.h).
#include "render.h"

#include <iostream>
#include <set>

#include "fstx/fs.h"
#include "cli.h"
#include "text.h"

namespace fstx::cli {

std::string DumpJson(const Json& j) {
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Json FingerprintJson(const Fingerprint& fp) {
  Json j;
  j["type"] = file_type_name(static_cast<FileType>(fp.type));
  if (!fp.present()) return j;
  j["dev"] = fp.dev;
  j["ino"] = fp.ino;
  j["mode"] = FormatMode(fp.mode);
  j["uid"] = fp.uid;
  j["gid"] = fp.gid;
  j["size"] = fp.size;
  return j;
}

Json IntentJson(const Intent& in, size_t index) {
  Json j;
  j["op"] = index + 1;
  j["kind"] = op_kind_name(in.kind);
  j["path"] = in.path;
  j["from"] = in.src.empty() ? Json(nullptr) : Json(in.src);
  j["replace"] = in.replace;
  bool has_mode = in.kind == OpKind::kWriteFile || in.kind == OpKind::kMkdir;
  j["mode"] = has_mode ? Json(FormatMode(in.mode)) : Json(nullptr);
  // History records keep no written content: data_length stays, the
  // preview and base64 are then null, and data_hash identifies it.
  const bool content = in.kind == OpKind::kWriteFile || in.kind == OpKind::kWriteRange;
  const bool held = !content || in.data.size() == in.data_size;
  j["data_length"] = content ? in.data_size : in.data.size();
  j["data_preview"] = held ? Json(Preview(in.data)) : Json(nullptr);
  j["data_base64"] = held ? Json(Base64Encode(in.data)) : Json(nullptr);
  j["data_hash"] = in.data_hash.empty() ? Json(nullptr) : Json(data_hash_text(in));
  j["offset"] = in.kind == OpKind::kWriteRange ? Json(in.offset) : Json(nullptr);
  j["staging_dir"] = in.stage.empty() ? Json(nullptr) : Json(in.stage);
  j["staged_content"] = in.content.empty() ? Json(nullptr) : Json(in.content);
  j["moved"] = FingerprintJson(in.moved);
  j["before"] = FingerprintJson(in.before);
  return j;
}

Json RecordJson(const TxRecord& rec, bool full) {
  Json j;
  j["id"] = rec.id;
  j["label"] = rec.label;
  j["state"] = tx_state_name(rec.state);
  j["policy"] = policy_name(rec.policy);
  j["created"] = FormatTime(rec.created_us);
  j["created_us"] = rec.created_us;
  j["finished"] = rec.finished_us ? Json(FormatTime(rec.finished_us)) : Json(nullptr);
  j["finished_us"] = rec.finished_us;
  j["ops"] = rec.intents.size();
  j["note"] = rec.note;
  if (!full) return j;
  j["owner"] = Json{{"pid", rec.owner.pid},
                    {"start_time", rec.owner.start_time},
                    {"boot_id", rec.owner.boot_id}};
  Json intents = Json::array();
  for (size_t i = 0; i < rec.intents.size(); ++i) intents.push_back(IntentJson(rec.intents[i], i));
  j["intents"] = std::move(intents);
  return j;
}

Json RecoveredJson(const RecoveredTx& tx) {
  return Json{{"id", tx.id},
              {"label", tx.label},
              {"decision", decision_name(tx.decision)},
              {"ops_redone", tx.ops_redone},
              {"ops_undone", tx.ops_undone},
              {"message", tx.message},
              {"conflicts", tx.conflicts}};
}

Json ReportJson(const RecoveryReport& report) {
  Json txs = Json::array();
  for (const RecoveredTx& tx : report.txs) txs.push_back(RecoveredJson(tx));
  return Json{{"transactions", std::move(txs)}, {"needs_attention", report.needs_attention()}};
}


void PrintReport(std::ostream& os, const RecoveryReport& report, bool dry_run) {
  if (report.txs.empty()) {
    os << "nothing to recover: no unfinished transactions\n";
    return;
  }
  for (const RecoveredTx& tx : report.txs) {
    // A dry run's "would-roll-back" reads "would roll back".
    std::string decision = decision_name(tx.decision);
    if (decision.rfind("would-", 0) == 0) {
      for (char& c : decision) c = c == '-' ? ' ' : c;
    }
    os << "tx " << tx.id << " \"" << Printable(tx.label) << "\": " << decision << " ("
       << tx.ops_redone << " redone, " << tx.ops_undone << " undone)\n";
    if (!tx.conflicts.empty()) {
      for (const auto& c : tx.conflicts) os << "    " << Printable(c) << "\n";
    } else if (!tx.message.empty()) {
      os << "    " << Printable(tx.message) << "\n";
    }
  }
  // The summary counts each outcome: a corrupt record or a skipped one was
  // not recovered.
  size_t done = 0, attention = 0, corrupt = 0, skipped = 0;
  for (const RecoveredTx& tx : report.txs) {
    if (tx.decision == Decision::kNeedsAttention) {
      attention++;
    } else if (tx.decision == Decision::kCorrupt) {
      corrupt++;
    } else if (tx.decision == Decision::kSkippedLiveOwner) {
      skipped++;
    } else {
      done++;
    }
  }
  auto plural = [](size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  os << plural(report.txs.size(), "transaction", "transactions") << " examined: "
     << done << (dry_run ? " would be recovered" : " recovered");
  if (skipped > 0) os << ", " << skipped << " skipped (owner still running)";
  if (corrupt > 0) {
    os << ", " << plural(corrupt, "corrupt record", "corrupt records")
       << " left untouched (see `fstx verify`)";
  }
  if (attention > 0) {
    os << ", " << attention << " need" << (attention == 1 ? "s" : "")
       << " attention: see `fstx show ID`, fix the tree by hand, then `fstx resolve ID --retry`"
          " (or --abandon to close it as it is)";
  }
  if (dry_run) os << " (dry run: nothing changed)";
  os << "\n";
}

Json ErrorJson(const std::string& message, const Status& s, int exit_code) {
  return Json{{"code", code_name(s.code())}, {"message", message}, {"exit", exit_code}};
}

int Fail(bool json, Json base, const std::string& what, const Status& s, int exit_code) {
  PrintError(what, s.message());
  if (json) {
    base["error"] = ErrorJson(what.empty() ? s.message() : what + ": " + s.message(), s, exit_code);
    std::cout << DumpJson(base);
  }
  return exit_code;
}

std::string DescribeIntent(const Intent& in) {
  std::string s = op_kind_name(in.kind);
  switch (in.kind) {
    case OpKind::kRename:
      s += " " + Printable(in.src) + " -> " + Printable(in.path);
      if (in.replace) s += " (replace)";
      break;
    case OpKind::kWriteFile:
      s += " " + Printable(in.path) + " mode " + FormatMode(in.mode) + ", " + std::to_string(in.data_size) +
           " bytes";
      if (!in.content.empty()) s += " (staged in " + Printable(in.content) + ")";
      break;
    case OpKind::kWriteRange:
      s += " " + Printable(in.path) + " at " + std::to_string(in.offset) + ", " + std::to_string(in.data_size) +
           " bytes";
      break;
    case OpKind::kSymlink:
      s += " " + Printable(in.path) + " -> " + Printable(in.data);
      if (in.replace) s += " (replace)";
      break;
    case OpKind::kRemove: s += " " + Printable(in.path); break;
    case OpKind::kMkdir: s += " " + Printable(in.path) + " mode " + FormatMode(in.mode); break;
  }
  return s;
}

namespace {

std::string FingerprintText(const Fingerprint& fp) {
  if (!fp.present()) return "absent";
  return std::string(file_type_name(static_cast<FileType>(fp.type))) + " dev " +
         std::to_string(fp.dev) + " ino " + std::to_string(fp.ino) + " mode " +
         FormatMode(fp.mode) + " uid " + std::to_string(fp.uid) + " gid " +
         std::to_string(fp.gid) + " size " + std::to_string(fp.size);
}

}  // namespace

void PrintRecord(std::ostream& os, const TxRecord& rec, bool in_history) {
  os << "transaction " << rec.id << " \"" << Printable(rec.label) << "\"\n"
     << "  state     " << tx_state_name(rec.state) << (in_history ? " (history)" : " (active)")
     << "\n"
     << "  policy    " << policy_name(rec.policy) << "\n"
     << "  owner     pid " << rec.owner.pid << ", start time " << rec.owner.start_time
     << ", boot " << (rec.owner.boot_id.empty() ? "-" : Printable(rec.owner.boot_id)) << "\n"
     << "  created   " << FormatTime(rec.created_us) << "\n"
     << "  finished  " << FormatTime(rec.finished_us) << "\n";
  if (!rec.note.empty()) os << "  note      " << Printable(rec.note) << "\n";
  os << "  ops (" << rec.intents.size() << "):\n";
  for (size_t i = 0; i < rec.intents.size(); ++i) {
    const Intent& in = rec.intents[i];
    os << "    " << i + 1 << ". " << DescribeIntent(in) << "\n";
    if (in.kind == OpKind::kWriteFile) os << "         data:   \"" << Preview(in.data) << "\"\n";
    if (in.kind == OpKind::kRename || in.kind == OpKind::kRemove) {
      os << "         moved:  " << FingerprintText(in.moved) << "\n";
    }
    os << "         before: " << FingerprintText(in.before) << "\n";
  }
}

}  // namespace fstx::cli
