// store_open.cc — opening a journal store (store.h): everything up to the
// first usable JournalStore, and its teardown.
//
// Open: check/create the directory (mode 0700, owned by this user or root,
// not a symlink, not writable by group or others), refuse a second open of
// the same directory in this process, take writer.lock (writers only),
// check data.mdb and lock.mdb (regular files, never followed through a
// symlink; data.mdb safe for LMDB to map: DataFileCheck below, as far as
// the opener reads it, CheckScope), open LMDB
// and make sure it opened the file that was checked, clear stale readers,
// open or initialise the "meta" / "active" / "history" databases, refuse
// anything that is not an fstx journal and a meta next_id that would hand
// out an id again.
//
// An unreadable data.mdb (EACCES) is kPermission, never "no journal"; a
// missing one is kNotFound for readers and a new journal for writers.
//
// Beyond store.h: a process-wide registry refuses (kBusy) a second open of
// the same journal directory in one process, read-only or not, because
// LMDB breaks if one process opens an environment twice. Entries inherited
// across fork() belong to the parent and do not block the child.
#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_set>
#include <utility>
#include <vector>

#include "journal/codec.h"
#include "journal/fork_guard.h"
#include "journal/store.h"
#include "journal/store_impl.h"
#include "src/fs/lock_wait.h"

namespace fstx {

using store_detail::BeKey;
using store_detail::FromBe;
using store_detail::LmdbStatus;
using store_detail::Val;
using store_detail::View;

namespace {

constexpr std::string_view kMetaMagic = "fstx-journal";

std::string Octal(mode_t m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0%o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Journals open in this process, by directory identity, with the pid that
// opened them (entries inherited across fork() belong to the parent).
std::mutex g_open_mu;
std::map<std::pair<dev_t, ino_t>, pid_t> g_open;

Status CheckDir(const std::string& dir, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) {
    return Status(Code::kPermission, "journal directory " + dir + " is a symlink (mode " +
                                         Octal(st.st_mode) + "); refusing to follow it");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(Code::kPermission, "journal directory " + dir + " is not a directory (mode " +
                                         Octal(st.st_mode) + ")");
  }
  if (st.st_uid != geteuid() && st.st_uid != 0) {
    return Status(Code::kPermission, "journal directory " + dir + " (mode " + Octal(st.st_mode) +
                                         ") is owned by uid " + std::to_string(st.st_uid) +
                                         ", not by this user or root");
  }
  if ((st.st_mode & 022) != 0) {
    return Status(Code::kPermission, "journal directory " + dir + " has mode " + Octal(st.st_mode) +
                                         ": group or others can write it (chmod 700 it)");
  }
  return Status::Ok();
}

Status PrepareDir(const StoreOptions& o, struct stat* st) {
  const std::string& dir = o.dir;
  if (::lstat(dir.c_str(), st) == 0) return CheckDir(dir, *st);
  if (errno != ENOENT) return Status::FromErrno(errno, "stat journal directory", dir);
  if (o.read_only) return Status(Code::kNotFound, "no fstx journal at " + dir, ENOENT);
  for (size_t pos = dir.find('/', 1); pos != std::string::npos; pos = dir.find('/', pos + 1)) {
    std::string parent = dir.substr(0, pos);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "mkdir", parent);
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "mkdir journal directory", dir);
  }
  if (::lstat(dir.c_str(), st) != 0) return Status::FromErrno(errno, "stat journal directory", dir);
  return CheckDir(dir, *st);
}

// ---- Files in the journal directory --------------------------------------
//
// Every file fstx opens there is opened with O_NOFOLLOW | O_CLOEXEC (and
// O_NONBLOCK, so that a FIFO cannot block the open) and refused unless it
// is a regular file: a planted symlink must not redirect a write, a FIFO
// must not hang a reader. A symlink is kPermission (as for the directory),
// any other non-regular file kCorruption.
Status NotRegular(const std::string& path, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) {
    return Status(Code::kPermission, path + " is a symlink; refusing to follow it", ELOOP);
  }
  const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISFIFO(st.st_mode) ? "a FIFO"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                     : S_ISCHR(st.st_mode)  ? "a character device"
                     : S_ISBLK(st.st_mode)  ? "a block device"
                                            : "not a regular file";
  return Status(Code::kCorruption, path + " is " + kind + ", not a regular file");
}

// open(2) of a file in the journal directory. ELOOP (O_NOFOLLOW met a
// symlink) is reported as the symlink it is. On success *st is its fstat.
Status OpenJournalFile(const std::string& path, int flags, int* fd_out, struct stat* st) {
  int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
  if (fd < 0) {
    int err = errno;
    struct stat lst;
    if (err == ELOOP && ::lstat(path.c_str(), &lst) == 0) return NotRegular(path, lst);
    if (err == ENXIO && ::lstat(path.c_str(), &lst) == 0) return NotRegular(path, lst);  // socket
    return Status::FromErrno(err, "open", path);
  }
  if (::fstat(fd, st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "fstat", path);
  }
  if (!S_ISREG(st->st_mode)) {
    ::close(fd);
    return NotRegular(path, *st);
  }
  *fd_out = fd;
  return Status::Ok();
}

// An existing `path` must be a regular file (lstat, no open); absent is fine.
Status CheckIfPresent(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::FromErrno(errno, "stat", path);
  }
  return S_ISREG(st.st_mode) ? Status::Ok() : NotRegular(path, st);
}

