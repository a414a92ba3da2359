#!/bin/bash
# The units as built: `systemd-analyze verify` prints nothing (no warning,
# the man pages of Documentation= found in this build), and
# `systemd-analyze security --offline=yes` rates each one at most 1.5.
# Usage: systemd-units.sh UNIT_DIR MAN_DIR (the units' ExecStart points
# into the build tree, so verify finds the binary).
set -euo pipefail
units=$1 man=$2
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze is missing"; exit 77; }
[ -f "$man/udp-canary.8" ] || { echo "SKIP: man pages not built (scdoc missing)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man8" "$tmp/man/man5"
cp "$man/udp-canary.8" "$tmp/man/man8/"
cp "$man/udp-canary.conf.5" "$tmp/man/man5/"
cp "$units"/udp-canary* "$tmp/"
cp "$tmp/udp-canary-client@.service" "$tmp/udp-canary-client@home.service"

failed=0
cd "$tmp"
out=$(MANPATH="$tmp/man" systemd-analyze verify udp-canary-server.service udp-canary-client@home.service \
        udp-canary.slice 2>&1) || failed=1
if [ -n "$out" ] || [ $failed = 1 ]; then
        echo "FAIL: systemd-analyze verify:"
        echo "$out"
        failed=1
else
        echo "ok - systemd-analyze verify: no warnings"
fi

for unit in udp-canary-server.service udp-canary-client@home.service; do
        score=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
                sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
        if [ -z "$score" ] || ! awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }'; then
                echo "FAIL: $unit exposure ${score:-unknown}, above 1.5"
                failed=1
        else
                echo "ok - $unit exposure $score (at most 1.5)"
        fi
done
# the logrotate snippet as logrotate reads it (a dry run on a scratch state)
if command -v logrotate >/dev/null; then
        src=$(dirname "$0")/../systemd/udp-canary.logrotate
        if out=$(logrotate --debug --state "$tmp/logrotate.state" "$src" 2>&1) &&
                grep -q "rotating pattern: /var/log/udp-canary/\*.log" <<< "$out" &&
                ! grep -qi "error" <<< "$out"; then
                echo "ok - logrotate reads the snippet"
        else
                echo "FAIL: logrotate --debug:"
                echo "$out"
                failed=1
        fi
else
        echo "skip - logrotate is missing: the snippet is not checked"
fi
exit $failed
