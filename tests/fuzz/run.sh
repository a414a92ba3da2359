#!/bin/sh
# Runs one libFuzzer target for SECONDS over a fresh corpus seeded from the
# test vectors. Fails on any crash, leak or sanitizer report (libFuzzer exits
# non-zero and leaves the input as crash-*/leak-* in the work directory).
# Usage: run.sh FUZZER KIND PACKETS_JSON SECONDS ($FUZZ_SECONDS overrides)
set -eu
fuzzer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
kind=$2 vectors=$(cd "$(dirname "$3")" && pwd)/$(basename "$3") seconds=${FUZZ_SECONDS:-$4}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$fuzzer" ] || { echo "FAIL: no fuzzer at $fuzzer"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/seeds.py" "$kind" "$vectors" "$work/corpus"
cd "$work"
if ! "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -max_len=4200 -timeout=10 corpus \
        > fuzz.log 2>&1; then
        tail -60 fuzz.log
        for f in crash-* leak-* timeout-* oom-*; do
                [ -e "$f" ] && { echo "input $f:"; od -A x -t x1z "$f" | head -20; }
        done
        echo "FAIL: $kind fuzzer found a problem"
        exit 1
fi
grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" fuzz.log | tail -3
echo "ok - $kind: $seconds s without a crash, leak or sanitizer report"
