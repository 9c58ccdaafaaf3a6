// capi.cc — the C API (fstx/c.h): version, errors, options, journal,
// recovery report and transactions, over the C++ API.
#include <cerrno>
#include <cstring>

#include "src/capi/capi_impl.h"

#ifdef FSTX_PROJECT_VERSION
static_assert(std::string_view(FSTX_PROJECT_VERSION) == FSTX_VERSION_STRING,
              "fstx/version.h does not match meson.build's project version");
#endif
static_assert(FSTX_INVALID_ARGUMENT == static_cast<int>(fstx::Code::kInvalidArgument) &&
                  FSTX_STALE == static_cast<int>(fstx::Code::kStale) &&
                  FSTX_NEEDS_ATTENTION == static_cast<int>(fstx::Code::kNeedsAttention),
              "C and C++ error codes must keep the same values");
static_assert(FSTX_DECISION_WOULD_ROLL_BACK == static_cast<int>(fstx::Decision::kWouldRollBack) &&
              FSTX_DECISION_ABANDONED == static_cast<int>(fstx::Decision::kAbandoned));
static_assert(FSTX_RESOLVE_RETRY == static_cast<int>(fstx::ResolveAction::kRetry) &&
              FSTX_RESOLVE_ABANDON == static_cast<int>(fstx::ResolveAction::kAbandon));

namespace fstx::capi {
namespace {

struct LastError {
  std::string message;
  int err = 0;
};
thread_local LastError t_last;

}  // namespace

int Fail(const Status& s) {
  try {
    t_last.message = s.message();
  } catch (...) {
    t_last.message.clear();
  }
  t_last.err = s.err();
  return static_cast<int>(s.code());
}

int Ok() {
  t_last.message.clear();
  t_last.err = 0;
  return FSTX_OK;
}

int Invalid(const char* what) { return Fail(Status(Code::kInvalidArgument, what)); }

}  // namespace fstx::capi

using fstx::capi::Fail;
using fstx::capi::FromStatus;
using fstx::capi::Guard;
using fstx::capi::Invalid;
using fstx::capi::Ok;

namespace {

// Adds one op: NULL checks, then `add` under the exception guard.
template <class F>
int AddOp(fstx_txn* t, std::initializer_list<const void*> args, const char* name, F&& add) {
  if (t == nullptr) return Invalid(name);
  for (const void* a : args)
    if (a == nullptr) return Invalid(name);
  return Guard([&] {
    add(t->t);
    return Ok();
  });
}

fstx::RenameMode Mode(int replace) {
  return replace == FSTX_REPLACE ? fstx::RenameMode::kReplace : fstx::RenameMode::kNoReplace;
}

// A write_file mode argument: -1 (keep the replaced file's, 0644 for a new
// one) or permission bits, checked by the caller.
std::optional<uint32_t> OptionalMode(int mode) {
  return mode >= 0 ? std::optional<uint32_t>(static_cast<uint32_t>(mode)) : std::nullopt;
}

}  // namespace

