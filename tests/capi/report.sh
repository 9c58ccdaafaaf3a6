# report.sh — sourced by the tests/capi scripts: collect one-case results
# and write them as a GoogleTest-shaped JSON report (tests/count_results.py
# counts it), as tests/fuzz/run.sh does.
#
#   case_ok NAME / case_fail NAME MESSAGE   record a case
#   write_report PATH SUITE                 write the report; exit 1 if any failed
CASES=()
FAILED=0
case_ok() { CASES+=("$1"$'\t'""); echo "ok: $1"; }
case_fail() {
  CASES+=("$1"$'\t'"$2")
  FAILED=1
  echo "FAILED: $1: $2" >&2
}
write_report() {
  local path=$1 suite=$2
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "${CASES[@]}" | python3 -c '
import json, sys
path, suite = sys.argv[1:3]
cases = []
for line in sys.stdin.read().splitlines():
    if not line:
        continue
    name, _, failure = line.partition("\t")
    case = {"name": name, "status": "RUN", "result": "COMPLETED", "classname": suite}
    if failure:
        case["failures"] = [{"failure": failure, "type": ""}]
    cases.append(case)
nfail = sum(1 for c in cases if "failures" in c)
doc = {"tests": len(cases), "failures": nfail, "name": "AllTests",
       "testsuites": [{"name": suite, "tests": len(cases), "failures": nfail, "testsuite": cases}]}
with open(path, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=2)
' "$path" "$suite"
  exit $FAILED
}
