// fstx/virt/layout.h — where libvirt's QEMU driver keeps a domain's files.
//
// Paths are as libvirt writes them on the host (in XML, in link targets):
// "/etc/libvirt/qemu/vm1.xml". With a prefix (an offline image of a host, a
// test tree), each one is found on disk beneath it: OnDisk() adds it;
// what is written into files and links stays the host path.
//
//   config_dir/NAME.xml                 the domain's persistent definition
//   config_dir/autostart/NAME.xml       symlink to config_dir/NAME.xml
//   state_dir/snapshot/NAME/*.xml       snapshot metadata (embeds <domain>)
//   state_dir/checkpoint/NAME/*.xml     checkpoint metadata (embeds <domain>)
//   state_dir/nvram/NAME_VARS.fd        UEFI variables (the usual name)
//   state_dir/save/NAME.save            managed save image
//   run_dir/NAME.xml, run_dir/NAME.pid  status of a running domain
//   daemon_pidfiles                     libvirtd / virtqemud pid files
#pragma once

#include <string>
#include <vector>

namespace fstx::virt {

struct Layout {
  std::string prefix;  // "" on the host itself; no trailing '/'
  std::string config_dir = "/etc/libvirt/qemu";
  std::string state_dir = "/var/lib/libvirt/qemu";
  std::string run_dir = "/run/libvirt/qemu";
  std::vector<std::string> daemon_pidfiles = {"/run/libvirtd.pid", "/run/libvirt/virtqemud.pid"};

  // The host paths libvirt uses for domain `name`.
  std::string Config(const std::string& name) const { return config_dir + "/" + name + ".xml"; }
  std::string Autostart(const std::string& name) const { return config_dir + "/autostart/" + name + ".xml"; }
  std::string SnapshotDir(const std::string& name) const { return state_dir + "/snapshot/" + name; }
  std::string CheckpointDir(const std::string& name) const { return state_dir + "/checkpoint/" + name; }
  std::string Nvram(const std::string& name) const { return state_dir + "/nvram/" + name + "_VARS.fd"; }
  std::string ManagedSave(const std::string& name) const { return state_dir + "/save/" + name + ".save"; }
  std::string RunStatus(const std::string& name) const { return run_dir + "/" + name + ".xml"; }
  std::string RunPid(const std::string& name) const { return run_dir + "/" + name + ".pid"; }

  // Where a host path is on disk (beneath the prefix, if any).
  std::string OnDisk(const std::string& host_path) const { return prefix + host_path; }
};

}  // namespace fstx::virt
