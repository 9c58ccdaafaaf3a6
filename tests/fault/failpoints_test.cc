// failpoints_test.cc — spec parsing, FSTX_FAILPOINTS, hit counting and the
// error / delay / short actions of Failpoints::Hit.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "fstx/fault.h"

namespace fstx::fault {
namespace {

std::vector<Rule> MustParse(std::string_view spec) {
  Result<std::vector<Rule>> r = Failpoints::Parse(spec);
  EXPECT_TRUE(r.ok()) << spec << ": " << r.status().ToString();
  return r.ok() ? r.value() : std::vector<Rule>{};
}

TEST(ParseTest, DefaultHitIsOneAndCrashAction) {
  std::vector<Rule> rules = MustParse("fs.rename=crash");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].point, "fs.rename");
  EXPECT_EQ(rules[0].hit, 1u);
  EXPECT_EQ(rules[0].action, Action::kCrash);
}

TEST(ParseTest, DocumentedExample) {
  std::vector<Rule> rules = MustParse("fs.rename:3=crash,journal.commit.after=crash");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].point, "fs.rename");
  EXPECT_EQ(rules[0].hit, 3u);
  EXPECT_EQ(rules[0].action, Action::kCrash);
  EXPECT_EQ(rules[1].point, "journal.commit.after");
  EXPECT_EQ(rules[1].hit, 1u);
  EXPECT_EQ(rules[1].action, Action::kCrash);
}

TEST(ParseTest, StarSemicolonWhitespaceDelayShort) {
  std::vector<Rule> rules =
      MustParse("  fs.unlink : * = EIO ;fs.create:2=short;\tjournal.commit.before = delay(5) ,");
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].point, "fs.unlink");
  EXPECT_EQ(rules[0].hit, 0u);
  EXPECT_EQ(rules[0].action, Action::kError);
  EXPECT_EQ(rules[0].err, EIO);
  EXPECT_EQ(rules[1].point, "fs.create");
  EXPECT_EQ(rules[1].hit, 2u);
  EXPECT_EQ(rules[1].action, Action::kShortWrite);
  EXPECT_EQ(rules[2].point, "journal.commit.before");
  EXPECT_EQ(rules[2].action, Action::kDelay);
  EXPECT_EQ(rules[2].delay_ms, 5);
}

TEST(ParseTest, EveryRequiredErrnoName) {
  const std::pair<const char*, int> names[] = {
      {"EIO", EIO},         {"ENOSPC", ENOSPC}, {"EACCES", EACCES},
      {"EXDEV", EXDEV},     {"EROFS", EROFS},   {"ENAMETOOLONG", ENAMETOOLONG},
      {"EPERM", EPERM},     {"ENOENT", ENOENT}, {"EEXIST", EEXIST},
      {"EDQUOT", EDQUOT},   {"EMLINK", EMLINK}, {"ENOTEMPTY", ENOTEMPTY},
      {"EBUSY", EBUSY},
  };
  for (const auto& [name, value] : names) {
    std::vector<Rule> rules = MustParse(std::string("fs.mkdir=") + name);
    ASSERT_EQ(rules.size(), 1u) << name;
    EXPECT_EQ(rules[0].action, Action::kError) << name;
    EXPECT_EQ(rules[0].err, value) << name;
  }
}

TEST(ParseTest, EmptySpecAndNewPointNames) {
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse(" , ; ").empty());
  // Points not known today are accepted under the fs. and journal. prefixes.
  std::vector<Rule> rules = MustParse("fs.fsync.after=EIO,journal.open=crash");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].point, "fs.fsync.after");
  EXPECT_EQ(rules[1].point, "journal.open");
}

void ExpectRejected(std::string_view spec, const std::string& rule, const std::string& why) {
  Result<std::vector<Rule>> r = Failpoints::Parse(spec);
  ASSERT_FALSE(r.ok()) << spec;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("failpoint rule '" + rule + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(why), std::string::npos) << msg;
}

