#!/bin/bash
# bench, journald path: the server as a systemd service logging natively to
# journald (no log file), under a handshake storm. Boots the host's own OS
# in a container (systemd-nspawn) with the built binaries bound in, runs the
# server with systemd-run, and measures its CPU and journald's per handshake
# from /proc, and counts the RX and TX entries that reached the journal
# (one each per answered handshake). Then the server exactly as shipped:
# udp-canary-server.service (dynamic user, sandbox, --state-dir, journald)
# with 100,000 clients in its table, under a storm that changes the replay
# state all the time: its loss, CPU, and the longest the event loop was
# held by one callback (udp_canary_loop_busy_max_seconds, from /metrics).
# Prints table rows. journald's rate limit is off and its runtime journal
# large, so every line is kept.
# Usage: journal.sh UDP_CANARY LOADGEN. Needs root and systemd-nspawn.
set -uo pipefail
bin=$(realpath "$1") loadgen=$(realpath "$2")
seconds=${BENCH_SECONDS:-3}
if [ "$(id -u)" != 0 ] || ! command -v systemd-nspawn >/dev/null || [ ! -x /lib/systemd/systemd ]; then
        echo "| journald path | not measured: needs root, systemd-nspawn and systemd |"
        exit 0
fi
work=$(mktemp -d /tmp/udp-canary-bench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/results" "$work/units" "$work/journald"
# room for every line: the runtime journal's default cap would rotate most away
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=4G\nRuntimeMaxFileSize=512M\nRateLimitIntervalSec=0\n' > "$work/journald/bench.conf"
cp "$bin" "$loadgen" "$work/bin/"
src=$(cd "$(dirname "$0")/../.." && pwd)
for u in udp-canary-server.service udp-canary.slice; do
        sed 's|@bindir@|/bench|g; s|@sysconfdir@|/etc|g' "$src/systemd/$u.in" > "$work/units/$u"
done

cat > "$work/units/bench-steps.service" <<UNIT
[Unit]
Description=udp-canary journald benchmark
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bench/steps.sh $seconds
ExecStopPost=systemctl poweroff --no-block
UNIT
cat > "$work/bin/steps.sh" <<'STEPS'
#!/bin/bash
seconds=$1 R=/results port=43210
exec > $R/steps.log 2>&1
ticks() { local f; read -ra f < "/proc/$1/stat"; echo $((f[13] + f[14])); } # no awk: /etc is empty
(umask 077; /bench/udp-canary --generate-key > /run/bench.key)
systemd-run --unit=bench-server -p LogRateLimitIntervalSec=0 \
        /bench/udp-canary --server --host 127.0.0.1 --port $port --key-file /run/bench.key
sleep 1
spid=$(systemctl show -P MainPID bench-server) jpid=$(pidof systemd-journald)
for rate in 10000 25000 50000 100000; do
        s0=$(ticks $spid) j0=$(ticks $jpid)
        out=$(/bench/loadgen storm $port /run/bench.key $rate $seconds 1000)
        sleep 2 # journald catches up; its CPU for this phase counts
        s1=$(ticks $spid) j1=$(ticks $jpid)
        journalctl -u bench-server -o cat > /run/lines # entries so far: each RX and TX must be there
        echo "offered=$rate $out server_ticks=$((s1 - s0)) journald_ticks=$((j1 - j0))" \
                "rx=$(grep -c '^RX 127' /run/lines) tx=$(grep -c '^TX 127' /run/lines)" >> $R/phases
done
systemctl stop bench-server

# the shipped unit, as a user sets it up, with a metrics listener to read
mkdir -p /etc/udp-canary /etc/systemd/system/udp-canary-server.service.d
cp /run/bench.key /etc/udp-canary/server.key
printf 'host = 127.0.0.1\nport = 43211\nmax-clients = 200000\nmetrics-listen = 127.0.0.1:9101\n' \
        > /etc/udp-canary/server.conf
printf '[Service]\nLogRateLimitIntervalSec=0\n' > /etc/systemd/system/udp-canary-server.service.d/bench.conf
# 100,000 clients in the table from the start: a state file as the server writes it
mkdir -p /var/lib/private/udp-canary
{
        echo "# udp-canary replay state 1: highest handshake id answered, client id"
        for ((i = 0; i < 100000; i++)); do echo "1 \"table-$i\""; done
} > /var/lib/private/udp-canary/replay.state
systemctl daemon-reload
systemctl start udp-canary-server
spid=$(systemctl show -P MainPID udp-canary-server)
sleep 2
loaded=$(journalctl -u udp-canary-server -o cat | sed -n 's/.*: \([0-9]*\) clients loaded$/\1/p')
s0=$(ticks $spid)
# the load generator kept off the first core, as in run.sh's stall phase
pin=()
[ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null && pin=(taskset -c 1)
out=$("${pin[@]}" /bench/loadgen storm 43211 /run/bench.key 10000 $((seconds * 3)) 1000)
s1=$(ticks $spid)
exec 3<>/dev/tcp/127.0.0.1/9101
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
metrics=$(cat <&3)
busy=$(while read -r name value; do [ "$name" = udp_canary_loop_busy_max_seconds ] && echo "$value"; done <<< "$metrics")
busy_cpu=$(while read -r name value; do [ "$name" = udp_canary_loop_busy_cpu_max_seconds ] && echo "$value"; done <<< "$metrics")
size=$(stat -c %s /var/lib/private/udp-canary/replay.state)
echo "offered=10000 $out server_ticks=$((s1 - s0)) busy=$busy busy_cpu=$busy_cpu state_bytes=$size loaded=$loaded" > $R/unit
systemctl stop udp-canary-server
STEPS
chmod +x "$work/bin/steps.sh"

timeout 600 systemd-nspawn -D / --volatile=yes --register=no --keep-unit \
        --bind-ro="$work/bin":/bench --bind-ro="$work/units/bench-steps.service":/etc/systemd/system/bench-steps.service \
        --bind-ro="$work/units/udp-canary-server.service":/etc/systemd/system/udp-canary-server.service \
        --bind-ro="$work/units/udp-canary.slice":/etc/systemd/system/udp-canary.slice \
        --bind-ro="$work/journald":/etc/systemd/journald.conf.d --bind="$work/results":/results -b -- systemd.wants=bench-steps.service systemd.firstboot=off \
        > "$work/boot.log" 2>&1
if [ ! -s "$work/results/phases" ]; then
        echo "| journald path | not measured: the container run failed |"
        tail -20 "$work/boot.log" "$work/results/steps.log" >&2 2>/dev/null
        exit 0
fi
hz=$(getconf CLK_TCK)
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<< "$2"; }
us_per() { awk -v t="$1" -v hz="$hz" -v n="$2" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }'; }
rx0=0
while read -r line; do
        echo "# journald: $line" >&2
        sent=$(field sent "$line") rx=$(field rx "$line") tx=$(field tx "$line")
        printf '| journald path, %s handshakes/s offered: loss; server + journald CPU per handshake; RX + TX entries | %s; %s + %s us; %s + %s |\n' \
                "$(field offered "$line")" "$(field loss "$line")" \
                "$(us_per "$(field server_ticks "$line")" "$sent")" "$(us_per "$(field journald_ticks "$line")" "$sent")" \
                $((rx - rx0)) $((tx - rx0))
        rx0=$rx
done < "$work/results/phases"
if [ -s "$work/results/unit" ]; then
        line=$(cat "$work/results/unit")
        echo "# shipped unit: $line" >&2
        printf '| the shipped unit (journald, --state-dir), %s clients in the table, 10,000 handshakes/s: loss; server CPU per handshake; longest event-loop callback (its CPU); state file | %s; %s us; %s ms (CPU %s ms); %s bytes |\n' \
                "$(field loaded "$line")" "$(field loss "$line")" "$(us_per "$(field server_ticks "$line")" "$(field sent "$line")")" \
                "$(awk -v b="$(field busy "$line")" 'BEGIN { printf "%.2f", b * 1000 }')" \
                "$(awk -v b="$(field busy_cpu "$line")" 'BEGIN { printf "%.2f", b * 1000 }')" "$(field state_bytes "$line")"
else
        echo "| the shipped unit | not measured: see $work/results/steps.log |"
fi
