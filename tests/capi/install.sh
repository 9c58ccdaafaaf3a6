#!/usr/bin/env bash
# install.sh BUILD_DIR SOURCE_DIR REPORT — fstx as a program outside the
# tree sees it: a staged install (meson install --destdir), then
#   - fstx/c.h compiles as C99 and as C++ with -Wall -Wextra -pedantic -Werror;
#   - examples/c_daemon (C) and examples/cpp (C++) build with nothing but
#     `pkg-config fstx` flags against the staged prefix;
#   - each renames a VM on a temp tree (checked file by file) and lists the
#     journal's transactions; a second rename of the same VM fails and
#     changes nothing; a journal held by another process gives "busy".
# $SAN_FLAGS (the sanitizer flags of an ASan build) are added to every
# compile and link so that the instrumented library loads.
set -uo pipefail
BUILD=$(readlink -f "$1")
SRC=$(readlink -f "$2")
REPORT=$3
. "$SRC/tests/capi/report.sh"
SAN=${SAN_FLAGS:-}

work=$(mktemp -d /tmp/fstx-capi-XXXXXX)
trap 'rm -rf "$work"' EXIT
stage=$work/stage

if ! meson install -C "$BUILD" --destdir "$stage" --no-rebuild --quiet >"$work/install.log" 2>&1; then
  case_fail StagedInstall "meson install failed: $(tail -5 "$work/install.log" | tr '\n' ';')"
  write_report "$REPORT" CApiInstall
