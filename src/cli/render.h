// render.h — how the fstx command shows journal records and recovery
// reports, as JSON (nlohmann::ordered_json, field order stable) and as
// human-readable text. The JSON field names are documented in README.md
// ("JSON output"); keep the two in step.
//
// Pure formatting: no I/O except the Print* functions, which write to the
// given stream. Thread-compatible.
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "fstx/fstx.h"
#include "fstx/status.h"
#include "fstx/record.h"

namespace fstx::cli {

using Json = nlohmann::ordered_json;

// Pretty JSON text with a final newline; invalid UTF-8 (paths are bytes)
// is replaced with U+FFFD instead of throwing.
std::string DumpJson(const Json& j);

// {"type","dev","ino","mode","uid","gid","size"}; {"type":"absent"} if absent.
Json FingerprintJson(const Fingerprint& fp);
// {"op" (1-based, as in messages),"kind","path","from","replace","mode","data_length",
//  "data_preview","data_base64","moved","before"}.
Json IntentJson(const Intent& in, size_t index);
// Summary fields: {"id","label","state","policy","created","created_us",
// "finished","finished_us","ops","note"}; with `full`, also "owner" and
// "intents".
Json RecordJson(const TxRecord& rec, bool full);
// {"id","label","decision","ops_redone","ops_undone","message"}.
Json RecoveredJson(const RecoveredTx& tx);
// {"transactions":[...], "needs_attention": bool}.
Json ReportJson(const RecoveryReport& report);

// LockedPaths (the paths an unfinished transaction holds): fstx/inspect.h.

// {"code", "message", "exit"}: the "error" member of every --json output.
Json ErrorJson(const std::string& message, const Status& s, int exit_code);
// A failed command: prints "fstx: <what>: <why>" to stderr and, with
// `json`, `base` plus "error" (ErrorJson) to stdout. Returns `exit_code`.
int Fail(bool json, Json base, const std::string& what, const Status& s, int exit_code);

// One line per transaction: "tx 12 "label": rolled-back (0 redone, 3 undone)"
// plus an indented message line if any, then a summary that counts each
// outcome (recovered, skipped, corrupt, needing attention). Labels and
// messages are Printable().
void PrintReport(std::ostream& os, const RecoveryReport& report, bool dry_run);
// Every field and every intent of a record (strings Printable()).
void PrintRecord(std::ostream& os, const TxRecord& rec, bool in_history);
// "rename /a -> /b (replace)" — the op in one line (paths Printable()).
std::string DescribeIntent(const Intent& in);

}  // namespace fstx::cli
