// lmdb_pages.h — finding and damaging one page of a journal's data.mdb in
// tests, by reading the file the way LMDB does (64-bit LMDB 0.9, 4096-byte
// pages; journal/store_open.cc describes the layout). Used by the tests of
// what a read-only open checks (tests/journal, tests/cli).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace fstx::testing {

inline uint64_t Load64(const std::string& d, size_t off) {
  uint64_t v;
  std::memcpy(&v, d.data() + off, sizeof v);
  return v;
}
inline uint16_t Load16(const std::string& d, size_t off) {
  uint16_t v;
  std::memcpy(&v, d.data() + off, sizeof v);
  return v;
}

constexpr size_t kPage = 4096;

// Offset of node `i` of page `pgno`.
inline size_t NodeAt(const std::string& d, uint64_t pgno, size_t i) {
  return pgno * kPage + Load16(d, pgno * kPage + 16 + 2 * i);
}

// The root page and depth of named database `name` in the newest snapshot
// (the main tree being one leaf page, as in every journal here).
inline void NamedRoot(const std::string& d, const std::string& name, uint64_t* root, uint16_t* depth) {
  const size_t meta = Load64(d, kPage + 16 + 128) > Load64(d, 16 + 128) ? kPage : 0;
  const uint64_t main_root = Load64(d, meta + 16 + 24 + 48 + 40);
  ASSERT_EQ(Load16(d, meta + 16 + 24 + 48 + 6), 1) << "main tree deeper than one page";
  const size_t nkeys = (Load16(d, main_root * kPage + 12) - 16u) / 2;
  for (size_t i = 0; i < nkeys; i++) {
    const size_t n = NodeAt(d, main_root, i);
    const uint16_t ksize = Load16(d, n + 6);
    if (d.compare(n + 8, ksize, name) != 0) continue;
    *depth = Load16(d, n + 8 + ksize + 6);
    *root = Load64(d, n + 8 + ksize + 40);
    return;
  }
  FAIL() << "no database " << name;
}

// The first leaf of `name`: not on the path to its last record when the
// tree is deeper than one page.
inline uint64_t FirstLeaf(const std::string& d, const std::string& name) {
  uint64_t pg = 0;
  uint16_t depth = 0;
  NamedRoot(d, name, &pg, &depth);
  for (uint16_t level = 1; level < depth; level++) {
    const size_t n = NodeAt(d, pg, 0);
    pg = Load16(d, n) | (uint64_t{Load16(d, n + 2)} << 16) | (uint64_t{Load16(d, n + 4)} << 32);
  }
  return pg;
}

// `d` with the page-number field of page `pgno` wrong: LMDB itself would
// not notice, the check does ("its page number field is 48879").
inline std::string WithBadPageNumber(std::string d, uint64_t pgno) {
  const uint64_t wrong = 0xBEEF;
  std::memcpy(&d[pgno * kPage], &wrong, sizeof wrong);
  return d;
}

}  // namespace fstx::testing
