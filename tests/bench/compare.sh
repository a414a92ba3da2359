#!/bin/bash
# compare: two builds of `udp-canary report` over the same logs, text,
# --json and --html: the logs of tests/data (each end alone and together) and logs
# written by loggen (30 days x 10 clients, 10,000 ids). Prints one line per
# case, "same" or "DIFFERENT" with the first lines of the diff; exits 1 on
# any difference. For a change that must not change what the report says.
# Usage: tests/bench/compare.sh OLD_UDP_CANARY NEW_UDP_CANARY LOGGEN
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 OLD_UDP_CANARY NEW_UDP_CANARY LOGGEN" >&2; exit 2; }
old=$(realpath "$1") new=$(realpath "$2") loggen=$(realpath "$3")
data=$(cd "$(dirname "$0")/../data" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=UTC
mkdir "$work/month" "$work/ids"
"$loggen" timers "$work/month" 30 10
"$loggen" ids "$work/ids" 10000
status=0

compare() { # compare NAME ARGS...
        local name=$1
        shift
        for fmt in text json html; do
                local opt=()
                [ "$fmt" = json ] && opt=(--json)
                [ "$fmt" = html ] && opt=(--html -)
                "$old" report "${opt[@]}" "$@" > "$work/old" 2>&1 || true
                "$new" report "${opt[@]}" "$@" > "$work/new" 2>&1 || true
                if cmp -s "$work/old" "$work/new"; then
                        printf "%-28s %-5s same (%s lines)\n" "$name" "$fmt" "$(wc -l < "$work/new")"
                else
                        printf "%-28s %-5s DIFFERENT\n" "$name" "$fmt"
                        diff "$work/old" "$work/new" | head -10
                        status=1
                fi
        done
}

scen=$data/original-scenario
compare original-both "$scen/client.log" "$scen/server.log"
compare original-client "$scen/client.log"
compare original-server "$scen/server.log"
compare netns-all "$data"/netns-*.log
compare netns-server "$data/netns-server.log"
compare netns-home "$data/netns-home.log" "$data/netns-server.log"
compare refpeer "$data/refpeer-client.log" "$data/refpeer-server.log"
compare month "$work"/month/*.log
compare month-one-id --id client-3 "$work"/month/*.log
compare month-since --since 2026-12-01 --until "2026-12-10 12:00" "$work"/month/*.log
compare month-client-logs "$work"/month/client-*.log
compare ids-10000 "$work/ids/server.log"
exit $status