TEST(ParseTest, RejectsMalformedRulesNamingThem) {
  ExpectRejected("fs.rename:2", "fs.rename:2", "missing '='");
  ExpectRejected("fs.rename=crash, x:0=crash", "x:0=crash", "hit must be >= 1 or '*'");
  ExpectRejected("fs.rename:0=crash", "fs.rename:0=crash", "hit must be >= 1 or '*'");
  ExpectRejected("fs.rename:two=crash", "fs.rename:two=crash", "hit 'two'");
  ExpectRejected("fs.rename:-1=EIO", "fs.rename:-1=EIO", "hit '-1'");
  ExpectRejected("fs.rename=explode", "fs.rename=explode", "unknown action 'explode'");
  ExpectRejected("fs.rename=", "fs.rename=", "empty action");
  ExpectRejected("fs.rename=EWHATEVER", "fs.rename=EWHATEVER", "unknown action");
  ExpectRejected("disk.rename=crash", "disk.rename=crash", "unknown point 'disk.rename'");
  ExpectRejected("=crash", "=crash", "empty point");
  ExpectRejected(":2=crash", ":2=crash", "empty point");
  ExpectRejected("fs.=crash", "fs.=crash", "only a prefix");
  ExpectRejected("fs.rename=delay", "fs.rename=delay", "delay(MS)");
  ExpectRejected("fs.rename=delay(x)", "fs.rename=delay(x)", "milliseconds");
  ExpectRejected("fs.rename=delay(-3)", "fs.rename=delay(-3)", "milliseconds");
}

class EnvGuard {
 public:
  EnvGuard() {
    const char* old = std::getenv("FSTX_FAILPOINTS");
    had_ = old != nullptr;
    if (had_) old_ = old;
  }
  ~EnvGuard() {
    if (had_) {
      ::setenv("FSTX_FAILPOINTS", old_.c_str(), 1);
    } else {
      ::unsetenv("FSTX_FAILPOINTS");
    }
  }

 private:
  bool had_ = false;
  std::string old_;
};

TEST(FromEnvTest, ReadsTheVariable) {
  EnvGuard guard;
  ::unsetenv("FSTX_FAILPOINTS");
  Result<std::vector<Rule>> none = Failpoints::FromEnv();
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none.value().empty());

  ::setenv("FSTX_FAILPOINTS", "fs.rename:3=crash;fs.unlink=ENOSPC", 1);
  Result<std::vector<Rule>> some = Failpoints::FromEnv();
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  ASSERT_EQ(some.value().size(), 2u);
  EXPECT_EQ(some.value()[0].hit, 3u);
  EXPECT_EQ(some.value()[1].err, ENOSPC);

  ::setenv("FSTX_FAILPOINTS", "fs.rename=frobnicate", 1);
  Result<std::vector<Rule>> bad = Failpoints::FromEnv();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("fs.rename=frobnicate"), std::string::npos);
}

TEST(HitTest, CountsPerPointAndTotal) {
  Failpoints fp;
  EXPECT_EQ(fp.hits("fs.rename"), 0u);
  EXPECT_TRUE(fp.Hit("fs.rename").ok());
  EXPECT_TRUE(fp.Hit("fs.rename").ok());
  EXPECT_TRUE(fp.Hit("fs.unlink", "/x").ok());
  EXPECT_EQ(fp.hits("fs.rename"), 2u);
  EXPECT_EQ(fp.hits("fs.unlink"), 1u);
  EXPECT_EQ(fp.hits("fs.mkdir"), 0u);
  EXPECT_EQ(fp.total_hits(), 3u);
  std::map<std::string, uint64_t> all = fp.all_hits();
  EXPECT_EQ(all, (std::map<std::string, uint64_t>{{"fs.rename", 2}, {"fs.unlink", 1}}));

  fp.Add(Rule{"fs.rename", 1, Action::kError, EIO, 0});
  fp.Clear();
  EXPECT_EQ(fp.total_hits(), 0u);
  EXPECT_TRUE(fp.all_hits().empty());
  // Clear dropped the rule too: hit 1 of fs.rename passes.
  EXPECT_TRUE(fp.Hit("fs.rename").ok());
}

