/* rename_vm.c — a C daemon's VM rename with fstx's C API (fstx/c.h).
 *
 *   rename_vm JOURNAL ROOT OLD NEW
 *
 * ROOT holds a libvirt-like tree: qemu/OLD.xml (with <name>OLD</name>),
 * qemu/autostart/OLD.xml -> ../OLD.xml, snapshot/OLD/, images/OLD.qcow2.
 * The rename is one transaction: all of it happens or none. Then it lists
 * the journal's transactions. Exit: 0 done, 1 failed (nothing changed),
 * 3 needs attention, 4 no space, 5 busy after $RENAME_VM_TRIES (50) tries.
 * Build: cc rename_vm.c $(pkg-config --cflags --libs fstx) */
#define _DEFAULT_SOURCE /* usleep */
#include <fstx/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void log_line(void* ctx, int level, const char* msg) {
  (void)ctx;
  if (level >= FSTX_LOG_WARN) fprintf(stderr, "fstx: %s\n", msg);
}

static char* slurp(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  char* buf = f ? malloc(1 << 16) : NULL;
  *len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
  if (f) fclose(f);
  if (buf) buf[*len] = '\0';
  return buf;
}

/* "<name>OLD</name>" -> "<name>NEW</name>" in a new buffer. */
static char* rename_xml(const char* xml, const char* old, const char* new_name, size_t* len) {
  char tag[300], *out = malloc(strlen(xml) + 300);
  snprintf(tag, sizeof tag, "<name>%s</name>", old);
  const char* at = strstr(xml, tag);
  if (!at || !out) { free(out); return NULL; }
  *len = (size_t)sprintf(out, "%.*s<name>%s</name>%s", (int)(at - xml), xml, new_name, at + strlen(tag));
  return out;
}

static int commit_rename(fstx_journal* j, const char* r, const char* old, const char* nw) {
  char p[8][512], hash[48], label[300];
  size_t len = 0, new_len = 0;
  snprintf(p[0], 512, "%s/qemu/%s.xml", r, old);
  snprintf(p[1], 512, "%s/qemu/%s.xml", r, nw);
  snprintf(p[2], 512, "%s/qemu/autostart/%s.xml", r, old);
  snprintf(p[3], 512, "%s/qemu/autostart/%s.xml", r, nw);
  snprintf(p[4], 512, "%s/snapshot/%s", r, old);
  snprintf(p[5], 512, "%s/snapshot/%s", r, nw);
  snprintf(p[6], 512, "%s/images/%s.qcow2", r, old);
  snprintf(p[7], 512, "%s/images/%s.qcow2", r, nw);
  snprintf(label, sizeof label, "rename %s to %s", old, nw);
  char* xml = slurp(p[0], &len);
  char* edited = xml ? rename_xml(xml, old, nw, &new_len) : NULL;
  if (!edited) { fprintf(stderr, "rename_vm: %s: unreadable or without <name>%s</name>\n", p[0], old); free(xml); return 1; }
  char target[300];
  snprintf(target, sizeof target, "../%s.xml", nw);
  fstx_txn* t = NULL;
  int rc = fstx_txn_begin(j, label, &t);
  /* The config as read: a change behind our back fails with FSTX_STALE. */
  if (!rc) rc = fstx_txn_rename(t, p[0], p[1], FSTX_NO_REPLACE);
  if (!rc) rc = fstx_content_hash(xml, len, hash, sizeof hash);
  if (!rc) rc = fstx_txn_expect_hash(t, hash);
  if (!rc) rc = fstx_txn_write_file(t, p[1], edited, new_len, 0600);
  if (!rc) rc = fstx_txn_symlink(t, target, p[3], FSTX_NO_REPLACE);
  if (!rc) rc = fstx_txn_remove(t, p[2]);
  if (!rc) rc = fstx_txn_rename(t, p[4], p[5], FSTX_NO_REPLACE);
  if (!rc) rc = fstx_txn_rename(t, p[6], p[7], FSTX_NO_REPLACE);
  if (!rc) rc = fstx_txn_commit(t);
  if (!rc) printf("renamed %s to %s: transaction %llu\n", old, nw, (unsigned long long)fstx_txn_id(t));
  fstx_txn_free(t);
  free(xml);
  free(edited);
  return rc;
}

static void list_transactions(fstx_journal* j) {
  fstx_txlist* l = NULL;
  fstx_journal_flush(j); /* records completions now (else with the next write) */
  if (fstx_list(fstx_journal_inspector(j), FSTX_LIST_ALL, &l) != FSTX_OK) return;
  for (size_t i = 0; i < fstx_txlist_count(l); ++i) {
    const fstx_tx* tx = fstx_txlist_get(l, i);
    printf("tx %llu %s \"%s\" %zu ops\n", (unsigned long long)fstx_tx_id(tx), fstx_tx_state_name(tx),
           fstx_tx_label(tx), fstx_tx_intent_count(tx));
  }
  fstx_txlist_free(l);
}

int main(int argc, char** argv) {
  if (argc != 5) { fprintf(stderr, "usage: %s JOURNAL ROOT OLD NEW\n", argv[0]); return 2; }
  fstx_options* o = fstx_options_new(argv[1]);
  if (!o || fstx_options_add_root(o, argv[2]) != FSTX_OK) return 1;
  fstx_options_set_log(o, log_line, NULL);
  fstx_journal* j = NULL;
  int rc = FSTX_BUSY, max_tries = getenv("RENAME_VM_TRIES") ? atoi(getenv("RENAME_VM_TRIES")) : 50;
  /* Busy: another process has the journal, or our paths are locked; retry. */
  for (int tries = 0; rc == FSTX_BUSY && tries < max_tries; ++tries) {
    rc = fstx_journal_open(o, &j);
    if (!rc) rc = commit_rename(j, argv[2], argv[3], argv[4]);
    if (rc == FSTX_BUSY) { fstx_journal_close(j); j = NULL; usleep(100000); }
  }
  fstx_options_free(o);
  if (rc) fprintf(stderr, "rename_vm: %s: %s\n", fstx_strerror(rc), fstx_errmsg());
  if (j) list_transactions(j);
  fstx_journal_close(j);
  switch (rc) {
    case FSTX_OK: return 0;
    case FSTX_NEEDS_ATTENTION: return 3; /* an operator runs `fstx show` / `fstx resolve` */
    case FSTX_NO_SPACE: return 4;        /* nothing changed; free space and retry */
    case FSTX_BUSY: return 5;
    default: return 1;                   /* rolled back: nothing changed */
  }
}
