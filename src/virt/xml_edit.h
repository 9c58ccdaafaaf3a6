// virt/xml_edit.h — surgical edits of libvirt XML (domain, snapshot and
// checkpoint definitions) for renaming a QEMU domain on disk.
//
// The documents are parsed (pugixml) only to find elements; the edits are
// splices of the original bytes at exactly the spans of the values that
// change. Every other byte — whitespace, attribute order and quoting,
// comments (including libvirt's "virsh edit NAME" header), the XML
// declaration, a UTF-8 BOM, CRLF line ends, entity escapes elsewhere — stays
// as written. Values are compared decoded (entities, character references,
// XML end-of-line and attribute-value normalization) and written encoded.
//
// All functions are pure: no I/O, no exceptions; errors are Status values.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fstx/status.h"

namespace fstx::virt {

// Which libvirt document: <domain>, <domainsnapshot> or <domaincheckpoint>.
enum class MomentKind { kDomain, kSnapshot, kCheckpoint };

// The root element name of a kind: "domain", "domainsnapshot", "domaincheckpoint".
const char* RootElementName(MomentKind kind);

// The kind of a document from its root element. kInvalidArgument if the XML is
// malformed (the parser's message, offset, line and column) or the root is
// none of the three.
Result<MomentKind> DetectKind(std::string_view xml);

// What a <domain> names (values decoded).
struct DomainXmlInfo {
  std::string name;                        // <name>
  std::string uuid;                        // <uuid>, "" if absent
  std::string nvram;                       // <os><nvram> path (text, or its <source file=>), "" if none
  std::vector<std::string> disk_files;     // <devices><disk><source file=> of file-backed disks, in order
  std::vector<std::string> backing_files;  // every <backingStore><source file=> at any depth, in order
};

// Inspects a <domain> document. kInvalidArgument if malformed, if the root is
// not <domain> or if it has no <name>.
Result<DomainXmlInfo> InspectDomainXml(std::string_view xml);

// What a <domainsnapshot> / <domaincheckpoint> names (values decoded).
struct MomentXmlInfo {
  MomentKind kind = MomentKind::kSnapshot;
  std::string name;                        // the moment's own <name> (e.g. snap1)
  std::string parent;                      // <parent><name>, "" if none
  std::string memory_file;                 // snapshot <memory file=>, "" if none
  std::vector<std::string> disk_files;     // <disks><disk><source file=> (external overlays)
  std::optional<DomainXmlInfo> domain;     // the embedded <domain> (its name may be "" if
                                           // libvirt stored only the uuid)
  std::optional<DomainXmlInfo> inactive_domain;  // snapshot <inactiveDomain>, if any
};

// Inspects a <domainsnapshot> or <domaincheckpoint> document.
Result<MomentXmlInfo> InspectMomentXml(std::string_view xml);

struct RenameEdits {
  std::string old_name, new_name;
  // Old path -> new path, exactly as written in the XML (absolute paths of
  // the NVRAM file and images the rename moves). Keys not found are ignored.
  std::map<std::string, std::string> file_map;
};

// One splice of the input: bytes [offset, offset + old_raw.size()) are
// replaced by new_raw. old_raw/new_raw are as written (escaped).
struct XmlSplice {
  std::size_t offset = 0;
  std::string old_raw;
  std::string new_raw;
  std::string what;  // e.g. "/domainsnapshot/domain/name", ".../disk/source/@file", with its line
};

// The splices RenameInXml makes, sorted by offset, non-overlapping. Values
// whose decoded form does not change are not spliced. What is edited:
//  - the domain <name>: for kDomain the root's; for kSnapshot the embedded
//    <domain>'s and <inactiveDomain>'s; for kCheckpoint the embedded
//    <domain>'s. Never the moment's own <name> nor <parent><name>. It must
//    equal old_name (kInvalidArgument naming both otherwise); a missing
//    <name> is an error for kDomain and allowed in an embedded domain.
//  - in each of those domains, the text of <os><nvram>, <loader>, <kernel>,
//    <initrd>, <dtb> when it is a key of file_map (in practice the nvram);
//  - every <source file=> anywhere in the document (disks, <backingStore> at
//    any depth, the snapshot's <disks> overlays, nvram <source>) and the
//    snapshot's <memory file=>, when the value is a key of file_map.
//  Nothing inside <metadata> (other applications' namespaces) is touched.
// kInvalidArgument: malformed XML, wrong root for `kind`, name mismatch, a
// new value XML cannot carry (NUL, control characters, invalid UTF-8), an
// undefined entity in a value. kNotSupported: a DOCTYPE, or a value to
// change with mixed content (comments or several CDATA/text pieces).
Result<std::vector<XmlSplice>> PlanRenameInXml(std::string_view xml, MomentKind kind,
                                               const RenameEdits& e);

// Applies splices from PlanRenameInXml (sorted, non-overlapping) to `xml`.
// kInvalidArgument if a splice does not match the bytes at its offset.
Result<std::string> ApplySplices(std::string_view xml, const std::vector<XmlSplice>& splices);

// PlanRenameInXml + ApplySplices: the new document.
Result<std::string> RenameInXml(std::string_view xml, MomentKind kind, const RenameEdits& e);

// --- Escaping (exposed for tests and for callers that build XML values) ---

// Encodes character data for element text: & < > and CR (as &#13;).
std::string EscapeXmlText(std::string_view value);
// Encodes an attribute value delimited by `quote` (' or "): & < > the quote,
// and TAB/LF/CR as character references (they would be normalized away).
std::string EscapeXmlAttr(std::string_view value, char quote);
// Decodes raw text or attribute bytes as an XML parser reports them:
// line ends normalized, the five predefined entities and character
// references decoded, and for attributes whitespace characters -> space.
// kInvalidArgument on an undefined or malformed entity.
Result<std::string> DecodeXmlValue(std::string_view raw, bool attribute);
// ok if `value` can be carried by XML 1.0: valid UTF-8, no NUL, no control
// characters other than TAB/LF/CR, no U+FFFE/U+FFFF. `what` names it.
Status CheckXmlValue(std::string_view value, std::string_view what);

}  // namespace fstx::virt