// ---- Checking data.mdb before LMDB maps it --------------------------------
//
// LMDB maps data.mdb and trusts it: a page number past the end of the file,
// a node offset or size running off its page, or an overflow run past EOF
// makes a mapped read fault (SIGBUS past EOF, SIGSEGV past the map), and a
// malformed tree trips LMDB's assertions (abort). So before mdb_env_open the
// file is read with pread(2) and checked the way LMDB will use it:
//
//  * both meta pages: P_META, their own page number, magic 0xBEEFC0DE, data
//    version 1, the same sane page size (a power of two, 512..32768), the
//    file at least two pages long;
//  * from the newest meta (the larger txnid, as LMDB picks it) the trees
//    the opener will read (CheckScope below: a writer all of them, the
//    free-list tree included; a reader the main tree, "meta", "active" and
//    the path to the last record of "history", the rest of "history" only
//    before it reads there), walked page by page: each page number within 2..mm_last_pg and wholly inside the
//    file, reached once, of the expected kind at its depth (branch above,
//    leaf at md_depth <= 32, LMDB's cursor stack), pointers and nodes
//    inside the page, keys <= 511 bytes, branch pages with >= 2 keys (1 in
//    the free tree), overflow runs inside the file and big enough for
//    their data, free-list values well-formed (count, then that many page
//    numbers within 2..mm_last_pg, none of them a live page);
//  * for a writer, pages past the end of the file up to mm_last_pg must
//    all be free (mdb.c: "the file may be shorter if the freeDB lists the
//    final pages"); so no page LMDB reads lies past EOF. A reader reads
//    only pages its walk claimed inside the file.
// No sorted-duplicate databases (fstx uses none), so no sub-pages.
//
// Layout (LMDB 0.9 mdb.c, 64-bit builds; host byte order):
//   page header (PAGEHDRSZ 16): pgno u64, pad u16, flags u16,
//                               lower u16, upper u16 (overflow: pages u32)
//   MDB_meta at page+16: magic u32, version u32, address u64, mapsize u64,
//     dbs[2] (free, main) of MDB_db, last_pg u64 @+120, txnid u64 @+128;
//     the page size is dbs[0].md_pad
//   MDB_db (48): pad u32, flags u16, depth u16, branch, leaf, overflow
//     pages u64, entries u64, root u64 (~0 = empty)
//   node (NODESIZE 8): lo u16, hi u16, flags u16, ksize u16, key, data;
//     branch: child pgno = lo | hi << 16 | flags << 32; leaf: data size
//     lo | hi << 16, F_BIGDATA data = overflow pgno u64, F_SUBDATA data =
//     an MDB_db.
//
// A reader may run while another process commits: LMDB never overwrites a
// page reachable from the newest meta, so a walk that fails is repeated if
// the newest txnid changed meanwhile, and only a failure on a stable
// snapshot is reported. Checks after LMDB has mapped the file (RunAt: a
// reader's open transaction on a newer snapshot, the lazy history check)
// check the snapshot of a live read transaction, by its txnid: its pages
// cannot change while it lives.
static_assert(sizeof(size_t) == 8, "the data.mdb check assumes LMDB's 64-bit layout");

constexpr uint32_t kLmdbMagic = 0xBEEFC0DE;
constexpr uint32_t kLmdbDataVersion = 1;
constexpr size_t kPageHdr = 16;
constexpr size_t kNodeHdr = 8;
constexpr size_t kDbBytes = 48;
constexpr size_t kMetaBytes = 136;
constexpr uint16_t kPBranch = 0x01, kPLeaf = 0x02, kPOverflow = 0x04, kPMeta = 0x08,
                   kPDirty = 0x10;
constexpr uint16_t kFBigData = 0x01, kFSubData = 0x02, kFDupData = 0x04;
constexpr uint64_t kNoPage = ~0ull;
constexpr unsigned kMaxDepth = 32;  // CURSOR_STACK
constexpr size_t kMaxKey = 511;     // MDB_MAXKEYSIZE
constexpr unsigned kDupFlags = MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP | MDB_REVERSEDUP;
constexpr int kCheckAttempts = 8;

template <class T>
T Load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct DbInfo {
  uint32_t pad = 0;
  uint16_t flags = 0;
  uint16_t depth = 0;
  uint64_t root = kNoPage;
};

DbInfo ParseDb(const unsigned char* p) {
  DbInfo d;
  d.pad = Load<uint32_t>(p);
  d.flags = Load<uint16_t>(p + 4);
  d.depth = Load<uint16_t>(p + 6);
  d.root = Load<uint64_t>(p + 40);
  return d;
}

struct MetaInfo {
  uint32_t psize = 0;
  DbInfo free_db, main_db;
  uint64_t last_pg = 0, txnid = 0;
};

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// What a check covers. A writer may read or reuse any page, so its open
// walks every tree, the free list included, and the free pages past EOF.
// A read-only open walks what LMDB reads for `fstx status`: the main tree,
// "meta", "active", and of "history" only the path to its last record
// (mdb_stat reads its root; CheckNextId reads the last record). Reading
// more of history first runs kHistory on that read's snapshot
// (JournalStore::Impl::CheckHistory): the main tree and all of "history".
enum class CheckScope { kWriter, kReader, kHistory };

class DataFileCheck {
 public:
  DataFileCheck(int fd, std::string path, CheckScope scope)
      : fd_(fd), path_(std::move(path)), scope_(scope) {}

  // The newest snapshot in the file, before LMDB maps it.
  Status Run() {
    std::string err;
    for (int attempt = 0; attempt < kCheckAttempts; attempt++) {
      uint64_t txnid = 0;
      err = CheckNewest(&txnid);
      if (err.empty()) return Status::Ok();
      MetaInfo m[2];
      uint64_t size = 0;
      if (!ReadMetas(m, &size).empty() || Newest(m).txnid == txnid) {
        // A failure on a snapshot that did not move: the file is damaged.
        return Corrupt(err);
      }
    }
    return Status(Code::kBusy, "journal file " + path_ + " kept changing while it was checked (" +
                                   std::to_string(kCheckAttempts) + " commits by another process); " +
                                   "the last check found: " + err);
  }

  // The snapshot of a live read transaction (`txnid`): LMDB reuses none of
  // its pages while that transaction lives, so a failure is damage, never
  // a concurrent commit. kBusy if neither meta page holds that snapshot
  // any more (two commits since it began): the caller begins a new one.
  Status RunAt(uint64_t txnid) {
    MetaInfo m[2];
    std::string err = ReadMetas(m, &size_);
    if (!err.empty()) return Corrupt(err);
    for (int i = 0; i < 2; i++) {
      if (m[i].txnid != txnid) continue;
      err = CheckSnapshot(m[i], i);
      return err.empty() ? Status::Ok() : Corrupt(err);
    }
    return Status(Code::kBusy, "journal file " + path_ + ": snapshot " + std::to_string(txnid) +
                                   " was replaced by newer commits while it was being checked");
  }

  // The snapshot checked last.
  uint64_t txnid() const { return meta_.txnid; }
  // How many records at the end of "history" the check covered: with
  // CheckScope::kReader those of its last leaf page, else all of them.
  uint64_t history_tail() const { return history_tail_; }

 private:
  static const MetaInfo& Newest(const MetaInfo m[2]) { return m[1].txnid > m[0].txnid ? m[1] : m[0]; }

  Status Corrupt(const std::string& err) const {
    return Status(Code::kCorruption, "journal file " + path_ + " is corrupt: " + err);
  }

