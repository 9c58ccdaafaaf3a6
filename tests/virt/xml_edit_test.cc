// Tests of src/virt/xml_edit: surgical renames in libvirt XML. The samples in
// data/ are libvirt 9.0-style files (domain, disk-only and live snapshots,
// checkpoint); *.renamed.xml are their expected bytes after vm1 -> vm2.
#include "src/virt/xml_edit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fstx::virt {
namespace {

using ::testing::HasSubstr;

std::string DataDir() {
  const char* d = std::getenv("VIRT_TEST_DATA");
  return d && *d ? d : "";
}

std::string ReadData(const std::string& name) {
  std::string dir = DataDir();
  EXPECT_FALSE(dir.empty()) << "VIRT_TEST_DATA is not set (run through meson test)";
  std::ifstream in(dir + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read test data " << dir << "/" << name;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* kNv1 = "/var/lib/libvirt/qemu/nvram/vm1_VARS.fd";
const char* kNv2 = "/var/lib/libvirt/qemu/nvram/vm2_VARS.fd";

RenameEdits Vm1ToVm2() {
  RenameEdits e;
  e.old_name = "vm1";
  e.new_name = "vm2";
  e.file_map = {
      {kNv1, kNv2},
      {"/var/lib/libvirt/images/vm1.qcow2", "/var/lib/libvirt/images/vm2.qcow2"},
      {"/var/lib/libvirt/images/vm1-base.qcow2", "/var/lib/libvirt/images/vm2-base.qcow2"},
      {"/var/lib/libvirt/images/vm1.snap1", "/var/lib/libvirt/images/vm2.snap1"},
      {"/var/lib/libvirt/images/vm1.snap2", "/var/lib/libvirt/images/vm2.snap2"},
      {"/var/lib/libvirt/qemu/snapshot/vm1/snap2.mem",
       "/var/lib/libvirt/qemu/snapshot/vm2/snap2.mem"},
  };
  return e;
}

RenameEdits Inverse(const RenameEdits& e) {
  RenameEdits r;
  r.old_name = e.new_name;
  r.new_name = e.old_name;
  for (const auto& [k, v] : e.file_map) r.file_map[v] = k;
  return r;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t p = 0;
  while (p < s.size()) {
    std::size_t e = s.find('\n', p);
    e = e == std::string::npos ? s.size() : e + 1;
    out.push_back(s.substr(p, e - p));
    p = e;
  }
  return out;
}

// Independent of the splices: compares input and output line by line and
// requires every differing line to be the old line with exactly one intended
// value replaced, delimited as a value (>text< or a quoted attribute).
// Returns how many lines differ.
int CheckOnlyIntendedSpans(const std::string& in, const std::string& out, const RenameEdits& e) {
  std::vector<std::pair<std::string, std::string>> pairs;
  auto add = [&](const std::string& o, const std::string& n) {
    pairs.emplace_back(">" + EscapeXmlText(o) + "<", ">" + EscapeXmlText(n) + "<");
    for (char q : {'\'', '"'}) {
      pairs.emplace_back(q + EscapeXmlAttr(o, q) + q, q + EscapeXmlAttr(n, q) + q);
    }
  };
  add(e.old_name, e.new_name);
  for (const auto& [o, n] : e.file_map) add(o, n);

  std::vector<std::string> a = Lines(in), b = Lines(out);
  EXPECT_EQ(a.size(), b.size()) << "line count changed";
  int differing = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] == b[i]) continue;
    ++differing;
    bool explained = false;
    for (const auto& [o, n] : pairs) {
      for (std::size_t at = a[i].find(o); at != std::string::npos && !explained;
           at = a[i].find(o, at + 1)) {
        std::string candidate = a[i];
        candidate.replace(at, o.size(), n);
        explained = candidate == b[i];
      }
    }
    EXPECT_TRUE(explained) << "line " << i + 1 << " changed beyond an intended value:\n  - "
                           << a[i] << "  + " << b[i];
  }
  return differing;
}

