// vm_fixture.h — the libvirt-like tree the CLI tests change, the spec that
// renames its VM (11 ops, every op kind, a replace, a socket, a directory
// removal), and the post-image that spec must produce.
#pragma once

#include <string>

#include "src/cli/text.h"
#include "tests/cli/cli_util.h"

namespace fstx::clitest {

inline std::string DomainXml(const std::string& name) {
  return "<domain type='kvm'>\n  <name>" + name +
         "</name>\n  <uuid>6f0e2b1c-6b7d-4a7e-9d2c-3c1b7f1e2a90</uuid>\n"
         "  <memory unit='KiB'>1048576</memory>\n  <os><nvram>/var/lib/libvirt/qemu/nvram/" +
         name + "_VARS.fd</nvram></os>\n</domain>\n";
}

inline std::string Bytes(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return s;
}

inline std::string BlobBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

// Builds the tree beneath ws.root().
inline void BuildVmTree(const Workspace& ws) {
  using fstx::testing::MkdirRaw;
  for (const char* d : {"etc", "etc/qemu", "etc/qemu/autostart", "lib", "lib/snapshot",
                        "lib/snapshot/vm1", "lib/nvram", "lib/images", "lib/old", "lib/old/sub",
                        "lib/checkpoint", "run"}) {
    MkdirRaw(ws.R(d), 0755);
  }
  WriteFileRaw(ws.R("etc/qemu/vm1.xml"), DomainXml("vm1"), 0600);
  Symlink("../vm1.xml", ws.R("etc/qemu/autostart/vm1.xml"));
  WriteFileRaw(ws.R("lib/snapshot/vm1/s1.xml"), "<domainsnapshot><name>s1</name></domainsnapshot>\n",
               0600);
  WriteFileRaw(ws.R("lib/snapshot/vm1/s2.xml"), "<domainsnapshot><name>s2</name></domainsnapshot>\n",
               0600);
  WriteFileRaw(ws.R("lib/nvram/vm1_VARS.fd"), Bytes(4096, 1), 0600);
  WriteFileRaw(ws.R("lib/images/vm1.qcow2"), Bytes(64 * 1024, 2), 0644);
  WriteFileRaw(ws.R("lib/images/vm2.qcow2"), "stale image\n", 0644);
  WriteFileRaw(ws.R("lib/old/a.log"), "old log\n", 0640);
  WriteFileRaw(ws.R("lib/old/sub/b.log"), "older log\n", 0640);
  MakeSocket(ws.R("run/vm1.monitor"));
}

inline json VmRenameSpecJson(const Workspace& ws, const std::string& policy = "rollback") {
  return json{
      {"label", "rename vm1 to vm2"},
      {"policy", policy},
      {"ops",
       json::array({
           {{"op", "rename"}, {"from", ws.R("etc/qemu/vm1.xml")}, {"to", ws.R("etc/qemu/vm2.xml")}},
           {{"op", "write_file"}, {"path", ws.R("etc/qemu/vm2.xml")}, {"content", DomainXml("vm2")},
            {"mode", "0600"}},
           {{"op", "symlink"}, {"target", "../vm2.xml"}, {"path", ws.R("etc/qemu/autostart/vm2.xml")}},
           {{"op", "remove"}, {"path", ws.R("etc/qemu/autostart/vm1.xml")}},
           {{"op", "rename"}, {"from", ws.R("lib/snapshot/vm1")}, {"to", ws.R("lib/snapshot/vm2")}},
           {{"op", "rename"}, {"from", ws.R("lib/nvram/vm1_VARS.fd")},
            {"to", ws.R("lib/nvram/vm2_VARS.fd")}},
           {{"op", "rename"}, {"from", ws.R("lib/images/vm1.qcow2")},
            {"to", ws.R("lib/images/vm2.qcow2")}, {"replace", true}},
           {{"op", "rename"}, {"from", ws.R("run/vm1.monitor")}, {"to", ws.R("run/vm2.monitor")}},
           {{"op", "mkdir"}, {"path", ws.R("lib/checkpoint/vm2")}, {"mode", "0750"}},
           {{"op", "remove"}, {"path", ws.R("lib/old")}},
           {{"op", "write_file"}, {"path", ws.R("lib/blob")},
            {"content_base64", fstx::cli::Base64Encode(BlobBytes())}},
       })}};
}

inline std::string VmRenameSpec(const Workspace& ws, const std::string& policy = "rollback") {
  return VmRenameSpecJson(ws, policy).dump(2);
}

// Moves `from` and everything beneath it to `to`.
inline void MoveSubtree(Snapshot* s, const std::string& from, const std::string& to) {
  Snapshot moved;
  for (auto it = s->begin(); it != s->end();) {
    if (it->first == from || it->first.rfind(from + "/", 0) == 0) {
      moved[to + it->first.substr(from.size())] = it->second;
      it = s->erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [p, n] : moved) (*s)[p] = n;
}

inline void RemoveSubtree(Snapshot* s, const std::string& path) {
  for (auto it = s->begin(); it != s->end();) {
    bool under = it->first == path || it->first.rfind(path + "/", 0) == 0;
    it = under ? s->erase(it) : std::next(it);
  }
}

// What VmRenameSpec must leave, computed from the pre-image.
inline Snapshot ExpectedAfterRename(Snapshot s) {
  s.erase("etc/qemu/vm1.xml");
  s["etc/qemu/vm2.xml"] = "file 0600 " + DomainXml("vm2");
  s["etc/qemu/autostart/vm2.xml"] = "symlink ../vm2.xml";
  s.erase("etc/qemu/autostart/vm1.xml");
  MoveSubtree(&s, "lib/snapshot/vm1", "lib/snapshot/vm2");
  MoveSubtree(&s, "lib/nvram/vm1_VARS.fd", "lib/nvram/vm2_VARS.fd");
  s.erase("lib/images/vm2.qcow2");
  MoveSubtree(&s, "lib/images/vm1.qcow2", "lib/images/vm2.qcow2");
  MoveSubtree(&s, "run/vm1.monitor", "run/vm2.monitor");
  s["lib/checkpoint/vm2"] = "dir 0750";
  RemoveSubtree(&s, "lib/old");
  s["lib/blob"] = "file 0644 " + BlobBytes();
  return s;
}

}  // namespace fstx::clitest