  // One meta page at `off`; "" or what is wrong with it.
  std::string ReadMeta(int index, uint64_t off, MetaInfo* out) {
    unsigned char buf[kPageHdr + kMetaBytes];
    ssize_t n = ::pread(fd_, buf, sizeof buf, static_cast<off_t>(off));
    std::string which = "meta page " + std::to_string(index);
    if (n < 0) return which + ": read failed: " + std::strerror(errno);
    if (static_cast<size_t>(n) != sizeof buf) {
      return which + ": truncated (the file ends at byte " + std::to_string(off + static_cast<uint64_t>(n)) + ")";
    }
    const uint64_t pgno = Load<uint64_t>(buf);
    const uint16_t flags = Load<uint16_t>(buf + 10);
    const unsigned char* m = buf + kPageHdr;
    const uint32_t magic = Load<uint32_t>(m), version = Load<uint32_t>(m + 4);
    if (!(flags & kPMeta)) return which + ": not a meta page (flags " + Hex(flags) + ")";
    if (magic != kLmdbMagic) return which + ": magic " + Hex(magic) + ", not LMDB's 0xbeefc0de";
    if (version != kLmdbDataVersion) {
      return which + ": LMDB data version " + std::to_string(version) + ", not " +
             std::to_string(kLmdbDataVersion);
    }
    if (pgno != static_cast<uint64_t>(index)) {
      return which + ": page number field is " + std::to_string(pgno);
    }
    out->free_db = ParseDb(m + 24);
    out->main_db = ParseDb(m + 24 + kDbBytes);
    out->psize = out->free_db.pad;
    out->last_pg = Load<uint64_t>(m + 120);
    out->txnid = Load<uint64_t>(m + 128);
    if (out->psize < 512 || out->psize > 32768 || (out->psize & (out->psize - 1)) != 0) {
      return which + ": page size " + std::to_string(out->psize) +
             " is not a power of two between 512 and 32768";
    }
    return "";
  }

  // Both metas and the file size (taken after the metas, so that a
  // concurrent commit's pages are in it).
  std::string ReadMetas(MetaInfo m[2], uint64_t* size) {
    std::string err = ReadMeta(0, 0, &m[0]);
    if (err.empty()) err = ReadMeta(1, m[0].psize, &m[1]);
    struct stat st;
    if (::fstat(fd_, &st) != 0) return std::string("fstat failed: ") + std::strerror(errno);
    *size = static_cast<uint64_t>(st.st_size);
    if (!err.empty()) return err + " (file size " + std::to_string(*size) + " bytes)";
    if (m[1].psize != m[0].psize) {
      return "the meta pages disagree on the page size (" + std::to_string(m[0].psize) + " and " +
             std::to_string(m[1].psize) + ")";
    }
    if (*size < 2ull * m[0].psize) {
      return "truncated: " + std::to_string(*size) + " bytes, shorter than its two meta pages";
    }
    return "";
  }

  std::string CheckNewest(uint64_t* txnid) {
    MetaInfo m[2];
    std::string err = ReadMetas(m, &size_);
    if (!err.empty()) return err;
    const int newest = m[1].txnid > m[0].txnid ? 1 : 0;
    *txnid = m[newest].txnid;
    return CheckSnapshot(m[newest], newest);
  }

  // The trees of snapshot `meta` (meta page `index`) that the scope covers;
  // size_ is the file size read after that meta.
  std::string CheckSnapshot(const MetaInfo& meta, int index) {
    meta_ = meta;
    psize_ = meta_.psize;
    where_ = "meta page " + std::to_string(index) + " (txn " + std::to_string(meta_.txnid) + ")";
    if (meta_.last_pg < 1) return where_ + ": last page " + std::to_string(meta_.last_pg);
    file_pages_ = size_ / psize_;
    seen_.assign(static_cast<size_t>(file_pages_), false);
    free_.clear();
    history_tail_ = UINT64_MAX;
    std::string err;
    // Readers never read the free list; only a writer allocates from it.
    const bool writer = scope_ == CheckScope::kWriter;
    if (writer && !Tree({"the free-page database", meta_.free_db, kFree, kFull}, &err)) return err;
    if (!Tree({"the main database", meta_.main_db, kMain, kFull}, &err)) return err;
    return writer ? CheckFreePages() : "";
  }

  // For a writer: pages past EOF up to mm_last_pg must all be free, and no
  // page may be both free and in use (a writer would hand it out). A reader
  // reads only pages the walk claimed, each of them inside the file.
  std::string CheckFreePages() {
    // Pages LMDB has never written may lie past EOF only if they are free.
    if (meta_.last_pg + 1 > file_pages_) {
      const uint64_t missing = meta_.last_pg + 1 - file_pages_;
      std::unordered_set<uint64_t> free_set(free_.begin(), free_.end());
      bool all_free = missing <= free_set.size();
      for (uint64_t p = file_pages_; all_free && p <= meta_.last_pg; p++) all_free = free_set.count(p);
      if (!all_free) {
        return "truncated: " + std::to_string(size_) + " bytes (" + std::to_string(file_pages_) +
               " pages of " + std::to_string(psize_) + "), but " + where_ + " uses pages up to " +
               std::to_string(meta_.last_pg) + " (" +
               std::to_string((meta_.last_pg + 1) * psize_) + " bytes)";
      }
    }
    for (uint64_t p : free_) {
      if (p < file_pages_ && seen_[static_cast<size_t>(p)]) {
        return where_ + ": page " + std::to_string(p) + " is both in use and on the free list";
      }
    }
    return "";
  }

  enum Kind { kFree, kMain, kNamed };
  // How much of a tree is walked: all of it, only the path to its last
  // record (what mdb_stat, MDB_LAST and MDB_PREV within that leaf read),
  // or nothing.
  enum Walk { kFull, kLastPath, kSkip };
  struct TreeRef {
    std::string name;
    DbInfo db;
    Kind kind;
    Walk walk;
  };

  // How the scope walks the named database `key` (found in the main one).
  Walk WalkOf(const std::string& key) const {
    if (scope_ == CheckScope::kWriter) return kFull;
    const bool history = key == "history";
    if (scope_ == CheckScope::kHistory) return history ? kFull : kSkip;
    return history ? kLastPath : kFull;
  }

  bool Fail(std::string* err, const std::string& msg) {
    *err = where_ + ": " + msg;
    return false;
  }

