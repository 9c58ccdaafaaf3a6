#!/usr/bin/env bash
# demo.sh FSTX — renames a real libvirt domain with `fstx virt rename`, on a
# private libvirtd (tests/virt/harness/libvirt_env.sh: its own mount
# namespace over a temporary STATE_DIR; the host's libvirt is never touched).
#
#   define vm1 (UEFI NVRAM, 2 external snapshots, a checkpoint, autostart)
#   -> fstx virt check, rename --dry-run, rename vm1 -> vm2 --rename-images
#   -> virsh sees vm2 whole -> rename back, SIGKILLed half-way -> the half-done
#   tree -> fstx recover -> virsh sees one whole domain
#   -> contrast: libvirt's own `virsh domrename`, and what it leaves.
#
# Needs root and libvirt-daemon-system libvirt-clients qemu-utils
# qemu-system-x86 ovmf (./setup.sh installs them). Exits non-zero if any step
# fails. Run by `./setup.sh demo`; about 1-2 minutes.
set -euo pipefail

FSTX=$(readlink -f "${1:?usage: demo.sh PATH/TO/fstx}")
[[ -x $FSTX ]] || { echo "demo: $FSTX is not executable" >&2; exit 2; }
HARNESS=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")/../virt/harness/libvirt_env.sh")
[[ -r $HARNESS ]] || { echo "demo: $HARNESS not found" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "demo: must run as root (a private libvirtd in its own mount namespace)" >&2; exit 2; }

S=$(mktemp -d "${TMPDIR:-/tmp}/fstx-demo-XXXXXX")
J=$S/journal  # fstx's journal: outside libvirt's directories
T0=$SECONDS
cleanup() {
  local rc=$?
  bash "$HARNESS" stop "$S" >/dev/null 2>&1 || true
  if ((rc == 0)) || [[ -z ${FSTX_DEMO_KEEP:-} ]]; then rm -rf "$S" "$S".*; else echo "demo: state kept in $S ($S.harness.log)" >&2; fi
  exit "$rc"
}
trap cleanup EXIT

