#!/bin/bash
# bench, journald path: the server as a systemd service logging natively to
# journald (no log file), under a handshake storm. Boots the host's own OS
# in a container (systemd-nspawn) with the built binaries bound in, runs the
# server with systemd-run, and measures its CPU and journald's per handshake
# from /proc, and counts the RX and TX entries that reached the journal
# (one each per answered handshake). Prints table rows. journald's rate
# limit is off and its runtime journal large, so every line is kept.
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
STEPS
chmod +x "$work/bin/steps.sh"

timeout 600 systemd-nspawn -D / --volatile=yes --register=no --keep-unit \
        --bind-ro="$work/bin":/bench --bind-ro="$work/units/bench-steps.service":/etc/systemd/system/bench-steps.service \
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