  bool Tree(const TreeRef& t, std::string* err) {
    const DbInfo& db = t.db;
    if (db.flags & kDupFlags) {
      return Fail(err, t.name + " has sorted-duplicate flags " + Hex(db.flags) +
                           ", which no fstx journal uses");
    }
    if (db.root == kNoPage) {
      if (db.depth != 0) return Fail(err, t.name + " is empty but has depth " + std::to_string(db.depth));
      return true;
    }
    if (db.depth < 1 || db.depth > kMaxDepth) {
      return Fail(err, t.name + " has depth " + std::to_string(db.depth) + " (1.." +
                           std::to_string(kMaxDepth) + ")");
    }
    return Page(t, db.root, 1, err);
  }

  // Page `pgno` must be a page LMDB may read: in 2..last_pg and in the file.
  bool Claim(const std::string& name, uint64_t pgno, uint64_t count, std::string* err) {
    if (pgno < 2 || pgno > meta_.last_pg || count > meta_.last_pg - pgno + 1) {
      return Fail(err, name + " points to page " + std::to_string(pgno) +
                           (count > 1 ? " (+" + std::to_string(count - 1) + " overflow pages)" : "") +
                           ", outside pages 2.." + std::to_string(meta_.last_pg));
    }
    if (pgno + count > file_pages_) {
      return Fail(err, name + " needs page " + std::to_string(pgno + count - 1) +
                           ", past the end of the file (" + std::to_string(size_) + " bytes)");
    }
    for (uint64_t p = pgno; p < pgno + count; p++) {
      if (seen_[static_cast<size_t>(p)]) {
        return Fail(err, name + ": page " + std::to_string(p) + " is reached twice");
      }
      seen_[static_cast<size_t>(p)] = true;
    }
    return true;
  }

