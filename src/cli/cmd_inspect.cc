// cmd_inspect.cc — read-only subcommands: `fstx status`, `fstx list`,
// `fstx show TXID`. They open the store read-only (no writer lock), so they
// work while a daemon holds the journal, and never change anything.
#include <charconv>
#include <cstdio>
#include <iostream>

#include "cli.h"
#include "context.h"
#include "render.h"
#include "text.h"

namespace fstx::cli {
namespace {

// Opens the store or explains why not. *store stays null if there is no
// journal at all (a host that never used fstx): that is not an error; one
// we cannot read (EACCES) is.
Status OpenIfExists(const std::string& dir, std::unique_ptr<Inspector>* store) {
  bool exists = false;
  Status probe = ProbeJournal(dir, &exists);
  if (!probe.ok() || !exists) return probe;
  Result<std::unique_ptr<Inspector>> s = OpenReadOnly(dir);
  if (!s.ok()) return s.status();
  *store = std::move(*s);
  return Status::Ok();
}

Json BadJson(const BadRecord& b) {
  return Json{{"table", b.table}, {"id", b.id}, {"message", b.status.message()}};
}

}  // namespace

int CmdStatus(const Globals& g, bool json) {
  const Json base{{"journal", g.journal}};
  std::unique_ptr<Inspector> store;
  Status s = OpenIfExists(g.journal, &store);
  if (!s.ok()) return Fail(json, base, "journal " + g.journal, s, kExitFailed);
  Json j;
  j["journal"] = g.journal;
  j["exists"] = store != nullptr;
  if (!store) {
    if (json) {
      j["transactions"] = Json::array();
      std::cout << DumpJson(j);
    } else {
      std::cout << "no journal at " << g.journal
                << " (fstx has not been used here): nothing unfinished\n";
    }
    return kExitOk;
  }
  JournalHealth h;
  if (!(s = store->Health(&h)).ok()) return Fail(json, base, "journal " + g.journal, s, kExitFailed);
  const WriterInfo& lock = h.writer;
  const std::vector<BadRecord>& bad = h.corrupt;
  const int64_t now = NowMicros();

  j["format_version"] = h.format_version;
  j["map_size"] = h.map_size;
  j["used_bytes"] = h.used_bytes;
  j["next_id"] = h.next_id;
  j["counts"] = Json{{"active", h.unfinished.size()}, {"history", h.finished}, {"corrupt", bad.size()}};
  j["writer"] = Json{{"held", lock.held}, {"pid", lock.held && lock.pid ? Json(lock.pid) : Json(nullptr)}};
  Json txs = Json::array();
  const bool attention = h.needs_attention, pending = h.recovery_pending;
  for (const UnfinishedTx& u : h.unfinished) {
    const TxRecord& r = u.record;
    Json t = RecordJson(r, false);
    t["owner"] = Json{{"pid", r.owner.pid},
                      {"start_time", r.owner.start_time},
                      {"boot_id", r.owner.boot_id},
                      {"alive", u.owner_alive}};
    t["age_s"] = (now - r.created_us) / 1000000;
    t["locks"] = u.locks;
    txs.push_back(std::move(t));
  }
  j["transactions"] = txs;
  Json corrupt = Json::array();
  for (const BadRecord& b : bad) corrupt.push_back(BadJson(b));
  j["corrupt"] = corrupt;
  j["needs_attention"] = attention;
  j["recovery_pending"] = pending;

  if (json) {
    std::cout << DumpJson(j);
  } else {
    std::cout << "journal " << g.journal << "\n"
              << "  format version " << h.format_version << ", map "
              << FormatBytes(h.map_size) << " (" << FormatBytes(h.used_bytes)
              << " used), next id " << h.next_id << "\n"
              << "  records: " << h.unfinished.size() << " active, " << h.finished
              << " history, " << bad.size() << " corrupt\n"
              << "  writer lock: ";
    if (lock.held) {
      std::cout << "held by pid " << (lock.pid ? std::to_string(lock.pid) : "?") << "\n";
    } else {
      std::cout << "free\n";
    }
    for (const BadRecord& b : bad) {
      std::cout << "  corrupt " << b.table << " record " << b.id << ": "
                << Printable(b.status.message()) << "\n";
    }
    if (h.unfinished.empty()) {
      std::cout << "unfinished transactions: none\n";
    } else {
      std::cout << "unfinished transactions (" << h.unfinished.size() << "):\n";
    }
    for (size_t i = 0; i < h.unfinished.size(); ++i) {
      const TxRecord& r = h.unfinished[i].record;
      const Json& t = txs[i];
      std::cout << "  tx " << r.id << "  " << tx_state_name(r.state) << "  \"" << Printable(r.label)
                << "\"  policy " << policy_name(r.policy) << ", "
                << r.intents.size() << " ops, age "
                << FormatDuration(t["age_s"].get<int64_t>()) << "\n"
                << "    owner pid " << r.owner.pid
                << (t["owner"]["alive"].get<bool>() ? " (running)" : " (dead)") << "\n";
      if (!r.note.empty()) std::cout << "    note: " << Printable(r.note) << "\n";
      const std::vector<std::string>& locks = h.unfinished[i].locks;
      std::cout << "    locks (" << locks.size() << "):\n";
      for (const std::string& p : locks) std::cout << "      " << Printable(p) << "\n";
    }
    if (attention) {
      std::cout << "a transaction needs attention: inspect it with `fstx show ID`\n";
    }
    if (pending) {
      std::cout << "recovery pending: transactions of dead processes wait for `fstx recover`\n";
    }
  }
  // Worst first: corrupt records, then a human's attention, then recovery
  // that has not run yet (monitoring reads the exit code).
  if (!bad.empty()) return kExitFailed;
  if (attention) return kExitAttention;
  return pending ? kExitPending : kExitOk;
}

int CmdList(const Globals& g, bool all, bool json) {
  const Json base{{"journal", g.journal}};
  std::unique_ptr<Inspector> store;
  Status s = OpenIfExists(g.journal, &store);
  if (!s.ok()) return Fail(json, base, "journal " + g.journal, s, kExitFailed);
  TxList list;
  if (store) {
    if (!(s = store->List(all, &list)).ok()) {
      return Fail(json, base, "journal " + g.journal, s, kExitFailed);
    }
  }
  const std::vector<TxRecord>& active = list.unfinished;
  const std::vector<TxRecord>& history = list.finished;
  const std::vector<BadRecord>& bad = list.corrupt;
  if (json) {
    Json txs = Json::array();
    for (const TxRecord& r : history) {
      Json t = RecordJson(r, false);
      t["active"] = false;
      txs.push_back(std::move(t));
    }
    for (const TxRecord& r : active) {
      Json t = RecordJson(r, false);
      t["active"] = true;
      txs.push_back(std::move(t));
    }
    Json corrupt = Json::array();
    for (const BadRecord& b : bad) corrupt.push_back(BadJson(b));
    std::cout << DumpJson(Json{{"journal", g.journal}, {"transactions", txs}, {"corrupt", corrupt}});
  } else {
    if (active.empty() && history.empty()) {
      std::cout << (all ? "no transactions in " : "no unfinished transactions in ") << g.journal
                << (all ? "\n" : " (--all shows finished ones)\n");
    } else {
      std::printf("%-6s %-15s %4s  %-20s  %-20s  %s\n", "ID", "STATE", "OPS", "CREATED",
                  "FINISHED", "LABEL");
      auto row = [](const TxRecord& r) {
        std::printf("%-6llu %-15s %4zu  %-20s  %-20s  %s\n",
                    static_cast<unsigned long long>(r.id), tx_state_name(r.state),
                    r.intents.size(), FormatTime(r.created_us).c_str(),
                    FormatTime(r.finished_us).c_str(), Printable(r.label).c_str());
      };
      for (const TxRecord& r : history) row(r);
      for (const TxRecord& r : active) row(r);
      std::fflush(stdout);
    }
    for (const BadRecord& b : bad) {
      PrintError("journal " + g.journal, b.table + " record " + std::to_string(b.id) +
                                             " is corrupt: " + b.status.message());
    }
  }
  return bad.empty() ? kExitOk : kExitFailed;
}

int CmdShow(const Globals& g, const std::string& txid, bool json) {
  const Json base{{"journal", g.journal}};
  uint64_t id = 0;
  if (!ParseTxId(txid, &id)) {
    return Fail(json, base, "show",
                Status(Code::kInvalidArgument,
                       "'" + txid + "' is not a transaction id (a positive number)"),
                kExitUsage);
  }
  std::unique_ptr<Inspector> store;
  Status s = OpenIfExists(g.journal, &store);
  if (s.ok() && !store) s = Status(Code::kNotFound, "no journal at " + g.journal);
  if (!s.ok()) return Fail(json, base, "show " + txid, s, kExitFailed);
  TxRecord rec;
  bool in_history = false;
  s = store->Get(id, &rec, &in_history);
  if (!s.ok()) {
    return Fail(json, base, "show " + txid, s, kExitFailed);
  }
  if (json) {
    Json j = RecordJson(rec, true);
    j["active"] = !in_history;
    if (!in_history) {
      j["owner"]["alive"] = OwnerAlive(rec.owner);
      j["locks"] = LockedPaths(rec);
    }
    std::cout << DumpJson(j);
  } else {
    PrintRecord(std::cout, rec, in_history);
  }
  return kExitOk;
}

}  // namespace fstx::cli
