#!/usr/bin/env bash
# plot_threads.sh — draws throughput against threads from bench_scale's
# JSON lines (the "threads" rows: fstx, bare durable ops, the SQLite-WAL
# baseline) with gnuplot: a text plot on stdout (the one in README.md) and,
# with --svg FILE, an SVG as well.
# Usage: build/tests/bench/bench_scale --only threads --json | tests/bench/plot_threads.sh [--svg FILE]
set -euo pipefail
svg=""
if [[ ${1:-} == --svg ]]; then svg=${2:?--svg needs a file}; fi
command -v gnuplot >/dev/null || { echo "plot_threads.sh: gnuplot is missing (apt-get install gnuplot-nox)" >&2; exit 1; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One row per thread count: threads fstx bare sqlite (tx/s).
python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"): continue
    o = json.loads(line)
    if o.get("bench") == "threads":
        print(o["threads"], o["fstx_tx_per_s"], o["bare_tx_per_s"], o["sqlite_tx_per_s"])
' >"$data"
[[ -s $data ]] || { echo "plot_threads.sh: no \"threads\" rows in the input (run bench_scale --json)" >&2; exit 1; }
plot() {
  gnuplot <<GP
set terminal $1
$2
set title "1-op transactions per second against threads (higher is better)"
set xlabel "threads"
set ylabel "tx/s"
set key left top
set logscale x 2
set xtics (1, 2, 4, 8)
plot "$data" using 1:2 with linespoints title "fstx", \
     "$data" using 1:3 with linespoints title "bare durable ops", \
     "$data" using 1:4 with linespoints title "SQLite WAL intent log"
GP
}
plot "dumb 78 24" ""
[[ -z $svg ]] || plot "svg size 640,400" "set output '$svg'"