  bool ReadAt(uint64_t off, size_t len, std::vector<unsigned char>* buf) {
    buf->resize(len);
    size_t done = 0;
    while (done < len) {
      ssize_t n = ::pread(fd_, buf->data() + done, len - done, static_cast<off_t>(off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Page `pgno` of tree `t` at depth `level`: its header, then each node;
  // a branch node's child is walked (with kLastPath only the last one).
  bool Page(const TreeRef& t, uint64_t pgno, unsigned level, std::string* err) {
    if (!Claim(t.name, pgno, 1, err)) return false;
    std::vector<unsigned char> buf;
    const std::string at = t.name + ", page " + std::to_string(pgno);
    if (!ReadAt(pgno * psize_, psize_, &buf)) return Fail(err, at + ": read failed");
    const unsigned char* p = buf.data();
    const uint64_t self = Load<uint64_t>(p);
    const uint16_t flags = Load<uint16_t>(p + 10) & static_cast<uint16_t>(~kPDirty);
    const uint16_t lower = Load<uint16_t>(p + 12), upper = Load<uint16_t>(p + 14);
    if (self != pgno) return Fail(err, at + ": its page number field is " + std::to_string(self));
    const bool leaf = level == t.db.depth;
    if (flags != (leaf ? kPLeaf : kPBranch)) {
      return Fail(err, at + ": flags " + Hex(flags) + ", expected a " +
                           (leaf ? "leaf" : "branch") + " page at depth " + std::to_string(level) +
                           " of " + std::to_string(t.db.depth));
    }
    if (lower < kPageHdr || lower > upper || upper > psize_ || (lower - kPageHdr) % 2 != 0) {
      return Fail(err, at + ": free-space bounds " + std::to_string(lower) + ".." +
                           std::to_string(upper) + " do not fit a " + std::to_string(psize_) +
                           "-byte page");
    }
    const size_t nkeys = (lower - kPageHdr) / 2;
    const size_t min_keys = leaf ? 1 : (t.kind == kFree ? 1 : 2);
    if (nkeys < min_keys) {
      return Fail(err, at + ": " + std::to_string(nkeys) + " keys in a " + (leaf ? "leaf" : "branch") +
                           " page");
    }
    if (leaf && t.walk == kLastPath) history_tail_ = nkeys;
    for (size_t i = 0; i < nkeys; i++) {
      const std::string node = at + ", node " + std::to_string(i);
      const size_t off = Load<uint16_t>(p + kPageHdr + 2 * i);
      if (off < upper || off % 2 != 0 || off + kNodeHdr > psize_) {
        return Fail(err, node + ": offset " + std::to_string(off) + " outside the node area " +
                             std::to_string(upper) + ".." + std::to_string(psize_));
      }
      const unsigned char* n = p + off;
      const uint16_t ksize = Load<uint16_t>(n + 6);
      if (ksize > kMaxKey || off + kNodeHdr + ksize > psize_) {
        return Fail(err, node + ": key of " + std::to_string(ksize) + " bytes does not fit");
      }
      if (leaf) {
        if (!LeafNode(t, node, p, off, err)) return false;
        continue;
      }
      const uint64_t child = Load<uint16_t>(n) | (static_cast<uint64_t>(Load<uint16_t>(n + 2)) << 16) |
                             (static_cast<uint64_t>(Load<uint16_t>(n + 4)) << 32);
      const bool walk_child = t.walk == kFull || i + 1 == nkeys;
      if (walk_child && !Page(t, child, level + 1, err)) return false;
    }
    return true;
  }

  // The leaf node at `off` of page `p` (header and key already in bounds):
  // its value inside the page or on overflow pages; a named database (main
  // tree only) is walked as the scope says; a free-list value is parsed.
  bool LeafNode(const TreeRef& t, const std::string& node, const unsigned char* p, size_t off,
                std::string* err) {
    const unsigned char* n = p + off;
    const uint16_t nflags = Load<uint16_t>(n + 4), ksize = Load<uint16_t>(n + 6);
    const uint64_t dsize = Load<uint16_t>(n) | (static_cast<uint64_t>(Load<uint16_t>(n + 2)) << 16);
    const size_t data_off = off + kNodeHdr + ksize;
    if (nflags & ~(kFBigData | kFSubData | kFDupData)) {
      return Fail(err, node + ": unknown node flags " + Hex(nflags));
    }
    if (nflags & kFDupData) return Fail(err, node + ": sorted duplicates, which fstx never uses");
    // Values are copied only where the check reads them.
    const bool want_value = (nflags & kFSubData) || t.kind == kFree;
    std::vector<unsigned char> value;
    if (nflags & kFBigData) {
      if (nflags & kFSubData) return Fail(err, node + ": a named database on overflow pages");
      if (data_off + 8 > psize_) return Fail(err, node + ": overflow page number does not fit");
      const uint64_t ov = Load<uint64_t>(p + data_off);
      if (!Overflow(t.name, node, ov, dsize, want_value ? &value : nullptr, err)) return false;
    } else {
      if (data_off + dsize > psize_) {
        return Fail(err, node + ": " + std::to_string(dsize) + "-byte value does not fit its page");
      }
      if (want_value) value.assign(p + data_off, p + data_off + dsize);
    }
    if (nflags & kFSubData) {
      if (t.kind != kMain) return Fail(err, node + ": a named database outside the main database");
      if (dsize != kDbBytes) {
        return Fail(err, node + ": database record of " + std::to_string(dsize) + " bytes, not " +
                             std::to_string(kDbBytes));
      }
      std::string key(reinterpret_cast<const char*>(n + kNodeHdr), ksize);
      const Walk walk = WalkOf(key);
      return walk == kSkip ||
             Tree({"database \"" + key.substr(0, 64) + "\"", ParseDb(value.data()), kNamed, walk}, err);
    }
    return t.kind != kFree || FreeList(node, value, err);
  }

  // An overflow run: P_OVERFLOW, big enough for `dsize` bytes, in the file.
  bool Overflow(const std::string& name, const std::string& node, uint64_t ov, uint64_t dsize,
                std::vector<unsigned char>* value, std::string* err) {
    std::vector<unsigned char> head;
    if (ov < 2 || ov >= file_pages_ || !ReadAt(ov * psize_, kPageHdr, &head)) {
      return Fail(err, node + ": overflow page " + std::to_string(ov) +
                           " is outside the file or unreadable");
    }
    const uint64_t self = Load<uint64_t>(head.data());
    const uint16_t flags = Load<uint16_t>(head.data() + 10) & static_cast<uint16_t>(~kPDirty);
    const uint32_t pages = Load<uint32_t>(head.data() + 12);
    if (self != ov || flags != kPOverflow || pages < 1) {
      return Fail(err, node + ": page " + std::to_string(ov) + " is not an overflow page (flags " +
                           Hex(flags) + ", page number field " + std::to_string(self) + ")");
    }
    if (kPageHdr + dsize > static_cast<uint64_t>(pages) * psize_) {
      return Fail(err, node + ": " + std::to_string(dsize) + "-byte value does not fit its " +
                           std::to_string(pages) + " overflow pages");
    }
    if (!Claim(name + " (overflow)", ov, pages, err)) return false;
    if (value && !ReadAt(ov * psize_ + kPageHdr, static_cast<size_t>(dsize), value)) {
      return Fail(err, node + ": overflow value unreadable");
    }
    return true;
  }

  // A free-list value: u64 count, then that many page numbers.
  bool FreeList(const std::string& node, const std::vector<unsigned char>& v, std::string* err) {
    if (v.size() < 8 || v.size() % 8 != 0 || Load<uint64_t>(v.data()) != v.size() / 8 - 1) {
      return Fail(err, node + ": malformed free-page list (" + std::to_string(v.size()) + " bytes)");
    }
    for (size_t i = 8; i < v.size(); i += 8) {
      const uint64_t pg = Load<uint64_t>(v.data() + i);
      if (pg < 2 || pg > meta_.last_pg) {
        return Fail(err, node + ": free page " + std::to_string(pg) + " outside pages 2.." +
                             std::to_string(meta_.last_pg));
      }
      free_.push_back(pg);
    }
    return true;
  }

  int fd_;
  std::string path_;
  CheckScope scope_;
  uint64_t size_ = 0;
  uint64_t file_pages_ = 0;
  uint32_t psize_ = 0;
  MetaInfo meta_;
  std::string where_;
  std::vector<bool> seen_;
  std::vector<uint64_t> free_;
  uint64_t history_tail_ = UINT64_MAX;
};

Status LockWriter(const std::string& dir, int64_t wait_ms, int* fd_out) {
  std::string path = dir + "/writer.lock";
  int fd = -1;
  struct stat st;
  Status s = OpenJournalFile(path, O_RDWR | O_CREAT, &fd, &st);
  if (!s.ok()) return s;
  // Writers share it; an exclusive holder is a moment's probe (`fstx
  // status`) or someone keeping every writer out on purpose.
  const int64_t deadline = MonotonicMs() + std::max<int64_t>(wait_ms, 0);
  if (int err = RetryUntil(deadline, [fd] { return ::flock(fd, LOCK_SH | LOCK_NB) == 0 ? 0 : errno; }); err != 0) {
    if (err == EWOULDBLOCK) {
      char buf[32] = {};
      ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      ::close(fd);
      return Status(Code::kBusy,
                    "journal " + dir + " is in use by another process (pid " + pid + ")", err);
    }
    ::close(fd);
    return Status::FromErrno(err, "flock", path);
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "write", path);
  }
  fork_guard::Register(fd);  // a fork() child closes its copy at once
  *fd_out = fd;
  return Status::Ok();
}

// Serializes environment opens across processes: an OFD lock on byte
// kOpenGateByte of writer.lock (independent of the flock writers share),
// exclusive for a writer, shared for a reader (who cannot create).
// LMDB lets its first opener initialise lock.mdb (and a new data.mdb)
// while later ones wait on its POSIX lock; if that first opener is killed
// halfway, a waiter finds the lock region uninitialised (MDB_INVALID:
// "File is not an LMDB file"). Under the gate one process opens at a time,
// and after a death the next opener is LMDB's first again and initialises
// anew. Released by closing its descriptor.
constexpr off_t kOpenGateByte = 1 << 20;

class OpenGate {
 public:
  ~OpenGate() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Take(const std::string& dir, bool read_only, int64_t wait_ms) {
    const std::string path = dir + "/writer.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    bool shared = read_only;
    if (fd_ < 0 && read_only) fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) return read_only ? Status::Ok() : Status::FromErrno(errno, "open", path);
    const int64_t deadline = MonotonicMs() + std::max<int64_t>(wait_ms, 0);
    const int err = RetryUntil(deadline, [&] { return TryLockByte(fd_, kOpenGateByte, !shared); });
    if (err == EWOULDBLOCK)
      return Status(Code::kBusy, "journal " + dir + ": another process is opening it (for longer than the lock wait)", EBUSY);
    return err == 0 ? Status::Ok() : Status::FromErrno(err, "fcntl(F_OFD_SETLK)", path);
  }

 private:
  int fd_ = -1;
};

// After mdb_env_open: the data file LMDB holds is a regular file, is what
// `path` names now (not through a symlink), and is the file checked before
// (`checked`, null if there was none).
Status SameFileAsChecked(MDB_env* env, const std::string& path, const struct stat* checked) {
  mdb_filehandle_t fd;
  struct stat held, now;
  if (mdb_env_get_fd(env, &fd) != 0 || ::fstat(fd, &held) != 0) {
    return Status::FromErrno(errno, "fstat", path);
  }
  if (!S_ISREG(held.st_mode)) return NotRegular(path, held);
  if (::lstat(path.c_str(), &now) != 0) return Status::FromErrno(errno, "stat", path);
  if (!S_ISREG(now.st_mode)) return NotRegular(path, now);
  const bool same_now = now.st_dev == held.st_dev && now.st_ino == held.st_ino;
  const bool same_checked =
      !checked || (checked->st_dev == held.st_dev && checked->st_ino == held.st_ino);
  if (!same_now || !same_checked) {
    return Status(Code::kPermission,
                  path + " was replaced while the journal was being opened; refusing it");
  }
  return Status::Ok();
}

}  // namespace

JournalStore::Impl::~Impl() {
  // In a fork() child the environment belongs to the parent: closing it
  // here would clear the parent's reader slots in lock.mdb, so leak it.
  if (env && ::getpid() == owner_pid) mdb_env_close(env);
  if (registered) {
    std::lock_guard<std::mutex> g(g_open_mu);
    g_open.erase(dir_id);
  }
  // A fork() child closed its copy of the writer lock's fd at fork
  // (fork_guard.h); the number may name another file by now.
  if (lock_fd >= 0 && ::getpid() == owner_pid) {
    fork_guard::Unregister(lock_fd);
    ::close(lock_fd);
  }
}

// Is the environment empty (a journal being created)? Refused when it is
// not empty but has no "meta" database: it is not an fstx journal.
Status JournalStore::Impl::ProbeFresh(MDB_txn* txn, bool* fresh) {
  MDB_dbi main_dbi;
  int rc = mdb_dbi_open(txn, nullptr, 0, &main_dbi);
  if (rc != 0) return LmdbStatus(rc, "open main database", dir);
  MDB_stat ms;
  rc = mdb_stat(txn, main_dbi, &ms);
  if (rc != 0) return LmdbStatus(rc, "stat main database", dir);
  *fresh = ms.ms_entries == 0;
  if (*fresh && read_only) {
    return Status(Code::kNotFound,
                  "no fstx journal at " + dir + " (the LMDB environment is empty)");
  }
  if (*fresh) return Status::Ok();
  MDB_val k = Val("meta"), v;
  rc = mdb_get(txn, main_dbi, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return Status(
        Code::kCorruption,
        dir + " is not an fstx journal (an LMDB environment without a \"meta\" database)");
  }
  return rc == 0 ? Status::Ok() : LmdbStatus(rc, "look up meta", dir);
}

// A new journal's meta: magic, the current format, next_id 1.
Status JournalStore::Impl::InitMeta(MDB_txn* txn) {
  std::string fmt = BeKey(kFormatVersion, 4), next = BeKey(1);
  MDB_val k1 = Val("magic"), v1 = Val(kMetaMagic), k2 = Val("format"), v2 = Val(fmt);
  MDB_val k3 = Val("next_id"), v3 = Val(next);
  int rc;
  if ((rc = mdb_put(txn, meta_dbi, &k1, &v1, 0)) != 0 ||
      (rc = mdb_put(txn, meta_dbi, &k2, &v2, 0)) != 0 ||
      (rc = mdb_put(txn, meta_dbi, &k3, &v3, 0)) != 0) {
    return LmdbStatus(rc, "initialise meta", dir);
  }
  format_version = kFormatVersion;
  return Status::Ok();
}

// An existing journal's meta: our magic, a format this fstx reads. An older
// journal is upgraded in place by the first writer: its records stay
// readable (FORMAT.md "Versions"), new ones are written in the current
// version, and the meta key says so from now on.
Status JournalStore::Impl::CheckMeta(MDB_txn* txn) {
  MDB_val k = Val("magic"), v;
  int rc = mdb_get(txn, meta_dbi, &k, &v);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbStatus(rc, "read meta magic", dir);
  if (rc == MDB_NOTFOUND || View(v) != kMetaMagic) {
    std::string got =
        rc == MDB_NOTFOUND ? "no magic" : "magic \"" + std::string(View(v).substr(0, 32)) + "\"";
    return Status(Code::kCorruption, dir + " is not an fstx journal (meta has " + got + ")");
  }
  k = Val("format");
  uint64_t fmt = 0;
  rc = mdb_get(txn, meta_dbi, &k, &v);
  if (rc != 0 || v.mv_size != 4 || !FromBe(v, &fmt)) {
    return Status(Code::kCorruption,
                  "journal " + dir + ": meta \"format\" is missing or malformed");
  }
  if (fmt > kFormatVersion) {
    return Status(Code::kNotSupported, "journal " + dir + " has format version " +
                                           std::to_string(fmt) +
                                           "; this fstx reads up to version " +
                                           std::to_string(kFormatVersion) + " (upgrade fstx)");
  }
  if (fmt < kOldestFormatVersion) {
    return Status(Code::kCorruption,
                  "journal " + dir + ": unknown format version " + std::to_string(fmt));
  }
  format_version = static_cast<uint32_t>(fmt);
  if (fmt < kFormatVersion && !read_only) {
    std::string now = BeKey(kFormatVersion, 4);
    MDB_val kf = Val("format"), vf = Val(now);
    rc = mdb_put(txn, meta_dbi, &kf, &vf, 0);
    if (rc != 0) return LmdbStatus(rc, "upgrade meta format", dir);
    format_version = kFormatVersion;
  }
  return Status::Ok();
}

// Reads and validates meta; opens the three databases. `txn` is a write
// transaction when writable (creating everything on a brand-new env).
Status JournalStore::Impl::OpenDatabases(MDB_txn* txn) {
  bool fresh = false;
  Status s = ProbeFresh(txn, &fresh);
  if (!s.ok()) return s;
  const unsigned create = read_only ? 0 : MDB_CREATE;
  int rc = mdb_dbi_open(txn, "meta", create, &meta_dbi);
  if (rc == MDB_INCOMPATIBLE) {
    return Status(Code::kCorruption, dir + " is not an fstx journal (\"meta\" is not a database)");
  }
  if (rc != 0) return LmdbStatus(rc, "open meta database", dir);
  s = fresh ? InitMeta(txn) : CheckMeta(txn);
  if (!s.ok()) return s;
  rc = mdb_dbi_open(txn, "active", create, &active_dbi);
  if (rc == 0) rc = mdb_dbi_open(txn, "history", create, &history_dbi);
  if (rc == MDB_NOTFOUND) {
    return Status(Code::kCorruption,
                  "journal " + dir + ": the active or history database is missing");
  }
  if (rc != 0) return LmdbStatus(rc, "open active/history databases", dir);
  return CheckNextId(txn);
}

// FORMAT.md section 2: ids come from meta next_id and are never reused, so
// next_id is a usable id (not 0, not the largest u64) above the id of every
// record in "active" and "history". Anything else means lost records or
// corruption: a writer would hand out an id a second time. (A record that
// does not decode is reported on its own, as a corrupt record; its key is
// never handed out either: see Apply in store.cc.)
Status JournalStore::Impl::CheckNextId(MDB_txn* txn) {
  MDB_val k = Val("next_id"), v;
  int rc = mdb_get(txn, meta_dbi, &k, &v);
  uint64_t next = 0;
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbStatus(rc, "read meta next_id", dir);
  if (rc == MDB_NOTFOUND || v.mv_size != 8 || !FromBe(v, &next)) {
    return Status(Code::kCorruption, "journal " + dir + ": meta next_id is missing or malformed");
  }
  const std::string bad = "journal " + dir + ": meta next_id is " + std::to_string(next);
  if (next == 0 || next == UINT64_MAX) {
    return Status(Code::kCorruption, bad + ", which is never a valid next id");
  }
  for (auto [dbi, table] : {std::pair<MDB_dbi, const char*>{active_dbi, "active"},
                            std::pair<MDB_dbi, const char*>{history_dbi, "history"}}) {
    uint64_t top = 0;
    bool found = false;
    if (Status s = LastGoodId(txn, dbi, table, &top, &found); !s.ok()) return s;
    if (found && top >= next) {
      return Status(Code::kCorruption,
                    bad + ", not above " + table + " record " + std::to_string(top) +
                        ": the next transaction would reuse an id (the journal has lost "
                        "records or is corrupt)");
    }
  }
  return Status::Ok();
}

// The largest id of a record in `dbi` that decodes. A key of another size,
// or a value that does not decode, is reported by List as a corrupt record;
// Apply never hands out an id such a record holds either. Of "history", a
// read-only open checked only the last leaf (history_tail records): reading
// further back runs CheckHistory first.
Status JournalStore::Impl::LastGoodId(MDB_txn* txn, MDB_dbi dbi, const char* table, uint64_t* top,
                                      bool* found) {
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn, dbi, &cur);
  if (rc != 0) return LmdbStatus(rc, std::string("open cursor on ") + table, dir);
  MDB_val kk, vv;
  Status s;
  uint64_t read = 0;
  for (rc = mdb_cursor_get(cur, &kk, &vv, MDB_LAST); rc == 0;
       rc = mdb_cursor_get(cur, &kk, &vv, MDB_PREV)) {
    TxRecord rec;
    *found = kk.mv_size == 8 && FromBe(kk, top) && DecodeRecord(View(vv), &rec).ok();
    if (*found) break;
    if (dbi == history_dbi && ++read >= history_tail && !(s = CheckHistory(txn)).ok()) break;
  }
  mdb_cursor_close(cur);
  if (!s.ok()) return s;
  if (!*found && rc != MDB_NOTFOUND) {
    return LmdbStatus(rc, std::string("read the last id of ") + table, dir);
  }
  return Status::Ok();
}

