#!/usr/bin/env bash
# libvirt_env.sh — a PRIVATE, real libvirtd (libvirt 9.0 / QEMU 7.2, Debian 12)
# for fstx's `virt rename` tests.  See tests/virt/harness/NOTES.md.
#
# Mechanism: a holder process lives in its own mount + network namespace.
# In that namespace these host directories are bind-mounted over by STATE_DIR's:
#     /etc/libvirt        <- STATE_DIR/etc/libvirt
#     /var/lib/libvirt    <- STATE_DIR/var/lib/libvirt
#     /var/log/libvirt    <- STATE_DIR/var/log/libvirt
#     /var/cache/libvirt  <- STATE_DIR/var/cache/libvirt
#     /run                <- STATE_DIR/run   (so /run/libvirt, /run/libvirtd.pid,
#                                             /run/virtlogd.pid are private too)
#     /dev/kvm            <- STATE_DIR/harness/kvm (same device, root:kvm 0660,
#                                             Debian's udev default; only if the
#                                             host has /dev/kvm)
# virtlogd and libvirtd run in that namespace (entered with nsenter), so every
# file libvirt writes lands in STATE_DIR with the layout, modes, owners and
# in-file paths (/etc/libvirt/qemu/NAME.xml, ...) of a real host.  The private
# network namespace keeps libvirt's network/nwfilter drivers off the host's
# interfaces and firewall.  The host's own /etc/libvirt, /var/lib/libvirt and
# /run/libvirt are never written.
#
# Every failure prints "libvirt_env.sh: ERROR: <reason>" on stderr and exits
# non-zero.  Informational messages and timings go to stderr; data (virsh
# output, check-domain's key=value summary, list-files) goes to stdout.
set -uo pipefail

PROG=libvirt_env.sh
SELF=$(readlink -f "${BASH_SOURCE[0]}")

# Tunables (environment).
VIRSH_TIMEOUT=${VIRSH_TIMEOUT:-60}          # seconds per virsh call
EXEC_TIMEOUT=${EXEC_TIMEOUT:-300}           # seconds per `exec` command
DAEMON_START_TIMEOUT=${DAEMON_START_TIMEOUT:-90}
DAEMON_STOP_TIMEOUT=${DAEMON_STOP_TIMEOUT:-30}
PROBE_STALL_SECONDS=${PROBE_STALL_SECONDS:-20}  # a QEMU caps probe older than this is killed
PROBE_RETRIES=${PROBE_RETRIES:-3}
LIBVIRTD_LOG_LEVEL=${LIBVIRTD_LOG_LEVEL:-3}    # 1 debug .. 4 error, to /var/log/libvirt/libvirtd.log
DOMAIN_MEMORY_MIB=${DOMAIN_MEMORY_MIB:-128}
OVMF_CODE=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
DATA_DISK=${DATA_DISK:-data-disk.qcow2}     # second disk; its name must not carry the domain name
CHECKPOINT_NAME=${CHECKPOINT_NAME:-cp1}
SNAPSHOT_MODE=${SNAPSHOT_MODE:-live}        # live|offline: when make-domain takes the external snapshots
NVRAM_WAIT=${NVRAM_WAIT:-60}                # seconds to let OVMF write its variable store

# The private view: host path -> path under STATE_DIR.
BIND_DIRS=(/etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /run)