std::string MustRename(const std::string& xml, MomentKind kind, const RenameEdits& e) {
  Result<std::string> r = RenameInXml(xml, kind, e);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

// --- The samples -----------------------------------------------------------

struct Sample {
  const char* in;
  const char* expected;
  MomentKind kind;
  int changed_lines;
};

const Sample kSamples[] = {
    {"vm1.xml", "vm1.renamed.xml", MomentKind::kDomain, 4},
    {"snap1.xml", "snap1.renamed.xml", MomentKind::kSnapshot, 4},
    {"snap2-live.xml", "snap2-live.renamed.xml", MomentKind::kSnapshot, 9},
    {"cp1.xml", "cp1.renamed.xml", MomentKind::kCheckpoint, 3},
};

TEST(VirtXmlSamples, RenameGivesTheExpectedBytes) {
  for (const Sample& s : kSamples) {
    SCOPED_TRACE(s.in);
    std::string in = ReadData(s.in);
    ASSERT_FALSE(in.empty());
    EXPECT_EQ(MustRename(in, s.kind, Vm1ToVm2()), ReadData(s.expected));
  }
}

TEST(VirtXmlSamples, OnlyTheIntendedSpansDiffer) {
  for (const Sample& s : kSamples) {
    SCOPED_TRACE(s.in);
    std::string in = ReadData(s.in);
    std::string out = MustRename(in, s.kind, Vm1ToVm2());
    EXPECT_EQ(CheckOnlyIntendedSpans(in, out, Vm1ToVm2()), s.changed_lines);
  }
}

TEST(VirtXmlSamples, RenamingBackRestoresTheOriginalBytes) {
  for (const Sample& s : kSamples) {
    SCOPED_TRACE(s.in);
    std::string in = ReadData(s.in);
    std::string out = MustRename(in, s.kind, Vm1ToVm2());
    EXPECT_EQ(MustRename(out, s.kind, Inverse(Vm1ToVm2())), in);
  }
}

TEST(VirtXmlSamples, DetectKind) {
  for (const Sample& s : kSamples) {
    Result<MomentKind> k = DetectKind(ReadData(s.in));
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_EQ(*k, s.kind) << s.in;
  }
  Result<MomentKind> net = DetectKind("<network><name>default</name></network>");
  ASSERT_FALSE(net.ok());
  EXPECT_EQ(net.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(net.status().message(), HasSubstr("<network>"));
  EXPECT_STREQ(RootElementName(MomentKind::kCheckpoint), "domaincheckpoint");
}

TEST(VirtXmlSamples, SplicesAreTheValuesWithTheirElements) {
  std::string in = ReadData("vm1.xml");
  Result<std::vector<XmlSplice>> plan = PlanRenameInXml(in, MomentKind::kDomain, Vm1ToVm2());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->size(), 4u);
  const std::vector<XmlSplice>& s = *plan;
  EXPECT_EQ(s[0].old_raw, "vm1");
  EXPECT_EQ(s[0].new_raw, "vm2");
  EXPECT_EQ(s[0].what, "/domain/name (line 9)");
  EXPECT_EQ(s[1].old_raw, kNv1);
  EXPECT_EQ(s[1].what, "/domain/os/nvram (line 27)");
  EXPECT_EQ(s[2].old_raw, "/var/lib/libvirt/images/vm1.qcow2");
  EXPECT_EQ(s[2].what, "/domain/devices/disk/source/@file (line 52)");
  EXPECT_EQ(s[3].new_raw, "/var/lib/libvirt/images/vm2-base.qcow2");
  EXPECT_EQ(s[3].what, "/domain/devices/disk/backingStore/source/@file (line 55)");
  for (std::size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(in.substr(s[i].offset, s[i].old_raw.size()), s[i].old_raw);
    if (i) {
      EXPECT_LT(s[i - 1].offset + s[i - 1].old_raw.size(), s[i].offset);
    }
  }
  Result<std::string> out = ApplySplices(in, s);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, ReadData("vm1.renamed.xml"));

  // A stale plan (the document changed) is refused, not misapplied.
  std::string changed = in;
  changed.replace(s[2].offset, 3, "xyz");
  Result<std::string> stale = ApplySplices(changed, s);
  ASSERT_FALSE(stale.ok());
  EXPECT_THAT(stale.status().message(), HasSubstr("does not match"));
}

TEST(VirtXmlSamples, EverythingElseStaysAsWritten) {
  std::string out = MustRename(ReadData("vm1.xml"), MomentKind::kDomain, Vm1ToVm2());
  EXPECT_THAT(out, HasSubstr("  virsh edit vm1\n"));  // the header comment
  EXPECT_THAT(out, HasSubstr("<title>vm1 &amp; friends</title>"));
  EXPECT_THAT(out, HasSubstr("      <name>vm1</name>\n"));  // in another namespace's metadata
  EXPECT_THAT(out, HasSubstr("<source file=\"/var/lib/libvirt/images/vm1.qcow2\"/>"));  // ditto
  EXPECT_THAT(out, HasSubstr("<alias name='ua-vm1-disk0'/>"));
  EXPECT_THAT(out, HasSubstr("<uuid>6f1c0a2e-3b7d-4c55-9a1e-2d4f8b9c0e11</uuid>"));
  EXPECT_THAT(out, HasSubstr("<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd"));
  EXPECT_THAT(out, HasSubstr("<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>"));
  EXPECT_THAT(out, HasSubstr("/var/lib/libvirt/images/data-volume.img"));
  EXPECT_THAT(out, HasSubstr("/var/lib/libvirt/images/debian-12-genericcloud.qcow2"));

  std::string snap = MustRename(ReadData("snap1.xml"), MomentKind::kSnapshot, Vm1ToVm2());
  EXPECT_THAT(snap, HasSubstr("<domainsnapshot>\n  <name>snap1</name>"));
  EXPECT_THAT(snap, HasSubstr("<parent>\n    <name>snap0</name>"));
  EXPECT_THAT(snap, HasSubstr("<description>before the vm1 upgrade</description>"));
  std::string cp = MustRename(ReadData("cp1.xml"), MomentKind::kCheckpoint, Vm1ToVm2());
  EXPECT_THAT(cp, HasSubstr("<name>cp1</name>"));
  EXPECT_THAT(cp, HasSubstr("<name>cp0</name>"));
  EXPECT_THAT(cp, HasSubstr("bitmap='cp1'"));
}

std::string ToCrlf(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(VirtXmlSamples, BomDeclarationAndCrlfAreKept) {
  const std::string head = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n";
  std::string in = head + ToCrlf(ReadData("vm1.xml"));
  std::string want = head + ToCrlf(ReadData("vm1.renamed.xml"));
  EXPECT_EQ(MustRename(in, MomentKind::kDomain, Vm1ToVm2()), want);
  Result<DomainXmlInfo> info = InspectDomainXml(in);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->name, "vm1");
  EXPECT_EQ(info->nvram, kNv1);
}

