#!/bin/bash
# End to end under a real systemd: installs this source tree (prefix /usr)
# into a scratch directory, boots the host's own OS in a container with that
# install overlaid on /usr, and follows the user's steps there: a key in
# /etc/udp-canary, `systemctl enable --now udp-canary-server`,
# `systemctl start udp-canary-client@home`, the dual-stack step (two
# instances, one per family, against the installed server.conf's `host = ::`),
# the journal queries, a reload,
# `man udp-canary`, a stop. A oneshot unit inside runs the steps and writes
# what it saw to a bound directory; this script then checks it.
# Usage: systemd-e2e.sh SOURCE_DIR. Needs root and systemd-nspawn (77 otherwise).
set -uo pipefail
src=$(cd "$1" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (systemd-nspawn)"; exit 77; }
command -v systemd-nspawn >/dev/null || { echo "SKIP: systemd-nspawn is missing (Debian: systemd-container)"; exit 77; }
[ -d /run/systemd/system ] || [ -x /lib/systemd/systemd ] || { echo "SKIP: no systemd to boot"; exit 77; }

work=$(mktemp -d /tmp/udp-canary-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
dest=$work/dest res=$work/results
mkdir -p "$res"
port=$(shuf -i 20000-60000 -n 1)

echo "# building and installing into $dest"
if ! { meson setup "$work/build" "$src" --prefix=/usr -Dsystemdsystemunitdir=/usr/lib/systemd/system \
        -Dman=enabled && meson install -C "$work/build" --destdir "$dest"; } > "$work/install.log" 2>&1; then
        cat "$work/install.log"
        echo "FAIL: the build does not install"
        exit 1
fi

mkdir -p "$dest/usr/lib/udp-canary-e2e"
# the container's /etc is empty (volatile): the installed server.conf goes in by /usr
if ! cp "$dest/etc/udp-canary/server.conf" "$dest/usr/lib/udp-canary-e2e/server.conf"; then
        echo "FAIL: meson install put no /etc/udp-canary/server.conf"
        exit 1
fi
cat > "$dest/usr/lib/systemd/system/udp-canary-e2e.service" <<UNIT
[Unit]
Description=udp-canary end-to-end steps
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/lib/udp-canary-e2e/steps.sh $port
ExecStopPost=systemctl poweroff --no-block
UNIT
cat > "$dest/usr/lib/udp-canary-e2e/steps.sh" <<'STEPS'
#!/bin/bash
# Inside the container: what a user does, and what they would look at.
port=$1 R=/results
exec > $R/steps.log 2>&1
set -x
mkdir -p /etc/udp-canary/client
(umask 077; udp-canary --generate-key > /etc/udp-canary/server.key)
cp -p /etc/udp-canary/server.key /etc/udp-canary/client/home.key
cp /usr/lib/udp-canary-e2e/server.conf /etc/udp-canary/server.conf # as installed
echo "port = $port" >> /etc/udp-canary/server.conf
printf 'host = 127.0.0.1\nport = %s\nkeepalive-interval = 0.5\nhandshake-timeout = 1\n' "$port" \
        > /etc/udp-canary/client/home.conf
# the NAT timeout probe in the background, short: no NAT here, so "more than 2 s"
printf 'probe-every = 600\nprobe-max-delay = 2\n' >> /etc/udp-canary/client/home.conf
systemctl enable --now udp-canary-server; echo $? > $R/enable-server.rc
systemctl start udp-canary-client@home; echo $? > $R/start-client.rc
# the dual-stack step: two instances, one per family, each its own id
# (the instance name) and metrics port, the same key
m4=$((port + 2)) m6=$((port + 3))
for f in 4 6; do
        m=$([ $f = 4 ] && echo $m4 || echo $m6) host=$([ $f = 4 ] && echo 127.0.0.1 || echo ::1)
        printf 'host = %s\nipv%s = true\nport = %s\nmetrics-listen = 127.0.0.1:%s\nkeepalive-interval = 0.5\nhandshake-timeout = 1\n' \
                $host $f $port $m > /etc/udp-canary/client/home-v$f.conf
        cp -p /etc/udp-canary/client/home.key /etc/udp-canary/client/home-v$f.key
done
systemctl enable --now udp-canary-client@home-v4 udp-canary-client@home-v6; echo $? > $R/start-dual.rc
systemctl start udp-canary-client@nosuch; echo $? > $R/start-missing.rc
systemctl status udp-canary-client@nosuch --no-pager > $R/missing.status 2>&1
echo "host = 127.0.0.1" > /etc/udp-canary/client/nokey.conf
systemctl start udp-canary-client@nokey; echo $? > $R/start-nokey.rc
sleep 1
systemctl status udp-canary-client@nokey --no-pager > $R/nokey.status 2>&1
systemctl show udp-canary-client@nokey -p NRestarts -p ActiveState > $R/nokey.show
sleep 4
for u in udp-canary-server udp-canary-client@home udp-canary-client@home-v4 udp-canary-client@home-v6; do
        systemctl show $u -p ActiveState -p SubState -p NRestarts -p WatchdogUSec -p Result > $R/$u.show
        systemctl show $u -P StatusText > $R/$u.statustext
        pid=$(systemctl show -P MainPID $u)
        sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$pid/status > $R/$u.uid
        for t in /proc/$pid/task/*; do # name, nice, policy (3: batch, 5: idle)
                read -r name < $t/comm && read -ra f < $t/stat && echo "$name ${f[18]} ${f[40]}"
        done > $R/$u.threads
        systemctl status $u --no-pager > $R/$u.status 2>&1
done
systemctl reload udp-canary-server; echo $? > $R/reload.rc
sleep 1
journalctl -u udp-canary-server -o cat --no-pager > $R/j-server.txt
journalctl -u udp-canary-client@home -o cat --no-pager > $R/j-client.txt
for f in 4 6; do
        journalctl -u udp-canary-client@home-v$f -o cat --no-pager > $R/j-v$f.txt
        exec 3<>/dev/tcp/127.0.0.1/$([ $f = 4 ] && echo $m4 || echo $m6)
        printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
        cat <&3 > $R/metrics-v$f.txt
        exec 3<&-
done
udp-canary report --journal --json --keepalive-interval 0.5 > $R/dual.json 2> $R/dual.err
journalctl -u 'udp-canary*' -o cat --no-pager > $R/j-glob.txt
journalctl -u udp-canary.slice -o cat --no-pager > $R/j-slice.txt
journalctl -t udp-canary -o cat --no-pager > $R/j-tag.txt
journalctl CANARY_CLIENT_ID=home -o json --no-pager > $R/j-json.txt
journalctl MESSAGE_ID=f966171a66b54168b7cd855d12172664 -o cat --no-pager > $R/j-start.txt
journalctl --update-catalog
journalctl -x -u udp-canary-server MESSAGE_ID=f966171a66b54168b7cd855d12172664 --no-pager > $R/j-catalog.txt
for i in $(seq 40); do # the probe's first run: 10 s after the start, about 10 s long
        journalctl CANARY_EVENT=nat_timeout -o cat --no-pager | grep -q . && break
        sleep 1
done
journalctl CANARY_EVENT=nat_timeout -o json --no-pager > $R/j-nat.json
journalctl -x MESSAGE_ID=5f8191c7f03648ca9be96133f4481b96 --no-pager > $R/j-nat-catalog.txt
ls /var/log/udp-canary /var/lib/private/udp-canary > $R/files.txt 2>&1
udp-canary report --journal --id home --keepalive-interval 0.5 > $R/report.txt 2>&1; echo $? > $R/report.rc
MANPATH=/usr/share/man man udp-canary > $R/man.txt 2>&1; echo $? > $R/man.rc
# both ends when the journal is the log and the other end is another
# machine: a second server logging to a journal namespace of its own (what
# --journal does not read), a client of it here; its journal brought over as
# an export (gzip-compressed) and as a copy of its files
far=$((port + 1))
cp -p /etc/udp-canary/server.key /etc/udp-canary/client/far.key
printf 'host = 127.0.0.1\nport = %s\nkeepalive-interval = 0.5\nhandshake-timeout = 1\n' $far \
        > /etc/udp-canary/client/far.conf
farserver() { systemd-run --unit=udp-canary-far -p LogNamespace=far -p Type=notify \
        udp-canary --server --port $far --key-file /etc/udp-canary/server.key; }
farserver
systemctl start udp-canary-client@far
sleep 3
date +%s.%N > $R/far-stop.t
systemctl stop udp-canary-far # an outage both ends see: the server not running
sleep 2
farserver
date +%s.%N >> $R/far-stop.t
sleep 3
systemctl stop udp-canary-client@far udp-canary-far
journalctl --namespace=far -t udp-canary -o export --no-pager | gzip > $R/far.export.gz
report() { udp-canary report --json --id far --keepalive-interval 0.5 "$@"; }
report --journal > $R/far-local.json 2> $R/far-local.err
report --journal $R/far.export.gz > $R/far-export.json 2> $R/far-export.err
journalctl --namespace=far --rotate
cp -r "$(ls -d /var/log/journal/*.far /run/log/journal/*.far 2>/dev/null | head -n 1)" $R/far-journal
report --journal --journal-dir $R/far-journal > $R/far-dir.json 2> $R/far-dir.err
report --journal --journal-file "$R/far-journal/*.journal" > $R/far-file.json 2> $R/far-file.err
report --journal $R/far-journal/*.journal > $R/far-plain.json 2> $R/far-plain.err
report --journal --journal-file "$R/far-journal/*.journal" $R/far-journal/*.journal > $R/far-twice.json 2> $R/far-twice.err
report --journal --journal-dir $R/far-journal $R/far-journal/*.journal > $R/far-dir-twice.json 2> $R/far-dir-twice.err
systemctl stop udp-canary-client@home udp-canary-client@home-v4 udp-canary-client@home-v6 udp-canary-server
systemctl show udp-canary-server -p ActiveState -p Result > $R/stopped.show
journalctl -u udp-canary-server -t udp-canary -o cat --no-pager | tail -n 1 > $R/j-server-end.txt
echo done > $R/done
STEPS
chmod +x "$dest/usr/lib/udp-canary-e2e/steps.sh"

# a volatile /etc is empty: man needs man-db's config, as a real system has it
manconf=
[ -f /etc/manpath.config ] && manconf=--bind-ro=/etc/manpath.config
echo "# booting the container"
timeout 180 systemd-nspawn -D / --volatile=yes --register=no --keep-unit \
        --overlay-ro=/usr:"$dest/usr":/usr --bind="$res":/results $manconf -b -- \
        systemd.wants=udp-canary-e2e.service systemd.firstboot=off > "$work/boot.log" 2>&1
echo "# container exited with $?"

passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
        local what=$1
        shift
        if "$@" >/dev/null 2>&1; then
                echo "ok - $what"
                passed=$((passed + 1))
        else
                echo "FAIL - $what"
                failed=$((failed + 1))
        fi
}
has() { grep -q -- "$2" "$res/$1"; }
is() { [ "$(cat "$res/$1" 2>/dev/null)" = "$2" ]; }
# a file the steps wrote, holding something other than 0 (a missing or
# empty file fails: the step did not run)
not_zero() { [ -s "$res/$1" ] && [ "$(cat "$res/$1")" != 0 ]; }

check "the steps ran to the end" test -f "$res/done"
check "systemctl enable --now udp-canary-server succeeds" is enable-server.rc 0
check "systemctl start udp-canary-client@home succeeds" is start-client.rc 0
check "systemctl enable --now udp-canary-client@home-v4 udp-canary-client@home-v6 succeeds" is start-dual.rc 0
check "a missing profile fails loudly" not_zero start-missing.rc
check "systemctl status names the missing config" has missing.status "client/nosuch.conf: No such file"
check "a profile without its key fails loudly" not_zero start-nokey.rc
check "systemctl status names the missing key" has nokey.status "profile_nokey.key.*No such file"
check "bad input (status 2) is not restarted" bash -c "grep -q NRestarts=0 $res/nokey.show && grep -q ActiveState=failed $res/nokey.show"
for u in udp-canary-server udp-canary-client@home udp-canary-client@home-v4 udp-canary-client@home-v6; do
        check "$u active and running (READY=1 reached)" has $u.show "SubState=running"
        check "$u never restarted" has $u.show "NRestarts=0"
        check "$u has the watchdog on" has $u.show "WatchdogUSec=30s"
        check "$u does not run as root" not_zero $u.uid
        check "$u shows a STATUS text" test -s "$res/$u.statustext"
done
check "the server's writer threads yield to its loop (log and state: batch, nice 10)" bash -c "grep -qx 'canary-log 10 3' $res/udp-canary-server.threads && grep -qx 'canary-state 10 3' $res/udp-canary-server.threads"
check "the client's log thread too" has udp-canary-client@home.threads "^canary-log 10 3$"
check "client STATUS says connected" has udp-canary-client@home.statustext "^Connected: handshake"
check "server STATUS counts the clients (home, home-v4, home-v6)" has udp-canary-server.statustext "^3 clients;"
check "journalctl -u udp-canary-server: the start, on both families (the installed server.conf)" \
        has j-server.txt "^Listening on \[::\]:$port\$"
check "journalctl -u udp-canary-server: packets" has j-server.txt "^RX 127.0.0.1:[0-9]* {'id': 'home', 'type': 'keepalive'"
for f in 4 6; do
        a=$([ $f = 4 ] && echo 127.0.0.1 || echo '\[::1\]')
        check "udp-canary-client@home-v$f: answered over IPv$f" \
                has j-v$f.txt "^RX $a:$port {'id': 'home-v$f', 'type': 'handshake_response'"
        check "the server hears home-v$f over IPv$f" has j-server.txt "^RX $a:[0-9]* {'id': 'home-v$f', 'type': 'keepalive'"
        check "udp-canary-client@home-v$f: build_info with family=\"ipv$f\"" \
                has metrics-v$f.txt "^udp_canary_build_info{version=\"[^\"]*\",mode=\"client\",id=\"home-v$f\",family=\"ipv$f\"} 1\$"
done
check "no IPv4-mapped address in the server's journal" bash -c "! grep -q ffff $res/j-server.txt"
check "report --journal: home-v4 and home-v6 two flows, each with its server address" bash -c "python3 -c '
import json, sys
port = sys.argv[2]
c = {c[\"id\"]: c[\"servers\"] for c in json.load(open(sys.argv[1]))[\"clients\"]}
assert c[\"home-v4\"] == [\"127.0.0.1:\" + port] and c[\"home-v6\"] == [\"[::1]:\" + port], c
' $res/dual.json $port"
check "journalctl -u udp-canary-client@home: packets" has j-client.txt "^TX 127.0.0.1:$port {'id': 'home', 'type': 'handshake_init'"
check "journalctl -u 'udp-canary*': both" bash -c "grep -q '^TX 127.0.0.1:$port ' $res/j-glob.txt && grep -q '^Listening' $res/j-glob.txt"
check "journalctl -u udp-canary.slice: both" bash -c "grep -q '^TX 127.0.0.1:$port ' $res/j-slice.txt && grep -q '^Listening' $res/j-slice.txt"
check "journalctl -t udp-canary: both" bash -c "grep -q '^TX 127.0.0.1:$port ' $res/j-tag.txt && grep -q '^RX 127' $res/j-tag.txt"
check "--probe-every: a journal entry CANARY_EVENT=nat_timeout" has j-nat.json '"MESSAGE_ID" *: *"5f8191c7f03648ca9be96133f4481b96"'
check "--probe-every: the bounds as fields" has j-nat.json '"CANARY_FRESH_LOWER_SECONDS" *: *"2"'
check "--probe-every: the verdict as MESSAGE" has j-nat.json 'NAT idle timeout probe: the NAT keeps an idle UDP mapping more than 2 s (fresh)'
check "--probe-every: journalctl -x explains it" has j-nat-catalog.txt "measured the NAT's idle UDP timeouts"
for f in CANARY_EVENT CANARY_DIRECTION CANARY_PEER CANARY_TYPE CANARY_HANDSHAKE_ID CANARY_COUNTER; do
        check "journalctl CANARY_CLIENT_ID=home -o json: $f" has j-json.txt "\"$f\""
done
check "the json entries are the client's" bash -c "python3 -c '
import json, sys
rows = [json.loads(l) for l in open(\"$res/j-json.txt\")]
assert rows and all(r[\"CANARY_CLIENT_ID\"] == \"home\" for r in rows)
assert {r[\"CANARY_EVENT\"] for r in rows} >= {\"tx\", \"rx\"}
'"
check "lifecycle entries carry a MESSAGE_ID" has j-start.txt "^Listening on"
check "the catalog explains lifecycle entries (journalctl -x)" has j-catalog.txt "Subject: udp-canary started"
check "systemctl reload works" is reload.rc 0
check "the reload is logged" has j-server.txt "^Reloaded"
check "udp-canary report --journal reads the client's traffic" bash -c "[ \"\$(cat $res/report.rc)\" = 0 ] && grep -q \"client 'home' (client log and server log)\" $res/report.txt"
check "no log file by default under systemd" bash -c "[ -s $res/files.txt ] && ! grep -q '\\.log' $res/files.txt"
# both ends from journals: the client's here, the far server's brought over
both_ends() { # both_ends FILE.json: the far client seen at both ends, the offset and directions known
        python3 - "$res/$1" "$res/far-stop.t" <<'PY'
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["clients"] if c["id"] == "far"][0]
stopped, started = (float(x) for x in open(sys.argv[2]).read().split())
assert c["seen_in"] == {"client_log": True, "server_log": True}, c["seen_in"]
# one clock at both ends here, but a journal stamps an entry when journald
# takes it, after the log thread's batching: well within a keepalive interval
assert c["clock_offset_seconds"] is not None and abs(c["clock_offset_seconds"]) < 0.5, c["clock_offset_seconds"]
assert c["delivery"]["client_to_server"] and c["delivery"]["server_to_client"], c["delivery"]
# the stop: one outage over it, the server's journal saying it was not running, a direction
stop = [o for o in c["outages"] if o["server_stopped"]]
assert len(stop) == 1 and stop[0]["start_unix"] < started and stop[0]["end_unix"] > stopped, (stopped, started, c["outages"])
assert stop[0]["direction"] != "unknown", stop
PY
}
check "report --journal alone: the far client's end only (the far server's journal is elsewhere)" \
        bash -c "python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))[\"clients\"][0]; assert c[\"id\"] == \"far\" and c[\"seen_in\"] == {\"client_log\": True, \"server_log\": False}' $res/far-local.json"
check "journalctl -o export | gzip, written by journald: report reads it beside the local journal, both ends" \
        both_ends far-export.json
check "report --journal-dir on a copy of the far server's journal: both ends" both_ends far-dir.json
check "report --journal-file '*.journal' on the copied files: both ends" both_ends far-file.json
check "a journal file given as a plain FILE is read as a journal: both ends" both_ends far-plain.json
check "journal files given twice (--journal-file and FILE, --journal-dir and FILE) are read once" \
        bash -c "cmp -s $res/far-file.json $res/far-twice.json && cmp -s $res/far-dir.json $res/far-dir-twice.json && grep -q 'read once' $res/far-dir-twice.err"
check "the export and the journal files read to the same report" \
        bash -c "cmp -s $res/far-export.json $res/far-dir.json && cmp -s $res/far-export.json $res/far-file.json && cmp -s $res/far-export.json $res/far-plain.json"
check "man udp-canary renders" bash -c "[ \"\$(cat $res/man.rc)\" = 0 ] && grep -q 'log a WireGuard-like UDP exchange' $res/man.txt"
check "a clean stop: inactive, success" bash -c "grep -q ActiveState=inactive $res/stopped.show && grep -q Result=success $res/stopped.show"
check "a clean stop: Exit logged last" has j-server-end.txt "^Exit$"

if [ $failed != 0 ]; then
        echo "--- steps"; cat "$res/steps.log" 2>/dev/null | tail -40
        echo "--- boot"; tail -30 "$work/boot.log"
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
