#!/bin/bash
# bench: measures a release build of udp-canary with the file log on, and
# prints a table. Phases:
#   idle      the server's memory with no clients
#   storm     handshakes from 1,000 clients at rising rates: the highest rate
#             answered with under 1% loss, and server CPU per handshake there
#   keepalive a stream of keepalives: server CPU per packet
#   table     100,000 distinct clients in the table: memory
#   client    a client with fast timers for many cycles: CPU and wakeups
#   stall     100,000 clients loaded from a state file, --state-dir on, a
#             storm that changes the replay state all the time: the longest
#             event-loop callback (udp_canary_loop_busy_max_seconds) and
#             its CPU (..._cpu_max_seconds) side by side, how long the loop's
#             thread waited for a CPU over the phase and how often it was
#             preempted (/proc/PID/task/PID/schedstat, status), RSS
#   journald  the server under systemd logging to journald (journal.sh;
#             needs root and systemd-nspawn): its CPU and journald's
#   floor     first: handshakes from 1,000 clients at 1,000 to 100,000/s, to
#             the server and to tests/bench/floor (a blocking echo server
#             writing two log lines per datagram, the least such a server
#             costs) in turn, BENCH_ROUNDS (5) rounds each, all on one
#             core, printed side by side: CPU per handshake answered (all threads, from
#             /proc/PID/task/*/schedstat, in ns), context switches (all
#             threads), and at 5,000/s syscalls (perf stat, if at hand);
#             the ratio is the median of the rounds' (their range beside)
#   sigkill   the server killed (SIGKILL) under 5,000 handshakes/s: how much
#             of the log before the kill is not in the file
# CPU is read from /proc/PID/stat, memory from /proc/PID/status.
# Usage: tests/bench/run.sh            (builds build-bench, --buildtype=release)
#        tests/bench/run.sh UDP_CANARY LOADGEN FLOOR
#        BENCH_ONLY=floor ...          the floor and sigkill phases alone
#        BENCH_ONLY=local ...          all but the journald phase (no container)
#        BENCH_RATES="5000" ...        the floor phase at these rates only
set -euo pipefail
if [ $# -ge 3 ]; then
        bin=$(realpath "$1") loadgen=$(realpath "$2") floor=$(realpath "$3")
else
        cd "$(dirname "$0")/../.."
        [ -d build-bench ] || meson setup build-bench --buildtype=release >/dev/null
        ninja -C build-bench >/dev/null
        bin=$PWD/build-bench/src/udp-canary loadgen=$PWD/build-bench/tests/bench/loadgen
        floor=$PWD/build-bench/tests/bench/floor
fi
seconds=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-5} # of the floor phase, each rate
work=$(mktemp -d)
pid= fpid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; [ -n "$fpid" ] && kill $fpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
(umask 077; "$bin" --generate-key > "$work/key")
hz=$(getconf CLK_TCK)

