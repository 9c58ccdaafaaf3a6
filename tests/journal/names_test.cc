// Tests for journal/names.{h,cc}: staging names are built and parsed in
// one place, parse(build(x)) == x, and nothing else parses as one.
#include "journal/names.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <string>

namespace fstx {
namespace {

TEST(NamesTest, LeafFormat) {
  EXPECT_EQ(StagingLeaf(42, 3, StagingKind::kOld), ".fstx-42-3-old");
  EXPECT_EQ(StagingLeaf(1, 0, StagingKind::kNew), ".fstx-1-0-new");
  EXPECT_EQ(StagingLeaf(7, 12, StagingKind::kDel), ".fstx-7-12-del");
}

TEST(NamesTest, PathIsASiblingOfTheTarget) {
  EXPECT_EQ(StagingPath("", "/etc/libvirt/qemu/vm1.xml", 5, 1, StagingKind::kNew),
            "/etc/libvirt/qemu/.fstx-5-1-new");
  EXPECT_EQ(StagingPath("", "/top", 5, 1, StagingKind::kOld), "/.fstx-5-1-old");
  EXPECT_EQ(StagingPath("", "/a/b/", 9, 2, StagingKind::kDel), "/a/b/.fstx-9-2-del");
}

TEST(NamesTest, LeafStaysShortForLongTargets) {
  std::string target = "/d/" + std::string(NAME_MAX, 'x');
  std::string path = StagingPath("", target, UINT64_MAX, UINT32_MAX, StagingKind::kOld);
  std::string leaf = path.substr(path.rfind('/') + 1);
  EXPECT_LT(leaf.size(), 64u);
  EXPECT_EQ(path.substr(0, 3), "/d/");
}

TEST(NamesTest, ParseInvertsBuild) {
  const uint64_t ids[] = {0, 1, 42, UINT64_MAX};
  const uint32_t ops[] = {0, 7, UINT32_MAX};
  for (uint64_t id : ids) {
    for (uint32_t op : ops) {
      for (StagingKind k : {StagingKind::kNew, StagingKind::kOld, StagingKind::kDel}) {
        StagingName n;
        ASSERT_TRUE(ParseStagingLeaf(StagingLeaf(id, op, k), &n)) << StagingLeaf(id, op, k);
        EXPECT_EQ(n.txid, id);
        EXPECT_EQ(n.op, op);
        EXPECT_EQ(n.kind, k);
      }
    }
  }
  EXPECT_TRUE(ParseStagingLeaf(".fstx-3-4-del", nullptr));
}

TEST(NamesTest, RejectsEverythingElse) {
  const char* bad[] = {
      "",
      "vm1.xml",
      ".fstx-",
      "fstx-1-2-new",
      ".fstx-1-2",
      ".fstx-1-new",
      ".fstx--2-new",
      ".fstx-1--new",
      ".fstx-1-2-",
      ".fstx-1-2-neww",
      ".fstx-1-2-NEW",
      ".fstx-01-2-new",
      ".fstx-1-02-new",
      ".fstx-+1-2-new",
      ".fstx--1-2-new",
      ".fstx-1-2-new/x",
      ".fstx-1-2-new ",
      ".fstx-1-2-3-new",
      ".fstx-18446744073709551616-0-new",  // UINT64_MAX + 1
      ".fstx-1-4294967296-old",            // UINT32_MAX + 1
      ".fstx-a-2-new",
      "x.fstx-1-2-new",
  };
  for (const char* leaf : bad) {
    StagingName n;
    n.txid = 77;
    EXPECT_FALSE(ParseStagingLeaf(leaf, &n)) << leaf;
    EXPECT_EQ(n.txid, 77u) << "output touched for " << leaf;
  }
}

}  // namespace
}  // namespace fstx