TEST(VirtXmlSamples, DoubleQuotedAttributesAreKept) {
  auto dq = [](std::string s) {
    for (char& c : s) c = c == '\'' ? '"' : c;
    return s;
  };
  std::string in = dq(ReadData("snap2-live.xml"));
  EXPECT_EQ(MustRename(in, MomentKind::kSnapshot, Vm1ToVm2()), dq(ReadData("snap2-live.renamed.xml")));
}

TEST(VirtXmlSamples, InspectDomain) {
  Result<DomainXmlInfo> info = InspectDomainXml(ReadData("vm1.xml"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->name, "vm1");
  EXPECT_EQ(info->uuid, "6f1c0a2e-3b7d-4c55-9a1e-2d4f8b9c0e11");
  EXPECT_EQ(info->nvram, kNv1);
  EXPECT_EQ(info->disk_files, (std::vector<std::string>{"/var/lib/libvirt/images/vm1.qcow2",
                                                        "/var/lib/libvirt/images/data-volume.img"}));
  EXPECT_EQ(info->backing_files,
            (std::vector<std::string>{"/var/lib/libvirt/images/vm1-base.qcow2",
                                      "/var/lib/libvirt/images/debian-12-genericcloud.qcow2"}));

  Result<DomainXmlInfo> snap = InspectDomainXml(ReadData("snap1.xml"));
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(snap.status().message(), HasSubstr("<domainsnapshot>"));
}

TEST(VirtXmlSamples, InspectMoments) {
  Result<MomentXmlInfo> s1 = InspectMomentXml(ReadData("snap1.xml"));
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  EXPECT_EQ(s1->kind, MomentKind::kSnapshot);
  EXPECT_EQ(s1->name, "snap1");
  EXPECT_EQ(s1->parent, "snap0");
  EXPECT_EQ(s1->memory_file, "");
  EXPECT_EQ(s1->disk_files, (std::vector<std::string>{"/var/lib/libvirt/images/vm1.snap1"}));
  ASSERT_TRUE(s1->domain.has_value());
  EXPECT_EQ(s1->domain->name, "vm1");
  EXPECT_EQ(s1->domain->nvram, kNv1);
  EXPECT_FALSE(s1->inactive_domain.has_value());

  Result<MomentXmlInfo> s2 = InspectMomentXml(ReadData("snap2-live.xml"));
  ASSERT_TRUE(s2.ok()) << s2.status().ToString();
  EXPECT_EQ(s2->memory_file, "/var/lib/libvirt/qemu/snapshot/vm1/snap2.mem");
  ASSERT_TRUE(s2->domain && s2->inactive_domain);
  EXPECT_EQ(s2->domain->backing_files,
            (std::vector<std::string>{"/var/lib/libvirt/images/vm1.qcow2"}));
  EXPECT_EQ(s2->inactive_domain->disk_files,
            (std::vector<std::string>{"/var/lib/libvirt/images/vm1.snap1"}));

  Result<MomentXmlInfo> cp = InspectMomentXml(ReadData("cp1.xml"));
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  EXPECT_EQ(cp->kind, MomentKind::kCheckpoint);
  EXPECT_EQ(cp->name, "cp1");
  EXPECT_EQ(cp->parent, "cp0");
  EXPECT_TRUE(cp->disk_files.empty());
  ASSERT_TRUE(cp->domain.has_value());
  EXPECT_EQ(cp->domain->disk_files.size(), 2u);

  EXPECT_FALSE(InspectMomentXml(ReadData("vm1.xml")).ok());
}

TEST(VirtXmlSamples, ApplyingTwiceIsRefusedNamingBothNames) {
  std::string once = MustRename(ReadData("vm1.xml"), MomentKind::kDomain, Vm1ToVm2());
  Result<std::string> twice = RenameInXml(once, MomentKind::kDomain, Vm1ToVm2());
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(twice.status().message(), HasSubstr("'vm2'"));
  EXPECT_THAT(twice.status().message(), HasSubstr("old name 'vm1'"));
  EXPECT_THAT(twice.status().message(), HasSubstr("/domain/name"));
}

TEST(VirtXmlSamples, WrongKindIsRefused) {
  Result<std::string> r = RenameInXml(ReadData("snap1.xml"), MomentKind::kCheckpoint, Vm1ToVm2());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("expected a <domaincheckpoint>"));
  EXPECT_THAT(r.status().message(), HasSubstr("found <domainsnapshot>"));
}

TEST(VirtXmlSamples, SnapshotWithADifferentEmbeddedNameIsRefused) {
  std::string in = ReadData("snap1.xml");
  RenameEdits e = Vm1ToVm2();
  e.old_name = "vm9";
  Result<std::string> r = RenameInXml(in, MomentKind::kSnapshot, e);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("/domainsnapshot/domain/name"));
  EXPECT_THAT(r.status().message(), HasSubstr("'vm1'"));
  EXPECT_THAT(r.status().message(), HasSubstr("'vm9'"));
}

// --- Tricky documents --------------------------------------------------------

RenameEdits Simple(std::map<std::string, std::string> files = {}) {
  RenameEdits e;
  e.old_name = "vm1";
  e.new_name = "vm2";
  e.file_map = std::move(files);
  return e;
}

Result<std::string> Dom(const std::string& xml, const RenameEdits& e) {
  return RenameInXml(xml, MomentKind::kDomain, e);
}