extern "C" {

const char* fstx_version(void) { return fstx::Version(); }
int fstx_version_number(void) { return FSTX_VERSION_NUMBER; }

const char* fstx_strerror(int code) {
  if (code >= 0 && code <= FSTX_STALE) return fstx::code_name(static_cast<fstx::Code>(code));
  if (code == FSTX_NO_MEMORY) return "no_memory";
  if (code == FSTX_INTERNAL) return "internal";
  return "unknown";
}

const char* fstx_errmsg(void) { return fstx::capi::t_last.message.c_str(); }
int fstx_errno(void) { return fstx::capi::t_last.err; }

fstx_options* fstx_options_new(const char* journal_dir) {
  if (journal_dir == nullptr) return nullptr;
  auto* o = new (std::nothrow) fstx_options;
  if (o == nullptr) return nullptr;
  try {
    o->o.dir = journal_dir;
  } catch (...) {
    delete o;
    return nullptr;
  }
  return o;
}

int fstx_options_add_root(fstx_options* o, const char* root) {
  if (o == nullptr || root == nullptr) return Invalid("fstx_options_add_root: NULL argument");
  return Guard([&] {
    o->o.roots.emplace_back(root);
    return Ok();
  });
}

void fstx_options_set_recover_on_open(fstx_options* o, int on) {
  if (o) o->o.recover_on_open = on != 0;
}

void fstx_options_set_log(fstx_options* o, fstx_log_fn fn, void* ctx) {
  if (o == nullptr) return;
  o->log = fn;
  o->log_ctx = ctx;
}

void fstx_options_set_lock_wait_ms(fstx_options* o, int64_t ms) {
  if (o) o->o.lock_wait_ms = ms < 0 ? 0 : ms;
}

void fstx_options_set_history_limits(fstx_options* o, uint64_t max_count, int64_t max_age_s,
                                     uint64_t max_bytes) {
  if (o == nullptr) return;
  const fstx::Options defaults;
  o->o.history_max_count = max_count ? max_count : defaults.history_max_count;
  o->o.history_max_age_s = max_age_s > 0 ? max_age_s : defaults.history_max_age_s;
  o->o.history_max_bytes = max_bytes ? max_bytes : defaults.history_max_bytes;
}

void fstx_options_set_inline_content_max(fstx_options* o, uint64_t bytes) {
  if (o) o->o.inline_content_max = bytes;
}

void fstx_options_free(fstx_options* o) { delete o; }

int fstx_journal_open(const fstx_options* o, fstx_journal** out) {
  if (out) *out = nullptr;
  if (o == nullptr || out == nullptr) return Invalid("fstx_journal_open: NULL argument");
  return Guard([&] {
    fstx::Options opts = o->o;
    if (o->log) {
      fstx_log_fn fn = o->log;
      void* ctx = o->log_ctx;
      opts.log = [fn, ctx](fstx::LogLevel level, std::string_view msg) {
        std::string line(msg);
        fn(ctx, static_cast<int>(level), line.c_str());
      };
    }
    auto j = fstx::Journal::Open(opts);
    if (!j.ok()) return Fail(j.status());
    auto h = std::make_unique<fstx_journal>();
    h->j = std::move(*j);
    h->open_report.r = h->j->open_report();
    h->inspector.in = &h->j->inspector();
    *out = h.release();
    return Ok();
  });
}

void fstx_journal_close(fstx_journal* j) { delete j; }

int fstx_journal_flush(fstx_journal* j) {
  if (j == nullptr) return Invalid("fstx_journal_flush: NULL journal");
  return Guard([&] {
    fstx::Status s = j->j->Flush();
    return FromStatus(s);
  });
}

const fstx_report* fstx_journal_open_report(const fstx_journal* j) { return j ? &j->open_report : nullptr; }

int fstx_journal_recover(fstx_journal* j, int dry_run, fstx_report** out) {
  if (out) *out = nullptr;
  if (j == nullptr || out == nullptr) return Invalid("fstx_journal_recover: NULL argument");
  return Guard([&] {
    auto r = std::make_unique<fstx_report>();
    fstx::Status s = j->j->Recover(&r->r, dry_run != 0);
    *out = r.release();
    return FromStatus(s);
  });
}

int fstx_journal_resolve(fstx_journal* j, uint64_t id, int action, const char* reason, fstx_report** out) {
  if (out) *out = nullptr;
  if (j == nullptr || out == nullptr) return Invalid("fstx_journal_resolve: NULL argument");
  if (action != FSTX_RESOLVE_RETRY && action != FSTX_RESOLVE_ABANDON)
    return Invalid("fstx_journal_resolve: action is not FSTX_RESOLVE_RETRY or FSTX_RESOLVE_ABANDON");
  return Guard([&] {
    auto r = std::make_unique<fstx_report>();
    fstx::ResolveResult res;
    fstx::Status s = j->j->Resolve(id, static_cast<fstx::ResolveAction>(action), &res, reason ? reason : "");
    if (res.tx.id != 0) r->r.txs.push_back(res.tx);
    r->kept = std::move(res.kept);
    *out = r.release();
    return FromStatus(s);
  });
}

const fstx_inspector* fstx_journal_inspector(const fstx_journal* j) { return j ? &j->inspector : nullptr; }

size_t fstx_report_count(const fstx_report* r) { return r ? r->r.txs.size() : 0; }

int fstx_report_get(const fstx_report* r, size_t i, fstx_recovered* out) {
  if (r == nullptr || out == nullptr || i >= r->r.txs.size()) return Invalid("fstx_report_get: no such entry");
  const fstx::RecoveredTx& t = r->r.txs[i];
  out->id = t.id;
  out->label = t.label.c_str();
  out->decision = static_cast<int>(t.decision);
  out->ops_redone = t.ops_redone;
  out->ops_undone = t.ops_undone;
  out->message = t.message.c_str();
  return Ok();
}

int fstx_report_needs_attention(const fstx_report* r) { return r && r->r.needs_attention() ? 1 : 0; }
void fstx_report_free(fstx_report* r) { delete r; }
size_t fstx_report_kept_count(const fstx_report* r) { return r ? r->kept.size() : 0; }
const char* fstx_report_kept(const fstx_report* r, size_t i) {
  return r && i < r->kept.size() ? r->kept[i].c_str() : nullptr;
}

const char* fstx_decision_name(int decision) {
  if (decision < FSTX_DECISION_ROLLED_FORWARD || decision > FSTX_DECISION_ABANDONED) return "unknown";
  return fstx::decision_name(static_cast<fstx::Decision>(decision));
}

int fstx_txn_begin(fstx_journal* j, const char* label, fstx_txn** out) {
  if (out) *out = nullptr;
  if (j == nullptr || out == nullptr) return Invalid("fstx_txn_begin: NULL argument");
  return Guard([&] {
    *out = new fstx_txn{j->j->Begin(label ? label : "")};
    return Ok();
  });
}


int fstx_txn_set_policy(fstx_txn* t, int policy) {
  if (t == nullptr || (policy != FSTX_POLICY_ROLLBACK && policy != FSTX_POLICY_ROLLFORWARD))
    return Invalid("fstx_txn_set_policy: NULL txn or unknown policy");
  t->t.SetPolicy(static_cast<fstx::TxPolicy>(policy));
  return Ok();
}

int fstx_txn_rename(fstx_txn* t, const char* from, const char* to, int replace) {
  if (replace != FSTX_REPLACE && replace != FSTX_NO_REPLACE) return Invalid("fstx_txn_rename: replace is not FSTX_REPLACE or FSTX_NO_REPLACE");
  return AddOp(t, {from, to}, "fstx_txn_rename: NULL argument",
               [&](fstx::Transaction& x) { x.Rename(from, to, Mode(replace)); });
}

int fstx_txn_write_file(fstx_txn* t, const char* path, const void* data, size_t len, int mode) {
  if (data == nullptr && len > 0) return Invalid("fstx_txn_write_file: NULL data");
  if (mode < -1 || mode > 07777) return Invalid("fstx_txn_write_file: mode is not -1 or permission bits");
  return AddOp(t, {path}, "fstx_txn_write_file: NULL argument", [&](fstx::Transaction& x) {
    x.WriteFile(path, std::string_view(static_cast<const char*>(data), len), OptionalMode(mode));
  });
}

int fstx_txn_write_file_from(fstx_txn* t, const char* path, const char* content_file, int mode) {
  if (mode < -1 || mode > 07777) return Invalid("fstx_txn_write_file_from: mode is not -1 or permission bits");
  return AddOp(t, {path, content_file}, "fstx_txn_write_file_from: NULL argument",
               [&](fstx::Transaction& x) { x.WriteFileFrom(path, content_file, OptionalMode(mode)); });
}

int fstx_txn_symlink(fstx_txn* t, const char* target, const char* path, int replace) {
  if (replace != FSTX_REPLACE && replace != FSTX_NO_REPLACE) return Invalid("fstx_txn_symlink: replace is not FSTX_REPLACE or FSTX_NO_REPLACE");
  return AddOp(t, {target, path}, "fstx_txn_symlink: NULL argument",
               [&](fstx::Transaction& x) { x.Symlink(target, path, Mode(replace)); });
}

int fstx_txn_remove(fstx_txn* t, const char* path) {
  return AddOp(t, {path}, "fstx_txn_remove: NULL argument", [&](fstx::Transaction& x) { x.Remove(path); });
}

int fstx_txn_mkdir(fstx_txn* t, const char* path, unsigned mode) {
  return AddOp(t, {path}, "fstx_txn_mkdir: NULL argument", [&](fstx::Transaction& x) { x.Mkdir(path, mode); });
}

int fstx_txn_write_range(fstx_txn* t, const char* path, uint64_t offset, const void* data, size_t len) {
  if (data == nullptr && len > 0) return Invalid("fstx_txn_write_range: NULL data");
  return AddOp(t, {path}, "fstx_txn_write_range: NULL argument", [&](fstx::Transaction& x) {
    x.WriteRange(path, offset, std::string_view(static_cast<const char*>(data), len));
  });
}

int fstx_txn_expect_absent(fstx_txn* t) {
  return AddOp(t, {}, "fstx_txn_expect_absent: NULL txn",
               [&](fstx::Transaction& x) { x.Expect(fstx::Precondition::Absent()); });
}

int fstx_txn_expect_hash(fstx_txn* t, const char* content_hash) {
  return AddOp(t, {content_hash}, "fstx_txn_expect_hash: NULL argument",
               [&](fstx::Transaction& x) { x.Expect(fstx::Precondition::Hash(content_hash)); });
}

int fstx_txn_validate(fstx_txn* t) {
  if (t == nullptr) return Invalid("fstx_txn_validate: NULL txn");
  return Guard([&] {
    fstx::Status s = t->t.Validate();
    return FromStatus(s);
  });
}

int fstx_txn_commit(fstx_txn* t) {
  if (t == nullptr) return Invalid("fstx_txn_commit: NULL txn");
  return Guard([&] {
    fstx::Status s = t->t.Commit();
    return FromStatus(s);
  });
}

uint64_t fstx_txn_id(const fstx_txn* t) { return t ? t->t.id() : 0; }
void fstx_txn_free(fstx_txn* t) { delete t; }

int fstx_content_hash(const void* data, size_t len, char* out, size_t out_size) {
  if ((data == nullptr && len > 0) || out == nullptr) return Invalid("fstx_content_hash: NULL argument");
  return Guard([&] {
    std::string h = fstx::ContentHash(std::string_view(static_cast<const char*>(data), len));
    if (out_size < h.size() + 1) return Invalid("fstx_content_hash: output buffer shorter than 40 bytes");
    std::memcpy(out, h.c_str(), h.size() + 1);
    return Ok();
  });
}

}  // extern "C"