// LMDB allows one environment per process and file: the directory's
// identity is registered until the store closes.
Status JournalStore::Impl::Register(const struct stat& st) {
  std::lock_guard<std::mutex> g(g_open_mu);
  auto key = std::make_pair(st.st_dev, st.st_ino);
  auto it = g_open.find(key);
  if (it != g_open.end() && it->second == ::getpid()) {
    return Status(Code::kBusy, "journal " + dir + " is already open in this process (pid " +
                                   std::to_string(::getpid()) +
                                   "); LMDB allows one environment per process: share the store");
  }
  g_open[key] = ::getpid();
  dir_id = key;
  registered = true;
  return Status::Ok();
}

namespace {

// data.mdb as checked before LMDB opens it. The fd stays open until LMDB
// has opened the file, so that its identity can be compared with what LMDB
// opened.
struct CheckedDataFile {
  int fd = -1;
  struct stat st {};
  bool fresh = false;  // no data.mdb, or an empty one: a journal being created
  uint64_t txnid = 0;  // the snapshot checked
  uint64_t history_tail = UINT64_MAX;  // DataFileCheck::history_tail
  CheckedDataFile() = default;
  CheckedDataFile(const CheckedDataFile&) = delete;
  CheckedDataFile& operator=(const CheckedDataFile&) = delete;
  ~CheckedDataFile() {
    if (fd >= 0) ::close(fd);
  }
};

// data.mdb and lock.mdb: regular files, and data.mdb safe to map (as far as
// a reader or a writer reads it: CheckScope).
Status CheckFiles(const std::string& dir, bool read_only, CheckedDataFile* data) {
  const std::string data_path = dir + "/data.mdb";
  Status s = OpenJournalFile(data_path, O_RDONLY, &data->fd, &data->st);
  if (!s.ok()) {
    if (s.err() != ENOENT) return s;  // EACCES is not "no journal"
    if (read_only) return Status(Code::kNotFound, "no fstx journal at " + dir, ENOENT);
    data->fresh = true;
  }
  if (!data->fresh && data->st.st_size == 0) {
    // What a crash while LMDB created the file leaves: no records at all.
    if (read_only) {
      return Status(Code::kNotFound, "no fstx journal at " + dir + " (" + data_path +
                                         " is empty: no transaction was ever recorded)");
    }
    data->fresh = true;
  }
  if (data->fresh) return CheckIfPresent(dir + "/lock.mdb");
  DataFileCheck check(data->fd, data_path, read_only ? CheckScope::kReader : CheckScope::kWriter);
  if (!(s = check.Run()).ok()) return s;
  data->txnid = check.txnid();
  data->history_tail = check.history_tail();
  return CheckIfPresent(dir + "/lock.mdb");
}

// Checks the snapshot of the live read transaction `txn`, in the file LMDB
// has open; *history_tail as DataFileCheck::history_tail.
Status CheckLiveSnapshot(MDB_env* env, const std::string& dir, MDB_txn* txn, CheckScope scope,
                         uint64_t* history_tail) {
  mdb_filehandle_t fd;
  if (int rc = mdb_env_get_fd(env, &fd); rc != 0) return LmdbStatus(rc, "get the data file", dir);
  DataFileCheck check(fd, dir + "/data.mdb", scope);
  Status s = check.RunAt(mdb_txn_id(txn));
  *history_tail = check.history_tail();
  return s;
}

}  // namespace

