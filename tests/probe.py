#!/usr/bin/env python3
"""udp-canary probe and the server's probe answers, on 127.0.0.1: against
a server that does not answer probes (the reference peer, which behaves as
the original: it logs them and ignores them; and ours with probes off) the
command says so and exits 3; against ours, with no NAT between, every idle
is answered; and a server flooded with authentic probes at the longest
delay keeps its waiting answers at the limit, says so in one line per
interval, and goes on answering handshakes. (The bounds a real NAT gives
are measured in tests/netns-probe.py.)
Run one: UDP_CANARY=build/src/udp-canary tests/probe.py flood"""
import base64
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

NO_ANSWER = "no probe was answered: the server does not answer probes (an original udp-canary.py?)"
case = it.Cases()


def probe(env, port, *extra, timeout=120):
    r = subprocess.run(it.WRAP + [it.BIN, "probe", "--id", "home", "--host", "127.0.0.1", "--port", str(port),
                                  "--key-file", env.key_file] + list(extra),
                       capture_output=True, text=True, timeout=timeout * it.SLOW)
    return r


def probe_lines(canary, direction, kind):
    return [m for _, _, m in canary.packets(direction) if m["type"] == kind]


@case
def original_server(env):
    """The reference peer (the original's behaviour) logs each probe as RX
    with the dict and answers none: exit 3, saying why."""
    server = env.server(exe=it.refpeer())
    port = server.port()
    start = time.monotonic()
    r = probe(env, port, "--max-delay", "30", "--time-bound", "60")
    took = time.monotonic() - start
    it.check(r.returncode == 3, "exit status 3, not %d: %s" % (r.returncode, r.stderr))
    it.check(r.stdout.startswith(NO_ANSWER), "says so: %r" % r.stdout)
    it.check(took < 20, "over without waiting for the longest trial: %.0f s" % took)
    rx = probe_lines(server, "RX", "probe")
    it.check(len(rx) >= 3, "the original logged the probes as RX: %d" % len(rx))
    it.check(not [m for _, _, m in server.packets("TX")], "and sent nothing")
    print("# original server: no answer after %.0f s, %d probes logged there" % (took, len(rx)))


@case
def probes_off(env):
    """Our server with --probe-max-pending 0 behaves as the original, and
    tells the refusals once."""
    server = env.server(extra=["--probe-max-pending", "0"])
    port = server.port()
    r = probe(env, port, "--max-delay", "30", "--time-bound", "60", "--json")
    it.check(r.returncode == 3, "exit status 3, not %d" % r.returncode)
    out = json.loads(r.stdout)
    it.check(out["answers"] == 0 and out["verdict"].startswith(NO_ANSWER), "JSON says so: %s" % out)
    it.check(out["fresh"]["text"] == "no answer" and out["fresh"]["lower"] is None, "not a timeout of 0: %s" % out)
    refusals = [t for _, t in server.lines() if t.startswith("Probes refused: ")]
    it.check(len(refusals) == 1, "one refusal line: %s" % refusals)
    it.check(not probe_lines(server, "TX", "probe_response"), "no answer sent")


@case
def no_nat(env):
    """With no NAT between, every idle tried is answered, and both ends log
    the probes as packets."""
    server = env.server()
    port = server.port()
    log = os.path.join(env.tmp, "probe.log")
    r = probe(env, port, "--max-delay", "3", "--time-bound", "30", "--log", log)
    it.check(r.returncode == 0, "exit 0: %d %s" % (r.returncode, r.stderr))
    it.check(r.stdout.strip() == "the NAT keeps an idle UDP mapping more than 3 s (fresh), more than 3 s "
             "(established): no timeout found below the longest idle tried", "verdict: %r" % r.stdout)
    it.check(r.stderr == "", "no progress when stderr is not a terminal: %r" % r.stderr)
    sent = [m for _, _, m in it.packets(log, "TX")]
    got = [m for _, _, m in it.packets(log, "RX")]
    it.check(sent and all(m["type"] == "probe" for m in sent), "only probes sent")
    it.check(all(m["type"] == "probe_response" for m in got), "only answers received")
    ids = [m["data"][0] for m in sent]
    it.check(ids == sorted(set(ids)), "probe ids rise")
    answered = probe_lines(server, "TX", "probe_response")
    it.check(sorted(m["data"][0] for m in answered) == sorted(m["data"][0] for m in got),
             "every answer the server logged arrived")
    it.check(not [t for _, t in server.lines() if t.startswith("NAT rebinding")], "no rebinding read into it")