TEST(HitTest, ErrorFiresOnTheChosenHitOnly) {
  Failpoints fp;
  for (const Rule& r : MustParse("fs.unlink:3=EIO")) fp.Add(r);
  EXPECT_TRUE(fp.Hit("fs.unlink", "/a").ok());
  EXPECT_TRUE(fp.Hit("fs.unlink", "/b").ok());
  EXPECT_TRUE(fp.Hit("fs.rename", "/c").ok());  // another point does not count
  Status s = fp.Hit("fs.unlink", "/d");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err(), EIO);
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_NE(s.message().find("injected at fs.unlink"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("/d"), std::string::npos) << s.message();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(fp.Hit("fs.unlink").ok()) << i;
  EXPECT_EQ(fp.hits("fs.unlink"), 8u);
}

TEST(HitTest, StarFiresEveryTimeAndFirstRuleWins) {
  Failpoints fp;
  for (const Rule& r : MustParse("fs.mkdir:2=ENOSPC, fs.mkdir:*=EACCES")) fp.Add(r);
  for (int i = 1; i <= 4; ++i) {
    Status s = fp.Hit("fs.mkdir", "/m");
    ASSERT_FALSE(s.ok()) << i;
    EXPECT_EQ(s.err(), i == 2 ? ENOSPC : EACCES) << i;
  }
  EXPECT_EQ(fp.hits("fs.mkdir"), 4u);
}

TEST(HitTest, DelaySleepsThenSucceeds) {
  Failpoints fp;
  for (const Rule& r : MustParse("journal.commit.before=delay(30)")) fp.Add(r);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(fp.Hit("journal.commit.before").ok());
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(30));
}

TEST(HitTest, ShortSetsTheFlagOrFailsWithEio) {
  Failpoints fp;
  for (const Rule& r : MustParse("fs.create:*=short")) fp.Add(r);
  bool short_write = false;
  EXPECT_TRUE(fp.Hit("fs.create", "/f", &short_write).ok());
  EXPECT_TRUE(short_write);
  Status s = fp.Hit("fs.create", "/f");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err(), EIO);
}

TEST(HitTest, JournalHookHitsTheNamedPoint) {
  Failpoints fp;
  for (const Rule& r : MustParse("journal.commit.after:2=EROFS")) fp.Add(r);
  auto hook = JournalHook(&fp);
  EXPECT_TRUE(hook("journal.commit.before").ok());
  EXPECT_TRUE(hook("journal.commit.after").ok());
  Status s = hook("journal.commit.after");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err(), EROFS);
  EXPECT_EQ(s.code(), Code::kPermission);
  EXPECT_NE(s.message().find("injected at journal.commit.after"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("journal.commit.after :"), std::string::npos) << s.message();
  EXPECT_EQ(fp.hits("journal.commit.before"), 1u);
  EXPECT_EQ(fp.hits("journal.commit.after"), 2u);
}

TEST(HitTest, ConcurrentHitsAreAllCounted) {
  Failpoints fp;
  for (const Rule& r : MustParse("fs.stat:100=EIO")) fp.Add(r);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&fp, &failures, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!fp.Hit("fs.stat").ok()) ++failures[t];
        (void)fp.Hit(t % 2 ? "fs.read" : "fs.stat.after");
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(fp.hits("fs.stat"), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(fp.total_hits(), uint64_t{2 * kThreads * kPerThread});
  int total_failures = 0;
  for (int f : failures) total_failures += f;
  EXPECT_EQ(total_failures, 1);  // exactly one thread saw hit 100
}

}  // namespace
}  // namespace fstx::fault
