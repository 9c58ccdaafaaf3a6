// paths_test.cc — the lexical path rules of src/fs/paths.h.

#include "src/fs/paths.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fstx/status.h"

namespace fstx {
namespace {

using paths::Normalize;

std::string NormOk(const std::string& p) {
  Result<std::string> r = Normalize(p);
  EXPECT_TRUE(r.ok()) << p << ": " << r.status().ToString();
  return r.ok() ? *r : "<error>";
}

Status NormErr(const std::string& p) {
  Result<std::string> r = Normalize(p);
  EXPECT_FALSE(r.ok()) << p << " normalised to " << (r.ok() ? *r : "");
  return r.status();
}

TEST(PathsNormalize, AcceptsNormalPaths) {
  EXPECT_EQ(NormOk("/"), "/");
  EXPECT_EQ(NormOk("/a"), "/a");
  EXPECT_EQ(NormOk("/a/b/c"), "/a/b/c");
  EXPECT_EQ(NormOk("/a/.hidden/..x/x.."), "/a/.hidden/..x/x..");
}

TEST(PathsNormalize, CollapsesSlashesAndDropsTrailing) {
  EXPECT_EQ(NormOk("//a///b//"), "/a/b");
  EXPECT_EQ(NormOk("/a/b/"), "/a/b");
  EXPECT_EQ(NormOk("///"), "/");
}

TEST(PathsNormalize, RefusesDotAndDotDot) {
  Status s = NormErr("/a/./b");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'.' components"), std::string::npos) << s.message();
  s = NormErr("/a/../b");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "path /a/../b: '..' components are not allowed");
  EXPECT_EQ(NormErr("/..").code(), Code::kInvalidArgument);
  EXPECT_EQ(NormErr("/a/.").code(), Code::kInvalidArgument);
}

TEST(PathsNormalize, RefusesRelativeEmptyAndNul) {
  EXPECT_EQ(NormErr("a/b").code(), Code::kInvalidArgument);
  EXPECT_EQ(NormErr("").code(), Code::kInvalidArgument);
  EXPECT_EQ(NormErr("./a").code(), Code::kInvalidArgument);
  Status s = NormErr(std::string("/a\0b", 4));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("NUL"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find('\0'), std::string::npos);
}

TEST(PathsNormalize, ComponentLengthLimit) {
  EXPECT_EQ(NormOk("/d/" + std::string(255, 'x')), "/d/" + std::string(255, 'x'));
  Status s = NormErr("/d/" + std::string(300, 'x') + "/e");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("is 300 bytes, longer than NAME_MAX (255)"), std::string::npos)
      << s.message();
  EXPECT_LT(s.message().size(), 700u);  // the long component is abbreviated
}

TEST(PathsNormalize, TotalLengthLimit) {
  // 20 components of 200 bytes: 4020 bytes, fine; 21: 4221, too long.
  std::string p;
  for (int i = 0; i < 20; ++i) p += "/" + std::string(200, 'a' + i);
  EXPECT_EQ(NormOk(p), p);
  std::string longer = p + "/" + std::string(200, 'z');
  Status s = NormErr(longer);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("PATH_MAX"), std::string::npos) << s.message();
  // Exactly PATH_MAX - 1 bytes is accepted, PATH_MAX is not.
  std::string at = "/" + std::string(4095 - 1, 'q');
  for (size_t i = 200; i < at.size(); i += 200) at[i] = '/';
  EXPECT_EQ(at.size(), 4095u);
  EXPECT_TRUE(Normalize(at).ok()) << Normalize(at).status().ToString();
  EXPECT_FALSE(Normalize(at + "q").ok());
  // Redundant slashes do not count.
  EXPECT_TRUE(Normalize(std::string(5000, '/') + "a").ok());
}

