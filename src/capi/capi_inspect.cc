// capi_inspect.cc — the inspection half of the C API (fstx/c.h): read-only
// inspectors, listing, one transaction with its intents, health, verify.
#include "src/capi/capi_impl.h"

using fstx::capi::Fail;
using fstx::capi::FromStatus;
using fstx::capi::Guard;
using fstx::capi::Invalid;
using fstx::capi::Ok;

namespace {

void FillHealth(const fstx::JournalHealth& h, fstx_health* out) {
  *out = fstx_health();
  out->exists = h.exists ? 1 : 0;
  out->format_version = h.format_version;
  out->map_size = h.map_size;
  out->used_bytes = h.used_bytes;
  out->next_id = h.next_id;
  out->unfinished = h.unfinished.size();
  out->finished = h.finished;
  out->corrupt = h.corrupt.size();
  out->writer_held = h.writer.held ? 1 : 0;
  out->writer_pid = h.writer.pid;
  out->needs_attention = h.needs_attention ? 1 : 0;
  out->recovery_pending = h.recovery_pending ? 1 : 0;
}

// `h` into *out if `s` is ok; the C code of `s`.
int HealthOut(const fstx::Status& s, const fstx::JournalHealth& h, fstx_health* out) {
  if (s.ok()) FillHealth(h, out);
  return FromStatus(s);
}

}  // namespace