start_server() { # start_server PORT [extra options]
        local port=$1
        shift
        rm -f "$work/server.log"
        "${pin[@]}" "$bin" --server --host 127.0.0.1 --port "$port" --key-file "$work/key" --log "$work/server.log" "$@" \
                2>/dev/null &
        pid=$!
        for _ in $(seq 100); do grep -q Listening "$work/server.log" 2>/dev/null && return; sleep 0.05; done
        echo "bench: the server did not start" >&2
        exit 1
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
switches() { cat /proc/$1/task/*/status | awk '$1 ~ /ctxt_switches:/ { n += $2 } END { print n }'; } # all threads
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<< "$2"; }
us_per() { awk -v t="$1" -v hz="$hz" -v n="$2" 'BEGIN { printf "%.2f", n ? t / hz * 1e6 / n : 0 }'; }

# loop_waits PID: the main thread's time waiting for a CPU (ns) and times preempted
loop_waits() {
        echo "$(cut -d' ' -f2 /proc/$1/task/$1/schedstat) $(awk '$1 == "nonvoluntary_ctxt_switches:" { print $2 }' /proc/$1/task/$1/status)"
}
cpu_ns() { cat /proc/$1/task/*/schedstat | awk '{ n += $1 } END { printf "%.0f\n", n }'; } # all threads
# storm_at PID PORT RATE: one storm; "CPU_NS SWITCHES SENT ANSWERED"
storm_at() {
        local c0 w0 c1 w1 out
        c0=$(cpu_ns $1) w0=$(switches $1)
        out=$("${pin[@]}" "$loadgen" storm $2 "$work/key" $3 "$seconds" 1000)
        c1=$(cpu_ns $1) w1=$(switches $1)
        echo "# $4 at $3/s: $out" >&2
        echo "$((c1 - c0)) $((w1 - w0)) $(field sent "$out") $(field replies "$out")"
}
# per_handshake "CPU_NS SWITCHES SENT ANSWERED" lines, summed: "CPU_US CSW LOSS"
per_handshake() {
        awk '{ c += $1; w += $2; s += $3; n += $4 }
             END { if (n > 0) printf "%.2f %.2f %.4f\n", c / n / 1000, w / n, 1 - n / s; else print "- - 1" }'
}
ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# median_spread RATIO...: "MEDIAN (MIN-MAX)" of the rounds' ratios; one
# round's is worth little on a shared machine (the floor's own CPU per
# handshake moves by a quarter from round to round)
median_spread() {
        printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
                m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                printf "%.2fx (%.2f-%.2f)", m, v[1], v[NR] }'
}
# syscalls_at PID PORT RATE: syscalls (all threads) per handshake answered
syscalls_at() {
        local out n
        command -v perf >/dev/null || { echo -; return; }
        out=$(perf stat -x, -o "$work/perf" -e raw_syscalls:sys_enter -p $1 -- \
                "${pin[@]}" "$loadgen" storm $2 "$work/key" $3 "$seconds" 1000) || { echo -; return; }
        n=$(awk -F, '/raw_syscalls/ { print ($1 ~ /^[0-9]+$/) ? $1 : 0 }' "$work/perf")
        awk -v s="$n" -v g="$(field replies "$out")" 'BEGIN { if (g > 0) printf "%.2f\n", s / g; else print "-" }'
}

