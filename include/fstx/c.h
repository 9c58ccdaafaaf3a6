/* fstx/c.h — the C API of fstx (C99 and C++).
 *
 *   fstx_options *o = fstx_options_new("/var/lib/myd/fstx");
 *   fstx_options_add_root(o, "/etc/myd");
 *   fstx_journal *j;
 *   int rc = fstx_journal_open(o, &j);            // recovers what a crash left
 *   fstx_options_free(o);
 *   if (rc) die(fstx_strerror(rc), fstx_errmsg());
 *   fstx_txn *t;
 *   fstx_txn_begin(j, "rename vm1 to vm2", &t);
 *   fstx_txn_rename(t, "/etc/myd/vm1.xml", "/etc/myd/vm2.xml", FSTX_NO_REPLACE);
 *   fstx_txn_write_file(t, "/etc/myd/vm2.xml", xml, len, 0600);
 *   rc = fstx_txn_commit(t);                      // all or nothing
 *   fstx_txn_free(t);
 *   fstx_journal_close(j);
 *
 * The same engine as the C++ API (fstx/fstx.h); see there and README for
 * what each call guarantees. Conventions, as in LMDB and sqlite3:
 *  - Handles are opaque: fstx_journal, fstx_txn, fstx_inspector,
 *    fstx_report, fstx_txlist, fstx_tx, fstx_verify_report. Each *_new /
 *    *_open / *_begin / call that hands out a handle has a matching *_free /
 *    *_close; passing NULL to those is a no-op.
 *  - Every call that can fail returns an fstx_code: FSTX_OK (0) or one of
 *    the values below. The values are pinned and never reused.
 *    fstx_strerror(code) names it; fstx_errmsg() is the detail of the last
 *    failed call on the calling thread (the operation, the path, the
 *    reason), valid until that thread's next fstx call.
 *  - Strings are NUL-terminated UTF-8 or raw bytes as the filesystem has
 *    them; strings returned by accessors live as long as their handle.
 *  - Nothing throws or aborts; out of memory is FSTX_NO_MEMORY.
 *  - Threads: a journal may be used from many threads; a txn belongs to one.
 *    The log callback may be called from any thread that uses the journal.
 *  - fork(): see README "Fork and exec": the child must not use a journal
 *    or inspector of its parent; it may open its own.
 */
#ifndef FSTX_C_H
#define FSTX_C_H

#include <stddef.h>
#include <stdint.h>

#include "fstx/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes. Pinned values (the C++ fstx::Code has the same ones). */
typedef enum fstx_code {
  FSTX_OK = 0,
  FSTX_INVALID_ARGUMENT = 1, /* bad input: path, option, id, NULL */
  FSTX_NOT_FOUND = 2,        /* a path (or transaction) that must exist does not */
  FSTX_EXISTS = 3,           /* a path that must not exist does */
  FSTX_OUTSIDE_ROOT = 4,     /* path not beneath a root, or escapes it */
  FSTX_BUSY = 5,             /* a path lock or the journal's writer lock is held */
  FSTX_IO_ERROR = 6,         /* an I/O call failed */
  FSTX_NO_SPACE = 7,         /* ENOSPC / EDQUOT; nothing was changed */
  FSTX_PERMISSION = 8,       /* EACCES / EPERM / EROFS */
  FSTX_CORRUPTION = 9,       /* a journal record or file cannot be trusted */
  FSTX_NEEDS_ATTENTION = 10, /* left for an operator: fstx show / resolve */
  FSTX_NOT_SUPPORTED = 11,   /* e.g. a cross-filesystem rename */
  FSTX_STALE = 12,           /* a precondition failed: the file changed */
  FSTX_NO_MEMORY = 100,      /* C API only: allocation failed */
  FSTX_INTERNAL = 101        /* C API only: an unexpected internal error */
} fstx_code;

