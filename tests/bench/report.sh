#!/bin/bash
# report bench: how fast and how small `udp-canary report` reads long logs,
# beside mawk splitting the same lines into fields (the floor of reading
# them at all). The logs are written by tests/bench/loggen (the real line
# format, the same every run, UTC stamps):
#   month   30 days x 10 clients, both ends, default timers: text and --json
#   year    365 days x 10 clients (5 GB in $TMPDIR; BENCH_YEAR=0 skips it)
#   ids     100,000 client ids in one server log: --json and text
# Times are wall clock and CPU (user + system) from /usr/bin/time, memory
# its maximum resident size; the ratio is the report's CPU time to mawk's.
# Usage: tests/bench/report.sh                   (builds build-bench, release)
#        tests/bench/report.sh UDP_CANARY LOGGEN
set -euo pipefail
if [ $# -ge 2 ]; then
        bin=$(realpath "$1") loggen=$(realpath "$2")
else
        cd "$(dirname "$0")/../.."
        [ -d build-bench ] || meson setup build-bench --buildtype=release >/dev/null
        ninja -C build-bench >/dev/null
        bin=$PWD/build-bench/src/udp-canary loggen=$PWD/build-bench/tests/bench/loggen
fi
for tool in mawk /usr/bin/time; do
        command -v "$tool" >/dev/null || { echo "report bench: needs $tool (apt-get install ${tool##*/})" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=UTC

# measure NAME COMMAND...: "wall cpu MB" of one run, its output thrown away
measure() {
        local name=$1
        shift
        /usr/bin/time -o "$work/$name.time" -f "%e %U %S %M" "$@" >/dev/null
        awk '{ printf "%.2f %.2f %.0f", $1, $2 + $3, $4 / 1024 }' "$work/$name.time"
}

row() { # row CASE LINES MB MAWK(wall cpu MB) WHAT REPORT(wall cpu MB)
        local ratio
        ratio=$(awk -v r="$6" -v m="$4" 'BEGIN { split(r, a, " "); split(m, b, " "); printf "%.1f", b[2] ? a[2] / b[2] : 0 }')
        printf "%-7s %10s %7s  %-6s %6s s %6s s %6s MB   mawk %6s s %6s s   %5sx\n" "$1" "$2" "$3" "$5" \
                $6 $(cut -d' ' -f1,2 <<< "$4") "$ratio"
}

run_case() { # run_case NAME DIR FORMATS...
        local name=$1 dir=$2 lines mb m
        shift 2
        lines=$(cat "$dir"/*.log | wc -l)
        mb=$(du -cm "$dir"/*.log | tail -1 | cut -f1)
        m=$(measure "$name-mawk" mawk '{ n += NF } END { print n }' "$dir"/*.log)
        for fmt in "$@"; do
                if [ "$fmt" = text ]; then
                        row "$name" "$lines" "$mb" "$m" text "$(measure "$name-text" "$bin" report "$dir"/*.log)"
                else
                        row "$name" "$lines" "$mb" "$m" json "$(measure "$name-json" "$bin" report --json "$dir"/*.log)"
                fi
        done
}

printf "%-7s %10s %7s  %-6s %8s %8s %9s   %-18s   %6s\n" case lines MB format wall cpu memory "mawk wall, cpu" ratio
mkdir "$work/month" "$work/ids"
"$loggen" timers "$work/month" 30 10
run_case month "$work/month" text json
rm -rf "$work/month"
"$loggen" ids "$work/ids" 100000
run_case ids "$work/ids" json text
rm -rf "$work/ids"
if [ "${BENCH_YEAR:-1}" != 0 ]; then
        mkdir "$work/year"
        "$loggen" timers "$work/year" 365 10
        run_case year "$work/year" text
fi
