#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] — build the libFuzzer harnesses and run each
# one for SECONDS (default 20), failing on any crash, sanitizer report,
# timeout or out-of-memory.
#
#   bash tests/fuzz/run.sh          # 20 s each: what `./setup.sh test` runs
#   bash tests/fuzz/run.sh 3600     # an hour each, for a real search
#
# Builds with clang into build-fuzz/ (-Dfuzzers=true, ASan + UBSan): the
# harnesses are tests/fuzz/fuzz_{spec,record,failpoints}.cc. Each run starts
# from a scratch copy of its seed corpus (tests/fuzz/corpus/<name>/), so
# the checked-in corpus is never changed; inputs that crash are kept in
# build-fuzz/fuzz-artifacts/ and printed in base64.
#
# For tests/count_results.py, each fuzzer's outcome is also written as a
# one-case GoogleTest JSON report (suite "Fuzz", case = the fuzzer) into
# $FSTX_FUZZ_REPORTS (default build-fuzz/tests/reports).
#
# Environment: CXX (default clang++), FSTX_FUZZ_BUILD (default build-fuzz).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."

SECS=${1:-20}
if ! [[ $SECS =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]   (a positive number of seconds per fuzzer)" >&2
  exit 2
fi
BUILD=${FSTX_FUZZ_BUILD:-build-fuzz}
REPORTS=${FSTX_FUZZ_REPORTS:-$BUILD/tests/reports}
ARTIFACTS=$BUILD/fuzz-artifacts
FUZZERS=(fuzz_spec fuzz_record fuzz_failpoints)

# report NAME SECONDS FAILURE-TEXT: a GoogleTest-shaped JSON report with one
# case; an empty FAILURE-TEXT means it passed.
report() {
  python3 - "$REPORTS/fuzz-$1.json" "$1" "$2" "$3" <<'PY'
import json, sys
path, name, secs, failure = sys.argv[1:5]
case = {"name": name, "status": "RUN", "result": "COMPLETED", "time": secs + "s",
        "classname": "Fuzz"}
if failure:
    case["failures"] = [{"failure": failure, "type": ""}]
doc = {"tests": 1, "failures": 1 if failure else 0, "name": "AllTests",
       "testsuites": [{"name": "Fuzz", "tests": 1, "failures": 1 if failure else 0,
                       "testsuite": [case]}]}
with open(path, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=2)
PY
}

# Configure (or reconfigure) and build only the harnesses.
build_ok=1
if [[ -d $BUILD && ! -f $BUILD/meson-private/coredata.dat ]]; then rm -rf "$BUILD"; fi
if [[ -d $BUILD ]]; then
  meson setup --reconfigure "$BUILD" -Dfuzzers=true -Dwerror=true >/dev/null || build_ok=0
else
  CXX=${CXX:-clang++} meson setup "$BUILD" -Dfuzzers=true -Dwerror=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debugoptimized || build_ok=0
fi
mkdir -p "$REPORTS" "$ARTIFACTS"
rm -f "$REPORTS"/fuzz-*.json
if ((build_ok)); then
  targets=()
  for f in "${FUZZERS[@]}"; do targets+=("tests/fuzz/$f"); done
  ninja -C "$BUILD" "${targets[@]}" || build_ok=0
fi
if ((!build_ok)); then
  for f in "${FUZZERS[@]}"; do
    report "$f" 0 "the fuzz build in $BUILD failed (clang with libFuzzer is needed: see setup.sh)"
  done
  echo "fuzz: building the harnesses failed" >&2
  exit 1
fi

failed=0
work=""
trap 'if [[ -n $work ]]; then rm -rf "$work"; fi' EXIT
for f in "${FUZZERS[@]}"; do
  work=$(mktemp -d)
  mkdir "$work/corpus"
  cp -r "tests/fuzz/corpus/$f/." "$work/corpus/"
  echo "=== $f: $SECS s from $(ls "$work/corpus" | wc -l) seeds"
  start=$(date +%s)
  rc=0
  # -timeout: one input running 10 s is a hang; -rss_limit_mb / the malloc
  # limit catch hostile sizes that allocate instead of failing.
  "$BUILD/tests/fuzz/$f" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$f-" \
    "$work/corpus" >"$work/log" 2>&1 || rc=$?
  secs=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  if ((rc == 0)); then
    echo "$f: ok, ${execs:-?} inputs in $secs s, corpus grew to $(ls "$work/corpus" | wc -l)"
    report "$f" "$secs" ""
  else
    failed=1
    tail -n 60 "$work/log"
    crash=$(ls -t "$ARTIFACTS/$f-"* 2>/dev/null | head -1 || true)
    msg="$f failed (exit $rc) after $secs s"
    if [[ -n $crash ]]; then
      msg+="; input $crash, base64: $(base64 -w0 "$crash")"
    fi
    echo "FUZZ FAILURE: $msg" >&2
    report "$f" "$secs" "$msg
$(grep -E 'ERROR|SUMMARY|#[0-9]+ 0x' "$work/log" | head -30)"
  fi
  rm -rf "$work"
done
exit $failed