die()  { echo "$PROG: ERROR: $*" >&2; exit 1; }
note() { echo "$PROG: $*" >&2; }
now()  { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
timing() { echo "$PROG: [timing] $1: $(elapsed "$2") s" >&2; }

usage() {
  cat >&2 <<'EOF'
usage:
  libvirt_env.sh start STATE_DIR          start virtlogd + libvirtd in STATE_DIR's private namespace
                                          (initialises STATE_DIR from the host's pristine config on first use)
  libvirt_env.sh stop STATE_DIR           destroy running domains, stop the daemons, end the namespace
                                          (idempotent: "not running" is not an error)
  libvirt_env.sh status STATE_DIR         print running=yes|no and the namespace's processes
  libvirt_env.sh virsh STATE_DIR ARGS...  virsh -q -c qemu:///system ARGS against the private daemon
                                          (under timeout $VIRSH_TIMEOUT, default 60 s)
  libvirt_env.sh exec STATE_DIR CMD...    run CMD in the private view (/etc/libvirt etc. = STATE_DIR's);
                                          works with the daemon stopped too (transient namespace)
  libvirt_env.sh make-domain STATE_DIR NAME
                                          define NAME (q35, UEFI+NVRAM, TCG, 2 qcow2 disks), checkpoint,
                                          2 external disk-only snapshots, autostart; domain left shut off,
                                          daemon left RUNNING (it must be running before)
  libvirt_env.sh check-domain STATE_DIR NAME [--restart] [--start-test] [--expect-images-prefix P]
                              [--expect-uuid UUID] [--allow-other DOM]... [--allow-any-nvram-name]
                                          verify NAME through virsh; key=value summary on stdout;
                                          exit 1 listing every mismatch on stderr (daemon must run;
                                          --restart = stop+start first; --start-test = start paused+destroy)
  libvirt_env.sh list-files STATE_DIR NAME [--state-paths]
                                          every file libvirt keeps for NAME (reads STATE_DIR directly):
                                          "MODE OWNER:GROUP TYPE PATH [-> TARGET]"
  libvirt_env.sh try-domrename STATE_DIR OLD NEW
                                          libvirt's own `virsh domrename` (for comparison only) + list-files
  libvirt_env.sh selftest [STATE_DIR]     start, make-domain vm1, stop, start, check-domain vm1,
                                          negative checks, stop/edit/start/check (break + repair), stop;
                                          STATE_DIR default: a new mktemp -d (kept for inspection)
EOF
}

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (mount namespaces, libvirtd); uid is $(id -u)"; }

need_tools() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (Debian: libvirt-daemon-system libvirt-clients qemu-utils qemu-system-x86 ovmf util-linux coreutils libxml2-utils)"
}

# ---------------------------------------------------------------- STATE_DIR ---

# Sets globals S (absolute STATE_DIR) and H (S/harness).
set_state_dir() {
  local arg=${1:-}
  [[ -n $arg ]] || { usage; die "STATE_DIR argument missing"; }
  S=$(realpath -m -- "$arg") || die "cannot resolve STATE_DIR '$arg'"
  [[ $S != / ]] || die "STATE_DIR must not be /"
  [[ $S != *[[:space:]\\]* ]] || die "STATE_DIR '$S' must not contain whitespace or backslashes (mountinfo escapes them)"
  local d
  for d in "${BIND_DIRS[@]}" /dev /proc /sys; do
    if [[ $S == "$d" || $S == "$d"/* ]]; then
      die "STATE_DIR $S lies under $d, which the private view hides or replaces; use e.g. /tmp/... or /work/..."
    fi
    if [[ $d == "$S"/* ]]; then die "STATE_DIR $S contains $d"; fi
  done
  H=$S/harness
}

require_initialized() {
  [[ -f $H/initialized ]] || die "$S is not an initialised STATE_DIR (no $H/initialized); run: $PROG start $S"
}

# Copy the host's directory skeleton (dirs only, same mode/owner) of $1 into $2.
# $3: find(1) prune expression arguments (optional).
copy_dir_skeleton() {
  local src=$1 dst=$2 maxdepth=$3 rel
  mkdir -p "$dst" || die "mkdir $dst failed"
  chown --reference="$src" "$dst" && chmod --reference="$src" "$dst" || die "cannot copy owner/mode of $src to $dst"
  while IFS= read -r -d '' rel; do
    rel=${rel#./}
    [[ -z $rel || $rel == . ]] && continue
    case $rel in qemu/domain-*|qemu/snapshot*|qemu/checkpoint*|qemu/nvram*|qemu/save*|qemu/dump*|qemu/ram*) continue;; esac
    mkdir -p "$dst/$rel" && chown --reference="$src/$rel" "$dst/$rel" && chmod --reference="$src/$rel" "$dst/$rel" \
      || die "cannot replicate directory $src/$rel into $dst"
  done < <(cd "$src" && find . -mindepth 1 -maxdepth "$maxdepth" -type d -print0)
}

init_state_dir() {
  [[ -f $H/initialized ]] && return 0
  local t0; t0=$(now)
  if [[ -e $S ]] && [[ -n $(ls -A "$S" 2>/dev/null) ]]; then
    die "STATE_DIR $S exists, is not empty and was not initialised by $PROG; use a new or empty directory"
  fi
  local d
  for d in "${BIND_DIRS[@]}"; do
    [[ -d $d ]] || die "host directory $d does not exist: cannot bind-mount over it (is libvirt-daemon-system installed?). Not creating it on the host."
  done
  mkdir -p "$S" "$H" "$S/etc" "$S/var/lib" "$S/var/log" "$S/var/cache" || die "cannot create $S"
  chmod 0755 "$S" "$S/etc" "$S/var" "$S/var/lib" "$S/var/log" "$S/var/cache"

  # /etc/libvirt: the host's config files, as packaged.  Domain, network
  # autostart and storage autostart entries are left out (a pristine host has
  # none; copying a non-pristine host's domains would be wrong).
  cp -a /etc/libvirt "$S/etc/libvirt" || die "cannot copy /etc/libvirt to $S/etc/libvirt"
  local excluded=()
  while IFS= read -r -d '' d; do excluded+=("${d#$S}"); rm -rf -- "$d"; done < <(
    find "$S/etc/libvirt/qemu" -maxdepth 1 \( -name '*.xml' -o -name autostart \) -print0 2>/dev/null
    find "$S/etc/libvirt/qemu/networks/autostart" "$S/etc/libvirt/storage/autostart" -mindepth 1 -maxdepth 1 -print0 2>/dev/null)
  ((${#excluded[@]})) && note "init: left out of the /etc/libvirt copy (not pristine): ${excluded[*]}"

  copy_dir_skeleton /var/lib/libvirt "$S/var/lib/libvirt" 4
  copy_dir_skeleton /var/log/libvirt "$S/var/log/libvirt" 2
  copy_dir_skeleton /var/cache/libvirt "$S/var/cache/libvirt" 2
  # /run: a fresh, empty tmpfs-like directory (like after boot).
  mkdir -p "$S/run/lock" && chmod 0755 "$S/run" && chmod 1777 "$S/run/lock" || die "cannot create $S/run"
  ln -s /dev/shm "$S/run/shm" 2>/dev/null || true

  # /dev/kvm: if the host has it, expose the same device as root:kvm 0660
  # (Debian's udev rule).  With the host's root:root 0600 the qemu user cannot
  # open it and libvirt re-probes QEMU at every daemon start (~30 s).
  if [[ -c /dev/kvm ]] && getent group kvm >/dev/null; then
    local majmin; majmin=$(stat -c '%t %T' /dev/kvm) || die "stat /dev/kvm failed"
    mknod "$H/kvm" c $((16#${majmin% *})) $((16#${majmin#* })) || die "mknod $H/kvm failed (filesystem of $S mounted nodev?)"
    chown root:kvm "$H/kvm" && chmod 0660 "$H/kvm" || die "cannot chown/chmod $H/kvm"
  fi
  {
    echo "created=$(date -Is)"
    echo "libvirtd=$(libvirtd --version 2>/dev/null)"
    echo "qemu=$(qemu-system-x86_64 --version 2>/dev/null | head -1)"
  } >"$H/initialized" || die "cannot write $H/initialized"
  timing "init STATE_DIR $S" "$t0"
}

# ------------------------------------------------------------- namespaces ---

# Shell code run inside a fresh mount namespace: bind STATE_DIR's dirs.
# $1 = STATE_DIR.  Used by the holder and by the transient `exec`.
MOUNT_SCRIPT='
set -e
S=$1; shift
mount --make-rprivate / 
for d in /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /run; do
  mount --bind "$S$d" "$d" || { echo "bind $S$d -> $d failed" >&2; exit 97; }
done
if [ -c "$S/harness/kvm" ] && [ -e /dev/kvm ]; then
  mount --bind "$S/harness/kvm" /dev/kvm || { echo "bind kvm failed" >&2; exit 97; }
fi
ip link set lo up 2>/dev/null || true
'

ns_id() { readlink "/proc/$1/ns/$2" 2>/dev/null; }

# Does PID see THIS STATE_DIR's view?  (Namespace inode numbers are reused
# once a namespace dies, and a copied STATE_DIR carries stale records, so the
# recorded ids alone are not proof.)  The bind shows in mountinfo as
# "... $S/etc/libvirt /etc/libvirt ..." (root within the fs, mount point).
pid_in_view() { grep -qF " $S/etc/libvirt /etc/libvirt " "/proc/$1/mountinfo" 2>/dev/null; }

# Is the holder alive (pid recorded, its namespaces are the recorded ones,
# and it sees this STATE_DIR's binds)?
holder_pid() {
  local pid mnt net
  [[ -f $H/holder.pid && -f $H/ns.mnt && -f $H/ns.net ]] || return 1
  pid=$(<"$H/holder.pid"); mnt=$(<"$H/ns.mnt"); net=$(<"$H/ns.net")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ $(ns_id "$pid" mnt) == "$mnt" && $(ns_id "$pid" net) == "$net" ]] || return 1
  pid_in_view "$pid" || return 1
  echo "$pid"
}

# Every process in the private network namespace (holder, daemons, QEMU —
# QEMU gets a further mount namespace from libvirt but keeps the network one).
ns_pids() {
  local net ino path
  [[ -f $H/ns.net ]] || return 0
  net=$(<"$H/ns.net"); net=${net#net:[}; net=${net%]}
  # one stat(1) for all processes: "INODE /proc/PID/ns/net"
  while read -r ino path; do
    [[ $ino == "$net" ]] || continue
    path=${path#/proc/}; path=${path%%/*}
    pid_in_view "$path" && echo "$path"
  done < <(stat -L -c '%i %n' /proc/[0-9]*/ns/net 2>/dev/null)
  return 0
}

describe_pids() { local p; for p in "$@"; do echo "  pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-160)"; done; }

# Run a command inside the holder's namespaces under a timeout.
# $1 = seconds, $2 = label, rest = command.
in_ns() {
  local secs=$1 label=$2; shift 2
  local hp; hp=$(holder_pid) || die "private namespace of $S is not running; run: $PROG start $S"
  run_to "$secs" "$label" nsenter --mount="/proc/$hp/ns/mnt" --net="/proc/$hp/ns/net" -- "$@"
}

# Run with a timeout; explain a timeout.  $1 = seconds, $2 = label, rest = command.
run_to() {
  local secs=$1 label=$2; shift 2
  timeout -k 5 "$secs" "$@"
  local rc=$?
  if ((rc == 124 || rc == 137)); then
    echo "$PROG: ERROR: $label timed out after ${secs}s: $*" >&2
  fi
  return $rc
}

# virsh inside the namespace, under a timeout.  Returns virsh's status.
v() {
  local hp; hp=$(holder_pid) || die "private libvirtd of $S is not running; run: $PROG start $S"
  run_to "$VIRSH_TIMEOUT" "virsh" nsenter --mount="/proc/$hp/ns/mnt" --net="/proc/$hp/ns/net" -- virsh -q -c qemu:///system "$@"
}
# virsh that must succeed.
vv() {
  local out rc err
  err=$(mktemp) || die "mktemp failed"
  out=$(v "$@" 2>"$err"); rc=$?
  ((rc == 0)) || { out+=$(cat "$err"); rm -f "$err"; die "virsh $* failed (exit $rc): $out"; }
  cat "$err" >&2; rm -f "$err"
  printf '%s\n' "$out"
}

# Run in the private view: the holder's namespace if running, else a transient one.
exec_in_view() {
  local hp
  if hp=$(holder_pid); then
    run_to "$EXEC_TIMEOUT" "exec" nsenter --mount="/proc/$hp/ns/mnt" --net="/proc/$hp/ns/net" -- "$@"
  else
    run_to "$EXEC_TIMEOUT" "exec" unshare --mount --propagation private -- bash -c "$MOUNT_SCRIPT"'
exec "$@"' mount-view "$S" "$@"
  fi
}

daemon_pid() { # $1 = libvirtd|virtlogd ; prints pid if alive in our namespace
  local f=$S/run/$1.pid pid net
  [[ -f $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f"); [[ -n $pid ]] || return 1
  net=$(<"$H/ns.net") || return 1
  [[ $(ns_id "$pid" net) == "$net" ]] && pid_in_view "$pid" || return 1
  echo "$pid"
}

# Kill QEMU capability probes (qemu ... -machine none ... qmp-XXXX) in our
# namespace older than PROBE_STALL_SECONDS.  Prints the number killed.
kill_stalled_probes() {
  local p age n=0 cmd
  for p in $(ns_pids); do
    cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
    [[ $cmd == *qemu-system* && $cmd == *"-machine none"* ]] || continue
    age=$(ps -o etimes= -p "$p" 2>/dev/null | tr -d ' ')
    [[ -n $age ]] || continue
    if ((age >= PROBE_STALL_SECONDS)); then
      note "QEMU capability probe pid $p has run ${age}s (stall, see LIBVIRT-NOTES.md); killing it so libvirt retries"
      kill -9 "$p" 2>/dev/null && n=$((n + 1))
    fi
  done
  echo "$n"
}

# ------------------------------------------------------------- start/stop ---

cmd_start() {
  need_root
  need_tools unshare nsenter timeout virsh libvirtd virtlogd qemu-img qemu-system-x86_64 xmllint flock
  set_state_dir "${1:-}"
  local t0; t0=$(now)
  mkdir -p "$S" || die "cannot create $S"
  init_state_dir
  exec 9>"$H/lock" || die "cannot open $H/lock"
  flock -w 120 9 || die "another $PROG start/stop holds $H/lock for 120 s"

  if hp=$(holder_pid) && daemon_pid libvirtd >/dev/null; then
    note "already running (holder pid $hp, libvirtd pid $(daemon_pid libvirtd)); nothing to do"
    return 0
  fi
  if ! holder_pid >/dev/null; then
    local left; left=$(ns_pids)
    [[ -z $left ]] || die "processes of a previous run of $S are still alive (holder gone): $(describe_pids $left); run: $PROG stop $S"
    rm -f "$H/holder.pid" "$H/ns.mnt" "$H/ns.net" "$H/holder.ready"
    # The holder: new mount + network namespace, binds, then sleeps forever.
    setsid unshare --mount --propagation private --net -- bash -c "$MOUNT_SCRIPT"'
for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"; done
echo $$ > "$S/harness/holder.pid.tmp" && mv "$S/harness/holder.pid.tmp" "$S/harness/holder.pid"
exec -a "fstx-libvirt-holder $S" sleep infinity' holder "$S" </dev/null >"$H/holder.log" 2>&1 9>&- &
    local i hp=
    for ((i = 0; i < 100; i++)); do
      if [[ -f $H/holder.pid ]]; then hp=$(<"$H/holder.pid"); break; fi
      if ! kill -0 $! 2>/dev/null; then die "namespace holder exited before it was ready: $(cat "$H/holder.log")"; fi
      sleep 0.05
    done
    [[ -n $hp ]] || die "namespace holder did not become ready within 5 s: $(cat "$H/holder.log")"
    # wait for the exec to sleep so /proc/PID/ns is final
    ns_id "$hp" mnt >"$H/ns.mnt" && ns_id "$hp" net >"$H/ns.net" || die "cannot read namespaces of holder pid $hp"
    [[ $(<"$H/ns.mnt") != "$(ns_id $$ mnt)" ]] || die "holder pid $hp is in the host mount namespace: unshare failed"
    # Prove the view: /etc/libvirt inside is STATE_DIR's.
    local probe_file=$H/.view-probe.$$
    echo "$S" >"$S/etc/libvirt/.harness-view-probe" || die "cannot write into $S/etc/libvirt"
    if [[ $(in_ns 10 "view check" cat /etc/libvirt/.harness-view-probe 2>/dev/null) != "$S" ]]; then
      rm -f "$S/etc/libvirt/.harness-view-probe"
      die "private view check failed: /etc/libvirt inside the namespace is not $S/etc/libvirt"
    fi
    rm -f "$S/etc/libvirt/.harness-view-probe" "$probe_file"
    [[ ! -e /etc/libvirt/.harness-view-probe ]] || die "BUG: the view probe appeared in the host's /etc/libvirt"
    note "namespace holder pid $hp (mnt $(<"$H/ns.mnt"), net $(<"$H/ns.net"))"
  fi
  if pgrep -x libvirtd >/dev/null || pgrep -x virtqemud >/dev/null; then
    note "note: other libvirtd/virtqemud processes exist on this machine (pids $(pgrep -x 'libvirtd|virtqemud' | tr '\n' ' ')); they use other /run/libvirt sockets and do not reach this private daemon"
  fi

  local t1; t1=$(now)
  if ! daemon_pid virtlogd >/dev/null; then
    in_ns 30 "virtlogd -d" env LIBVIRT_LOG_OUTPUTS="$LIBVIRTD_LOG_LEVEL:file:/var/log/libvirt/virtlogd.log" \
      virtlogd -d </dev/null >>"$H/daemons.log" 2>&1 9>&- || die "virtlogd -d failed; see $H/daemons.log and $S/var/log/libvirt/virtlogd.log"
  fi
  start_libvirtd
  timing "start daemons" "$t1"
  timing "start (total)" "$t0"
  note "running: virsh via '$PROG virsh $S ...'; daemon log $S/var/log/libvirt/libvirtd.log"
}

start_libvirtd() {
  local killed=0 k
  in_ns 30 "libvirtd -d" env LIBVIRT_LOG_OUTPUTS="$LIBVIRTD_LOG_LEVEL:file:/var/log/libvirt/libvirtd.log" \
    libvirtd -d </dev/null >>"$H/daemons.log" 2>&1 9>&- || die "libvirtd -d failed; see $H/daemons.log and $S/var/log/libvirt/libvirtd.log"
  # Wait until the daemon answers (its drivers finish initialising first; a
  # QEMU capability probe that stalls blocks that, so watch for it).
  local deadline=$((SECONDS + DAEMON_START_TIMEOUT)) out
  while :; do
    daemon_pid libvirtd >/dev/null || { sleep 0.2; daemon_pid libvirtd >/dev/null ||
      die "libvirtd exited during start-up; last log lines: $(tail -5 "$S/var/log/libvirt/libvirtd.log" 2>/dev/null) $(tail -5 "$H/daemons.log")"; }
    if out=$(VIRSH_TIMEOUT=10 v uri 2>&1); then break; fi
    k=$(kill_stalled_probes); killed=$((killed + k))
    ((SECONDS < deadline)) || die "libvirtd did not answer within ${DAEMON_START_TIMEOUT}s: $out"
    sleep 0.3
  done
  # Make sure QEMU capabilities are probed and cached now, with retries.
  local try ok=0 vp w outf=$H/probe.out
  for ((try = 1; try <= PROBE_RETRIES; try++)); do
    VIRSH_TIMEOUT=$((PROBE_STALL_SECONDS + 30)) v domcapabilities --virttype qemu --arch x86_64 --machine q35 >/dev/null 2>"$outf" &
    vp=$!; w=0
    while kill -0 "$vp" 2>/dev/null; do
      sleep 0.5; w=$((w + 1))
      if ((w >= 2 * PROBE_STALL_SECONDS)); then k=$(kill_stalled_probes); killed=$((killed + k)); fi
    done
    if wait "$vp"; then ok=1; break; fi
    k=$(kill_stalled_probes); killed=$((killed + k))
    note "QEMU capability probe attempt $try failed: $(cat "$outf")"
  done
  ((ok)) || die "QEMU capabilities could not be probed after $PROBE_RETRIES attempts; see $S/var/log/libvirt/libvirtd.log"
  if ((killed > 0)); then
    # A probe killed during driver start-up may have made libvirt skip loading
    # domain configs; restart once now that capabilities are cached.
    note "killed $killed stalled probe(s): restarting libvirtd once so every domain config is loaded with cached capabilities"
    stop_libvirtd
    start_libvirtd
  fi
}

stop_libvirtd() {
  local pid i
  pid=$(daemon_pid libvirtd) || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < DAEMON_STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  note "libvirtd pid $pid ignored SIGTERM for ${DAEMON_STOP_TIMEOUT}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  sleep 0.2
}

cmd_stop() {
  need_root
  set_state_dir "${1:-}"
  require_initialized
  local t0; t0=$(now)
  exec 9>"$H/lock" || die "cannot open $H/lock"
  flock -w 120 9 || die "another $PROG start/stop holds $H/lock for 120 s"
  local hp pids
  hp=$(holder_pid) || hp=
  pids=$(ns_pids)
  if [[ -z $hp && -z $pids ]]; then note "not running ($S)"; return 0; fi
  if [[ -n $hp ]] && daemon_pid libvirtd >/dev/null; then
    local d active
    active=$(v list --name 2>&1) || { note "cannot list active domains (continuing to stop): $active"; active=; }
    for d in $active; do
      note "destroying running domain $d"
      v destroy "$d" >/dev/null || note "virsh destroy $d failed (its QEMU will be killed below)"
    done
  fi
  # No domain runs now: stop virtlogd and libvirtd together (each takes ~2 s).
  local pid i
  if pid=$(daemon_pid virtlogd); then kill -TERM "$pid" 2>/dev/null; fi
  stop_libvirtd
  if [[ -n $pid ]]; then
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { note "virtlogd pid $pid ignored SIGTERM for 5 s; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
  fi
  # Anything else left in the namespace (a QEMU, a stuck probe) except the holder.
  local left=() p
  for p in $(ns_pids); do [[ $p == "$hp" ]] || left+=("$p"); done
  if ((${#left[@]})); then
    note "killing leftover processes in the namespace:"; describe_pids "${left[@]}" >&2
    kill -TERM "${left[@]}" 2>/dev/null; sleep 1; kill -KILL "${left[@]}" 2>/dev/null; sleep 0.2
  fi
  [[ -n $hp ]] && kill -TERM "$hp" 2>/dev/null
  for ((i = 0; i < 50; i++)); do [[ -z $(ns_pids) ]] && break; sleep 0.1; done
  pids=$(ns_pids)
  [[ -z $pids ]] || die "processes still alive in the private namespace after stop: $(describe_pids $pids)"
  rm -f "$H/holder.pid" "$H/ns.mnt" "$H/ns.net"
  timing "stop" "$t0"
}

cmd_status() {
  set_state_dir "${1:-}"
  require_initialized
  local hp
  if hp=$(holder_pid); then
    echo "running=yes"; echo "holder_pid=$hp"
    echo "libvirtd_pid=$(daemon_pid libvirtd || echo none)"
    echo "virtlogd_pid=$(daemon_pid virtlogd || echo none)"
    # shellcheck disable=SC2046
    describe_pids $(ns_pids)
  else
    echo "running=no"
    local left; left=$(ns_pids); [[ -z $left ]] || { echo "stray_processes:"; describe_pids $left; }
  fi
}

cmd_virsh() {
  need_root
  set_state_dir "${1:-}"; shift
  require_initialized
  v "$@"
}

cmd_exec() {
  need_root
  set_state_dir "${1:-}"; shift
  require_initialized
  (($#)) || die "exec: no command given"
  exec_in_view "$@"
}

# ------------------------------------------------------------ make-domain ---

valid_name() {
  [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.+-]*$ ]] || die "domain name '$1' must match [A-Za-z0-9][A-Za-z0-9_.+-]*"
}

cmd_make_domain() {
  need_root
  set_state_dir "${1:-}"; local name=${2:-}
  [[ -n $name ]] || die "usage: $PROG make-domain STATE_DIR NAME"
  valid_name "$name"
  require_initialized
  holder_pid >/dev/null && daemon_pid libvirtd >/dev/null || die "private libvirtd of $S is not running; run: $PROG start $S"
  [[ $DATA_DISK != *"$name"* ]] || die "the data disk name '$DATA_DISK' contains the domain name '$name'; set DATA_DISK=... to a name without it"
  [[ $SNAPSHOT_MODE == live || $SNAPSHOT_MODE == offline ]] || die "SNAPSHOT_MODE must be live or offline, not '$SNAPSHOT_MODE'"
  [[ -f $OVMF_CODE && -f $OVMF_VARS ]] || die "OVMF firmware not found ($OVMF_CODE, $OVMF_VARS): install package ovmf"
  local T0 t; T0=$(now)
  local img=/var/lib/libvirt/images
  local existing; existing=$(vv list --all --name)
  grep -qxF -- "$name" <<<"$existing" && die "domain $name already exists in $S"
  local f
  for f in "$name.qcow2" "$name.snap1" "$name.snap2" "$DATA_DISK"; do
    [[ ! -e $S$img/$f ]] || die "$img/$f already exists in $S; use a fresh STATE_DIR or another name"
  done
  [[ ! -e $S/var/lib/libvirt/qemu/nvram/${name}_VARS.fd ]] || die "NVRAM ${name}_VARS.fd already exists in $S"

  t=$(now)
  exec_in_view qemu-img create -q -f qcow2 "$img/$name.qcow2" 64M || die "qemu-img create $img/$name.qcow2 failed"
  exec_in_view qemu-img create -q -f qcow2 "$img/$DATA_DISK" 16M || die "qemu-img create $img/$DATA_DISK failed"
  timing "qemu-img create (2 disks)" "$t"

  # The definition.  libvirt fills in the rest (UUID, MAC-less devices,
  # controllers, the NVRAM path /var/lib/libvirt/qemu/nvram/NAME_VARS.fd).
  t=$(now)
  local xml=$H/define-$name.xml
  cat >"$xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$DOMAIN_MEMORY_MIB</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <loader readonly='yes' type='pflash'>$OVMF_CODE</loader>
    <nvram template='$OVMF_VARS'/>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$img/$name.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$img/$DATA_DISK'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='virtio'/>
  </devices>
</domain>
EOF
  vv define "$xml" >/dev/null   # $H is visible at the same path inside the namespace
  timing "virsh define" "$t"

  # Two external disk-only snapshots of vda (vdb excluded).
  #  live (default): after the checkpoint, while the guest is paused; libvirt
  #    carries the checkpoint's bitmap into each overlay and writes the chain
  #    as <backingStore> into the inactive XML.
  #  offline: before the first start (libvirt creates the overlays with
  #    qemu-img; the inactive XML has no <backingStore>), checkpoint after.
  #    libvirt 9.0 refuses offline snapshots once a checkpoint exists:
  #    "cannot perform block operations while checkpoint exists".
  snap() { # $1 = snap1|snap2, $2 = live|offline
    local ts; ts=$(now)
    vv snapshot-create-as "$name" "$1" --description "harness $1" --disk-only --atomic \
      --diskspec "vda,snapshot=external,file=$img/$name.$1" --diskspec "vdb,snapshot=no" >/dev/null
    timing "virsh snapshot-create-as $1 ($2, disk-only)" "$ts"
  }
  if [[ $SNAPSHOT_MODE == offline ]]; then snap snap1 offline; snap snap2 offline; fi

  # A checkpoint needs a running domain; a paused TCG guest (sitting before
  # the firmware's first instruction) is enough.  Starting it also makes
  # libvirt create NAME_VARS.fd from the template.
  t=$(now)
  vv start --paused "$name" >/dev/null
  timing "virsh start --paused" "$t"
  t=$(now)
  vv checkpoint-create-as "$name" "$CHECKPOINT_NAME" --description "harness checkpoint" >/dev/null
  timing "virsh checkpoint-create-as $CHECKPOINT_NAME (running)" "$t"

  if [[ $SNAPSHOT_MODE == live ]]; then snap snap1 live; snap snap2 live; fi

  # Let OVMF run until it has written its variable store, so NAME_VARS.fd
  # differs from the template: a rename that loses the NVRAM (libvirt then
  # silently recreates it from the template) becomes detectable.
  t=$(now)
  local nv=$S/var/lib/libvirt/qemu/nvram/${name}_VARS.fd
  [[ -f $nv ]] || die "libvirt did not create $nv when starting $name"
  vv resume "$name" >/dev/null
  local deadline=$((SECONDS + NVRAM_WAIT))
  while cmp -s "$nv" "$OVMF_VARS"; do
    ((SECONDS < deadline)) || die "OVMF did not write its variable store within ${NVRAM_WAIT}s (NVRAM still equals $OVMF_VARS); see $S/var/log/libvirt/qemu/$name.log"
    sleep 0.5
  done
  timing "guest running until OVMF wrote ${name}_VARS.fd" "$t"
  t=$(now)
  vv destroy "$name" >/dev/null
  timing "virsh destroy" "$t"
  t=$(now)
  vv autostart "$name" >/dev/null
  timing "virsh autostart" "$t"
  local uuid; uuid=$(vv domuuid "$name" | sed '/^$/d')
  mkdir -p "$H/expect" && sha256sum <"$nv" | cut -d' ' -f1 >"$H/expect/$uuid.nvram.sha256" ||
    die "cannot record the NVRAM checksum in $H/expect"
  echo "$SNAPSHOT_MODE" >"$H/expect/$uuid.snapshot-mode"

  local state; state=$(vv domstate "$name")
  [[ $state == "shut off" ]] || die "domain $name is '$state' after make-domain, expected 'shut off'"
  timing "make-domain $name (total)" "$T0"
  note "domain $name defined, shut off; libvirtd left RUNNING (stop it with: $PROG stop $S)"
}

# ----------------------------------------------------------- check-domain ---

cmd_check_domain() {
  need_root
  set_state_dir "${1:-}"; local name=${2:-}
  [[ -n $name ]] || die "usage: $PROG check-domain STATE_DIR NAME [--restart] [--start-test] [--expect-images-prefix P] [--expect-uuid UUID] [--allow-other DOM]... [--allow-any-nvram-name]"
  shift 2
  require_initialized
  local prefix=$name restart=0 start_test=0 want_uuid='' any_nvram=0 allow=()
  while (($#)); do
    case $1 in
      --expect-images-prefix) [[ $# -ge 2 ]] || die "--expect-images-prefix needs a value"; prefix=$2; shift 2;;
      --expect-uuid) [[ $# -ge 2 ]] || die "--expect-uuid needs a value"; want_uuid=$2; shift 2;;
      --allow-other) [[ $# -ge 2 ]] || die "--allow-other needs a value"; allow+=("$2"); shift 2;;
      --allow-any-nvram-name) any_nvram=1; shift;;
      --restart) restart=1; shift;;
      --start-test) start_test=1; shift;;
      *) die "check-domain: unknown option '$1'";;
    esac
  done
  local T0; T0=$(now)
  if ((restart)); then
    "$SELF" stop "$S" || die "check-domain --restart: stop failed"
    "$SELF" start "$S" || die "check-domain --restart: start failed"
  fi
  holder_pid >/dev/null && daemon_pid libvirtd >/dev/null || die "private libvirtd of $S is not running; run: $PROG start $S (or pass --restart)"

  local bad=()
  mismatch() { bad+=("$*"); echo "$PROG: MISMATCH: $*" >&2; }
  kv() { printf '%s=%s\n' "$1" "$2"; }
  finish() {
    timing "check-domain $name" "$T0"
    if ((${#bad[@]})); then kv result FAIL; echo "$PROG: check-domain $name: ${#bad[@]} mismatch(es)" >&2; exit 1; fi
    kv result OK; exit 0
  }
  local img=/var/lib/libvirt/images
  local allowed_images=" $img/$prefix.qcow2 $img/$prefix.snap1 $img/$prefix.snap2 $img/$DATA_DISK "

  # 1. Domains listed: exactly one NAME, nothing unexpected.
  local all d others=() count=0 a ok
  all=$(vv list --all --name | sed '/^$/d')
  kv domains "$(tr '\n' ' ' <<<"$all" | sed 's/ $//')"
  while IFS= read -r d; do
    [[ -z $d ]] && continue
    if [[ $d == "$name" ]]; then count=$((count + 1)); continue; fi
    ok=0; for a in "${allow[@]}"; do [[ $a == "$d" ]] && ok=1; done
    ((ok)) || others+=("$d")
  done <<<"$all"
  kv domain_count_named "$count"
  ((count == 1)) || mismatch "expected exactly one domain named $name in 'virsh list --all --name', found $count (list: $(tr '\n' ' ' <<<"$all"))"
  kv unexpected_domains "${others[*]}"
  ((${#others[@]} == 0)) || mismatch "unexpected domains defined: ${others[*]} (pass --allow-other DOM if intended)"
  ((count == 1)) || finish

  # 2. Identity, state, autostart.
  local uuid info state autostart persistent
  uuid=$(vv domuuid "$name" | sed '/^$/d'); kv uuid "$uuid"
  [[ -z $want_uuid || $want_uuid == "$uuid" ]] || mismatch "UUID is $uuid, expected $want_uuid"
  info=$(vv dominfo "$name")
  state=$(awk -F': *' '$1=="State"{print $2}' <<<"$info"); kv state "$state"
  autostart=$(awk -F': *' '$1=="Autostart"{print $2}' <<<"$info"); kv autostart "$autostart"
  [[ $autostart == enable ]] || mismatch "autostart is '$autostart' in dominfo, expected 'enable' (libvirt enables it only if autostart/$name.xml is a symlink to the config)"
  persistent=$(awk -F': *' '$1=="Persistent"{print $2}' <<<"$info"); kv persistent "$persistent"
  [[ $persistent == yes ]] || mismatch "domain is not persistent"
  local link; link=$(readlink "$S/etc/libvirt/qemu/autostart/$name.xml" 2>/dev/null) || link=missing
  kv autostart_link "$link"

  # 3. Inactive definition.
  local dxml nvram vda vdb
  dxml=$(vv dumpxml --inactive "$name")
  xq() { xmllint --xpath "$2" - 2>/dev/null <<<"$1"; }
  nvram=$(xq "$dxml" 'string(/domain/os/nvram)'); kv nvram "$nvram"
  vda=$(xq "$dxml" "string(/domain/devices/disk[target/@dev='vda']/source/@file)"); kv vda_source "$vda"
  vdb=$(xq "$dxml" "string(/domain/devices/disk[target/@dev='vdb']/source/@file)"); kv vdb_source "$vdb"
  [[ $vda == "$img/$prefix.snap2" ]] || mismatch "vda source is '$vda', expected $img/$prefix.snap2"
  [[ $vdb == "$img/$DATA_DISK" ]] || mismatch "vdb source is '$vdb', expected $img/$DATA_DISK"
  local bs; bs=$(xq "$dxml" "/domain/devices/disk[target/@dev='vda']//backingStore/source/@file" | sed -n 's/.*file="\([^"]*\)".*/\1/p' | tr '\n' ' ' | sed 's/ $//')
  kv inactive_xml_backingStore "${bs:--}"
  [[ -z $bs || $bs == "$img/$prefix.snap1 $img/$prefix.qcow2" ]] || mismatch "vda <backingStore> chain in the inactive XML is '$bs', expected '$img/$prefix.snap1 $img/$prefix.qcow2'"

  # Every domain definition libvirt holds for NAME (inactive XML, each
  # snapshot's <domain>/<inactiveDomain>, the checkpoint's <domain>) must carry
  # NAME, the UUID, the NVRAM path, and only image paths of this domain.
  check_refs() { # $1 label, $2 xml, $3 xpaths (space-separated) of the domain elements
    local label=$1 x=$2 roots=$3 v f n=0 r
    for r in $roots; do
      [[ $(xq "$x" "count($r)") -gt 0 ]] || continue
      n=$((n + 1))
      v=$(xq "$x" "string($r/name)"); [[ $v == "$name" ]] || mismatch "$label: $r has <name>$v</name>, expected $name"
      v=$(xq "$x" "string($r/uuid)"); [[ $v == "$uuid" ]] || mismatch "$label: $r has <uuid>$v</uuid>, expected $uuid"
      v=$(xq "$x" "string($r/os/nvram)"); [[ $v == "$nvram" ]] || mismatch "$label: $r has <nvram>$v</nvram>, the domain's is $nvram"
    done
    while IFS= read -r f; do
      [[ -z $f || $f != /var/lib/libvirt/* ]] && continue
      [[ $allowed_images == *" $f "* ]] || mismatch "$label: references $f, not one of$allowed_images"
      [[ -e $S$f ]] || mismatch "$label: references $f, which does not exist"
    done < <(xq "$x" '//source/@file' | sed -n 's/.*file="\([^"]*\)".*/\1/p')
    kv "${label}_embedded_domains" "$n"
  }
  check_refs domain "$dxml" /domain

  # 4. NVRAM file.
  if [[ -z $nvram ]]; then mismatch "inactive XML has no <os><nvram>"
  else
    local st; st=$(stat -c '%a %U:%G %s' "$S$nvram" 2>/dev/null) || st=missing
    kv nvram_stat "$st"
    if [[ $st == missing ]]; then mismatch "NVRAM file $nvram named by the XML does not exist"
    else
      local sum want; sum=$(sha256sum <"$S$nvram" | cut -d' ' -f1)
      if cmp -s "$S$nvram" "$OVMF_VARS"; then kv nvram_equals_template yes; mismatch "NVRAM $nvram equals the OVMF template: the guest's UEFI variables were lost (libvirt recreates a blank one when the file is missing)"
      else kv nvram_equals_template no; fi
      if [[ -f $H/expect/$uuid.nvram.sha256 ]]; then
        want=$(<"$H/expect/$uuid.nvram.sha256")
        kv nvram_matches_make_domain "$([[ $sum == "$want" ]] && echo yes || echo no)"
        [[ $sum == "$want" ]] || mismatch "NVRAM $nvram content changed since make-domain (sha256 $sum, recorded $want)"
      fi
    fi
    ((any_nvram)) || [[ $nvram == "/var/lib/libvirt/qemu/nvram/${name}_VARS.fd" ]] ||
      mismatch "NVRAM path is $nvram, expected /var/lib/libvirt/qemu/nvram/${name}_VARS.fd (use --allow-any-nvram-name to accept)"
  fi

  # 5. Backing chain from the qcow2 headers.
  local chain files
  if chain=$(exec_in_view qemu-img info -U --backing-chain --output=json "$vda" 2>&1); then
    files=$(jq -r '.[].filename' <<<"$chain" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')
    kv backing_chain "$files"
    local want_chain="$img/$prefix.snap2 $img/$prefix.snap1 $img/$prefix.qcow2"
    [[ $files == "$want_chain" ]] || mismatch "backing chain of $vda is '$files', expected '$want_chain'"
    kv backing_formats "$(jq -r '[.[] | (."backing-filename-format" // "-")] | join(" ")' <<<"$chain")"
    kv chain_bitmaps "$(jq -r '[.[] | ((."format-specific".data.bitmaps // []) | map(.name) | join(",")) | if .=="" then "-" else . end] | join(" ")' <<<"$chain")"
    echo "--- qemu-img info --backing-chain $vda" >&2
    exec_in_view qemu-img info -U --backing-chain "$vda" 2>&1 | grep -E '^(image|backing file|file format)|name:' | sed 's/^/    /' >&2
  else
    kv backing_chain ERROR
    mismatch "qemu-img info --backing-chain $vda failed: $chain"
  fi
  local di; di=$(exec_in_view qemu-img info -U --output=json "$img/$DATA_DISK" 2>&1) || mismatch "qemu-img info $img/$DATA_DISK failed: $di"

  # 6. Snapshots.
  local snaps names p1 p2 cur sx
  snaps=$(vv snapshot-list "$name" --parent)
  echo "--- virsh snapshot-list $name --parent" >&2; sed 's/^/    /' <<<"$snaps" >&2
  names=$(vv snapshot-list "$name" --name | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
  kv snapshots "$names"
  [[ $names == "snap1 snap2" ]] || mismatch "snapshots are '$names', expected 'snap1 snap2'"
  p2=$(v snapshot-parent "$name" snap2 2>&1 | sed '/^$/d'); kv snap2_parent "$p2"
  [[ $p2 == snap1 ]] || mismatch "parent of snap2 is '$p2', expected snap1"
  if p1=$(v snapshot-parent "$name" snap1 2>&1); then kv snap1_parent "$p1"; mismatch "snap1 has a parent ('$p1'), expected none"
  else kv snap1_parent -; fi
  cur=$(v snapshot-current "$name" --name 2>&1 | sed '/^$/d'); kv snapshot_current "$cur"
  [[ $cur == snap2 ]] || mismatch "current snapshot is '$cur', expected snap2"
  local s sfile
  for s in snap1 snap2; do
    [[ " $names " == *" $s "* ]] || continue
    sx=$(vv snapshot-dumpxml "$name" "$s")
    sfile=$(xq "$sx" "string(/domainsnapshot/disks/disk[@name='vda']/source/@file)"); kv "${s}_vda_file" "$sfile"
    [[ $sfile == "$img/$prefix.$s" ]] || mismatch "snapshot $s: disk vda file is '$sfile', expected $img/$prefix.$s"
    check_refs "$s" "$sx" '/domainsnapshot/domain /domainsnapshot/inactiveDomain'
  done

  # 7. Checkpoint.
  local cps cx
  cps=$(vv checkpoint-list "$name" --name | sed '/^$/d' | tr '\n' ' ' | sed 's/ $//')
  kv checkpoints "$cps"
  [[ $cps == "$CHECKPOINT_NAME" ]] || mismatch "checkpoints are '$cps', expected '$CHECKPOINT_NAME'"
  if [[ " $cps " == *" $CHECKPOINT_NAME "* ]]; then
    cx=$(vv checkpoint-dumpxml "$name" "$CHECKPOINT_NAME")
    kv "${CHECKPOINT_NAME}_disks" "$(xq "$cx" '/domaincheckpoint/disks/disk' | sed -n "s/.*name='\([^']*\)'.*checkpoint='\([^']*\)'.*/\1:\2/p; s/.*name=\"\([^\"]*\)\".*checkpoint=\"\([^\"]*\)\".*/\1:\2/p" | tr '\n' ' ' | sed 's/ $//')"
    check_refs "$CHECKPOINT_NAME" "$cx" /domaincheckpoint/domain
  fi

  # 8. Optional: libvirt must be able to start it (paused) with all of the above.
  if ((start_test)); then
    if [[ $state != "shut off" ]]; then mismatch "--start-test: domain is '$state', not shut off"
    else
      local out t; t=$(now)
      if out=$(v start --paused "$name" 2>&1); then
        kv start_test OK
        local blk; blk=$(v domblklist "$name" 2>&1 | awk '{print $1"="$2}' | tr '\n' ' '); kv start_test_blk "$blk"
        out=$(v destroy "$name" 2>&1) || mismatch "--start-test: destroy failed: $out"
      else
        kv start_test FAIL; mismatch "--start-test: virsh start --paused $name failed: $out"
      fi
      timing "start-test" "$t"
    fi
  fi
  finish
}

# ------------------------------------------------------------- list-files ---

cmd_list_files() {
  set_state_dir "${1:-}"; local name=${2:-}
  [[ -n $name ]] || die "usage: $PROG list-files STATE_DIR NAME [--state-paths]"
  require_initialized
  local state_paths=0; [[ ${3:-} == --state-paths ]] && state_paths=1
  [[ -z ${3:-} || $state_paths == 1 ]] || die "list-files: unknown option '$3'"
  local cfg=$S/etc/libvirt/qemu/$name.xml
  local -a paths=()
  add() { paths+=("$1"); }
  # Fixed locations (host view).
  add "/etc/libvirt/qemu/$name.xml"
  add "/etc/libvirt/qemu/autostart/$name.xml"
  add "/var/lib/libvirt/qemu/snapshot/$name"
  add "/var/lib/libvirt/qemu/checkpoint/$name"
  add "/var/lib/libvirt/qemu/save/$name.save"
  add "/run/libvirt/qemu/$name.xml"
  add "/run/libvirt/qemu/$name.pid"
  add "/var/log/libvirt/qemu/$name.log"
  # While running: per-run directories (libvirt shortens the name to 20 chars).
  local f
  for f in "$S"/var/lib/libvirt/qemu/domain-[0-9]*-"${name:0:20}" "$S"/var/lib/libvirt/qemu/channel/target/domain-[0-9]*-"${name:0:20}"; do
    [[ -e $f ]] && add "${f#$S}"
  done
  # Named inside the config: NVRAM and disk sources (and their backing chains).
  local nv=''
  if [[ -f $cfg ]]; then
    nv=$(xmllint --xpath 'string(/domain/os/nvram)' "$cfg" 2>/dev/null)
    while IFS= read -r f; do [[ -n $f ]] && add "$f"; done < <(
      xmllint --xpath '/domain/devices/disk/source/@file' "$cfg" 2>/dev/null | sed -n "s/.*file=\"\([^\"]*\)\".*/\1/p")
  fi
  add "${nv:-/var/lib/libvirt/qemu/nvram/${name}_VARS.fd}"
  # Images carrying the name by convention.
  for f in "$S/var/lib/libvirt/images/$name".*; do [[ -e $f ]] && add "${f#$S}"; done
  # Backing files named in qcow2 headers (read from STATE_DIR, map back).
  local i=0 b
  while ((i < ${#paths[@]})); do
    f=${paths[i]}; i=$((i + 1))
    [[ $f == /var/lib/libvirt/images/* && -f $S$f ]] || continue
    b=$(qemu-img info -U --output=json "$S$f" 2>/dev/null | jq -r '."backing-filename" // empty')
    [[ -n $b ]] && add "$b"
  done
  # Print existing entries, deduplicated, directories expanded.
  local seen=" " p real
  emit() {
    local p=$1 real=$S$1 shown
    [[ $seen == *" $p "* ]] && return; seen+="$p "
    [[ -e $real || -L $real ]] || return 0
    ((state_paths)) && shown=$real || shown=$p
    if [[ -L $real ]]; then echo "$(stat -c '%a %U:%G' "$real") link $shown -> $(readlink "$real")"
    elif [[ -d $real ]]; then echo "$(stat -c '%a %U:%G' "$real") dir $shown"
    else echo "$(stat -c '%a %U:%G' "$real") file $shown"; fi
  }
  for p in "${paths[@]}"; do
    emit "$p"
    if [[ -d $S$p && ! -L $S$p ]]; then
      while IFS= read -r -d '' real; do emit "${real#$S}"; done < <(find "$S$p" -mindepth 1 -print0 | sort -z)
    fi
  done
}

# ---------------------------------------------------------- try-domrename ---

cmd_try_domrename() {
  need_root
  set_state_dir "${1:-}"; local old=${2:-} new=${3:-}
  [[ -n $old && -n $new ]] || die "usage: $PROG try-domrename STATE_DIR OLD NEW"
  require_initialized
  local t; t=$(now)
  local out rc; out=$(v domrename "$old" "$new" 2>&1); rc=$?
  echo "virsh domrename $old $new: exit $rc: $out"
  timing "virsh domrename" "$t"
  echo "--- list-files $new"; cmd_list_files "$S" "$new"
  echo "--- list-files $old"; cmd_list_files "$S" "$old"
  return $rc
}

# --------------------------------------------------------------- selftest ---

cmd_selftest() {
  need_root
  local dir=${1:-}
  [[ -n $dir ]] || dir=$(mktemp -d /tmp/fstx-virt-selftest.XXXXXX) || die "mktemp failed"
  local T0 t; T0=$(now)
  note "selftest in $dir"
  st() { local label=$1; shift; note "selftest: $label"; "$SELF" "$@" || die "selftest step failed: $label ($SELF $*)"; }
  t=$(now); st "start" start "$dir"; timing "selftest start #1" "$t"
  t=$(now); st "make-domain vm1" make-domain "$dir" vm1; timing "selftest make-domain" "$t"
  local uuid; uuid=$("$SELF" virsh "$dir" domuuid vm1 | sed '/^$/d') || die "domuuid failed"
  t=$(now); st "stop" stop "$dir"; timing "selftest stop #1" "$t"
  # Here a test would edit $dir's files (e.g. run fstx via '$PROG exec').
  st "exec (daemon stopped): ls /etc/libvirt/qemu" exec "$dir" ls -l /etc/libvirt/qemu
  t=$(now); st "start again" start "$dir"; timing "selftest start #2" "$t"
  t=$(now); st "check-domain vm1" check-domain "$dir" vm1 --expect-uuid "$uuid"; timing "selftest check-domain" "$t"
  note "selftest: negative checks (each must FAIL)"
  if "$SELF" check-domain "$dir" vm2 >/dev/null 2>&1; then die "check-domain vm2 passed but vm2 does not exist"; fi
  if "$SELF" check-domain "$dir" vm1 --expect-images-prefix vm2 >/dev/null 2>&1; then die "check-domain with the wrong image prefix passed"; fi
  if "$SELF" check-domain "$dir" vm1 --expect-uuid 00000000-0000-0000-0000-000000000000 >/dev/null 2>&1; then die "check-domain with a wrong UUID passed"; fi
  note "selftest: list-files vm1"; "$SELF" list-files "$dir" vm1 || die "list-files failed"

  # The cycle a rename test uses: stop, edit STATE_DIR's files from outside
  # (here through the private view, daemon stopped), start, check.
  # Break two things libvirt cannot see from its definitions alone and make
  # sure check-domain notices, then repair them and pass again.
  t=$(now)
  st "stop (for edits)" stop "$dir"
  st "edit: remove autostart link" exec "$dir" rm /etc/libvirt/qemu/autostart/vm1.xml
  st "edit: move NVRAM away" exec "$dir" mv /var/lib/libvirt/qemu/nvram/vm1_VARS.fd /var/lib/libvirt/qemu/nvram/vm1_VARS.fd.away
  st "start" start "$dir"
  local out
  if out=$("$SELF" check-domain "$dir" vm1 2>&1); then die "check-domain passed with the autostart link and the NVRAM removed"; fi
  grep -q "autostart is 'disable'" <<<"$out" || die "check-domain did not report the missing autostart link: $out"
  grep -q "NVRAM file .* does not exist" <<<"$out" || die "check-domain did not report the missing NVRAM: $out"
  note "selftest: check-domain caught the broken autostart link and NVRAM, as it must"
  st "stop (for repair)" stop "$dir"
  st "repair: autostart link" exec "$dir" ln -s /etc/libvirt/qemu/vm1.xml /etc/libvirt/qemu/autostart/vm1.xml
  st "repair: NVRAM" exec "$dir" mv /var/lib/libvirt/qemu/nvram/vm1_VARS.fd.away /var/lib/libvirt/qemu/nvram/vm1_VARS.fd
  st "start" start "$dir"
  st "check-domain vm1 after repair, with a start test" check-domain "$dir" vm1 --expect-uuid "$uuid" --start-test
  timing "selftest edit/check cycle" "$t"
  t=$(now); st "stop" stop "$dir"; timing "selftest stop #2" "$t"
  timing "selftest (total)" "$T0"
  note "selftest PASSED ($dir)"
}

# ------------------------------------------------------------------- main ---

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    start) cmd_start "$@";;
    stop) cmd_stop "$@";;
    status) cmd_status "$@";;
    virsh) cmd_virsh "$@";;
    exec) cmd_exec "$@";;
    make-domain) cmd_make_domain "$@";;
    check-domain) cmd_check_domain "$@";;
    list-files) cmd_list_files "$@";;
    try-domrename) cmd_try_domrename "$@";;
    selftest) cmd_selftest "$@";;
    -h|--help|help) usage;;
    "") usage; die "no subcommand given";;
    *) usage; die "unknown subcommand '$cmd'";;
  esac
}
main "$@"