/* Rename / symlink over an existing object or not. */
enum { FSTX_NO_REPLACE = 0, FSTX_REPLACE = 1 };
/* Transaction policy (what recovery does with an unfinished one). */
enum { FSTX_POLICY_ROLLBACK = 1, FSTX_POLICY_ROLLFORWARD = 2 };
/* Log levels of the log callback. */
enum { FSTX_LOG_DEBUG = 0, FSTX_LOG_INFO = 1, FSTX_LOG_WARN = 2, FSTX_LOG_ERROR = 3 };
/* Recovery decisions (fstx_decision_name). Pinned values. */
enum {
  FSTX_DECISION_ROLLED_FORWARD = 1,
  FSTX_DECISION_ROLLED_BACK = 2,
  FSTX_DECISION_NEEDS_ATTENTION = 3,
  FSTX_DECISION_SKIPPED_LIVE_OWNER = 4,
  FSTX_DECISION_CORRUPT = 5,
  FSTX_DECISION_WOULD_ROLL_FORWARD = 6,
  FSTX_DECISION_WOULD_ROLL_BACK = 7,
  FSTX_DECISION_ABANDONED = 8
};
/* What fstx_journal_resolve does. Pinned values (fstx::ResolveAction). */
enum { FSTX_RESOLVE_RETRY = 1, FSTX_RESOLVE_ABANDON = 2 };
/* Transaction states (fstx_tx_state). Pinned: the journal's own tags. */
enum {
  FSTX_STATE_PREPARED = 1,
  FSTX_STATE_COMMITTED = 2,
  FSTX_STATE_DONE = 3,
  FSTX_STATE_ROLLING_BACK = 4,
  FSTX_STATE_ABORTED = 5,
  FSTX_STATE_NEEDS_ATTENTION = 6
};
/* Op kinds (fstx_intent.kind). Pinned: the journal's own tags. */
enum {
  FSTX_OP_RENAME = 1,
  FSTX_OP_WRITE_FILE = 2,
  FSTX_OP_SYMLINK = 3,
  FSTX_OP_REMOVE = 4,
  FSTX_OP_MKDIR = 5,
  FSTX_OP_WRITE_RANGE = 6
};

typedef struct fstx_options fstx_options;
typedef struct fstx_journal fstx_journal;
typedef struct fstx_txn fstx_txn;
typedef struct fstx_inspector fstx_inspector;
typedef struct fstx_report fstx_report;
typedef struct fstx_txlist fstx_txlist;
typedef struct fstx_tx fstx_tx;
typedef struct fstx_verify_report fstx_verify_report;

/* Receives each log line fstx writes (level FSTX_LOG_*, one message
 * without newline); `ctx` as given. Without one, fstx logs to stderr. */
typedef void (*fstx_log_fn)(void* ctx, int level, const char* message);

/* ---- version and errors ---- */
FSTX_API const char* fstx_version(void);    /* "0.1.0" */
FSTX_API int fstx_version_number(void);     /* FSTX_VERSION_NUMBER of the library */
FSTX_API const char* fstx_strerror(int code); /* "busy", "no_space", ...; never NULL */
FSTX_API const char* fstx_errmsg(void);     /* detail of this thread's last error, "" if none */
FSTX_API int fstx_errno(void);              /* its errno, 0 if none */

/* ---- options ---- */
/* A journal directory (created 0700) and, added one by one, the roots every
 * path must lie beneath. Recovery on open is on by default. NULL if out of
 * memory. */
FSTX_API fstx_options* fstx_options_new(const char* journal_dir);
FSTX_API int fstx_options_add_root(fstx_options* o, const char* root);
FSTX_API void fstx_options_set_recover_on_open(fstx_options* o, int on);
FSTX_API void fstx_options_set_log(fstx_options* o, fstx_log_fn fn, void* ctx);
/* How long a commit waits for paths another transaction (in this process
 * or another) holds before FSTX_BUSY; 0: do not wait. Default 5000. */
FSTX_API void fstx_options_set_lock_wait_ms(fstx_options* o, int64_t ms);
/* Bounds on the finished transactions kept (oldest pruned first): count
 * (default 1000), age in seconds (30 days) and bytes (256 MiB); 0 for
 * count or bytes keeps the default. */
FSTX_API void fstx_options_set_history_limits(fstx_options* o, uint64_t max_count, int64_t max_age_s,
                                              uint64_t max_bytes);
/* write_file content larger than this many bytes is staged (written once,
 * to a file beside the target, before the journal record) instead of
 * journaled; default 65536. fstx_txn_write_file_from streams such a file
 * through a bounded buffer. */
FSTX_API void fstx_options_set_inline_content_max(fstx_options* o, uint64_t bytes);
FSTX_API void fstx_options_free(fstx_options* o);

/* ---- journal ---- */
/* Opens (creating) the journal (many processes may have it open at once)
 * and, unless turned off, recovers unfinished transactions of dead
 * processes (fstx_journal_open_report). */