port=$((20000 + RANDOM % 20000))
fport=$((port + 10))
# the floor phase on one core, both servers and the load generator: a
# datagram then wakes its server on the core it was sent from. Left to the
# scheduler, a server was woken on the other core in some rounds and not in
# others (an idle virtual CPU's wake-up costs both servers microseconds
# more), and the rounds' ratios went from 1.10 to 1.83 in one run.
pin=()
[ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null && pin=(taskset -c $(($(nproc) - 1)))
start_server $port --max-clients 200000
"${pin[@]}" "$floor" $fport "$work/floor.log" &
fpid=$!
sleep 1
floor_rows=
for rate in ${BENCH_RATES:-1000 5000 20000 100000}; do
        # rounds taken in turn, so that both see the same load from the
        # rest of a shared machine
        c_runs= f_runs= ratios=
        for ((round = 0; round < rounds; round++)); do
                c_run=$(storm_at $pid $port $rate udp-canary) f_run=$(storm_at $fpid $fport $rate floor)
                c_runs+="$c_run"$'\n' f_runs+="$f_run"$'\n'
                read -r c_cpu _ <<< "$(per_handshake <<< "$c_run")"
                read -r f_cpu _ <<< "$(per_handshake <<< "$f_run")"
                ratios+="$(ratio_of "$c_cpu" "$f_cpu") "
                echo "# round $round at $rate/s: $c_cpu / $f_cpu us, ratio $(ratio_of "$c_cpu" "$f_cpu")" >&2
        done
        read -r c_cpu c_csw c_loss <<< "$(per_handshake <<< "$c_runs")"
        read -r f_cpu f_csw f_loss <<< "$(per_handshake <<< "$f_runs")"
        ratio=$(median_spread $ratios)
        c_sys= f_sys=
        if [ $rate = 5000 ]; then
                c_sys=$(syscalls_at $pid $port $rate) f_sys=$(syscalls_at $fpid $fport $rate)
        fi
        floor_rows+="| $rate/s | $c_cpu us | $f_cpu us | ${ratio} | $c_csw | $f_csw | ${c_sys:--} | ${f_sys:--} | $c_loss / $f_loss |"$'\n'
done
kill $fpid
wait $fpid 2>/dev/null || true
fpid=
stop_server
pin=()

# SIGKILL under steady traffic: the span of log before the kill missing
# from the file (its last line's stamp against the time of the kill)
start_server $((port + 11))
"$loadgen" storm $((port + 11)) "$work/key" 5000 3 1000 >/dev/null &
lpid=$!
sleep 2
kill -KILL $pid
killed=$(date +%s.%N)
wait $pid 2>/dev/null || true
pid=
wait $lpid || true
read -r day second ms < <(tail -n 1 "$work/server.log" | sed -n 's/^\[\([0-9-]*\) \([0-9:]*\)\.\([0-9]*\) .*/\1 \2 \3/p')
lost_ms=$(awk -v k="$killed" -v s="$(date -d "$day $second" +%s)" -v ms="$ms" \
        'BEGIN { printf "%.0f", (k - s - ms / 1000) * 1000 }')
cat <<TABLE
| handshakes/s, 1,000 clients ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)) | CPU per handshake: udp-canary | floor | ratio: median of the rounds (their range) | context switches per handshake: udp-canary | floor | syscalls per handshake: udp-canary | floor | loss: udp-canary / floor |
|---|---|---|---|---|---|---|---|---|
${floor_rows}
SIGKILL under 5,000 handshakes/s: the file's last line was written ${lost_ms} ms before the kill
TABLE
[ "${BENCH_ONLY:-}" = floor ] && exit 0

start_server $port --max-clients 200000
sleep 1
idle_rss=$(kb $pid VmRSS)

best_rate=0 best_cpu=- best_loss=- cpu_100k=-
for rate in 25000 50000 100000 150000 200000 300000; do
        t0=$(ticks $pid)
        out=$("$loadgen" storm $port "$work/key" $rate "$seconds" 1000)
        t1=$(ticks $pid)
        loss=$(field loss "$out") sent=$(field sent "$out") got=$(field replies "$out")
        cpu=$(us_per $((t1 - t0)) "$sent")
        echo "# storm at $rate/s: $out cpu_us_per_handshake=$cpu" >&2
        [ $rate = 100000 ] && cpu_100k="$cpu (loss $loss)"
        if awk -v l="$loss" 'BEGIN { exit !(l < 0.01) }'; then
                best_rate=$(awk -v g="$got" -v s="$(field seconds "$out")" 'BEGIN { printf "%.0f", g / s }')
                best_cpu=$cpu best_loss=$loss
        else
                break
        fi
done

t0=$(ticks $pid)
out=$("$loadgen" keepalive $port "$work/key" 100000 "$seconds")
t1=$(ticks $pid)
ka_cpu=$(us_per $((t1 - t0)) "$(field sent "$out")")
echo "# keepalives: $out cpu_us_per_packet=$ka_cpu" >&2
log_lines=$(wc -l < "$work/server.log")
stop_server

start_server $((port + 1)) --max-clients 200000
out=$("$loadgen" table $((port + 1)) "$work/key" 100000)
sleep 0.5
table_rss=$(kb $pid VmRSS) table_hwm=$(kb $pid VmHWM)
echo "# table: $out" >&2
stop_server

