// vm_fixture.h — a libvirt-like tree and the 7-op "rename a VM" workload,
// shared by the engine tests, the recovery tests and the benchmark.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "fstx/fstx.h"
#include "tests/testutil.h"

namespace fstx::testing {

// Creates a bound (not listening) UNIX socket file at `path`.
inline void MakeSocketFile(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind " + path);
  }
  ::close(fd);
}

inline std::string DomainXml(const std::string& name) {
  return "<domain type='kvm'>\n  <name>" + name +
         "</name>\n  <memory unit='KiB'>2097152</memory>\n  <os><nvram>/var/lib/libvirt/qemu/nvram/" + name +
         "_VARS.fd</nvram></os>\n  <devices><disk type='file'><source file='/var/lib/libvirt/images/" + name +
         ".qcow2'/></disk></devices>\n</domain>\n";
}

// root/etc/qemu/vm1.xml, root/etc/qemu/autostart/vm1.xml -> ../vm1.xml,
// root/lib/snapshot/vm1/{s1.xml,s2.xml}, root/lib/images/vm1.qcow2,
// root/run/vm1.sock (a socket).
inline void BuildVmTree(const std::string& root) {
  for (const char* d : {"/etc", "/etc/qemu", "/etc/qemu/autostart", "/lib", "/lib/snapshot",
                        "/lib/snapshot/vm1", "/lib/images", "/run"})
    MkdirRaw(root + d, 0755);
  WriteFileRaw(root + "/etc/qemu/vm1.xml", DomainXml("vm1"), 0600);
  if (::symlink("../vm1.xml", (root + "/etc/qemu/autostart/vm1.xml").c_str()) != 0)
    throw std::runtime_error("symlink");
  WriteFileRaw(root + "/lib/snapshot/vm1/s1.xml", "<domainsnapshot><name>s1</name></domainsnapshot>\n");
  WriteFileRaw(root + "/lib/snapshot/vm1/s2.xml", "<domainsnapshot><name>s2</name></domainsnapshot>\n");
  WriteFileRaw(root + "/lib/images/vm1.qcow2", std::string(64 * 1024, 'Q'), 0640);
  MakeSocketFile(root + "/run/vm1.sock");
}

// The 7 ops of renaming VM `from` to `to` (rewrite config, rename config,
// retarget autostart, remove old link, rename snapshot dir, image, socket).
inline void AddVmRename(Transaction& tx, const std::string& root, const std::string& from = "vm1",
                        const std::string& to = "vm2") {
  tx.Rename(root + "/etc/qemu/" + from + ".xml", root + "/etc/qemu/" + to + ".xml")
      .WriteFile(root + "/etc/qemu/" + to + ".xml", DomainXml(to), 0600)
      .Symlink("../" + to + ".xml", root + "/etc/qemu/autostart/" + to + ".xml", fstx::RenameMode::kReplace)
      .Remove(root + "/etc/qemu/autostart/" + from + ".xml")
      .Rename(root + "/lib/snapshot/" + from, root + "/lib/snapshot/" + to)
      .Rename(root + "/lib/images/" + from + ".qcow2", root + "/lib/images/" + to + ".qcow2")
      .Rename(root + "/run/" + from + ".sock", root + "/run/" + to + ".sock");
}

}  // namespace fstx::testing
