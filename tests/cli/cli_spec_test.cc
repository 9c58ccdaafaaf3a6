// cli_spec_test.cc — malformed specs are refused with exit 2, a message
// that points at the offending op, the tree unchanged and nothing
// journaled; plus the text encodings the spec uses (base64, modes).
#include <gtest/gtest.h>

#include "src/cli/text.h"
#include "tests/cli/cli_util.h"

namespace fstx::clitest {
namespace {

struct BadSpec {
  const char* name;
  std::string spec;    // "@" stands for the root
  std::string expect;  // substring of stderr
};

std::string Fill(std::string s, const std::string& root) {
  for (size_t p = s.find('@'); p != std::string::npos; p = s.find('@', p + root.size())) {
    s.replace(p, 1, root);
  }
  return s;
}

std::vector<BadSpec> Cases() {
  const std::string ok_op = R"({"op":"mkdir","path":"@/new"})";
  auto ops = [&](const std::string& bad) { return R"({"label":"t","ops":[)" + ok_op + "," + bad + "]}"; };
  return {
      {"bad_json", "{\"label\": \"t\",\n \"ops\": [\n  {\"op\": \"remove\" \"path\": \"@/a\"}]}",
       "line 3, column"},
      {"truncated_json", R"({"ops":[)", "invalid JSON"},
      {"not_object", R"([{"op":"remove","path":"@/a"}])", "must be a JSON object, got an array"},
      {"unknown_top_field", R"({"label":"t","opz":[]})", "unknown field 'opz'"},
      {"unknown_op_field", ops(R"({"op":"rename","from":"@/a","too":"@/b"})"),
       "op 2 (rename): unknown field 'too'"},
      {"unknown_op", ops(R"({"op":"move","from":"@/a","to":"@/b"})"), "op 2: unknown op 'move'"},
      {"missing_op", ops(R"({"path":"@/a"})"), "op 2: missing field 'op'"},
      {"missing_path", ops(R"({"op":"remove"})"), "op 2 (remove): missing field 'path'"},
      {"missing_to", ops(R"({"op":"rename","from":"@/a"})"), "op 2 (rename): missing field 'to'"},
      {"wrong_type_bool", ops(R"({"op":"rename","from":"@/a","to":"@/c","replace":"yes"})"),
       "op 2 (rename): field 'replace' must be true or false, got a string"},
      {"wrong_type_path", ops(R"({"op":"remove","path":42})"),
       "op 2 (remove): field 'path' must be a string, got a number"},
      {"op_not_object", ops(R"("remove")"), "op 2: must be an object"},
      {"bad_base64", ops(R"({"op":"write_file","path":"@/c","content_base64":"AA!A"})"),
       "op 2 (write_file): field 'content_base64' is not valid base64: invalid character '!' at offset 2"},
      {"both_contents", ops(R"({"op":"write_file","path":"@/c","content":"x","content_base64":"eA=="})"),
       "op 2 (write_file): give only one of"},
      {"no_content", ops(R"({"op":"write_file","path":"@/c"})"), "op 2 (write_file): missing field 'content'"},
      {"content_and_file", ops(R"({"op":"write_file","path":"@/c","content":"x","content_file":"/etc/hostname"})"),
       "op 2 (write_file): give only one of 'content', 'content_base64' and 'content_file'"},
      {"empty_content_file", ops(R"({"op":"write_file","path":"@/c","content_file":""})"),
       "op 2 (write_file): field 'content_file' is empty"},
      {"missing_content_file", ops(R"({"op":"write_file","path":"@/c","content_file":"/nonexistent/blob"})"),
       "content file /nonexistent/blob: No such file or directory"},
      {"bad_mode", ops(R"({"op":"mkdir","path":"@/m","mode":"0999"})"), "op 2 (mkdir): mode must be octal"},
      {"numeric_mode", ops(R"({"op":"write_file","path":"@/c","content":"x","mode":420})"),
       "op 2 (write_file): field 'mode' must be a string of octal digits"},
      {"relative_path", ops(R"({"op":"remove","path":"a/b"})"),
       "op 2 (remove): field 'path' must be an absolute path, got 'a/b'"},
      {"dotdot_path", ops(R"({"op":"remove","path":"@/../etc/passwd"})"), "op 2 (remove): field 'path'"},
      {"outside_roots", ops(R"({"op":"remove","path":"/etc/passwd"})"),
       "op 2 (remove): field 'path': path /etc/passwd is not beneath any root"},
      {"root_itself", ops(R"({"op":"remove","path":"@"})"), "is not beneath any root"},
      {"bad_policy", R"({"policy":"sometimes","ops":[{"op":"mkdir","path":"@/n"}]})",
       "field 'policy' must be \"rollback\" or \"rollforward\""},
      {"empty_ops", R"({"label":"t","ops":[]})", "field 'ops' is empty"},
      {"ops_not_array", R"({"label":"t","ops":{}})", "field 'ops' must be an array"},
      {"no_ops", R"({"label":"t"})", "missing field 'ops'"},
      // The rest pass the shape checks; Transaction::Validate() refuses them.
      {"duplicate_conflicting_ops", ops(R"({"op":"remove","path":"@/a"},{"op":"remove","path":"@/a"})"),
       "op 3 (remove @/a)"},
      {"missing_source", ops(R"({"op":"rename","from":"@/nope","to":"@/c"})"), "@/nope"},
      {"destination_exists", ops(R"({"op":"rename","from":"@/a","to":"@/b"})"), "@/b"},
      {"symlink_over_existing", ops(R"({"op":"symlink","target":"x","path":"@/b"})"), "@/b"},
  };
}

TEST(CliSpec, MalformedSpecsAreRefusedBeforeAnythingIsJournaled) {
  Workspace ws;
  WriteFileRaw(ws.R("a"), "A", 0644);
  WriteFileRaw(ws.R("b"), "B", 0600);
  fstx::testing::MkdirRaw(ws.R("d"));
  // One good transaction so the journal exists and has a known count.
  RunResult seed = ws.Apply(Fill(R"({"ops":[{"op":"mkdir","path":"@/seed"}]})", ws.root()));
  ASSERT_EQ(seed.exit_code, 0) << seed.Describe();
  ASSERT_EQ(ws.TxCount(), 1u);
  Snapshot before = Snap(ws.root());

  for (const BadSpec& c : Cases()) {
    SCOPED_TRACE(c.name);
    std::string file = ws.io() + "/" + c.name + ".json";
    WriteFileRaw(file, Fill(c.spec, ws.root()));
    RunResult r = ws.Fstx({"apply", file});
    EXPECT_EQ(r.exit_code, 2) << r.Describe();
    EXPECT_EQ(r.err.rfind("fstx: spec " + file + ": ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(Fill(c.expect, ws.root())), std::string::npos)
        << "want: " << Fill(c.expect, ws.root()) << "\n" << r.err;
    EXPECT_EQ(Diff(before, Snap(ws.root())), "");
  }
  EXPECT_EQ(ws.TxCount(), 1u);

  // --json reports the refusal too.
  std::string file = ws.io() + "/bad.json";
  WriteFileRaw(file, R"({"ops":[]})");
  RunResult r = ws.Fstx({"apply", file, "--json"});
  EXPECT_EQ(r.exit_code, 2);
  json j = r.Json();
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"]["code"], "invalid_argument");
  EXPECT_EQ(j["error"]["exit"], 2);

  // A missing spec file, or no roots at all, is bad input as well.
  r = ws.Fstx({"apply", ws.io() + "/missing.json"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("missing.json"), std::string::npos) << r.err;
  r = RunFstx(ws.io(), {"--journal", ws.journal(), "apply", file});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("no roots"), std::string::npos) << r.err;
  EXPECT_EQ(ws.TxCount(), 1u);
  EXPECT_EQ(Diff(before, Snap(ws.root())), "");
}

TEST(CliText, Base64RoundTripsEveryLength) {
  std::string data;
  for (int n = 0; n < 300; ++n) {
    std::string enc = fstx::cli::Base64Encode(data);
    std::string dec, err;
    ASSERT_TRUE(fstx::cli::Base64Decode(enc, &dec, &err)) << n << ": " << err;
    EXPECT_EQ(dec, data);
    // Without padding too.
    while (!enc.empty() && enc.back() == '=') enc.pop_back();
    ASSERT_TRUE(fstx::cli::Base64Decode(enc, &dec, &err)) << n << ": " << err;
    EXPECT_EQ(dec, data);
    data += static_cast<char>(n * 37 + 11);
  }
  std::string out, err;
  EXPECT_TRUE(fstx::cli::Base64Decode("AAEC", &out, &err));
  EXPECT_EQ(out, std::string("\x00\x01\x02", 3));
  EXPECT_EQ(fstx::cli::Base64Encode("Man"), "TWFu");
  EXPECT_EQ(fstx::cli::Base64Encode("Ma"), "TWE=");
  EXPECT_EQ(fstx::cli::Base64Encode("M"), "TQ==");
}

TEST(CliText, Base64RefusesMalformedInput) {
  std::string out, err;
  for (const char* bad : {"T", "TWFuT", "TW=u", "TQ=", "TW E", "TWFu\n", "TR==", "===="}) {
    EXPECT_FALSE(fstx::cli::Base64Decode(bad, &out, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
  EXPECT_FALSE(fstx::cli::Base64Decode("AB*D", &out, &err));
  EXPECT_NE(err.find("offset 2"), std::string::npos) << err;
}

TEST(CliText, ModesParseAsOctal) {
  uint32_t m = 0;
  std::string err;
  EXPECT_TRUE(fstx::cli::ParseMode("0644", &m, &err));
  EXPECT_EQ(m, 0644u);
  EXPECT_TRUE(fstx::cli::ParseMode("4755", &m, &err));
  EXPECT_EQ(m, 04755u);
  EXPECT_TRUE(fstx::cli::ParseMode("7", &m, &err));
  EXPECT_EQ(m, 07u);
  for (const char* bad : {"", "0999", "rw-r--r--", "10000", "0o644", "-1"}) {
    EXPECT_FALSE(fstx::cli::ParseMode(bad, &m, &err)) << bad;
  }
  EXPECT_EQ(fstx::cli::FormatMode(0750), "0750");
  EXPECT_EQ(fstx::cli::Preview(std::string("a\nb\x01", 4), 60), "a\\nb\\x01");
  EXPECT_EQ(fstx::cli::Preview("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace fstx::clitest