extern "C" {

int fstx_inspector_open(const char* dir, fstx_inspector** out) {
  if (out) *out = nullptr;
  if (dir == nullptr || out == nullptr) return Invalid("fstx_inspector_open: NULL argument");
  return Guard([&] {
    auto in = fstx::Inspector::Open(dir);
    if (!in.ok()) return Fail(in.status());
    auto h = std::make_unique<fstx_inspector>();
    h->owned = std::move(*in);
    h->in = h->owned.get();
    *out = h.release();
    return Ok();
  });
}

void fstx_inspector_close(fstx_inspector* in) {
  if (in && in->owned) delete in;  // a journal's own inspector is the journal's
}

int fstx_list(const fstx_inspector* in, int which, fstx_txlist** out) {
  if (out) *out = nullptr;
  if (in == nullptr || out == nullptr || (which != FSTX_LIST_UNFINISHED && which != FSTX_LIST_ALL))
    return Invalid("fstx_list: NULL argument or unknown list");
  return Guard([&] {
    fstx::TxList list;
    fstx::Status s = in->in->List(which == FSTX_LIST_ALL, &list);
    if (!s.ok()) return Fail(s);
    auto l = std::make_unique<fstx_txlist>();
    for (auto& r : list.unfinished) {
      bool alive = fstx::OwnerAlive(r.owner);
      l->txs.push_back(fstx_tx{std::move(r), false, alive});
    }
    for (auto& r : list.finished) l->txs.push_back(fstx_tx{std::move(r), true, false});
    l->corrupt = list.corrupt.size();
    *out = l.release();
    return Ok();
  });
}

size_t fstx_txlist_count(const fstx_txlist* l) { return l ? l->txs.size() : 0; }
const fstx_tx* fstx_txlist_get(const fstx_txlist* l, size_t i) {
  return l && i < l->txs.size() ? &l->txs[i] : nullptr;
}
size_t fstx_txlist_corrupt_count(const fstx_txlist* l) { return l ? l->corrupt : 0; }
void fstx_txlist_free(fstx_txlist* l) { delete l; }

int fstx_get(const fstx_inspector* in, uint64_t id, fstx_tx** out) {
  if (out) *out = nullptr;
  if (in == nullptr || out == nullptr) return Invalid("fstx_get: NULL argument");
  return Guard([&] {
    auto tx = std::make_unique<fstx_tx>();
    fstx::Status s = in->in->Get(id, &tx->rec, &tx->finished);
    if (!s.ok()) return Fail(s);
    tx->owner_alive = !tx->finished && fstx::OwnerAlive(tx->rec.owner);
    *out = tx.release();
    return Ok();
  });
}

void fstx_tx_free(fstx_tx* tx) { delete tx; }
uint64_t fstx_tx_id(const fstx_tx* tx) { return tx ? tx->rec.id : 0; }
const char* fstx_tx_label(const fstx_tx* tx) { return tx ? tx->rec.label.c_str() : ""; }
int fstx_tx_state(const fstx_tx* tx) { return tx ? static_cast<int>(tx->rec.state) : 0; }
const char* fstx_tx_state_name(const fstx_tx* tx) { return tx ? fstx::tx_state_name(tx->rec.state) : "unknown"; }
int fstx_tx_finished(const fstx_tx* tx) { return tx && tx->finished ? 1 : 0; }
int fstx_tx_policy(const fstx_tx* tx) { return tx ? static_cast<int>(tx->rec.policy) : 0; }
int64_t fstx_tx_created_us(const fstx_tx* tx) { return tx ? tx->rec.created_us : 0; }
int64_t fstx_tx_finished_us(const fstx_tx* tx) { return tx ? tx->rec.finished_us : 0; }
const char* fstx_tx_note(const fstx_tx* tx) { return tx ? tx->rec.note.c_str() : ""; }
int64_t fstx_tx_owner_pid(const fstx_tx* tx) { return tx ? tx->rec.owner.pid : 0; }
int fstx_tx_owner_alive(const fstx_tx* tx) { return tx && tx->owner_alive ? 1 : 0; }
size_t fstx_tx_intent_count(const fstx_tx* tx) { return tx ? tx->rec.intents.size() : 0; }

int fstx_tx_intent(const fstx_tx* tx, size_t i, fstx_intent* out) {
  if (tx == nullptr || out == nullptr || i >= tx->rec.intents.size()) return Invalid("fstx_tx_intent: no such intent");
  const fstx::Intent& in = tx->rec.intents[i];
  out->kind = static_cast<int>(in.kind);
  out->kind_name = fstx::op_kind_name(in.kind);
  out->path = in.path.c_str();
  out->src = in.src.c_str();
  out->replace = in.replace ? 1 : 0;
  out->mode = in.mode;
  out->data_size = in.data_size;
  out->offset = in.offset;
  return Ok();
}

int fstx_health_get(const char* dir, fstx_health* out) {
  if (dir == nullptr || out == nullptr) return Invalid("fstx_health_get: NULL argument");
  return Guard([&] {
    fstx::JournalHealth h;
    return HealthOut(fstx::ProbeHealth(dir, &h), h, out);
  });
}

int fstx_inspector_health(const fstx_inspector* in, fstx_health* out) {
  if (in == nullptr || out == nullptr) return Invalid("fstx_inspector_health: NULL argument");
  return Guard([&] {
    fstx::JournalHealth h;
    return HealthOut(in->in->Health(&h), h, out);
  });
}

struct fstx_verify_report {
  fstx::VerifyReport r;
};

int fstx_verify(const char* dir, const char* const* roots, size_t nroots, fstx_verify_report** out) {
  if (out) *out = nullptr;
  if (dir == nullptr || out == nullptr || (roots == nullptr && nroots > 0)) return Invalid("fstx_verify: NULL argument");
  return Guard([&] {
    std::vector<std::string> rs;
    for (size_t i = 0; i < nroots; ++i) {
      if (roots[i] == nullptr) return Invalid("fstx_verify: NULL root");
      rs.emplace_back(roots[i]);
    }
    auto r = std::make_unique<fstx_verify_report>();
    fstx::Status s = fstx::Verify(dir, rs, &r->r);
    if (!s.ok()) return Fail(s);
    *out = r.release();
    return Ok();
  });
}

size_t fstx_verify_count(const fstx_verify_report* r) { return r ? r->r.findings.size() : 0; }

int fstx_verify_finding(const fstx_verify_report* r, size_t i, const char** kind, const char** path,
                        const char** message) {
  if (r == nullptr || i >= r->r.findings.size()) return Invalid("fstx_verify_finding: no such finding");
  const fstx::Finding& f = r->r.findings[i];
  if (kind) *kind = f.kind.c_str();
  if (path) *path = f.path.c_str();
  if (message) *message = f.message.c_str();
  return Ok();
}

void fstx_verify_free(fstx_verify_report* r) { delete r; }

}  // extern "C"