// A read-only store reads history past the part its open check covered
// (history_tail) only after this: the whole "history" tree of `txn`'s
// snapshot, checked once per open. Later snapshots add only pages that
// LMDB writers wrote since, as after any open check. kBusy if the snapshot
// was replaced meanwhile: the caller begins a new transaction.
Status JournalStore::Impl::CheckHistory(MDB_txn* txn) const {
  if (history_checked.load()) return Status::Ok();
  std::lock_guard<std::mutex> g(history_mu);
  if (history_checked.load()) return Status::Ok();
  uint64_t tail = 0;
  Status s = CheckLiveSnapshot(env, dir, txn, CheckScope::kHistory, &tail);
  if (s.ok()) history_checked.store(true);
  return s;
}

// A reader's open transaction may see a newer snapshot than the one
// checked before LMDB mapped the file (a writer committed in between):
// then that snapshot is checked too, so that the tables are opened, and
// history_tail is taken, on a checked snapshot. (A writer's full check
// covers the newest snapshot; later ones are LMDB writers' own pages.)
Status JournalStore::Impl::CheckOpenSnapshot(MDB_txn* txn) {
  if (!read_only || mdb_txn_id(txn) == checked_txnid) return Status::Ok();
  uint64_t tail = 0;
  Status s = CheckLiveSnapshot(env, dir, txn, CheckScope::kReader, &tail);
  if (!s.ok()) return s;
  checked_txnid = mdb_txn_id(txn);
  history_tail = tail;
  return Status::Ok();
}