TEST(VirtXmlTricky, ApostropheEntityInASingleQuotedPath) {
  std::string in = "<domain><name>vm1</name><devices><disk type='file'>"
                   "<source file='/img/it&apos;s vm1.qcow2'/></disk></devices></domain>";
  auto r = Dom(in, Simple({{"/img/it's vm1.qcow2", "/img/it's vm2.qcow2"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "<domain><name>vm2</name><devices><disk type='file'>"
                "<source file='/img/it&apos;s vm2.qcow2'/></disk></devices></domain>");
}

TEST(VirtXmlTricky, QuotesAreEscapedForTheFilesQuoteCharOnly) {
  std::string in = "<domain><name>vm1</name><devices>"
                   "<disk><source file=\"/img/it's.qcow2\"/></disk>"
                   "<disk><source file='/img/b.qcow2'/></disk></devices></domain>";
  auto r = Dom(in, Simple({{"/img/it's.qcow2", "/img/say \"hi\" it's.qcow2"},
                           {"/img/b.qcow2", "/img/say \"hi\" it's.qcow2"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "<domain><name>vm2</name><devices>"
                "<disk><source file=\"/img/say &quot;hi&quot; it's.qcow2\"/></disk>"
                "<disk><source file='/img/say \"hi\" it&apos;s.qcow2'/></disk></devices></domain>");
}

TEST(VirtXmlTricky, EntitiesInNamesDecodeAndEncode) {
  RenameEdits e;
  e.old_name = "a&b<c>";
  e.new_name = "x&y<'z'>";
  auto r = Dom("<domain><name>a&amp;b&lt;c&gt;</name></domain>", e);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "<domain><name>x&amp;y&lt;'z'&gt;</name></domain>");
  // Character references are decoded for the comparison.
  auto c = Dom("<domain><name>vm&#49;</name><name>vm1</name></domain>", Simple());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, "<domain><name>vm2</name><name>vm1</name></domain>");  // only the first <name>
  auto x = Dom("<domain><name>&#x76;m1</name></domain>", Simple());
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(*x, "<domain><name>vm2</name></domain>");
}

TEST(VirtXmlTricky, Utf8Names) {
  RenameEdits e;
  e.old_name = "vm-\xC3\xA9t\xC3\xA9";
  e.new_name = "vm-\xE6\x97\xA5\xF0\x9F\x98\x80";
  auto r = Dom("<domain><name>vm-&#xe9;t\xC3\xA9</name></domain>", e);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "<domain><name>vm-\xE6\x97\xA5\xF0\x9F\x98\x80</name></domain>");
}

TEST(VirtXmlTricky, WhitespaceAroundEqualsAndOtherAttributes) {
  std::string in = "<domain >\n<name\n>vm1</name\n>\n<devices><disk><source\tstartupPolicy = \"a>b\"\n"
                   "  file  =\n  '/i/vm1.qcow2'  index='1'  /></disk></devices></domain  >\n";
  auto r = Dom(in, Simple({{"/i/vm1.qcow2", "/i/vm2.qcow2"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string want = in;
  want.replace(want.find(">vm1<") + 1, 3, "vm2");
  want.replace(want.find("/i/vm1.qcow2"), 12, "/i/vm2.qcow2");
  EXPECT_EQ(*r, want);
}

TEST(VirtXmlTricky, CommentsWithNameAreIgnored) {
  std::string in = "<!-- <domain><name>vm1</name></domain> -->\n<domain>\n"
                   "  <!-- <name>vm1</name> <source file='/i/vm1.img'/> -->\n"
                   "  <name>vm1</name>\n"
                   "  <devices><disk><!-- <source file='/i/vm1.img'/> -->"
                   "<source file='/i/vm1.img'/></disk></devices>\n</domain>\n";
  auto r = Dom(in, Simple({{"/i/vm1.img", "/i/vm2.img"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "<!-- <domain><name>vm1</name></domain> -->\n<domain>\n"
                "  <!-- <name>vm1</name> <source file='/i/vm1.img'/> -->\n"
                "  <name>vm2</name>\n"
                "  <devices><disk><!-- <source file='/i/vm1.img'/> -->"
                "<source file='/i/vm2.img'/></disk></devices>\n</domain>\n");
}

TEST(VirtXmlTricky, NamesElsewhereAreNotTouched) {
  std::string in = "<domain>"
                   "<metadata><x:a xmlns:x='urn:x'><name>vm1</name></x:a>"
                   "<name xmlns='urn:y'>vm1</name></metadata>"
                   "<name>vm1</name>"
                   "<devices><disk><source file='/i/a'/><alias name='vm1'/></disk></devices>"
                   "<seclabel type='static'><name>vm1</name><label>vm1</label></seclabel>"
                   "</domain>";
  auto r = Dom(in, Simple());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string want = in;
  want.replace(want.find("</metadata><name>vm1") + 17, 3, "vm2");
  EXPECT_EQ(*r, want);
}

TEST(VirtXmlTricky, CdataIsEditedInsideOrLeftAlone) {
  std::string in = "<domain><name><![CDATA[vm1]]></name>"
                   "<description><![CDATA[<name>vm1</name> & <source file='/i/vm1'/>]]></description>"
                   "<devices><disk><source file='/i/vm1'/></disk></devices></domain>";
  auto r = Dom(in, Simple({{"/i/vm1", "/i/vm2"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "<domain><name><![CDATA[vm2]]></name>"
                "<description><![CDATA[<name>vm1</name> & <source file='/i/vm1'/>]]></description>"
                "<devices><disk><source file='/i/vm2'/></disk></devices></domain>");
  RenameEdits e = Simple();
  e.new_name = "a]]>b";
  auto bad = Dom(in, e);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotSupported);
  EXPECT_THAT(bad.status().message(), HasSubstr("CDATA"));
}

TEST(VirtXmlTricky, MixedContentIsRefusedNotGuessed) {
  auto r = Dom("<domain><name>vm<!-- x -->1</name></domain>", Simple());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotSupported);
  EXPECT_THAT(r.status().message(), HasSubstr("mixed content"));
  EXPECT_THAT(r.status().message(), HasSubstr("/domain/name"));
}

TEST(VirtXmlTricky, NvramForms) {
  // <nvram> without a path (only a template) is left alone; an nvram given
  // as <source file=> (libvirt >= 8.5) is renamed through the source.
  std::string a = "<domain><name>vm1</name><os><nvram template='/t/VARS.fd'/></os></domain>";
  auto ra = Dom(a, Simple({{"/t/VARS.fd", "/t/X.fd"}}));
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  EXPECT_EQ(*ra, "<domain><name>vm2</name><os><nvram template='/t/VARS.fd'/></os></domain>");

  std::string b = "<domain><name>vm1</name><os><nvram type='file'>\n"
                  "  <source file='/n/vm1_VARS.fd'/>\n</nvram></os></domain>";
  auto rb = Dom(b, Simple({{"/n/vm1_VARS.fd", "/n/vm2_VARS.fd"}}));
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(*rb, "<domain><name>vm2</name><os><nvram type='file'>\n"
                 "  <source file='/n/vm2_VARS.fd'/>\n</nvram></os></domain>");
  Result<DomainXmlInfo> info = InspectDomainXml(b);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->nvram, "/n/vm1_VARS.fd");

  // The text is compared exactly: an unmapped path is left alone.
  std::string c = "<domain><name>vm1</name><os><nvram>/n/other.fd</nvram></os></domain>";
  auto rc = Dom(c, Simple({{"/n/vm1_VARS.fd", "/n/vm2_VARS.fd"}}));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, "<domain><name>vm2</name><os><nvram>/n/other.fd</nvram></os></domain>");
}

TEST(VirtXmlTricky, UnchangedValuesAreNotSpliced) {
  std::string in = "<domain><name>vm1</name><devices><disk><source file='/i/&#97;'/></disk>"
                   "</devices></domain>";
  RenameEdits e = Simple({{"/i/a", "/i/a"}});
  e.new_name = "vm1";
  Result<std::vector<XmlSplice>> plan = PlanRenameInXml(in, MomentKind::kDomain, e);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
  auto r = Dom(in, e);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, in);  // the character reference stays as written
}

TEST(VirtXmlTricky, ValuesThatNeedCharacterReferences) {
  std::string in = "<domain><name>vm1</name><devices><disk><source file='/i/a'/></disk>"
                   "</devices></domain>";
  auto r = Dom(in, Simple({{"/i/a", "/i/tab\there\nnl\rcr<&>"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(*r, HasSubstr("file='/i/tab&#9;here&#10;nl&#13;cr&lt;&amp;&gt;'"));
  // ... and they read back as the value written.
  RenameEdits back = Simple({{"/i/tab\there\nnl\rcr<&>", "/i/a"}});
  back.old_name = "vm2";
  back.new_name = "vm1";
  auto b = Dom(*r, back);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, in);
}

TEST(VirtXmlTricky, RawNewlinesInAttributesAreNormalized) {
  // A raw CR LF inside an attribute value reads as one space (XML 1.0 3.3.3).
  std::string in = "<domain><name>vm1</name><devices><disk><source file='/i/a\r\nb'/></disk>"
                   "</devices></domain>";
  auto r = Dom(in, Simple({{"/i/a b", "/i/c"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(*r, HasSubstr("file='/i/c'"));
}

TEST(VirtXmlTricky, SnapshotNamedLikeTheDomain) {
  // The snapshot's own <name> equals the domain's: only the embedded one changes.
  std::string in = "<domainsnapshot>\n  <name>vm1</name>\n  <parent><name>vm1</name></parent>\n"
                   "  <domain type='kvm'>\n    <name>vm1</name>\n  </domain>\n"
                   "  <inactiveDomain type='kvm'>\n    <name>vm1</name>\n  </inactiveDomain>\n"
                   "</domainsnapshot>\n";
  auto r = RenameInXml(in, MomentKind::kSnapshot, Simple());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "<domainsnapshot>\n  <name>vm1</name>\n  <parent><name>vm1</name></parent>\n"
                "  <domain type='kvm'>\n    <name>vm2</name>\n  </domain>\n"
                "  <inactiveDomain type='kvm'>\n    <name>vm2</name>\n  </inactiveDomain>\n"
                "</domainsnapshot>\n");
}

TEST(VirtXmlTricky, MomentWithoutEmbeddedName) {
  // libvirt may store only <domain><uuid> in a moment: nothing to rename there.
  std::string in = "<domaincheckpoint><name>cp1</name><domain><uuid>u</uuid></domain>"
                   "</domaincheckpoint>";
  auto r = RenameInXml(in, MomentKind::kCheckpoint, Simple());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, in);
  // A <domain> without <name> is an error.
  auto d = Dom("<domain><uuid>u</uuid></domain>", Simple());
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("has no <name>"));
}

// --- Errors ------------------------------------------------------------------

void ExpectError(const std::string& xml, Code code, const std::string& text) {
  SCOPED_TRACE(xml);
  auto r = Dom(xml, Simple());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr(text));
}

TEST(VirtXmlErrors, MalformedXmlNamesTheParserMessageAndPlace) {
  auto r = Dom("<domain>\n  <name>vm1</name>\n  <os></devices>\n</domain>\n", Simple());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("malformed XML at offset"));
  EXPECT_THAT(r.status().message(), HasSubstr("line 3"));
  EXPECT_THAT(r.status().message(), HasSubstr("Start-end tags mismatch"));

  ExpectError("", Code::kInvalidArgument, "malformed XML");
  ExpectError("<domain><name>vm1</name>", Code::kInvalidArgument, "malformed XML");
  ExpectError("<domain><name>vm1</name></domain><domain/>", Code::kInvalidArgument,
              "second root element");
  ExpectError("junk<domain><name>vm1</name></domain>", Code::kInvalidArgument,
              "character data outside the root element");
  ExpectError("<domain><name>vm1</name></domain>junk", Code::kInvalidArgument,
              "character data outside the root element");
  ExpectError("<domain><name>vm&foo;</name></domain>", Code::kInvalidArgument,
              "undefined entity &foo;");
  ExpectError("<domain><name>vm1 & co</name></domain>", Code::kInvalidArgument, "'&'");
  ExpectError("<domain a='x<y'><name>vm1</name></domain>", Code::kInvalidArgument, "'<'");
  ExpectError("<domain a='1' a='2'><name>vm1</name></domain>", Code::kInvalidArgument,
              "duplicate attribute 'a'");
  ExpectError("<domain><name>vm&#0;</name></domain>", Code::kInvalidArgument,
              "bad character reference");
  ExpectError("<domain><name>a]]>b</name></domain>", Code::kInvalidArgument, "]]>");
  ExpectError(std::string("<domain><name>vm1</name>\0</domain>", 34), Code::kInvalidArgument,
              "NUL byte");
  ExpectError("<!DOCTYPE domain [<!ENTITY n 'vm1'>]><domain><name>&n;</name></domain>",
              Code::kNotSupported, "DOCTYPE");
  ExpectError("<network><name>vm1</name></network>", Code::kInvalidArgument, "<network>");
  ExpectError("<?xml version='1.0' encoding='ISO-8859-1'?><domain><name>vm1</name></domain>",
              Code::kNotSupported, "only UTF-8");
  EXPECT_TRUE(Dom("<?xml version='1.0' encoding='utf-8'?><domain><name>vm1</name></domain>",
                  Simple()).ok());
}

TEST(VirtXmlErrors, BadEditsAreRefused) {
  std::string in = "<domain><name>vm1</name></domain>";
  RenameEdits e = Simple();
  e.old_name = "";
  EXPECT_EQ(Dom(in, e).status().code(), Code::kInvalidArgument);
  e = Simple();
  e.new_name = "";
  EXPECT_EQ(Dom(in, e).status().code(), Code::kInvalidArgument);
  e.new_name = "vm\x01";
  auto c = Dom(in, e);
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("control character"));
  e.new_name = "vm\xC3";
  EXPECT_THAT(Dom(in, e).status().message(), HasSubstr("UTF-8"));
  e = Simple({{"/a", std::string("/b\0c", 4)}});
  EXPECT_EQ(Dom(in, e).status().code(), Code::kInvalidArgument);
  e = Simple({{"/a", "/b\xED\xA0\x80"}});  // a UTF-8 encoded surrogate
  EXPECT_THAT(Dom(in, e).status().message(), HasSubstr("surrogate"));
}

TEST(VirtXmlEscaping, RoundTrips) {
  const std::string values[] = {"", "plain", "a&b", "<x>", "it's \"q\"", "t\tn\nr\r",
                                "&amp;", "\xC3\xA9\xF0\x9F\x98\x80", "]]>"};
  for (const std::string& v : values) {
    SCOPED_TRACE(v);
    EXPECT_TRUE(CheckXmlValue(v, "v").ok());
    Result<std::string> t = DecodeXmlValue(EscapeXmlText(v), false);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, v);
    for (char q : {'\'', '"'}) {
      std::string enc = EscapeXmlAttr(v, q);
      EXPECT_EQ(enc.find(q), std::string::npos);
      Result<std::string> a = DecodeXmlValue(enc, true);
      ASSERT_TRUE(a.ok());
      EXPECT_EQ(*a, v);
    }
  }
  EXPECT_EQ(EscapeXmlText("a'\"b"), "a'\"b");
  EXPECT_EQ(EscapeXmlAttr("a'\"b", '\''), "a&apos;\"b");
  EXPECT_EQ(EscapeXmlAttr("a'\"b", '"'), "a'&quot;b");
  EXPECT_EQ(*DecodeXmlValue("a\r\nb\rc", false), "a\nb\nc");
  EXPECT_EQ(*DecodeXmlValue("a\r\nb\tc\nd", true), "a b c d");
  EXPECT_EQ(*DecodeXmlValue("&#x1F600;&#65;", false), "\xF0\x9F\x98\x80" "A");
  EXPECT_FALSE(DecodeXmlValue("&#xD800;", false).ok());
  EXPECT_FALSE(DecodeXmlValue("&#;", false).ok());
  EXPECT_FALSE(DecodeXmlValue("&#x110000;", false).ok());
  EXPECT_FALSE(DecodeXmlValue("&ampx", false).ok());
  EXPECT_FALSE(CheckXmlValue("\xEF\xBF\xBE", "v").ok());  // U+FFFE
  EXPECT_FALSE(CheckXmlValue("\xC0\xAF", "v").ok());      // overlong
}

}  // namespace
}  // namespace fstx::virt

namespace fstx::virt {
namespace {

// Mutated samples (byte flips, insertions, deletions, truncations): whatever
// the input, the functions return a value, never crash (the sanitizer build
// runs this too); when a rename succeeds, its splices account for every
// changed byte and the result still parses.
TEST(VirtXmlRobustness, MutatedSamplesNeverMisbehave) {
  const std::string samples[] = {ReadData("vm1.xml"), ReadData("snap2-live.xml"),
                                 ReadData("cp1.xml")};
  const MomentKind kinds[] = {MomentKind::kDomain, MomentKind::kSnapshot,
                              MomentKind::kCheckpoint};
  const char alphabet[] = "<>/='\"&;!?[]-# \r\n\tavm1x\xC3\xA9";
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  auto next = [&seed]() {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  int renamed = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::size_t which = iter % 3;
    std::string x = samples[which];
    ASSERT_FALSE(x.empty());
    int muts = 1 + static_cast<int>(next() % 3);
    for (int m = 0; m < muts && !x.empty(); ++m) {
      std::size_t at = next() % x.size();
      char c = alphabet[next() % (sizeof alphabet - 1)];
      switch (next() % 4) {
        case 0: x[at] = c; break;
        case 1: x.insert(at, 1, c); break;
        case 2: x.erase(at, 1 + next() % 8); break;
        case 3: x.resize(at); break;
      }
    }
    (void)DetectKind(x);
    (void)InspectDomainXml(x);
    (void)InspectMomentXml(x);
    Result<std::vector<XmlSplice>> plan = PlanRenameInXml(x, kinds[which], Vm1ToVm2());
    if (!plan.ok()) {
      EXPECT_NE(plan.status().message(), "") << "an error without a message";
      continue;
    }
    ++renamed;
    Result<std::string> out = ApplySplices(x, *plan);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    // Undo the splices at their places in the output: the input comes back.
    std::string back = *out;
    std::vector<std::size_t> at;
    std::ptrdiff_t delta = 0;
    for (const XmlSplice& s : *plan) {
      at.push_back(static_cast<std::size_t>(static_cast<std::ptrdiff_t>(s.offset) + delta));
      delta += static_cast<std::ptrdiff_t>(s.new_raw.size()) -
               static_cast<std::ptrdiff_t>(s.old_raw.size());
    }
    for (std::size_t i = plan->size(); i-- > 0;) {
      back.replace(at[i], (*plan)[i].new_raw.size(), (*plan)[i].old_raw);
    }
    EXPECT_TRUE(back == x) << "iteration " << iter;
    EXPECT_TRUE(DetectKind(*out).ok()) << "iteration " << iter << ": output does not parse";
  }
  EXPECT_GT(renamed, 100);  // the mutations leave many documents intact enough
}

}  // namespace
}  // namespace fstx::virt

// --- Real libvirt 9.0 output (data/real/, from the virt-harness sample tree) ---

namespace fstx::virt {
namespace {

namespace fs = std::filesystem;

// Every *.xml file of a real tree, relative to data/, sorted.
std::vector<std::string> RealFiles(const std::string& tree) {
  std::vector<std::string> out;
  fs::path root = fs::path(DataDir()) / "real" / tree;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && !it->is_symlink() && it->path().extension() == ".xml") {
      out.push_back(fs::relative(it->path(), DataDir()).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void CollectPaths(const DomainXmlInfo& d, std::vector<std::string>& out) {
  if (!d.nvram.empty()) out.push_back(d.nvram);
  out.insert(out.end(), d.disk_files.begin(), d.disk_files.end());
  out.insert(out.end(), d.backing_files.begin(), d.backing_files.end());
}

// All file paths a document names, through the Inspect functions.
std::vector<std::string> PathsOf(const std::string& xml) {
  std::vector<std::string> out;
  Result<MomentKind> k = DetectKind(xml);
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  if (!k.ok()) return out;
  if (*k == MomentKind::kDomain) {
    Result<DomainXmlInfo> d = InspectDomainXml(xml);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    if (d.ok()) CollectPaths(*d, out);
  } else {
    Result<MomentXmlInfo> m = InspectMomentXml(xml);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return out;
    if (!m->memory_file.empty()) out.push_back(m->memory_file);
    out.insert(out.end(), m->disk_files.begin(), m->disk_files.end());
    if (m->domain) CollectPaths(*m->domain, out);
    if (m->inactive_domain) CollectPaths(*m->inactive_domain, out);
  }
  return out;
}

// The planner's rule in small: a file whose base name starts with the old
// name is renamed to start with the new one.
std::string Renamed(const std::string& path, const std::string& from, const std::string& to) {
  std::size_t slash = path.rfind('/');
  std::size_t base = slash == std::string::npos ? 0 : slash + 1;
  if (path.compare(base, from.size(), from) != 0) return path;
  return path.substr(0, base) + to + path.substr(base + from.size());
}

// The independent oracle: a line-by-line textual substitution of exactly the
// forms libvirt writes (<name>OLD</name> alone on its line, '...path...'
// attribute values and >path< texts).
std::string Oracle(const std::string& in, const RenameEdits& e) {
  std::string out;
  for (std::string line : Lines(in)) {
    std::size_t first = line.find_first_not_of(' ');
    std::string body = first == std::string::npos ? "" : line.substr(first);
    if (body == "<name>" + e.old_name + "</name>\n") {
      line = line.substr(0, first) + "<name>" + e.new_name + "</name>\n";
    }
    for (const auto& [o, n] : e.file_map) {
      for (const auto& [l, r] : {std::pair<std::string, std::string>{"'", "'"}, {">", "<"}}) {
        std::size_t at = line.find(l + o + r);
        if (at != std::string::npos) line.replace(at, o.size() + 2, l + n + r);
      }
    }
    out += line;
  }
  return out;
}

class VirtXmlReal : public ::testing::TestWithParam<const char*> {};

TEST_P(VirtXmlReal, EveryFileRenamesAsTheOracleSays) {
  std::vector<std::string> files = RealFiles(GetParam());
  ASSERT_EQ(files.size(), 4u) << "data/real/" << GetParam() << " is incomplete";
  RenameEdits e;
  e.old_name = "vm1";
  e.new_name = "vm2";
  for (const std::string& f : files) {
    for (const std::string& p : PathsOf(ReadData(f))) {
      std::string r = Renamed(p, "vm1", "vm2");
      if (r != p) e.file_map[p] = r;
    }
  }
  // What libvirt's files name: the NVRAM file and the image chain.
  EXPECT_EQ(e.file_map.count(kNv1), 1u);
  EXPECT_EQ(e.file_map.count("/var/lib/libvirt/images/vm1.qcow2"), 1u);
  EXPECT_EQ(e.file_map.count("/var/lib/libvirt/images/vm1.snap1"), 1u);
  EXPECT_EQ(e.file_map.count("/var/lib/libvirt/images/vm1.snap2"), 1u);

  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    std::string in = ReadData(f);
    Result<MomentKind> kind = DetectKind(in);
    ASSERT_TRUE(kind.ok());
    EXPECT_EQ(*kind, f.find("/snapshot/") != std::string::npos     ? MomentKind::kSnapshot
                     : f.find("/checkpoint/") != std::string::npos ? MomentKind::kCheckpoint
                                                                   : MomentKind::kDomain);
    std::string out = MustRename(in, *kind, e);
    EXPECT_EQ(out, Oracle(in, e));
    EXPECT_GT(CheckOnlyIntendedSpans(in, out, e), 0);
    EXPECT_EQ(MustRename(out, *kind, Inverse(e)), in);
    // Nothing named after the old domain is left, except libvirt's header
    // comment ("virsh edit vm1"), which is kept as written.
    for (const std::string& p : PathsOf(out)) EXPECT_EQ(p.find("/vm1"), std::string::npos) << p;
    if (*kind == MomentKind::kDomain) {
      EXPECT_EQ(InspectDomainXml(out)->name, "vm2");
      EXPECT_THAT(out, HasSubstr("  virsh edit vm1\n"));
    } else {
      Result<MomentXmlInfo> m = InspectMomentXml(out);
      ASSERT_TRUE(m.ok());
      ASSERT_TRUE(m->domain.has_value());
      EXPECT_EQ(m->domain->name, "vm2");
      if (m->inactive_domain) {
        EXPECT_EQ(m->inactive_domain->name, "vm2");
      }
      EXPECT_THAT(m->name, ::testing::StartsWith(*kind == MomentKind::kSnapshot ? "snap" : "cp"));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Trees, VirtXmlReal, ::testing::Values("live", "offline"));

TEST(VirtXmlRealDomrename, WhatVirshDomrenameLeftBehind) {
  // libvirt renamed the domain XML's <name> but nothing else: the name check
  // catches a plan that assumes it did not happen...
  std::string dom = ReadData("real/domrename/etc/libvirt/qemu/vm2.xml");
  RenameEdits e;
  e.old_name = "vm1";
  e.new_name = "vm2";
  e.file_map = {{kNv1, kNv2},
                {"/var/lib/libvirt/images/vm1.snap2", "/var/lib/libvirt/images/vm2.snap2"},
                {"/var/lib/libvirt/images/vm1.snap1", "/var/lib/libvirt/images/vm2.snap1"},
                {"/var/lib/libvirt/images/vm1.qcow2", "/var/lib/libvirt/images/vm2.qcow2"}};
  Result<std::string> r = RenameInXml(dom, MomentKind::kDomain, e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("is 'vm2', not the old name 'vm1'"));

  // ...and a repair (name already vm2) fixes only the paths.
  RenameEdits fix = e;
  fix.old_name = "vm2";
  std::string fixed = MustRename(dom, MomentKind::kDomain, fix);
  EXPECT_EQ(CheckOnlyIntendedSpans(dom, fixed, fix), 4);
  EXPECT_EQ(InspectDomainXml(fixed)->nvram, kNv2);

  // The snapshots still embed vm1 and rename normally.
  for (const char* f : {"real/domrename/var/lib/libvirt/qemu/snapshot/vm2/snap1.xml",
                        "real/domrename/var/lib/libvirt/qemu/snapshot/vm2/snap2.xml"}) {
    SCOPED_TRACE(f);
    std::string in = ReadData(f);
    std::string out = MustRename(in, MomentKind::kSnapshot, e);
    EXPECT_EQ(out, Oracle(in, e));
  }
  // The checkpoint libvirt wrote into the snapshot directory is recognizable
  // as one by its root element.
  Result<MomentKind> k = DetectKind(ReadData("real/domrename/var/lib/libvirt/qemu/snapshot/vm2/cp1.xml"));
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, MomentKind::kCheckpoint);
}

}  // namespace
}  // namespace fstx::virt
