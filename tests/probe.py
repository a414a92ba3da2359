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
    # the server's log is written by its log thread: wait until it holds every answer that arrived
    it.wait_for(lambda: len(probe_lines(server, "TX", "probe_response")) >= len(got), what="the server's log")
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


def log_lines(path, what=b"\n"):
    """How many lines of the log hold what (all by default)."""
    with open(path, "rb") as f:
        return f.read().count(what)


def kernel_drops(port):
    """What the kernel dropped at the full socket bound to port
    (/proc/net/udp), without asking the server."""
    with open("/proc/net/udp") as f:
        for line in f:
            fields = line.split()
            if fields[1].endswith(":%04X" % port):
                return int(fields[-1])
    return 0


def malloc_chunk(n):
    """What glibc's malloc takes for n bytes: an 8-byte header, in steps of 16."""
    return (n + 8 + 15) // 16 * 16


# sizes on x86-64 (include/core/probes.h, peers.h)
PENDING_SIZE = 64  # struct probes_pending: due, probe id, delay, struct addr (32 B), the client's entry
PEER_SIZE = 176    # struct peer, before its id


def held_bytes(limit, ids, id_len, batch_bytes, outputs=2):
    """What the server may hold for the flood below, from the code: the
    answers waiting, at most limit of them in a heap grown by doubling (the
    smaller copies freed: twice the last at most); the ids' table
    (core/peers), an entry of the struct and the id with its NUL each, in
    an index of slots of 16 bytes at most (a pointer, and a hash) at most
    3/4 full, grown by doubling from 64 (twice the last at most); and the
    log's backlog: for each of the log's outputs (here the file and stderr)
    a thread's two buffers (daemon/worker: the one handed to, and the one
    it writes from), each at most twice what is logged and not yet written,
    which the flood keeps to one batch by waiting for the log after each."""
    slots = 64
    while ids * 4 > slots * 3:
        slots *= 2
    return (2 * limit * PENDING_SIZE + ids * malloc_chunk(PEER_SIZE + id_len + 1) + 2 * slots * 16
            + outputs * 2 * 2 * batch_bytes)


@case
def flood(env):
    """60000 authentic probes at the longest delay from 3000 client ids
    while a canary runs: the answers waiting stay at the limit, the memory
    with them, and flat once the limits are reached; one refusal line (the
    interval is a minute); handshakes are answered all along."""
    mport = it.tcp_port()
    limit, ids, total, batch = 500, 3000, 60000, 500
    server = env.server(extra=["--probe-max-pending", str(limit), "--max-clients", "100000",
                               "--metrics-listen", "127.0.0.1:%d" % mport])
    port = server.port()
    client = env.client(port)
    it.wait_for(lambda: len(it.answered(client)) >= 2, what="2 handshakes")
    key = base64.b64decode(env.key)
    packets = [it.seal(key, {"id": "flood%d" % (i % ids), "type": "probe", "data": [1 + i // ids, 3600]})
               for i in range(total)]
    before, lines0, size0 = len(it.answered(client)), log_lines(server.log), os.path.getsize(server.log)
    # RssAnon: the heap, not the library pages the new code paths fault in
    rss0 = it.rss_kib(server.proc.pid, "RssAnon")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.monotonic()
    for i, p in enumerate(packets):
        sock.sendto(p, ("127.0.0.1", port))
        if i % batch == batch - 1:
            # each probe read is one RX line: the log's backlog counted apart,
            # kept to a batch, so that what is measured is what the code holds
            want = i + 1 - kernel_drops(port)
            it.wait_for(lambda: log_lines(server.log, b"'type': 'probe'") >= want, timeout=30,
                        what="the log of %d probes" % (i + 1))
        if i == 2 * ids - 1:  # every id seen, the answers waiting at their limit
            rss_full = it.rss_kib(server.proc.pid, "RssAnon")
    took = time.monotonic() - start
    rss1 = it.rss_kib(server.proc.pid, "RssAnon")
    line_bytes = (os.path.getsize(server.log) - size0) / (log_lines(server.log) - lines0) + 5  # + record head
    bound = held_bytes(limit, ids, len("flood%d" % (ids - 1)), batch * line_bytes) / 1024
    during = len(it.answered(client)) - before
    pending = it.metric(mport, "probes_pending")
    refused = it.metric(mport, "probes_refused_total")
    drops = it.metric(mport, "socket_drops_total") or 0
    print("# flood: %d probes in %.1f s; %g waiting (limit %d), %g refused, %g dropped at the socket; RssAnon "
          "+%d KiB (bound %d KiB), +%d KiB once the limits were reached; %d handshakes answered meanwhile"
          % (total, took, pending, limit, refused, drops, rss1 - rss0, bound, rss1 - rss_full, during))
    it.check(pending == limit, "answers waiting at the limit: %g" % pending)
    # what the server did not read the kernel dropped at its socket, and says
    # so: every probe is answered-waiting, refused or counted dropped
    it.check(refused + drops >= total - limit - 100, "the rest refused (%g) or dropped at the socket (%g)"
             % (refused, drops))
    refusals = [t for _, t in server.lines() if t.startswith("Probes refused: ")]
    it.check(len(refusals) <= 1 + int(took // 60), "one refusal line per minute: %d" % len(refusals))
    it.check(during >= max(1, int(took / 0.6) - 2), "handshakes answered during %.1f s: %d" % (took, during))
    # the allocator may keep as much again beside what is in use (free
    # chunks between, pages partly used); under valgrind memcheck keeps as
    # much again: each block's redzones and record, a shadow of each byte
    slack = 4 if it.WRAP else 2
    it.check(rss1 - rss0 < slack * bound, "memory grew %d KiB, over %d x %d KiB" % (rss1 - rss0, slack, bound))
    # after the limits, 54,000 more probes: only the log's buffers may grow
    it.check(rss1 - rss_full < slack * 2 * 2 * 2 * batch * line_bytes / 1024,
             "memory grew %d KiB once the limits were reached" % (rss1 - rss_full))
    it.check(client.stop() == 0 and server.stop() == 0, "clean exits")


if __name__ == "__main__":
    sys.exit(it.main(case))
