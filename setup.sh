#!/usr/bin/env bash
# setup.sh — the one setup script of fstx (Debian 12).
#
#   ./setup.sh demo          install what is missing, build build/, run the demo
#   ./setup.sh test          build build/ and build-san/ (ASan+UBSan), run every
#                            test in both, then the libFuzzer harnesses for 20 s
#                            each (tests/fuzz/run.sh, clang, build-fuzz/); the
#                            last line is "N passed, N failed"
#   ./setup.sh bench [ARGS]  release build in build-rel/, run the VM-rename
#                            benchmark (ARGS go to it, e.g. --json)
#
# Packages are installed only if missing; installing needs root (run it as
# root, or with sudo where sudo is installed). Every build here is configured
# with -Dwerror=true: warnings are errors in CI (the project default is off).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

PACKAGES=(meson ninja-build g++ pkg-config python3 liblmdb-dev libboost-filesystem-dev
          libcereal-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev googletest
          libbenchmark-dev libcli11-dev nlohmann-json3-dev libpugixml-dev libxxhash-dev
          # the libFuzzer harnesses (tests/fuzz)
          clang libclang-rt-14-dev
          # fstx virt: the real-libvirtd test suite and the demo (a private
          # libvirtd; xmllint and jq are used by tests/virt/harness/libvirt_env.sh)
          libvirt-daemon-system libvirt-clients qemu-utils qemu-system-x86 ovmf
          libxml2-utils jq
          # tests/pkg: the man page is checked with groff, the units with
          # systemd-analyze verify, the completion with bash
          groff-base man-db systemd
          # benchmarks only: the SQLite baseline of bench_scale, and the plot
          libsqlite3-dev gnuplot-nox)

usage() {
  echo "usage: $0 demo | test | bench [BENCH-ARGS...]" >&2
  exit 2
}

install_missing() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: missing packages: ${missing[*]}" >&2
    echo "setup.sh: installing them needs root: run '$0 ${MODE}' as root" >&2
    echo "setup.sh: (or install them with apt-get install as root, then run it again)" >&2
    exit 2
  fi
  echo "setup.sh: installing ${missing[*]}"
  apt-get update
  # No recommends: libvirt-daemon-system would otherwise pull in dnsmasq,
  # firewall tools, polkit and more than the tests need.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# build DIR [MESON-OPTIONS...]: configure (or reconfigure) and build.
build() {
  local dir=$1
  shift
  if [[ -d $dir && ! -f $dir/meson-private/coredata.dat ]]; then
    rm -rf "$dir"  # a half-made build directory from an interrupted setup
  fi
  if [[ -d $dir ]]; then
    meson setup --reconfigure "$dir" -Dwerror=true "$@" >/dev/null || return 1
  else
    meson setup "$dir" -Dwerror=true "$@" || return 1
  fi
  ninja -C "$dir" || return 1
}

# run_tests DIR [MESON-TEST-ARGS...]: every meson test, with fresh GoogleTest
# JSON reports.
run_tests() {
  local dir=$1
  shift
  rm -rf "$dir/tests/reports"
  mkdir -p "$dir/tests/reports"
  echo "=== meson test -C $dir $*"
  meson test -C "$dir" --print-errorlogs --num-processes 2 "$@"
}

MODE=${1:-}
[[ -n $MODE ]] || usage
shift

case $MODE in
  demo)
    install_missing
    build build
    bash tests/demo/demo.sh "$PWD/build/src/cli/fstx"
    ;;
  test)
    install_missing
    rc=0
    dirs=()
    if build build; then dirs+=(build); else rc=1; echo "setup.sh: build/ failed to build" >&2; fi
    if build build-san -Db_sanitize=address,undefined -Db_lundef=false \
         -Dcpp_args=-fno-sanitize-recover=all; then
      dirs+=(build-san)
    else
      rc=1
      echo "setup.sh: build-san/ failed to build" >&2
    fi
    for d in "${dirs[@]}"; do
      # The real-libvirtd suite (suite "libvirt": a private libvirtd, ~7
      # minutes) runs once, in the plain build: it proves what libvirt's
      # daemon sees. The sanitizer build runs every in-process test of the
      # same code, the crash explorer over the rename included.
      extra=()
      [[ $d == build-san ]] && extra=(--no-suite libvirt)
      run_tests "$d" "${extra[@]}" || rc=1  # keep going: the other build's results count too
    done
    reports=()
    for d in "${dirs[@]}"; do reports+=("$d/tests/reports"); done
    # The fuzzers write one GoogleTest-shaped report each (suite "Fuzz"), so
    # they count in the totals; a crash fails the run.
    echo "=== tests/fuzz/run.sh 20"
    bash tests/fuzz/run.sh 20 || rc=1
    reports+=(build-fuzz/tests/reports)
    python3 tests/count_results.py "${reports[@]}" || rc=1
    exit $rc
    ;;
  bench)
    install_missing
    build build-rel -Dbuildtype=release
    exec build-rel/tests/bench/bench_vm_rename "$@"
    ;;
  *)
    usage
    ;;
esac