// The LMDB environment on the checked files (`checked_data`: data.mdb as
// checked; null for a journal being created); stale readers cleared.
Status JournalStore::Impl::OpenEnvironment(const struct stat* checked_data) {
  const std::string data_path = dir + "/data.mdb", lock_path = dir + "/lock.mdb";
  int rc = mdb_env_create(&env);
  if (rc != 0) return LmdbStatus(rc, "create environment", dir);
  uint64_t map = opts.initial_map_size ? opts.initial_map_size : (8ull << 20);
  if ((rc = mdb_env_set_maxdbs(env, 4)) != 0 || (rc = mdb_env_set_mapsize(env, map)) != 0) {
    return LmdbStatus(rc, "configure environment", dir);
  }
  rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS | (read_only ? MDB_RDONLY : 0), 0600);
  if (rc != 0) return store_detail::WriteStatus(rc, "open environment", dir, 0);
  // LMDB opened both files by name, following symlinks. The directory is
  // writable only by its owner (or root), so only they could have swapped
  // a file in since the checks above; still, make sure LMDB has the file
  // that was checked and that neither is a symlink now.
  Status s = SameFileAsChecked(env, data_path, checked_data);
  if (!s.ok() || !(s = CheckIfPresent(lock_path)).ok()) return s;
  const char* lmdb_files[] = {data_path.c_str(), lock_path.c_str()};
  fork_guard::CloseOnExec(lmdb_files, 2);  // LMDB's own fds (fork_guard.h)
  rc = mdb_reader_check(env, &readers_cleared);
  return rc == 0 ? Status::Ok() : LmdbStatus(rc, "check stale readers", dir);
}

// One transaction that opens (or creates) the databases and checks meta,
// begun again (kBusy) if a reader's snapshot was replaced while checked.
Status JournalStore::Impl::OpenTables() {
  Status s;
  for (int attempt = 0; attempt < kCheckAttempts; attempt++) {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn);
    if (rc == MDB_MAP_RESIZED) {
      mdb_env_set_mapsize(env, 0);
      rc = mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn);
    }
    if (rc != 0) return LmdbStatus(rc, "begin open transaction", dir);
    s = CheckOpenSnapshot(txn);
    if (s.ok()) s = OpenDatabases(txn);
    if (s.ok()) {
      rc = mdb_txn_commit(txn);
      return rc == 0 ? Status::Ok() : store_detail::WriteStatus(rc, "commit open transaction", dir, 0);
    }
    mdb_txn_abort(txn);
    if (s.code() != Code::kBusy) return s;
  }
  return s;
}

Result<std::unique_ptr<JournalStore>> JournalStore::Open(const StoreOptions& opts) {
  if (opts.dir.empty() || opts.dir[0] != '/') {
    return Status(Code::kInvalidArgument,
                  "journal directory must be an absolute path: \"" + opts.dir + "\"");
  }
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->dir = opts.dir;
  while (impl->dir.size() > 1 && impl->dir.back() == '/') impl->dir.pop_back();
  impl->opts.dir = impl->dir;
  impl->read_only = opts.read_only;
  impl->owner_pid = ::getpid();

  struct stat st;
  Status s = PrepareDir(impl->opts, &st);
  if (!s.ok() || !(s = impl->Register(st)).ok()) return s;
  if (!opts.read_only && !(s = LockWriter(impl->dir, opts.lock_wait_ms, &impl->lock_fd)).ok()) return s;
  OpenGate gate;  // held until the databases are open
  if (!(s = gate.Take(impl->dir, opts.read_only, opts.lock_wait_ms)).ok()) return s;
  CheckedDataFile data;
  if (!(s = CheckFiles(impl->dir, opts.read_only, &data)).ok()) return s;
  impl->checked_txnid = data.txnid;
  impl->history_tail = data.history_tail;
  impl->history_checked = !opts.read_only;  // a writer's open check covers all of it
  if (!(s = impl->OpenEnvironment(data.fresh ? nullptr : &data.st)).ok()) return s;
  if (!(s = impl->OpenTables()).ok()) return s;  // its commit fully synced
  if (!opts.read_only) {
    int rc = mdb_env_set_flags(impl->env, MDB_NOMETASYNC, 1);  // see JournalStore::Sync
    if (rc != 0) return LmdbStatus(rc, "set MDB_NOMETASYNC", impl->dir);
  }
  return std::unique_ptr<JournalStore>(new JournalStore(std::move(impl)));
}

JournalStore::JournalStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JournalStore::~JournalStore() = default;

const std::string& JournalStore::dir() const {
  return impl_->dir;
}

}  // namespace fstx
