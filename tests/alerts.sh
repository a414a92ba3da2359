#!/bin/sh
# The alerting rules as shipped: promtool accepts them, and its unit tests
# (tests/data/alerts-test.yml) see each alert fire when it should and not
# before. Skips (77) without promtool (Debian: prometheus).
# Usage: alerts.sh SOURCE_DIR
src=$1
command -v promtool >/dev/null || { echo "SKIP: promtool is missing (Debian: prometheus)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src/systemd/udp-canary.rules.yml" "$src/tests/data/alerts-test.yml" "$tmp/"
failed=0
if out=$(promtool check rules "$tmp/udp-canary.rules.yml" 2>&1); then
        echo "ok - promtool check rules: $(echo "$out" | grep -o 'SUCCESS: [0-9]* rules found')"
else
        echo "FAIL - promtool check rules:"; echo "$out"; failed=$((failed + 1))
fi
if out=$(cd "$tmp" && promtool test rules alerts-test.yml 2>&1); then
        echo "ok - promtool test rules: every alert as expected"
else
        echo "FAIL - promtool test rules:"; echo "$out"; failed=$((failed + 1))
fi
echo "$((2 - failed)) passed, $failed failed"
[ $failed = 0 ]