@case
def report_lists(env):
    """udp-canary report lists the probe results a client logged
    (--probe-every), in text and JSON, and leaves the probes' packets out
    of the canary's flow."""
    log = os.path.join(env.tmp, "client.log")
    verdict = ("the NAT keeps an idle UDP mapping 30 to 35 s (fresh), 115 to 120 s (established): "
               "keep PersistentKeepalive below 30 s")
    lines = [
        "[2026-11-25 10:00:00.000 udp-canary INFO] TX 203.0.113.9:43210 {'id': 'home', 'type': "
        "'handshake_init', 'data': [1795600000, 0]}",
        "[2026-11-25 10:00:00.030 udp-canary INFO] RX 203.0.113.9:43210 {'id': 'home', 'type': "
        "'handshake_response', 'data': [1795600000, 0]}",
        "[2026-11-25 10:00:10.000 udp-canary INFO] TX 203.0.113.9:43210 {'id': 'home', 'type': 'probe', "
        "'data': [1795600010000000, 30]}",
        "[2026-11-25 10:00:40.030 udp-canary INFO] RX 203.0.113.9:43210 {'id': 'home', 'type': "
        "'probe_response', 'data': [1795600010000000, 30]}",
        "[2026-11-25 10:05:00.000 udp-canary INFO] NAT idle timeout probe: " + verdict,
    ]
    with open(log, "w") as f:
        f.write("\n".join(lines) + "\n")
    env_tz = dict(os.environ, TZ="UTC")
    text = subprocess.run([it.BIN, "report", log], capture_output=True, text=True, env=env_tz).stdout
    it.check("NAT idle timeout probes: 1\n  2026-11-25 10:05:00.000  " + verdict + "\n" in text,
             "listed in the text: %s" % text)
    rep = json.loads(subprocess.run([it.BIN, "report", "--json", log], capture_output=True, text=True,
                                    env=env_tz).stdout)
    it.check(rep["nat_timeout_probes"] == [{"time": "2026-11-25 10:05:00.000", "verdict": verdict}],
             "and in JSON: %s" % rep["nat_timeout_probes"])
    it.check(rep["skipped"] == 0, "every line understood")
    home = rep["clients"][0]
    it.check(home["id"] == "home" and not home["nat_rebindings"], "the probe is not the canary's flow")


@case
def flood(env):
    """60000 authentic probes at the longest delay from 3000 client ids
    while a canary runs: the answers waiting stay at the limit, the memory
    with them; one refusal line (the interval is a minute); handshakes are
    answered all along."""
    mport = it.tcp_port()
    limit = 500
    server = env.server(extra=["--probe-max-pending", str(limit), "--max-clients", "100000",
                               "--metrics-listen", "127.0.0.1:%d" % mport])
    port = server.port()
    client = env.client(port)
    it.wait_for(lambda: len(it.answered(client)) >= 2, what="2 handshakes")
    key = base64.b64decode(env.key)
    packets = [it.seal(key, {"id": "flood%d" % (i % 3000), "type": "probe", "data": [1 + i // 3000, 3600]})
               for i in range(60000)]
    before_rss, before = it.rss_kib(server.proc.pid), len(it.answered(client))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.monotonic()
    for i, p in enumerate(packets):
        sock.sendto(p, ("127.0.0.1", port))
        if i % 500 == 499:
            time.sleep(0.01)  # a flood, not a test of the socket buffer
    took = time.monotonic() - start
    # until the server has read what the socket holds (slow under valgrind)
    it.settled(lambda: it.metric(mport, "probes_refused_total") + (it.metric(mport, "socket_drops_total") or 0),
               what="the probes read")
    during = len(it.answered(client)) - before
    pending = it.metric(mport, "probes_pending")
    refused = it.metric(mport, "probes_refused_total")
    grew = it.rss_kib(server.proc.pid) - before_rss
    it.check(pending == limit, "answers waiting at the limit: %g" % pending)
    # what the server did not read the kernel dropped at its socket, and says
    # so (under valgrind much is): every probe is answered-waiting, refused
    # or counted dropped
    drops = it.metric(mport, "socket_drops_total") or 0
    it.check(refused + drops >= 60000 - limit - 100, "the rest refused (%g) or dropped at the socket (%g)"
             % (refused, drops))
    refusals = [t for _, t in server.lines() if t.startswith("Probes refused: ")]
    it.check(len(refusals) <= 1 + int(took // 60), "one refusal line per minute: %d" % len(refusals))
    it.check(during >= max(1, int(took / 0.6) - 2), "handshakes answered during %.1f s: %d" % (took, during))
    # a waiting answer holds about 100 bytes; the ids' table, 3000 entries
    # (under valgrind, its own books and the log thread's backlog add some)
    it.check(grew < (8192 if it.WRAP else 4096), "memory grew %d KiB" % grew)
    it.check(client.stop() == 0 and server.stop() == 0, "clean exits")
    print("# flood: %d probes in %.1f s; %g waiting (limit %d), %g refused, %d refusal line(s), "
          "RSS +%d KiB, %d handshakes answered meanwhile" % (len(packets), took, pending, limit, refused,
                                                             len(refusals), grew, during))


if __name__ == "__main__":
    sys.exit(it.main(case))
