#!/usr/bin/env bash
# staged_example.sh BUILD_DIR SOURCE_DIR REPORT_DIR — builds
# examples/crash_example (a daemon-style library and its GoogleTest crash
# tests) against a staged install of this build (`meson install --destdir`)
# using pkg-config alone (`dependency('fstx-fault')`, PKG_CONFIG_PATH into
# the staged prefix), then runs its tests.
#
# Reports, in GoogleTest JSON so they count in the totals: the example's
# own test binary writes REPORT_DIR/crash-example.json; this script writes
# REPORT_DIR/crash-example-build.json with one case,
# StagedInstall.CrashExampleBuildsWithPkgConfigAlone (failed, with the log
# tail, if the install, the configure or the build fails).
set -uo pipefail
B=$(readlink -f "${1:?usage: staged_example.sh BUILD_DIR SOURCE_DIR REPORT_DIR}")
SRC=$(readlink -f "${2:?}")
REPORTS=${3:?}
mkdir -p "$REPORTS"
S=$(mktemp -d "${TMPDIR:-/tmp}/fstx-staged-XXXXXX")
trap 'rm -rf "$S"' EXIT
LOG=$S/log
T0=$SECONDS

# report RESULT MESSAGE: the one-case GoogleTest-shaped report.
report() {
  python3 - "$REPORTS/crash-example-build.json" "$1" "$2" "$((SECONDS - T0))" <<'PY'
import json, sys
path, result, message, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
case = {"name": "CrashExampleBuildsWithPkgConfigAlone", "status": "RUN", "result": "COMPLETED",
        "time": secs + "s", "classname": "StagedInstall"}
if result != "ok":
    case["failures"] = [{"failure": message, "type": ""}]
doc = {"tests": 1, "failures": 0 if result == "ok" else 1, "name": "AllTests",
       "testsuites": [{"name": "StagedInstall", "tests": 1, "failures": case.get("failures") and 1 or 0,
                       "testsuite": [case]}]}
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
PY
}
fail() {
  echo "staged_example: $1" >&2
  tail -30 "$LOG" >&2
  report failed "$1: $(tail -15 "$LOG")"
  exit 1
}

echo "== meson install --destdir $S/stage"
meson install -C "$B" --destdir "$S/stage" --no-rebuild >"$LOG" 2>&1 || fail "meson install --destdir failed"
PC=$(find "$S/stage" -name fstx-fault.pc | head -1)
[[ -n $PC ]] || fail "the staged install has no fstx-fault.pc"
LIBDIR=$(find "$S/stage" -name 'libfstx.so*' -printf '%h\n' | head -1)
[[ -n $LIBDIR ]] || fail "the staged install has no libfstx.so"
export PKG_CONFIG_PATH=$(dirname "$PC")
# The .pc files name the final prefix (/usr/local/...); the sysroot maps
# their -I and -L onto the staged copy.
export PKG_CONFIG_SYSROOT_DIR=$S/stage
echo "== pkg-config --cflags --libs fstx-fault"
pkg-config --cflags --libs fstx-fault >>"$LOG" 2>&1 || fail "pkg-config cannot resolve fstx-fault"
tail -1 "$LOG"
# A sanitizer build of fstx is linked with the same sanitizers.
SAN=$(meson introspect "$B" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"))')
echo "== meson setup (b_sanitize=$SAN) && ninja: examples/crash_example"
meson setup "$S/build" "$SRC/examples/crash_example" -Db_sanitize="$SAN" -Db_lundef=false >>"$LOG" 2>&1 ||
  fail "meson setup of examples/crash_example failed"
ninja -C "$S/build" >>"$LOG" 2>&1 || fail "building examples/crash_example failed"
report ok ""
echo "== vmstore_tests (GoogleTest report: $REPORTS/crash-example.json)"
LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} GTEST_OUTPUT=json:$REPORTS/crash-example.json \
  "$S/build/vmstore_tests"
