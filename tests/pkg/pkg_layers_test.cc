// pkg_layers_test.cc — the layers of the source tree, as folders, include
// only the layers below them (README "Source layout"):
//
//   include/fstx  the public API
//   src/fs        the filesystem layer (confined resolution, PosixFs, hashes)
//   journal       the store (records, codec, the LMDB environment)
//   src/ops       planning, applying and undoing ops, staging, barriers
//   recovery      roll forward or back; builds on src/ops and journal
//   src/engine    the engine behind fstx::Journal; calls recovery
//   src/capi      the C API, on the public C++ headers only
//   src/cli       the fstx command, on the public headers only
//
// The test reads every #include "..." of every source file and fails on one
// that reaches a layer above its own (or sideways into one it must not see),
// naming the file, the line and the header. A cycle between two folders is
// one such include.
#include <gtest/gtest.h>

#include <boost/filesystem.hpp>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/pkg/pkg_util.h"

namespace fstx::pkgtest {
namespace {

namespace fs = boost::filesystem;

// Which folders' headers each folder may include (its own always).
const std::map<std::string, std::set<std::string>>& Allowed() {
  static const std::map<std::string, std::set<std::string>> kAllowed = {
      {"src/fs", {"fstx"}},
      {"journal", {"fstx", "src/fs"}},
      {"src/ops", {"fstx", "src/fs", "journal"}},
      {"recovery", {"fstx", "src/fs", "journal", "src/ops"}},
      {"src/engine", {"fstx", "src/fs", "journal", "src/ops", "recovery"}},
      {"src/capi", {"fstx"}},
      {"src/cli", {"fstx", "fstx/virt"}},
      {"src/virt", {"fstx", "fstx/virt"}},
  };
  return kAllowed;
}

// The folder part of an include: "src/ops/plan.h" -> "src/ops",
// "fstx/virt/rename.h" -> "fstx/virt", "spec.h" -> "" (same folder).
std::string FolderOf(const std::string& header) {
  size_t slash = header.rfind('/');
  return slash == std::string::npos ? "" : header.substr(0, slash);
}

std::vector<std::string> Violations(const fs::path& root, const std::string& folder,
                                    const std::set<std::string>& allowed) {
  std::vector<std::string> out;
  for (const fs::directory_entry& e : fs::directory_iterator(root / folder)) {
    const std::string ext = e.path().extension().string();
    if (ext != ".cc" && ext != ".h") continue;
    std::ifstream in(e.path().string());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const std::string tag = "#include \"";
      if (line.rfind(tag, 0) != 0) continue;
      const std::string header = line.substr(tag.size(), line.find('"', tag.size()) - tag.size());
      const std::string from = FolderOf(header);
      if (from.empty() || from == folder || allowed.count(from) > 0) continue;
      out.push_back(folder + "/" + e.path().filename().string() + ":" + std::to_string(n) + " includes " +
                    header);
    }
  }
  return out;
}

TEST(Layers, EachFolderIncludesOnlyTheLayersBelowIt) {
  const fs::path root = EnvPath("FSTX_SOURCE_ROOT");
  size_t files = 0;
  for (const auto& [folder, allowed] : Allowed()) {
    ASSERT_TRUE(fs::is_directory(root / folder)) << (root / folder).string() << " is missing";
    for (const fs::directory_entry& e : fs::directory_iterator(root / folder)) {
      files += e.path().extension() == ".cc" ? 1 : 0;
    }
    const std::vector<std::string> bad = Violations(root, folder, allowed);
    for (const std::string& v : bad) ADD_FAILURE() << v;
  }
  EXPECT_GT(files, 30u) << "the source tree under " << root.string() << " looks empty";
}

TEST(Layers, NoSourceFileIsLeftAtTheTopOfSrc) {
  const fs::path root = EnvPath("FSTX_SOURCE_ROOT");
  for (const fs::directory_entry& e : fs::directory_iterator(root / "src")) {
    const std::string ext = e.path().extension().string();
    EXPECT_FALSE(ext == ".cc" || ext == ".h") << e.path().string() << " belongs in a layer's folder";
  }
}

// The check itself can fail: an include of the engine from the ops layer is
// reported.
TEST(Layers, AnUpwardIncludeIsReported) {
  TempDir dir;
  fs::create_directories(fs::path(dir.path()) / "src/ops");
  WriteFileRaw(dir.path() + "/src/ops/bad.cc", "#include \"src/ops/plan.h\"\n#include \"src/engine/locks.h\"\n");
  const std::vector<std::string> bad = Violations(dir.path(), "src/ops", Allowed().at("src/ops"));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "src/ops/bad.cc:2 includes src/engine/locks.h");
}

}  // namespace
}  // namespace fstx::pkgtest
