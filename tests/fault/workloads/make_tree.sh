#!/usr/bin/env bash
# make_tree.sh DIR N — a libvirt-like tree with VMs vm1, vm3, ... (N of them)
# for the crash explorer's benchmark specs: vm9.json (one VM, 9 ops, the
# shape of the demo's `fstx virt rename --rename-images`) and vm27.json
# (three VMs in one transaction, 27 ops).
set -euo pipefail
D=${1:?usage: make_tree.sh DIR N}
N=${2:-1}
mkdir -p "$D"/etc/qemu/autostart "$D"/lib/snapshot "$D"/lib/nvram "$D"/lib/images
for ((k = 0; k < N; k++)); do
  v=vm$((2 * k + 1))
  printf '<domain><name>%s</name><os><nvram>/var/lib/libvirt/qemu/nvram/%s_VARS.fd</nvram></os></domain>\n' "$v" "$v" >"$D/etc/qemu/$v.xml"
  chmod 600 "$D/etc/qemu/$v.xml"
  ln -s "../$v.xml" "$D/etc/qemu/autostart/$v.xml"
  mkdir -p "$D/lib/snapshot/$v"
  printf '<domainsnapshot><name>s1</name><domain><name>%s</name></domain></domainsnapshot>\n' "$v" >"$D/lib/snapshot/$v/s1.xml"
  printf '<domainsnapshot><name>s2</name></domainsnapshot>\n' >"$D/lib/snapshot/$v/s2.xml"
  head -c 4096 /dev/zero | tr '\0' V >"$D/lib/nvram/${v}_VARS.fd"
  head -c 8192 /dev/zero | tr '\0' Q >"$D/lib/images/$v.qcow2"
  head -c 8192 /dev/zero | tr '\0' S >"$D/lib/images/$v-s1.qcow2"
  chmod 640 "$D/lib/images/$v.qcow2" "$D/lib/images/$v-s1.qcow2"
done