TEST(Paths, ParentLeafJoin) {
  EXPECT_EQ(paths::Parent("/a/b"), "/a");
  EXPECT_EQ(paths::Parent("/a"), "/");
  EXPECT_EQ(paths::Parent("/"), "/");
  EXPECT_EQ(paths::Leaf("/a/b"), "b");
  EXPECT_EQ(paths::Leaf("/a"), "a");
  EXPECT_EQ(paths::Join("/a", "b"), "/a/b");
  EXPECT_EQ(paths::Join("/", "b"), "/b");
  EXPECT_EQ(paths::Join(paths::Parent("/x/y/z"), paths::Leaf("/x/y/z")), "/x/y/z");
}

TEST(Paths, IsAncestor) {
  EXPECT_TRUE(paths::IsAncestor("/a", "/a/b"));
  EXPECT_TRUE(paths::IsAncestor("/a", "/a/b/c"));
  EXPECT_FALSE(paths::IsAncestor("/a", "/ab"));
  EXPECT_FALSE(paths::IsAncestor("/a", "/a"));
  EXPECT_FALSE(paths::IsAncestor("/a/b", "/a"));
  EXPECT_TRUE(paths::IsAncestor("/", "/a"));
  EXPECT_FALSE(paths::IsAncestor("/", "/"));
  EXPECT_TRUE(paths::IsSameOrAncestor("/a", "/a"));
  EXPECT_TRUE(paths::IsSameOrAncestor("/a", "/a/b"));
  EXPECT_FALSE(paths::IsSameOrAncestor("/a", "/ab"));
}

TEST(Paths, Rebase) {
  EXPECT_EQ(paths::Rebase("/a/b/c", "/a/b", "/x"), "/x/c");
  EXPECT_EQ(paths::Rebase("/a/b", "/a/b", "/x"), "/x");
  EXPECT_EQ(paths::Rebase("/a/bc", "/a/b", "/x"), "/a/bc");  // not beneath
  EXPECT_EQ(paths::Rebase("/q", "/a", "/x"), "/q");
  EXPECT_EQ(paths::Rebase("/a/b", "/a", "/"), "/b");
  EXPECT_EQ(paths::Rebase("/a/b", "/", "/r"), "/r/a/b");
}

TEST(Paths, FindRoot) {
  std::vector<std::string> roots = {"/srv", "/srv/data", "/var"};
  EXPECT_EQ(paths::FindRoot(roots, "/srv/x"), 0);
  EXPECT_EQ(paths::FindRoot(roots, "/srv/data/x"), 1);  // longest wins
  EXPECT_EQ(paths::FindRoot(roots, "/srv/data"), 0);    // strictly beneath /srv
  EXPECT_EQ(paths::FindRoot(roots, "/srv"), -1);        // a root is not beneath itself
  EXPECT_EQ(paths::FindRoot(roots, "/srvx/a"), -1);
  EXPECT_EQ(paths::FindRoot(roots, "/var/lib"), 2);
  EXPECT_EQ(paths::FindRoot(roots, "/etc/x"), -1);

  std::vector<std::string> slash = {"/", "/home"};
  EXPECT_EQ(paths::FindRoot(slash, "/etc"), 0);
  EXPECT_EQ(paths::FindRoot(slash, "/home/u"), 1);
  EXPECT_EQ(paths::FindRoot(slash, "/"), -1);
  EXPECT_EQ(paths::FindRoot({}, "/a"), -1);
}

TEST(Paths, CheckBeneathRoots) {
  std::vector<std::string> roots = {"/a", "/b"};
  Result<std::string> r = paths::CheckBeneathRoots(roots, "/a//x/");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "/a/x");
  r = paths::CheckBeneathRoots(roots, "/c/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutsideRoot);
  EXPECT_EQ(r.status().message(), "path /c/x is not beneath any root (roots: /a, /b)");
  r = paths::CheckBeneathRoots(roots, "/a/../etc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(paths::CheckBeneathRoots(roots, "/a").status().code(), Code::kOutsideRoot);
}

}  // namespace
}  // namespace fstx