fi
prefix=$(meson introspect "$BUILD" --buildoptions | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
pcdir=$(dirname "$(find "$stage" -name fstx.pc | head -1)")
if [[ ! -f $pcdir/fstx.pc ]]; then
  case_fail StagedInstall "no fstx.pc under $stage"
  write_report "$REPORT" CApiInstall
fi
if grep -qE "^Libs:.*(/[^ ]*\.so|$BUILD)" "$pcdir/fstx.pc" || grep -qi boost "$pcdir/fstx.pc"; then
  case_fail PcFile "fstx.pc names an absolute library path or Boost: $(tr '\n' ';' <"$pcdir/fstx.pc")"
else
  case_ok PcFile
fi
case_ok StagedInstall
# The staged prefix stands in for the real one.
export PKG_CONFIG_PATH=$pcdir
pc() { pkg-config --define-variable=prefix="$stage$prefix" "$@" fstx; }
CFLAGS_PC=$(pc --cflags) && LIBS_PC=$(pc --libs)
libdir=$(pc --variable=libdir)
export LD_LIBRARY_PATH=$libdir

# The header alone, both languages.
printf '#include <fstx/c.h>\nint main(void) { return fstx_version_number() > 0 ? 0 : 1; }\n' >"$work/h.c"
if cc -std=c99 -Wall -Wextra -pedantic -Werror $SAN $CFLAGS_PC "$work/h.c" -o "$work/h_c" $LIBS_PC 2>"$work/cc.log" &&
   c++ -x c++ -std=c++17 -Wall -Wextra -pedantic -Werror $SAN $CFLAGS_PC "$work/h.c" -o "$work/h_cxx" $LIBS_PC 2>>"$work/cc.log" &&
   "$work/h_c" && "$work/h_cxx"; then
  case_ok HeaderC99AndCxx
else
  case_fail HeaderC99AndCxx "$(head -20 "$work/cc.log" | tr '\n' ';')"
fi

# tree ROOT: a libvirt-like tree with domain vm1.
tree() {
  mkdir -p "$1/qemu/autostart" "$1/snapshot/vm1" "$1/images"
  printf '<domain type="kvm">\n  <name>vm1</name>\n  <memory>1024</memory>\n</domain>\n' >"$1/qemu/vm1.xml"
  printf '<domainsnapshot/>\n' >"$1/snapshot/vm1/s1.xml"
  head -c 4096 /dev/zero >"$1/images/vm1.qcow2"
  ln -s ../vm1.xml "$1/qemu/autostart/vm1.xml"
}
# check_renamed ROOT: every file moved, the name edited, the link retargeted.
check_renamed() {
  local r=$1
  [[ ! -e $r/qemu/vm1.xml && -f $r/qemu/vm2.xml ]] || { echo "config not renamed"; return 1; }
  grep -q '<name>vm2</name>' "$r/qemu/vm2.xml" || { echo "name not edited: $(cat "$r/qemu/vm2.xml")"; return 1; }
  grep -q '<memory>1024</memory>' "$r/qemu/vm2.xml" || { echo "rest of the XML lost"; return 1; }
  [[ $(stat -c %a "$r/qemu/vm2.xml") == 600 ]] || { echo "mode not 0600"; return 1; }
  [[ $(readlink "$r/qemu/autostart/vm2.xml") == ../vm2.xml && ! -L $r/qemu/autostart/vm1.xml ]] || { echo "autostart link"; return 1; }
  [[ -f $r/snapshot/vm2/s1.xml && ! -e $r/snapshot/vm1 ]] || { echo "snapshot dir"; return 1; }
  [[ -f $r/images/vm2.qcow2 && ! -e $r/images/vm1.qcow2 ]] || { echo "image"; return 1; }
}

# run_example NAME BINARY
run_example() {
  local name=$1 bin=$2 r=$work/$1-tree j=$work/$1-journal out rc msg
  tree "$r"
  out=$("$bin" "$j" "$r" vm1 vm2 2>&1); rc=$?
  if ((rc != 0)); then case_fail "${name}Rename" "exit $rc: $out"; return; fi
  if ! msg=$(check_renamed "$r"); then case_fail "${name}Rename" "$msg; output: $out"; return; fi
  case_ok "${name}Rename"
  if grep -qE '^tx [0-9]+ done "rename vm1 to vm2" 6 ops$' <<<"$out"; then case_ok "${name}Lists"
  else case_fail "${name}Lists" "listing lacks the finished rename: $out"; fi
  # Again: vm1 is gone, so it fails (exit 1) and changes nothing.
  local before after
  before=$(cd "$r" && find . -printf '%p %y %l\n' | sort)
  out=$("$bin" "$j" "$r" vm1 vm2 2>&1); rc=$?
  after=$(cd "$r" && find . -printf '%p %y %l\n' | sort)
  if ((rc == 1)) && [[ $before == "$after" ]]; then case_ok "${name}FailsCleanly"
  else case_fail "${name}FailsCleanly" "exit $rc (want 1), tree changed: $([[ $before == "$after" ]] && echo no || echo yes); $out"; fi
}

if cc -std=c99 -Wall -Wextra -pedantic -Werror $SAN $CFLAGS_PC "$SRC/examples/c_daemon/rename_vm.c" \
     -o "$work/rename_vm_c" $LIBS_PC 2>"$work/c.log"; then
  case_ok CExampleBuilds
  run_example CExample "$work/rename_vm_c"
  # Busy: another process holds the journal's writer lock. With one try
  # the daemon gives up with exit 5 and changes nothing; once the holder
  # is gone the same command renames.
  tree "$work/busy-tree"
  mkdir -m 700 "$work/busy-journal"
  mkfifo "$work/release"
  flock -x "$work/busy-journal/writer.lock" -c "touch '$work/held'; read -r _ <'$work/release'" &
  holder=$!
  while [[ ! -e $work/held ]]; do sleep 0.05; done
  out=$(RENAME_VM_TRIES=1 "$work/rename_vm_c" "$work/busy-journal" "$work/busy-tree" vm1 vm2 2>&1); rc=$?
  echo >"$work/release"
  wait $holder
  if ((rc == 5)) && [[ -f $work/busy-tree/qemu/vm1.xml && ! -e $work/busy-tree/qemu/vm2.xml ]] &&
     grep -q '^rename_vm: busy: ' <<<"$out"; then
    case_ok CExampleBusy
  else
    case_fail CExampleBusy "exit $rc (want 5, tree unchanged): $out"
  fi
  out=$("$work/rename_vm_c" "$work/busy-journal" "$work/busy-tree" vm1 vm2 2>&1); rc=$?
  if ((rc == 0)) && check_renamed "$work/busy-tree" >/dev/null; then case_ok CExampleAfterBusy
  else case_fail CExampleAfterBusy "exit $rc: $out"; fi
else
  case_fail CExampleBuilds "$(head -20 "$work/c.log" | tr '\n' ';')"
fi

if c++ -std=c++20 -Wall -Wextra -pedantic -Werror $SAN $CFLAGS_PC "$SRC/examples/cpp/rename_vm.cc" \
     -o "$work/rename_vm_cpp" $LIBS_PC 2>"$work/cpp.log"; then
  case_ok CxxExampleBuilds
  run_example CxxExample "$work/rename_vm_cpp"
else
  case_fail CxxExampleBuilds "$(head -20 "$work/cpp.log" | tr '\n' ';')"
fi
write_report "$REPORT" CApiInstall
