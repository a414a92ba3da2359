#!/bin/sh
# demo: a udp-canary server and client on 127.0.0.1 with quick timers (a
# keepalive every second, a handshake every four), both logs interleaved on
# this terminal. Stops after SECONDS (default 20) or at Ctrl-C.
#   tests/demo.sh [SECONDS]        (after: meson setup build && ninja -C build)
set -eu
bin=${UDP_CANARY:-build/src/udp-canary}
seconds=${1:-20}
[ -x "$bin" ] || { echo "demo: $bin not built (meson setup build && ninja -C build)" >&2; exit 1; }
dir=$(mktemp -d)
# stop the daemons themselves (not the sed behind them) and let them log Exit
trap 'kill $(cat "$dir"/*.pid 2>/dev/null) 2>/dev/null; wait; rm -rf "$dir"' EXIT
trap 'exit 0' INT TERM
(umask 077 && "$bin" --generate-key > "$dir/key")

sh -c 'echo $$ > "$0/server.pid"; exec "$@"' "$dir" \
        "$bin" --server --host 127.0.0.1 --port 0 --key-file "$dir/key" --log "$dir/server.log" 2>&1 |
        sed -u 's/^/server | /' &
i=0
until port=$(sed -n 's/.*Listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/server.log" 2>/dev/null) && [ -n "$port" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "demo: the server did not start" >&2; exit 1; }
        sleep 0.05
done
sh -c 'echo $$ > "$0/client.pid"; exec "$@"' "$dir" \
        "$bin" --client --id demo --host 127.0.0.1 --port "$port" --key-file "$dir/key" \
        --keepalive-interval 1 --handshake-timeout 2 --log "$dir/client.log" 2>&1 |
        sed -u 's/^/client | /' &
echo "demo: server on 127.0.0.1:$port, client 'demo'; stopping in $seconds s (Ctrl-C stops now)"
sleep "$seconds" & wait $!