start_server $((port + 2))
"$bin" --client --id bench --host 127.0.0.1 --port $((port + 2)) --key-file "$work/key" --log "$work/client.log" \
        --keepalive-interval 0.01 --handshake-timeout 0.1 2>/dev/null &
cpid=$!
sleep 1
c0=$(ticks $cpid) w0=$(switches $cpid)
sleep 10
c1=$(ticks $cpid) w1=$(switches $cpid)
kill $cpid
wait $cpid 2>/dev/null || true
cycles=$(grep -c "RX [^ ]* {.*handshake_response" "$work/client.log")
stop_server
wakeups=$((w1 - w0))

# the longest the loop is held, with the state written all the time
mkdir -p "$work/state"
{
        echo "# udp-canary replay state 1: highest handshake id answered, client id"
        for ((i = 0; i < 100000; i++)); do echo "1 \"table-$i\""; done
} > "$work/state/replay.state"
mport=$((port + 3))
start_server $((port + 4)) --max-clients 200000 --state-dir "$work/state" --metrics-listen 127.0.0.1:$mport
# the load generator kept off the first core: sharing both with it, the
# loop's callbacks measure the scheduler's slices as much as the loop
pin=()
[ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null && pin=(taskset -c 1)
t0=$(ticks $pid) q0=$(loop_waits $pid)
out=$("${pin[@]}" "$loadgen" storm $((port + 4)) "$work/key" 10000 $((seconds * 3)) 1000)
t1=$(ticks $pid) q1=$(loop_waits $pid)
busy=$(exec 3<>/dev/tcp/127.0.0.1/$mport && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 &&
        awk '$1 == "udp_canary_loop_busy_max_seconds" { w = $2 } $1 == "udp_canary_loop_busy_cpu_max_seconds" { c = $2 }
             END { printf "%.2f ms (CPU %.2f ms)", w * 1000, c * 1000 }' <&3)
# what the loop's thread waited for: wall against CPU above, and here the
# scheduler's side (other threads and processes had its CPU)
waits=$(awk -v a="$q0" -v b="$q1" 'BEGIN { split(a, x, " "); split(b, y, " ")
        printf "waited to run %.0f ms in all (its wake-ups too), preempted %d times", (y[1] - x[1]) / 1e6, y[2] - x[2] }')
stall_rss=$(kb $pid VmRSS)
echo "# stall: $out busy_ms=$busy; the loop's thread $waits" >&2
stop_server
stall_loss=$(field loss "$out") stall_cpu=$(us_per $((t1 - t0)) "$(field sent "$out")")

cat <<TABLE
| measure (release build, file log on, $(nproc) cores, $(date -u +%Y-%m-%d)) | value |
|---|---|
| server RSS idle | $idle_rss kB |
| handshake replies/s with <1% loss (1,000 clients) | $best_rate (loss $best_loss) |
| server CPU per handshake at that rate | $best_cpu us |
| server CPU per handshake at 100,000/s | $cpu_100k us |
| server CPU per keepalive (100,000/s offered) | $ka_cpu us |
| server RSS with 100,000 clients in the table | $table_rss kB (peak $table_hwm kB) |
| client CPU over 10 s of fast timers ($cycles handshakes seen) | $(us_per $((c1 - c0)) 1) us |
| client wakeups over those 10 s (context switches, all threads) | $wakeups, $(awk -v w=$wakeups -v c="$cycles" 'BEGIN { printf "%.1f", c ? w / c : 0 }') per handshake cycle of 5 keepalives |
| log lines written in the storm and keepalive phases | $log_lines |
| 100,000 clients, --state-dir, 10,000 handshakes/s: longest event-loop callback, wall (CPU); the loop's thread over the phase; loss; CPU per handshake; RSS | $busy; $waits; $stall_loss; $stall_cpu us; $stall_rss kB |
TABLE
[ "${BENCH_ONLY:-}" = local ] && exit 0
"$(dirname "$0")/journal.sh" "$bin" "$loadgen"