if [[ -t 1 ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
section() { printf '\n%s==== %s ====%s\n' "$BOLD" "$*" "$PLAIN"; }
say() { printf '%s\n' "$*" | fold -s -w 100; }
fail() { echo "DEMO FAILED: $*" >&2; exit 1; }
show() { printf '%s$ %s%s\n' "$BOLD" "$*" "$PLAIN"; }
# The harness, quiet (its timing notes go to a log).
H() { bash "$HARNESS" "$@" 2>>"$S.harness.log"; }
virsh() { show "virsh $*"; H virsh "$S" "$@" || fail "virsh $* failed (see $S.harness.log)"; }
# fstx as an operator runs it on the host: inside the private view, where
# /etc/libvirt and /var/lib/libvirt are the daemon's.
fstx() { show "fstx $*"; bash "$HARNESS" exec "$S" "$FSTX" --journal "$J" "$@"; }
start() { H start "$S" || fail "the private libvirtd did not start: $(tail -3 "$S.harness.log")"; }
stop() { H stop "$S" || fail "stopping libvirtd failed: $(tail -3 "$S.harness.log")"; }

section "1. A real libvirtd (private, in $S) with domain vm1"
start
say "Defining vm1: q35, UEFI with NVRAM, two qcow2 disks; a checkpoint (taken on the paused guest), two external disk-only snapshots, autostart. About 10-20 s."
H make-domain "$S" vm1 >/dev/null || fail "make-domain vm1 failed: $(tail -5 "$S.harness.log")"
virsh list --all
virsh snapshot-list vm1 --parent
virsh checkpoint-list vm1
UUID=$(H virsh "$S" domuuid vm1 | sed '/^$/d')
echo "vm1's UUID: $UUID"
stop
say "libvirtd is stopped: it keeps definitions in memory and would overwrite files renamed under it."

section "2. What fstx sees: fstx virt check (read-only)"
fstx virt check vm1 || fail "fstx virt check vm1 found problems on a fresh domain"

section "3. The plan: fstx virt rename vm1 vm2 --rename-images --dry-run"
fstx virt rename vm1 vm2 --rename-images --dry-run || fail "dry run failed"

section "4. The rename, for real: one transaction"
fstx virt rename vm1 vm2 --rename-images || fail "fstx virt rename vm1 vm2 failed"
show "libvirt_env.sh list-files vm2"
H list-files "$S" vm2 | sed 's/^/  /'
# (libvirt's own log /var/log/libvirt/qemu/vm1.log keeps its name: a log, not domain state)
LEFT=$(H list-files "$S" vm1 | grep -v ' /var/log/' || true)
[[ -z $LEFT ]] || fail "files of vm1 are left: $LEFT"

section "5. libvirtd restarted: vm2 is whole"
start
virsh list --all
virsh dominfo vm2 | grep -E '^(Name|UUID|Autostart)'
virsh snapshot-list vm2 --parent
virsh checkpoint-list vm2
show "qemu-img info --backing-chain /var/lib/libvirt/images/vm2.snap2 | grep -E 'image|backing file'"
H exec "$S" qemu-img info -U --backing-chain /var/lib/libvirt/images/vm2.snap2 | grep -E '^(image|backing file):' | sed 's/^/  /'
say "The harness checks every piece through virsh (same UUID, snapshots + parents, checkpoint, autostart, NVRAM content, the chain opens, the guest starts):"
H check-domain "$S" vm2 --expect-uuid "$UUID" --expect-images-prefix vm2 --start-test >"$S.check" \
  || fail "virsh does not see vm2 whole: $(grep MISMATCH "$S.harness.log" | tail -5)"
grep -E '^(domains|uuid|autostart|nvram|backing_chain|snapshots|snap2_parent|checkpoints|start_test|result)=' "$S.check" | sed 's/^/  /'
stop

section "6. Crash: rename vm2 back to vm1, SIGKILLed at the 4th rename"
set +e
FSTX_FAILPOINTS='fs.rename:4=crash' fstx virt rename vm2 vm1 --rename-images 2>"$S.crash.err"
rc=$?
grep '^fstx' "$S.crash.err"  # (the harness' own notes about the killed process left out)
set -e
((rc == 137)) || fail "expected the rename to be killed (exit 137), got exit $rc"
echo "(killed: exit $rc)"

section "7. The half-done tree"
show "libvirt_env.sh list-files vm1; list-files vm2"
{ H list-files "$S" vm1; H list-files "$S" vm2; } | sed 's/^/  /'
say "fstx virt check reports what libvirt would load from this (staging objects live in .fstx/ at the top of each root, never in the directories libvirt scans):"
fstx virt check || true
fstx status || true

section "8. Recovery: fstx recover"
fstx --root /etc/libvirt --root /var/lib/libvirt recover || fail "fstx recover failed"
fstx virt check || fail "the tree is not consistent after recovery"
if [[ -e $S/etc/libvirt/qemu/vm2.xml ]]; then NAME=vm2; else NAME=vm1; fi
say "Recovery rolled the interrupted transaction back or forward to one whole domain: $NAME."
start
virsh list --all
H check-domain "$S" "$NAME" --expect-uuid "$UUID" --expect-images-prefix "$NAME" >"$S.check" \
  || fail "virsh does not see $NAME whole after recovery: $(grep MISMATCH "$S.harness.log" | tail -5)"
grep -E '^(domains|uuid|autostart|snapshots|checkpoints|backing_chain|result)=' "$S.check" | sed 's/^/  /'

section "9. Contrast: libvirt's own virsh domrename $NAME vm3 (no crash at all)"
show "virsh domrename $NAME vm3"
H virsh "$S" domrename "$NAME" vm3 || fail "virsh domrename failed"
stop
start  # libvirt re-reads what it wrote
virsh checkpoint-list vm3
[[ -z $(H virsh "$S" checkpoint-list vm3 --name | sed '/^$/d') ]] && echo "(no checkpoint: libvirt rejected cp1.xml, which domrename wrote into snapshot/vm3/)"
virsh dominfo vm3 | grep -E '^(Name|UUID)'
stop
say "What it left on disk, by fstx virt check:"
set +e
fstx virt check vm3
rc=$?
set -e
((rc == 1)) || fail "expected fstx virt check to find problems in what virsh domrename left (exit 1), got $rc"

section "Demo passed ($((SECONDS - T0)) s)"
say "fstx renamed vm1 -> vm2 (config, autostart, snapshots, checkpoint, NVRAM, images and their qcow2 headers) in one transaction, survived a SIGKILL half-way, and libvirt saw one whole domain each time; virsh domrename lost the checkpoint and left the NVRAM and images under the old name."