FSTX_API int fstx_journal_open(const fstx_options* o, fstx_journal** out);
/* Flushes and closes. */
FSTX_API void fstx_journal_close(fstx_journal* j);
FSTX_API int fstx_journal_flush(fstx_journal* j);
/* What the recovery run by open did; owned by the journal. */
FSTX_API const fstx_report* fstx_journal_open_report(const fstx_journal* j);
/* Recovers now (dry_run: decides, changes nothing). *out is the caller's to
 * free, also when the call fails. */
FSTX_API int fstx_journal_recover(fstx_journal* j, int dry_run, fstx_report** out);
/* Ends unfinished transaction `id` that recovery will not finish on its own
 * (needs-attention) or whose record does not decode, as `fstx resolve`
 * does: FSTX_RESOLVE_RETRY recovers it now (e.g. after the tree was put
 * back by hand), FSTX_RESOLVE_ABANDON closes it leaving the tree as it is
 * and keeping every staging object (fstx_report_kept). `reason` (may be
 * NULL) is recorded with an abandon. *out (the caller's to free, also on
 * failure) holds the one transaction's outcome. FSTX_NEEDS_ATTENTION if a
 * retry still cannot place it; FSTX_NOT_FOUND if it is not unfinished;
 * FSTX_BUSY if its owner is alive. */
FSTX_API int fstx_journal_resolve(fstx_journal* j, uint64_t id, int action, const char* reason,
                                  fstx_report** out);
/* The journal's own inspector (owned by the journal): a process that has
 * the journal open inspects it through this. */
FSTX_API const fstx_inspector* fstx_journal_inspector(const fstx_journal* j);

/* ---- recovery report ---- */
typedef struct fstx_recovered {
  uint64_t id;
  const char* label;
  int decision; /* FSTX_DECISION_* */
  int ops_redone;
  int ops_undone;
  const char* message; /* why, for needs-attention / corrupt; may be "" */
} fstx_recovered;
FSTX_API size_t fstx_report_count(const fstx_report* r);
FSTX_API int fstx_report_get(const fstx_report* r, size_t i, fstx_recovered* out);
/* 1 if a transaction needs attention or is corrupt. */
FSTX_API int fstx_report_needs_attention(const fstx_report* r);
FSTX_API void fstx_report_free(fstx_report* r);
/* After an abandon: every path kept (staging objects, before-images). */
FSTX_API size_t fstx_report_kept_count(const fstx_report* r);
FSTX_API const char* fstx_report_kept(const fstx_report* r, size_t i);
FSTX_API const char* fstx_decision_name(int decision);

/* ---- transactions ---- */
FSTX_API int fstx_txn_begin(fstx_journal* j, const char* label, fstx_txn** out);
FSTX_API int fstx_txn_set_policy(fstx_txn* t, int policy);
/* replace: FSTX_NO_REPLACE or FSTX_REPLACE. */
FSTX_API int fstx_txn_rename(fstx_txn* t, const char* from, const char* to, int replace);
/* mode: permission bits, or -1 for the replaced file's (0644 if new). */
FSTX_API int fstx_txn_write_file(fstx_txn* t, const char* path, const void* data, size_t len,
                                 int mode);
/* fstx_txn_write_file with the content of the file `content_file`, read at
 * commit through a bounded buffer (it must not change until then). */
FSTX_API int fstx_txn_write_file_from(fstx_txn* t, const char* path, const char* content_file, int mode);
FSTX_API int fstx_txn_symlink(fstx_txn* t, const char* target, const char* path, int replace);
FSTX_API int fstx_txn_remove(fstx_txn* t, const char* path);
FSTX_API int fstx_txn_mkdir(fstx_txn* t, const char* path, unsigned mode);
FSTX_API int fstx_txn_write_range(fstx_txn* t, const char* path, uint64_t offset, const void* data,
                                  size_t len);
/* Preconditions on the op added last (Transaction::Expect). */
FSTX_API int fstx_txn_expect_absent(fstx_txn* t);
FSTX_API int fstx_txn_expect_hash(fstx_txn* t, const char* content_hash);
/* Checks every op without journaling or changing anything. */
FSTX_API int fstx_txn_validate(fstx_txn* t);
/* All or nothing. FSTX_OK only after the commit point. */
FSTX_API int fstx_txn_commit(fstx_txn* t);
/* The journal id once journaled; 0 before. */
FSTX_API uint64_t fstx_txn_id(const fstx_txn* t);
FSTX_API void fstx_txn_free(fstx_txn* t);
/* "xxh128:" and 32 hex digits into out (at least 40 bytes). */
FSTX_API int fstx_content_hash(const void* data, size_t len, char* out, size_t out_size);

