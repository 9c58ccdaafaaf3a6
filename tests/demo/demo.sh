#!/usr/bin/env bash
# demo.sh FSTX — renames a libvirt-like VM atomically with fstx, then shows
# crash safety: the reverse rename is killed half-way (SIGKILL from a
# failpoint) and `fstx recover` makes the tree whole again.
#
# Everything happens in a temporary directory that is removed at the end.
# Exits non-zero if any expectation fails. Run by `./setup.sh demo`.
set -euo pipefail

FSTX=$(readlink -f "${1:?usage: demo.sh PATH/TO/fstx}")
[[ -x $FSTX ]] || { echo "demo: $FSTX is not executable" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fstx-demo-XXXXXX")
HOST=$WORK/host  # stands for / of a libvirt host
JOURNAL=$WORK/journal
LISTENER=
cleanup() {
  local rc=$?
  if [[ -n $LISTENER ]]; then
    kill "$LISTENER" 2>/dev/null || true
    wait "$LISTENER" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

if [[ -t 1 ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
section() { printf '\n%s==== %s ====%s\n' "$BOLD" "$*" "$PLAIN"; }
fail() { echo "DEMO FAILED: $*" >&2; exit 1; }
fstx() {
  "$FSTX" --journal "$JOURNAL" --root "$HOST/etc/libvirt" --root "$HOST/var/lib/libvirt" \
    --root "$HOST/run/libvirt" "$@"
}
# The tree as `ls -l`-like lines, relative to $HOST.
show_tree() {
  (cd "$HOST" && find . -mindepth 1 -printf '%M %9s  %P' \( -type l -printf ' -> %l' -o -true \) \
     -printf '\n' | sort -k3)
}
# A digest of names, types, modes, link targets and file contents.
digest() {
  (cd "$HOST" && { find . -mindepth 1 -printf '%P %y %m %l\n' | sort
                   find . -type f -print0 | sort -z | xargs -0 -r sha256sum; } | sha256sum)
}
domain_xml() {
  cat <<EOF
<domain type='kvm'>
  <name>$1</name>
  <uuid>8c4b7e3a-2f6d-4b8e-9a1c-5d7f3e2b1a90</uuid>
  <memory unit='KiB'>2097152</memory>
  <vcpu placement='static'>2</vcpu>
  <os firmware='efi'>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <nvram>/var/lib/libvirt/qemu/nvram/$1_VARS.fd</nvram>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/$1.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
EOF
}
# rename_spec FROM TO: the JSON spec that renames domain FROM to TO.
rename_spec() {
  local from=$1 to=$2 q=$HOST/etc/libvirt/qemu v=$HOST/var/lib/libvirt
  domain_xml "$to" | python3 -c '
import json, sys
q, v, r, a, b = sys.argv[1:6]
xml = sys.stdin.read()
print(json.dumps({"label": f"rename {a} to {b}", "policy": "rollback", "ops": [
  {"op": "rename", "from": f"{q}/{a}.xml", "to": f"{q}/{b}.xml"},
  {"op": "write_file", "path": f"{q}/{b}.xml", "content": xml, "mode": "0600"},
  {"op": "symlink", "target": f"../{b}.xml", "path": f"{q}/autostart/{b}.xml"},
  {"op": "remove", "path": f"{q}/autostart/{a}.xml"},
  {"op": "rename", "from": f"{v}/qemu/snapshot/{a}", "to": f"{v}/qemu/snapshot/{b}"},
  {"op": "rename", "from": f"{v}/qemu/checkpoint/{a}", "to": f"{v}/qemu/checkpoint/{b}"},
  {"op": "rename", "from": f"{v}/qemu/nvram/{a}_VARS.fd", "to": f"{v}/qemu/nvram/{b}_VARS.fd"},
  {"op": "rename", "from": f"{v}/images/{a}.qcow2", "to": f"{v}/images/{b}.qcow2"},
  {"op": "rename", "from": f"{r}/qemu/{a}.monitor", "to": f"{r}/qemu/{b}.monitor"},
]}, indent=2))' "$q" "$v" "$HOST/run/libvirt" "$from" "$to"
}
# Greeting from the monitor socket at $1.
monitor_hello() {
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(200).decode().strip())' "$1"
}

section "1. A libvirt host with domain vm1 (in $HOST)"
mkdir -p "$HOST"/etc/libvirt/qemu/autostart \
         "$HOST"/var/lib/libvirt/qemu/{snapshot/vm1,checkpoint/vm1,nvram} \
         "$HOST"/var/lib/libvirt/images "$HOST"/run/libvirt/qemu
domain_xml vm1 > "$HOST/etc/libvirt/qemu/vm1.xml"
chmod 0600 "$HOST/etc/libvirt/qemu/vm1.xml"
ln -s ../vm1.xml "$HOST/etc/libvirt/qemu/autostart/vm1.xml"
for s in 1700000000 1700086400; do
  printf "<domainsnapshot>\n  <name>%s</name>\n  <domain><name>vm1</name></domain>\n</domainsnapshot>\n" \
    "$s" > "$HOST/var/lib/libvirt/qemu/snapshot/vm1/$s.xml"
done
printf "<domaincheckpoint>\n  <name>nightly</name>\n</domaincheckpoint>\n" \
  > "$HOST/var/lib/libvirt/qemu/checkpoint/vm1/nightly.xml"
head -c 65536 /dev/urandom > "$HOST/var/lib/libvirt/qemu/nvram/vm1_VARS.fd"
{ printf 'QFI\xfb\0\0\0\3'; head -c $((4 * 1024 * 1024 - 8)) /dev/urandom; } \
  > "$HOST/var/lib/libvirt/images/vm1.qcow2"
# A live QEMU monitor socket: a listener that greets every client.
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"{\"QMP\": {\"version\": \"demo\"}}\n"); c.close()' \
  "$HOST/run/libvirt/qemu/vm1.monitor" &
LISTENER=$!
for _ in $(seq 100); do [[ -S $HOST/run/libvirt/qemu/vm1.monitor ]] && break; sleep 0.05; done
[[ -S $HOST/run/libvirt/qemu/vm1.monitor ]] || fail "monitor socket did not appear"
show_tree
DIGEST_VM1=$(digest)

section "2. The transaction: rename vm1 to vm2 (9 ops)"
rename_spec vm1 vm2 > "$WORK/vm1-to-vm2.json"
cat "$WORK/vm1-to-vm2.json"
echo "\$ fstx apply vm1-to-vm2.json"
fstx apply "$WORK/vm1-to-vm2.json" || fail "fstx apply exited $?"

section "3. After: every name says vm2"
show_tree
DIGEST_VM2=$(digest)
[[ -S $HOST/run/libvirt/qemu/vm2.monitor && ! -e $HOST/run/libvirt/qemu/vm1.monitor ]] \
  || fail "monitor socket not renamed"
[[ $(readlink "$HOST/etc/libvirt/qemu/autostart/vm2.xml") == ../vm2.xml ]] || fail "autostart link"
[[ ! -e $HOST/etc/libvirt/qemu/autostart/vm1.xml ]] || fail "vm1 autostart link still there"
grep -q '<name>vm2</name>' "$HOST/etc/libvirt/qemu/vm2.xml" || fail "vm2.xml does not name vm2"
echo "monitor still answers at its new name: $(monitor_hello "$HOST/run/libvirt/qemu/vm2.monitor")"
echo "\$ fstx list --all"
fstx list --all

section "4. Crash: rename vm2 back to vm1, killed at the 3rd rename"
rename_spec vm2 vm1 > "$WORK/vm2-to-vm1.json"
echo "\$ FSTX_FAILPOINTS='fs.rename:3=crash' fstx apply vm2-to-vm1.json"
set +e
FSTX_FAILPOINTS='fs.rename:3=crash' fstx apply "$WORK/vm2-to-vm1.json"
rc=$?
set -e
[[ $rc -eq 137 ]] || fail "expected the apply to be SIGKILLed (exit 137), got $rc"
echo "(the process was SIGKILLed half-way: exit $rc)"

section "5. The half-done tree"
show_tree
DIGEST_CRASH=$(digest)
[[ $DIGEST_CRASH != "$DIGEST_VM2" && $DIGEST_CRASH != "$DIGEST_VM1" ]] \
  || fail "expected a half-done tree after the crash"
echo "\$ fstx status"
fstx status || fail "fstx status exited $?"

section "6. Recovery"
echo "\$ fstx recover"
fstx recover || fail "fstx recover exited $?"
show_tree
[[ $(digest) == "$DIGEST_VM2" ]] || fail "after recovery the tree is not the vm2 tree"
echo "the tree is whole again: exactly as before the interrupted transaction"
echo "monitor still answers: $(monitor_hello "$HOST/run/libvirt/qemu/vm2.monitor")"
echo "\$ fstx verify"
fstx verify || fail "fstx verify found problems"
echo "\$ fstx list --all"
fstx list --all
fstx status --json | python3 -c 'import json, sys
assert json.load(sys.stdin)["transactions"] == [], "unfinished transactions remain"' \
  || fail "status shows unfinished transactions"

section "7. The crash explorer: the same 9-op rename, crashed at every point"
# A copy of the host (a small image: every crash state is a fresh copy) and
# the spec with paths relative to it.
CT=$WORK/crashtest-tree
cp -a "$HOST" "$CT"
truncate -s 65536 "$CT/var/lib/libvirt/images/vm2.qcow2"
rename_spec vm2 vm1 | python3 -c '
import json, sys
host = sys.argv[1]
spec = json.load(sys.stdin)
for op in spec["ops"]:
    for k in ("path", "from", "to"):
        if k in op: op[k] = op[k][len(host):]
print(json.dumps(spec))' "$HOST" > "$WORK/crashtest.json"
echo "\$ fstx crashtest crashtest.json --tree crashtest-tree"
"$FSTX" crashtest "$WORK/crashtest.json" --tree "$CT" || fail "the crash explorer found violations"

section "Demo passed"
