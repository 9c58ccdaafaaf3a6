#!/usr/bin/env python3
"""Sums GoogleTest JSON reports (GTEST_OUTPUT=json:DIR/) over report dirs.

usage: count_results.py DIR [DIR...]

Counts individual test cases: a case with failures is failed, one GoogleTest
marks SKIPPED is skipped (and listed), every other case that ran is passed.
Prints failing cases by name, then as the very last line exactly
"N passed, N failed". Exits 1 if any case failed or if no case ran at all.
"""
import glob
import json
import os
import sys


def main(dirs):
    passed = failed = skipped = 0
    failures = []
    reports = 0
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "*.json"))):
            reports += 1
            try:
                with open(path, encoding="utf-8") as f:
                    doc = json.load(f)
            except (OSError, ValueError) as e:
                print(f"count_results: unreadable report {path}: {e}")
                failed += 1
                failures.append(path)
                continue
            for suite in doc.get("testsuites", []):
                for case in suite.get("testsuite", []):
                    if case.get("status") == "NOTRUN":
                        continue
                    name = f"{suite.get('name')}.{case.get('name')} ({path})"
                    if case.get("failures"):
                        failed += 1
                        failures.append(name)
                    elif case.get("result") == "SKIPPED":
                        skipped += 1
                        print(f"skipped: {name}")
                    else:
                        passed += 1
    for name in failures:
        print(f"FAILED: {name}")
    if skipped:
        print(f"{skipped} skipped")
    if reports == 0:
        print("count_results: no GoogleTest reports found in " + " ".join(dirs))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed + failed == 0 else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip())
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