/* ---- inspection (read-only) ---- */
/* Opens the journal in `dir` without the writer lock (works while another
 * process writes it). FSTX_NOT_FOUND if there is no journal. */
FSTX_API int fstx_inspector_open(const char* dir, fstx_inspector** out);
FSTX_API void fstx_inspector_close(fstx_inspector* in);

enum { FSTX_LIST_UNFINISHED = 1, FSTX_LIST_ALL = 3 };
/* Unfinished transactions, and with FSTX_LIST_ALL the finished ones too
 * (unfinished first, each group by id). */
FSTX_API int fstx_list(const fstx_inspector* in, int which, fstx_txlist** out);
FSTX_API size_t fstx_txlist_count(const fstx_txlist* l);
/* Owned by the list. */
FSTX_API const fstx_tx* fstx_txlist_get(const fstx_txlist* l, size_t i);
/* Records that failed to decode (not in the list). */
FSTX_API size_t fstx_txlist_corrupt_count(const fstx_txlist* l);
FSTX_API void fstx_txlist_free(fstx_txlist* l);

/* One transaction with its intents; FSTX_NOT_FOUND naming the id. */
FSTX_API int fstx_get(const fstx_inspector* in, uint64_t id, fstx_tx** out);
FSTX_API void fstx_tx_free(fstx_tx* tx);

FSTX_API uint64_t fstx_tx_id(const fstx_tx* tx);
FSTX_API const char* fstx_tx_label(const fstx_tx* tx);
FSTX_API int fstx_tx_state(const fstx_tx* tx); /* FSTX_STATE_* */
FSTX_API const char* fstx_tx_state_name(const fstx_tx* tx);
FSTX_API int fstx_tx_finished(const fstx_tx* tx); /* 1: in history */
FSTX_API int fstx_tx_policy(const fstx_tx* tx);
FSTX_API int64_t fstx_tx_created_us(const fstx_tx* tx);
FSTX_API int64_t fstx_tx_finished_us(const fstx_tx* tx);
FSTX_API const char* fstx_tx_note(const fstx_tx* tx);
FSTX_API int64_t fstx_tx_owner_pid(const fstx_tx* tx);
FSTX_API int fstx_tx_owner_alive(const fstx_tx* tx);
FSTX_API size_t fstx_tx_intent_count(const fstx_tx* tx);
typedef struct fstx_intent {
  int kind; /* FSTX_OP_* */
  const char* kind_name;
  const char* path; /* rename: destination */
  const char* src;  /* rename: source; "" otherwise */
  int replace;
  unsigned mode;
  uint64_t data_size;
  uint64_t offset; /* write_range */
} fstx_intent;
FSTX_API int fstx_tx_intent(const fstx_tx* tx, size_t i, fstx_intent* out);

/* What `fstx status` shows. */
typedef struct fstx_health {
  int exists; /* 0: no journal in dir (nothing else set) */
  unsigned format_version;
  uint64_t map_size, used_bytes, next_id;
  uint64_t unfinished, finished, corrupt;
  int writer_held;
  int64_t writer_pid;
  int needs_attention;
  int recovery_pending;
} fstx_health;
FSTX_API int fstx_health_get(const char* dir, fstx_health* out);
FSTX_API int fstx_inspector_health(const fstx_inspector* in, fstx_health* out);

/* Checks the journal and walks the roots for orphan staging objects;
 * problems are findings, not errors. */
FSTX_API int fstx_verify(const char* dir, const char* const* roots, size_t nroots,
                         fstx_verify_report** out);
FSTX_API size_t fstx_verify_count(const fstx_verify_report* r);
/* kind: "unreadable", "corrupt-journal", "corrupt-record", "format-version",
 * "orphan-staging", "lost-records". */
FSTX_API int fstx_verify_finding(const fstx_verify_report* r, size_t i, const char** kind,
                                 const char** path, const char** message);
FSTX_API void fstx_verify_free(fstx_verify_report* r);

#ifdef __cplusplus
}
#endif

#endif /* FSTX_C_H */
