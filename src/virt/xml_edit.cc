// virt/xml_edit.cc — surgical edits of libvirt XML; see xml_edit.h.
//
// pugixml finds the elements (it validates well-formedness and gives each
// element the offset of its name in the original buffer). The exact byte
// spans of the values are then found by scanning the original bytes from
// that offset: the start tag's attributes (name, '=', quote, value) and an
// element's content up to its end tag. Each scanned value is decoded with
// the XML rules and cross-checked against pugixml's reading, so a scanner
// that disagrees with the parser is an error, never a wrong edit.

#include "src/virt/xml_edit.h"

#include <pugixml.hpp>

#include <algorithm>
#include <cstdint>
#include <utility>

namespace fstx::virt {
namespace {

constexpr unsigned kParseOptions = pugi::parse_default | pugi::parse_comments | pugi::parse_pi |
                                   pugi::parse_declaration | pugi::parse_doctype;

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// "offset N (line L, column C)"; lines and columns count from 1, columns in bytes.
std::string Where(std::string_view xml, std::size_t off) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < off && i < xml.size(); ++i) {
    if (xml[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "offset " + std::to_string(off) + " (line " + std::to_string(line) + ", column " +
         std::to_string(col) + ")";
}

std::string LineOf(std::string_view xml, std::size_t off) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < off && i < xml.size(); ++i) line += xml[i] == '\n';
  return "line " + std::to_string(line);
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

Status Internal(std::string_view xml, std::size_t off, const std::string& what) {
  return Status(Code::kNotSupported,
                "XML at " + Where(xml, off) + ": " + what +
                    " (the scanner and the parser disagree; not editing)");
}

// "/domainsnapshot/domain/devices/disk/source"
std::string PathOf(pugi::xml_node n) {
  std::string path;
  for (; n && n.type() == pugi::node_element; n = n.parent()) path = "/" + std::string(n.name()) + path;
  return path;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// XML 1.0 Char production.
bool IsXmlChar(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// ---------------------------------------------------------------------------
// The parsed document.

Status StrictCheck(std::string_view x);

struct Doc {
  std::string_view xml;
  pugi::xml_document doc;
  pugi::xml_node root;
};

Status Load(std::string_view xml, Doc& d) {
  d.xml = xml;
  if (std::size_t nul = xml.find('\0'); nul != std::string_view::npos) {
    return Status(Code::kInvalidArgument, "malformed XML: NUL byte at " + Where(xml, nul));
  }
  pugi::xml_parse_result r = d.doc.load_buffer(xml.data(), xml.size(), kParseOptions,
                                               pugi::encoding_utf8);
  if (!r) {
    return Status(Code::kInvalidArgument,
                  "malformed XML at " + Where(xml, static_cast<std::size_t>(r.offset)) + ": " +
                      r.description());
  }
  for (pugi::xml_node n : d.doc.children()) {
    switch (n.type()) {
      case pugi::node_doctype:
        return Status(Code::kNotSupported,
                      "XML has a DOCTYPE; libvirt never writes one and entities it could define "
                      "would not be expanded");
      case pugi::node_element:
        if (d.root) {
          return Status(Code::kInvalidArgument,
                        "malformed XML: a second root element <" + std::string(n.name()) +
                            "> after <" + d.root.name() + "> at " +
                            Where(xml, static_cast<std::size_t>(n.offset_debug())));
        }
        d.root = n;
        break;
      case pugi::node_declaration: {
        // Values are compared and written as UTF-8: refuse any other encoding.
        std::string enc = n.attribute("encoding").value();
        for (char& c : enc) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        if (!enc.empty() && enc != "UTF-8" && enc != "UTF8") {
          return Status(Code::kNotSupported, "XML declares encoding '" +
                                                 std::string(n.attribute("encoding").value()) +
                                                 "'; only UTF-8 is supported");
        }
        break;
      }
      case pugi::node_pcdata:
      case pugi::node_cdata:
        return Status(Code::kInvalidArgument,
                      "malformed XML: character data outside the root element at " +
                          Where(xml, static_cast<std::size_t>(n.offset_debug())));
      default:
        break;
    }
  }
  if (!d.root) return Status(Code::kInvalidArgument, "malformed XML: no root element");
  return StrictCheck(xml);
}

Result<MomentKind> KindOfRoot(const Doc& d) {
  std::string_view name = d.root.name();
  if (name == "domain") return MomentKind::kDomain;
  if (name == "domainsnapshot") return MomentKind::kSnapshot;
  if (name == "domaincheckpoint") return MomentKind::kCheckpoint;
  return Status(Code::kInvalidArgument,
                "root element <" + std::string(name) +
                    "> is not <domain>, <domainsnapshot> or <domaincheckpoint>");
}

// Offset of an element's name in the original bytes (just after its '<').
Result<std::size_t> NameOffset(const Doc& d, pugi::xml_node el) {
  std::ptrdiff_t off = el.offset_debug();
  std::string_view name = el.name();
  if (off < 1 || static_cast<std::size_t>(off) + name.size() > d.xml.size()) {
    return Internal(d.xml, 0, "no offset for element <" + std::string(name) + ">");
  }
  auto o = static_cast<std::size_t>(off);
  if (d.xml[o - 1] != '<' || d.xml.compare(o, name.size(), name) != 0) {
    return Internal(d.xml, o, "element <" + std::string(name) + "> not found at its offset");
  }
  return o;
}

// ---------------------------------------------------------------------------
// Scanning the original bytes.

struct AttrSpan {
  std::string_view name;
  std::size_t begin = 0, end = 0;  // the value, without quotes
  char quote = '\'';
};

struct StartTag {
  std::size_t name_offset = 0;
  std::vector<AttrSpan> attrs;
  std::size_t content_begin = 0;  // first byte after the start tag
  bool self_closing = false;
};

// Scans a start tag from the byte after its element name: attributes
// (name, optional spaces, '=', optional spaces, quoted value) up to '>' or '/>'.
Result<StartTag> ScanTagAt(std::string_view x, std::size_t name_offset, std::size_t p) {
  StartTag t;
  t.name_offset = name_offset;
  for (;;) {
    std::size_t ws = p;
    while (p < x.size() && IsXmlSpace(x[p])) ++p;
    if (p >= x.size()) return Internal(x, name_offset, "unterminated start tag");
    if (x[p] == '>') {
      t.content_begin = p + 1;
      break;
    }
    if (x[p] == '/' && p + 1 < x.size() && x[p + 1] == '>') {
      t.content_begin = p + 2;
      t.self_closing = true;
      break;
    }
    if (p == ws) return Internal(x, p, "attribute not preceded by white space");
    std::size_t q = p;
    while (q < x.size() && !IsXmlSpace(x[q]) && x[q] != '=' && x[q] != '>' && x[q] != '/') ++q;
    if (q == p) return Internal(x, p, "unexpected byte in start tag");
    AttrSpan a;
    a.name = x.substr(p, q - p);
    p = q;
    while (p < x.size() && IsXmlSpace(x[p])) ++p;
    if (p >= x.size() || x[p] != '=') return Internal(x, p, "attribute without '='");
    ++p;
    while (p < x.size() && IsXmlSpace(x[p])) ++p;
    if (p >= x.size() || (x[p] != '\'' && x[p] != '"')) {
      return Internal(x, p, "attribute value without quotes");
    }
    a.quote = x[p];
    std::size_t close = x.find(a.quote, p + 1);
    if (close == std::string_view::npos) return Internal(x, p, "unterminated attribute value");
    a.begin = p + 1;
    a.end = close;
    t.attrs.push_back(a);
    p = close + 1;
  }
  return t;
}

Result<StartTag> ScanStartTag(const Doc& d, pugi::xml_node el) {
  Result<std::size_t> off = NameOffset(d, el);
  if (!off.ok()) return off.status();
  std::string_view x = d.xml;
  Result<StartTag> t = ScanTagAt(x, *off, *off + std::string_view(el.name()).size());
  if (!t.ok()) return t;
  // The parser must have read the same attributes, in the same order.
  std::size_t i = 0;
  for (pugi::xml_attribute pa : el.attributes()) {
    if (i >= t->attrs.size() || t->attrs[i].name != pa.name()) {
      return Internal(x, *off, "attributes of <" + std::string(el.name()) + "> differ");
    }
    ++i;
  }
  if (i != t->attrs.size()) {
    return Internal(x, *off, "attributes of <" + std::string(el.name()) + "> differ");
  }
  return t;
}

// A decoded attribute value with its span.
struct AttrValue {
  bool present = false;
  AttrSpan span;
  std::string value;
};

Result<AttrValue> FindAttr(const Doc& d, pugi::xml_node el, std::string_view name) {
  AttrValue v;
  if (!el.attribute(std::string(name).c_str())) return v;
  Result<StartTag> t = ScanStartTag(d, el);
  if (!t.ok()) return t.status();
  for (const AttrSpan& a : t->attrs) {
    if (a.name != name) continue;
    if (v.present) {
      return Status(Code::kInvalidArgument,
                    "malformed XML: duplicate attribute '" + std::string(name) + "' in <" +
                        el.name() + "> at " + Where(d.xml, a.begin));
    }
    v.present = true;
    v.span = a;
  }
  if (!v.present) return Internal(d.xml, t->name_offset, "attribute not scanned");
  Result<std::string> dec =
      DecodeXmlValue(d.xml.substr(v.span.begin, v.span.end - v.span.begin), true);
  if (!dec.ok()) return dec.status().Annotate("attribute at " + Where(d.xml, v.span.begin));
  if (*dec != el.attribute(std::string(name).c_str()).value()) {
    return Internal(d.xml, v.span.begin, "attribute value decodes differently");
  }
  v.value = std::move(*dec);
  return v;
}

// The content of an element, up to its end tag.
struct Content {
  enum Kind {
    kEmpty,     // <x></x> or <x/>
    kText,      // one run of character data: [begin, end) is its raw text
    kCdata,     // one CDATA section: [begin, end) is its inside
    kMixed,     // several pieces, comments or PIs (value still computed)
    kElements,  // child elements (value not computed)
  };
  Kind kind = kEmpty;
  std::size_t begin = 0, end = 0;
  std::string value;  // decoded: text and CDATA concatenated
  bool self_closing = false;
};

Status CheckEndTag(const Doc& d, pugi::xml_node el, std::size_t q) {
  std::string_view x = d.xml;
  std::string_view name = el.name();
  std::size_t p = q + 2;
  if (x.compare(p, name.size(), name) != 0) return Internal(x, q, "unexpected end tag");
  p += name.size();
  while (p < x.size() && IsXmlSpace(x[p])) ++p;
  if (p >= x.size() || x[p] != '>') return Internal(x, q, "unexpected end tag");
  return Status::Ok();
}

std::string NormalizeEol(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      out += '\n';
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else {
      out += raw[i];
    }
  }
  return out;
}

Result<Content> ScanContent(const Doc& d, pugi::xml_node el) {
  Result<StartTag> t = ScanStartTag(d, el);
  if (!t.ok()) return t.status();
  Content c;
  c.begin = c.end = t->content_begin;
  c.self_closing = t->self_closing;
  if (t->self_closing) return c;
  std::string_view x = d.xml;
  std::size_t p = t->content_begin;
  int pieces = 0;
  bool other = false;
  Content::Kind last = Content::kEmpty;
  for (;;) {
    std::size_t q = x.find('<', p);
    if (q == std::string_view::npos) return Internal(x, p, "element content without end tag");
    if (q > p) {
      Result<std::string> dec = DecodeXmlValue(x.substr(p, q - p), false);
      if (!dec.ok()) return dec.status().Annotate("text at " + Where(x, p));
      c.value += *dec;
      ++pieces;
      last = Content::kText;
      c.begin = p;
      c.end = q;
    }
    std::string_view rest = x.substr(q);
    if (rest.starts_with("</")) {
      Status s = CheckEndTag(d, el, q);
      if (!s.ok()) return s;
      break;
    }
    if (rest.starts_with("<![CDATA[")) {
      std::size_t e = x.find("]]>", q + 9);
      if (e == std::string_view::npos) return Internal(x, q, "unterminated CDATA");
      c.value += NormalizeEol(x.substr(q + 9, e - q - 9));
      ++pieces;
      last = Content::kCdata;
      c.begin = q + 9;
      c.end = e;
      p = e + 3;
    } else if (rest.starts_with("<!--")) {
      std::size_t e = x.find("-->", q + 4);
      if (e == std::string_view::npos) return Internal(x, q, "unterminated comment");
      other = true;
      p = e + 3;
    } else if (rest.starts_with("<?")) {
      std::size_t e = x.find("?>", q + 2);
      if (e == std::string_view::npos) return Internal(x, q, "unterminated processing instruction");
      other = true;
      p = e + 2;
    } else {
      c.kind = Content::kElements;
      c.value.clear();
      return c;
    }
  }
  if (pieces == 0 && !other) {
    c.kind = Content::kEmpty;
    c.begin = c.end = t->content_begin;
  } else if (pieces == 1 && !other) {
    c.kind = last;
    // Cross-check with the parser's reading of the single piece (pugixml
    // drops whitespace-only character data, so there may be no child).
    pugi::xml_node child = el.first_child();
    if (child && !child.next_sibling() &&
        (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) &&
        c.value != child.value()) {
      return Internal(x, c.begin, "text of <" + std::string(el.name()) + "> decodes differently");
    }
  } else {
    c.kind = Content::kMixed;
  }
  return c;
}

// A second, strict pass over the whole document for what pugixml accepts
// but XML does not (and libvirt's libxml2 rejects): undefined entities, '<'
// in attribute values, duplicate attributes, character data outside the
// root element, a second root element, "]]>" in text, "--" in a comment.
Status StrictCheck(std::string_view x) {
  auto bad = [&](std::size_t at, const std::string& why) {
    return Status(Code::kInvalidArgument, "malformed XML at " + Where(x, at) + ": " + why);
  };
  std::size_t p = x.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  int depth = 0;
  bool seen_root = false;
  while (p < x.size()) {
    if (x[p] != '<') {
      std::size_t q = std::min(x.find('<', p), x.size());
      std::string_view text = x.substr(p, q - p);
      if (depth == 0) {
        for (std::size_t i = 0; i < text.size(); ++i) {
          if (!IsXmlSpace(text[i])) return bad(p + i, "character data outside the root element");
        }
      } else {
        if (std::size_t k = text.find("]]>"); k != std::string_view::npos) {
          return bad(p + k, "\"]]>\" in character data");
        }
        Result<std::string> dec = DecodeXmlValue(text, false);
        if (!dec.ok()) return bad(p, dec.status().message());
      }
      p = q;
      continue;
    }
    std::string_view rest = x.substr(p);
    if (rest.starts_with("<?")) {
      std::size_t e = x.find("?>", p + 2);
      if (e == std::string_view::npos) return bad(p, "unterminated processing instruction");
      p = e + 2;
    } else if (rest.starts_with("<!--")) {
      std::size_t e = x.find("-->", p + 4);
      if (e == std::string_view::npos) return bad(p, "unterminated comment");
      if (x.substr(p + 4, e - p - 4).find("--") != std::string_view::npos) {
        return bad(p, "\"--\" inside a comment");
      }
      p = e + 3;
    } else if (rest.starts_with("<![CDATA[")) {
      if (depth == 0) return bad(p, "CDATA outside the root element");
      std::size_t e = x.find("]]>", p + 9);
      if (e == std::string_view::npos) return bad(p, "unterminated CDATA section");
      p = e + 3;
    } else if (rest.starts_with("<!")) {
      return Status(Code::kNotSupported, "XML declares a DOCTYPE at " + Where(x, p) +
                                             "; libvirt never writes one");
    } else if (rest.starts_with("</")) {
      std::size_t e = x.find('>', p);
      if (e == std::string_view::npos) return bad(p, "unterminated end tag");
      --depth;
      p = e + 1;
    } else {
      if (depth == 0 && seen_root) return bad(p, "a second root element");
      std::size_t n = p + 1;
      while (n < x.size() && !IsXmlSpace(x[n]) && x[n] != '>' && x[n] != '/') ++n;
      Result<StartTag> t = ScanTagAt(x, p + 1, n);
      if (!t.ok()) return t.status();
      const std::vector<AttrSpan>& as = t->attrs;
      for (std::size_t i = 0; i < as.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
          if (as[j].name == as[i].name) {
            return bad(as[i].begin, "duplicate attribute '" + std::string(as[i].name) + "'");
          }
        }
        Result<std::string> dec = DecodeXmlValue(x.substr(as[i].begin, as[i].end - as[i].begin),
                                                 true);
        if (!dec.ok()) return bad(as[i].begin, dec.status().message());
      }
      seen_root = true;
      if (!t->self_closing) ++depth;
      p = t->content_begin;
    }
  }
  return Status::Ok();
}

// The decoded string value of a leaf element (kInvalidArgument if it has
// child elements).
Result<std::string> LeafValue(const Doc& d, pugi::xml_node el) {
  Result<Content> c = ScanContent(d, el);
  if (!c.ok()) return c.status();
  if (c->kind == Content::kElements) {
    return Status(Code::kInvalidArgument,
                  "<" + std::string(el.name()) + "> at " +
                      Where(d.xml, static_cast<std::size_t>(el.offset_debug())) +
                      " has child elements where text is expected");
  }
  return c->value;
}

// Iterative pre-order walk over the elements beneath and including `root`;
// `f(el)` returns whether to descend into el.
template <class F>
void Walk(pugi::xml_node root, F&& f) {
  pugi::xml_node n = root;
  for (;;) {
    bool down = n.type() == pugi::node_element && f(n);
    if (down && n.first_child()) {
      n = n.first_child();
      continue;
    }
    for (;;) {
      if (n == root) return;
      if (n.next_sibling()) {
        n = n.next_sibling();
        break;
      }
      n = n.parent();
    }
  }
}

// ---------------------------------------------------------------------------
// Inspection.

Result<DomainXmlInfo> InspectDomain(const Doc& d, pugi::xml_node dom, bool require_name) {
  DomainXmlInfo info;
  pugi::xml_node name = dom.child("name");
  if (!name) {
    if (require_name) {
      return Status(Code::kInvalidArgument, "<" + std::string(dom.name()) + "> has no <name>");
    }
  } else {
    Result<std::string> v = LeafValue(d, name);
    if (!v.ok()) return v.status();
    info.name = std::move(*v);
  }
  if (pugi::xml_node uuid = dom.child("uuid")) {
    Result<std::string> v = LeafValue(d, uuid);
    if (!v.ok()) return v.status();
    info.uuid = std::move(*v);
  }
  if (pugi::xml_node nvram = dom.child("os").child("nvram")) {
    Result<Content> c = ScanContent(d, nvram);
    if (!c.ok()) return c.status();
    if (c->kind == Content::kElements) {
      Result<AttrValue> f = FindAttr(d, nvram.child("source"), "file");
      if (!f.ok()) return f.status();
      info.nvram = f->value;
    } else {
      info.nvram = c->value;
    }
  }
  for (pugi::xml_node disk : dom.child("devices").children("disk")) {
    pugi::xml_node src = disk.child("source");
    if (!src) continue;
    Result<AttrValue> f = FindAttr(d, src, "file");
    if (!f.ok()) return f.status();
    if (f->present && !f->value.empty()) info.disk_files.push_back(f->value);
  }
  Status st;
  Walk(dom, [&](pugi::xml_node el) {
    if (!st.ok() || std::string_view(el.name()) == "metadata") return false;
    if (std::string_view(el.name()) == "backingStore") {
      if (pugi::xml_node src = el.child("source")) {
        Result<AttrValue> f = FindAttr(d, src, "file");
        if (!f.ok()) {
          st = f.status();
          return false;
        }
        if (f->present && !f->value.empty()) info.backing_files.push_back(f->value);
      }
    }
    return true;
  });
  if (!st.ok()) return st;
  return info;
}

// ---------------------------------------------------------------------------
// Planning the rename.

class Planner {
 public:
  Planner(const Doc& d, const RenameEdits& e) : d_(d), e_(e) {}

  // The domain <name> of `dom`.
  Status Name(pugi::xml_node dom, bool required) {
    pugi::xml_node name = dom.child("name");
    if (!name) {
      if (!required) return Status::Ok();
      return Status(Code::kInvalidArgument,
                    PathOf(dom) + " has no <name> (expected the old name " +
                        Quoted(e_.old_name) + ")");
    }
    Result<Content> c = ScanContent(d_, name);
    if (!c.ok()) return c.status();
    std::string what = PathOf(name);
    if (c->kind == Content::kElements) {
      return Status(Code::kInvalidArgument, what + " at " + Where(d_.xml, c->begin) +
                                                " has child elements");
    }
    if (c->value != e_.old_name) {
      return Status(Code::kInvalidArgument,
                    what + " at " + LineOf(d_.xml, c->begin) + " is " + Quoted(c->value) +
                        ", not the old name " + Quoted(e_.old_name) + " (new name " +
                        Quoted(e_.new_name) + ")");
    }
    return SpliceContent(name, *c, e_.new_name);
  }

  // Path-valued text of <os> children (nvram and friends).
  Status OsPaths(pugi::xml_node dom) {
    for (pugi::xml_node el : dom.child("os").children()) {
      if (el.type() != pugi::node_element) continue;
      std::string_view n = el.name();
      if (n != "nvram" && n != "loader" && n != "kernel" && n != "initrd" && n != "dtb") continue;
      Result<Content> c = ScanContent(d_, el);
      if (!c.ok()) return c.status();
      if (c->kind == Content::kElements) continue;  // <nvram><source file=..>: see Sources()
      auto it = e_.file_map.find(c->value);
      if (it == e_.file_map.end() || c->value.empty()) continue;
      Status s = SpliceContent(el, *c, it->second);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  // <source file=> everywhere (outside <metadata>); snapshot <memory file=>.
  Status Sources(pugi::xml_node root, MomentKind kind) {
    Status st;
    Walk(root, [&](pugi::xml_node el) {
      if (!st.ok()) return false;
      std::string_view n = el.name();
      if (n == "metadata") return false;
      if (n == "source" ||
          (n == "memory" && kind == MomentKind::kSnapshot && el.parent() == root)) {
        st = SpliceAttr(el, "file");
      }
      return st.ok();
    });
    return st;
  }

  std::vector<XmlSplice> Take() { return std::move(splices_); }

 private:
  Status SpliceAttr(pugi::xml_node el, std::string_view attr) {
    Result<AttrValue> a = FindAttr(d_, el, attr);
    if (!a.ok()) return a.status();
    if (!a->present || a->value.empty()) return Status::Ok();
    auto it = e_.file_map.find(a->value);
    if (it == e_.file_map.end() || it->second == a->value) return Status::Ok();
    XmlSplice s;
    s.offset = a->span.begin;
    s.old_raw = std::string(d_.xml.substr(a->span.begin, a->span.end - a->span.begin));
    s.new_raw = EscapeXmlAttr(it->second, a->span.quote);
    s.what = PathOf(el) + "/@" + std::string(attr) + " (" + LineOf(d_.xml, s.offset) + ")";
    splices_.push_back(std::move(s));
    return Status::Ok();
  }

  Status SpliceContent(pugi::xml_node el, const Content& c, const std::string& value) {
    if (c.value == value) return Status::Ok();
    std::string what = PathOf(el) + " (" + LineOf(d_.xml, c.begin) + ")";
    XmlSplice s;
    s.offset = c.begin;
    s.old_raw = std::string(d_.xml.substr(c.begin, c.end - c.begin));
    s.what = what;
    switch (c.kind) {
      case Content::kEmpty:
        if (c.self_closing) {
          return Status(Code::kNotSupported, what + " is an empty element <" +
                                                 std::string(el.name()) + "/>; not adding text");
        }
        s.new_raw = EscapeXmlText(value);
        break;
      case Content::kText:
        s.new_raw = EscapeXmlText(value);
        break;
      case Content::kCdata:
        if (value.find("]]>") != std::string::npos || value.find('\r') != std::string::npos) {
          return Status(Code::kNotSupported,
                        what + " is a CDATA section and the new value " + Quoted(value) +
                            " cannot be written in one (\"]]>\" or CR)");
        }
        s.new_raw = value;
        break;
      case Content::kMixed:
      case Content::kElements:
        return Status(Code::kNotSupported,
                      what + " has mixed content (comments, processing instructions or several "
                             "text/CDATA pieces); not editing " +
                          Quoted(c.value));
    }
    splices_.push_back(std::move(s));
    return Status::Ok();
  }

  const Doc& d_;
  const RenameEdits& e_;
  std::vector<XmlSplice> splices_;
};

Status CheckEdits(const RenameEdits& e) {
  if (e.old_name.empty()) return Status(Code::kInvalidArgument, "rename: the old name is empty");
  if (e.new_name.empty()) return Status(Code::kInvalidArgument, "rename: the new name is empty");
  Status s = CheckXmlValue(e.new_name, "the new name");
  if (!s.ok()) return s;
  for (const auto& [from, to] : e.file_map) {
    if (to.empty()) {
      return Status(Code::kInvalidArgument, "rename: the new path for " + Quoted(from) +
                                                " is empty");
    }
    s = CheckXmlValue(to, "the new path for " + Quoted(from));
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------

const char* RootElementName(MomentKind kind) {
  switch (kind) {
    case MomentKind::kDomain: return "domain";
    case MomentKind::kSnapshot: return "domainsnapshot";
    case MomentKind::kCheckpoint: return "domaincheckpoint";
  }
  return "?";
}

Result<MomentKind> DetectKind(std::string_view xml) {
  Doc d;
  Status s = Load(xml, d);
  if (!s.ok()) return s;
  return KindOfRoot(d);
}

Result<DomainXmlInfo> InspectDomainXml(std::string_view xml) {
  Doc d;
  Status s = Load(xml, d);
  if (!s.ok()) return s;
  Result<MomentKind> kind = KindOfRoot(d);
  if (!kind.ok()) return kind.status();
  if (*kind != MomentKind::kDomain) {
    return Status(Code::kInvalidArgument, "expected a <domain> document, found <" +
                                              std::string(d.root.name()) + ">");
  }
  return InspectDomain(d, d.root, /*require_name=*/true);
}

Result<MomentXmlInfo> InspectMomentXml(std::string_view xml) {
  Doc d;
  Status s = Load(xml, d);
  if (!s.ok()) return s;
  Result<MomentKind> kind = KindOfRoot(d);
  if (!kind.ok()) return kind.status();
  if (*kind == MomentKind::kDomain) {
    return Status(Code::kInvalidArgument,
                  "expected a <domainsnapshot> or <domaincheckpoint> document, found <domain>");
  }
  MomentXmlInfo info;
  info.kind = *kind;
  if (pugi::xml_node name = d.root.child("name")) {
    Result<std::string> v = LeafValue(d, name);
    if (!v.ok()) return v.status();
    info.name = std::move(*v);
  }
  if (pugi::xml_node parent = d.root.child("parent").child("name")) {
    Result<std::string> v = LeafValue(d, parent);
    if (!v.ok()) return v.status();
    info.parent = std::move(*v);
  }
  if (*kind == MomentKind::kSnapshot) {
    if (pugi::xml_node mem = d.root.child("memory")) {
      Result<AttrValue> f = FindAttr(d, mem, "file");
      if (!f.ok()) return f.status();
      info.memory_file = f->value;
    }
  }
  for (pugi::xml_node disk : d.root.child("disks").children("disk")) {
    pugi::xml_node src = disk.child("source");
    if (!src) continue;
    Result<AttrValue> f = FindAttr(d, src, "file");
    if (!f.ok()) return f.status();
    if (f->present && !f->value.empty()) info.disk_files.push_back(f->value);
  }
  if (pugi::xml_node dom = d.root.child("domain")) {
    Result<DomainXmlInfo> di = InspectDomain(d, dom, /*require_name=*/false);
    if (!di.ok()) return di.status();
    info.domain = std::move(*di);
  }
  if (*kind == MomentKind::kSnapshot) {
    if (pugi::xml_node dom = d.root.child("inactiveDomain")) {
      Result<DomainXmlInfo> di = InspectDomain(d, dom, /*require_name=*/false);
      if (!di.ok()) return di.status();
      info.inactive_domain = std::move(*di);
    }
  }
  return info;
}

Result<std::vector<XmlSplice>> PlanRenameInXml(std::string_view xml, MomentKind kind,
                                               const RenameEdits& e) {
  Status s = CheckEdits(e);
  if (!s.ok()) return s;
  Doc d;
  s = Load(xml, d);
  if (!s.ok()) return s;
  Result<MomentKind> actual = KindOfRoot(d);
  if (!actual.ok()) return actual.status();
  if (*actual != kind) {
    return Status(Code::kInvalidArgument, std::string("expected a <") + RootElementName(kind) +
                                              "> document, found <" + d.root.name() + ">");
  }

  std::vector<pugi::xml_node> domains;
  if (kind == MomentKind::kDomain) {
    domains.push_back(d.root);
  } else {
    for (pugi::xml_node c : d.root.children()) {
      std::string_view n = c.name();
      if (c.type() != pugi::node_element) continue;
      if (n == "domain" || (kind == MomentKind::kSnapshot && n == "inactiveDomain")) {
        domains.push_back(c);
      }
    }
  }
  Planner p(d, e);
  for (pugi::xml_node dom : domains) {
    s = p.Name(dom, /*required=*/kind == MomentKind::kDomain);
    if (!s.ok()) return s;
    s = p.OsPaths(dom);
    if (!s.ok()) return s;
  }
  s = p.Sources(d.root, kind);
  if (!s.ok()) return s;

  std::vector<XmlSplice> out = p.Take();
  std::sort(out.begin(), out.end(),
            [](const XmlSplice& a, const XmlSplice& b) { return a.offset < b.offset; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i - 1].offset + out[i - 1].old_raw.size() > out[i].offset) {
      return Internal(xml, out[i].offset, "overlapping edits");
    }
  }
  return out;
}

Result<std::string> ApplySplices(std::string_view xml, const std::vector<XmlSplice>& splices) {
  std::string out;
  std::size_t pos = 0;
  for (const XmlSplice& s : splices) {
    if (s.offset < pos || s.offset > xml.size() ||
        xml.substr(s.offset, s.old_raw.size()) != s.old_raw) {
      return Status(Code::kInvalidArgument,
                    "XML splice at offset " + std::to_string(s.offset) + " (" + s.what +
                        ") does not match the document (unsorted, overlapping or stale)");
    }
    out.append(xml.substr(pos, s.offset - pos));
    out.append(s.new_raw);
    pos = s.offset + s.old_raw.size();
  }
  out.append(xml.substr(pos));
  return out;
}

Result<std::string> RenameInXml(std::string_view xml, MomentKind kind, const RenameEdits& e) {
  Result<std::vector<XmlSplice>> plan = PlanRenameInXml(xml, kind, e);
  if (!plan.ok()) return plan.status();
  return ApplySplices(xml, *plan);
}

// ---------------------------------------------------------------------------

std::string EscapeXmlText(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\r': out += "&#13;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EscapeXmlAttr(std::string_view value, char quote) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      case '\'': out += quote == '\'' ? "&apos;" : "'"; break;
      case '"': out += quote == '"' ? "&quot;" : "\""; break;
      default: out += c;
    }
  }
  return out;
}

Result<std::string> DecodeXmlValue(std::string_view raw, bool attribute) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\r') {
      out += attribute ? ' ' : '\n';
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
      continue;
    }
    if (attribute && (c == '\n' || c == '\t')) {
      out += ' ';
      continue;
    }
    if (c == '<') {
      return Status(Code::kInvalidArgument,
                    "'<' in a value at byte " + std::to_string(i));
    }
    if (c != '&') {
      out += c;
      continue;
    }
    std::size_t semi = raw.find(';', i + 1);
    if (semi == std::string_view::npos || semi - i > 12) {
      return Status(Code::kInvalidArgument,
                    "'&' not starting an entity reference at byte " +
                        std::to_string(i) + " of " + Quoted(raw));
    }
    std::string_view ent = raw.substr(i + 1, semi - i - 1);
    if (ent == "amp") {
      out += '&';
    } else if (ent == "lt") {
      out += '<';
    } else if (ent == "gt") {
      out += '>';
    } else if (ent == "quot") {
      out += '"';
    } else if (ent == "apos") {
      out += '\'';
    } else if (ent.size() >= 2 && ent[0] == '#') {
      bool hex = ent[1] == 'x';
      std::string_view digits = ent.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      bool ok = !digits.empty() && digits.size() <= 8;
      for (char ch : digits) {
        if (!ok) break;
        uint32_t v;
        if (ch >= '0' && ch <= '9') {
          v = static_cast<uint32_t>(ch - '0');
        } else if (hex && ch >= 'a' && ch <= 'f') {
          v = static_cast<uint32_t>(ch - 'a' + 10);
        } else if (hex && ch >= 'A' && ch <= 'F') {
          v = static_cast<uint32_t>(ch - 'A' + 10);
        } else {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + v;
        if (cp > 0x10FFFF) ok = false;
      }
      if (!ok || !IsXmlChar(cp)) {
        return Status(Code::kInvalidArgument, "bad character reference &" +
                                                  std::string(ent) + "; in " + Quoted(raw));
      }
      AppendUtf8(out, cp);
    } else {
      return Status(Code::kInvalidArgument, "undefined entity &" +
                                                std::string(ent) + "; in " + Quoted(raw));
    }
    i = semi;
  }
  return out;
}

Status CheckXmlValue(std::string_view value, std::string_view what) {
  auto bad = [&](std::size_t at, const std::string& why) {
    return Status(Code::kInvalidArgument, std::string(what) + " " + Quoted(value) +
                                              " cannot be written in XML: " + why + " at byte " +
                                              std::to_string(at));
  };
  for (std::size_t i = 0; i < value.size();) {
    auto b = static_cast<unsigned char>(value[i]);
    uint32_t cp;
    std::size_t n;
    if (b < 0x80) {
      cp = b;
      n = 1;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F;
      n = 2;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F;
      n = 3;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07;
      n = 4;
    } else {
      return bad(i, "invalid UTF-8");
    }
    if (i + n > value.size()) return bad(i, "truncated UTF-8 sequence");
    for (std::size_t k = 1; k < n; ++k) {
      auto cb = static_cast<unsigned char>(value[i + k]);
      if ((cb & 0xC0) != 0x80) return bad(i, "invalid UTF-8");
      cp = (cp << 6) | (cb & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n]) return bad(i, "overlong UTF-8");
    if (cp >= 0xD800 && cp <= 0xDFFF) return bad(i, "UTF-8 encoded surrogate");
    if (!IsXmlChar(cp)) {
      return bad(i, cp < 0x20 ? "control character " + std::to_string(cp)
                              : "character not allowed in XML");
    }
    i += n;
  }
  return Status::Ok();
}

}  // namespace fstx::virt
