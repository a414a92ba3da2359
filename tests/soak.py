#!/usr/bin/env python3
"""Flood and soak, on 127.0.0.1 with real processes.

flood: for FLOOD_SECONDS (default 20) a sender process blasts the server as
fast as it can with random datagrams of every size, replays of one sealed
init, and authentic inits under ever new client ids (so the table, bounded
by --max-clients 1000, must evict). Memory must stay flat once the table is
full, the table must stay bounded, and a real client's handshakes must keep
being answered during the flood.

soak: SOAK_SECONDS (default 120) of 5 clients with fast timers. Every
process's memory and open files must stay flat, and the logs complete: each
packet one end logged as sent, the other logged as received.

busy_cpu: every CPU busy (4 spinning processes per core) and 65,536
clients loaded from the state file; for BUSY_SECONDS (default 15) new
handshake ids, each timed until it is in replay.state: the 99th percentile
within what the state writer promises, and SIGTERM over within 2 s.
"""
import base64
import multiprocessing
import os
import random
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def blast(port, key, seconds, counter):
    """The flood: junk, replays and fresh authentic ids, as fast as it goes."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    junk = [os.urandom(random.choice([0, 1, 15, 48, 63, 64, 80, 128, 1000, 4096, 4097, 9000]))
            for _ in range(200)]
    replay = it.seal(key, {"id": "victim", "type": "handshake_init", "data": [1, 0]})
    fresh = [it.seal(key, {"id": "flood-%d" % i, "type": "handshake_init", "data": [1, 0]}) for i in range(5000)]
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        for i in range(100):
            k = n + i
            packet = fresh[(k // 10) % len(fresh)] if k % 10 == 0 else replay if k % 10 == 1 else junk[k % len(junk)]
            try:
                s.sendto(packet, ("127.0.0.1", port))
            except (BlockingIOError, OSError):
                pass
        n += 100
    counter.value = n


def flood(env):
    seconds = float(os.environ.get("FLOOD_SECONDS", "20"))
    server = env.server(extra=["--max-clients", "1000"])
    port = server.port()
    send = it.sender(env, port)
    counter = multiprocessing.Value("q", 0)
    import base64
    proc = multiprocessing.Process(target=blast, args=(port, base64.b64decode(env.key), seconds, counter))
    start = time.monotonic()
    proc.start()
    samples, probes, answered, hid = [], 0, 0, 1
    while proc.is_alive():
        samples.append((time.monotonic() - start, it.rss_kib(server.proc.pid)))
        for _ in range(5):  # a probe every 0.1 s or so (the wait for an answer is short)
            hid += 1
            probes += 1
            answered += send("probe", hid, timeout=0.1)[0] is not None
    proc.join()
    it.check(server.proc.poll() is None, "the server survived %d datagrams in %.0f s" % (counter.value, seconds))
    late = [kb for t, kb in samples if t > seconds / 2]
    early = [kb for t, kb in samples if seconds / 4 < t <= seconds / 2]
    it.check(late and early and max(late) - max(early) < 2048,
             "memory flat in the second half: %d kB then %d kB at most" % (max(early or [0]), max(late or [0])))
    handled = sum(1 for _ in server.lines())
    print("# flood: %d sent, %d log lines, %d of %d probes answered" % (counter.value, handled, answered, probes))
    # past its capacity the kernel drops datagrams before the server sees
    # them, probes too, in proportion; the server must keep answering
    it.check(answered >= probes // 10, "answered during the flood: %d of %d probes" % (answered, probes))
    hid += 1
    it.check(send("probe", hid)[0] is not None, "answered right after the flood")
    lines = server.lines()
    evicted = sum(1 for _, t in lines if t.startswith("Table of clients full"))
    print("# flood ids seen: %d, replays: %d, invalid: %d" % (
        sum(1 for _, t in lines if "'flood-" in t), sum(1 for _, t in lines if t.startswith("Replay")),
        sum(1 for _, t in lines if "[InvalidMessage]" in t)))
    it.check(evicted > 0, "the table stayed bounded (%d evictions logged)" % evicted)
    it.check(server.stop() == 0, "clean exit")
    print("# flood: %d datagrams in %.0f s, server RSS %d to %d kB, %d of %d probes answered"
          % (counter.value, seconds, samples[0][1], max(s for _, s in samples), answered, probes))


def soak(env):
    seconds = float(os.environ.get("SOAK_SECONDS", "120"))
    fast = ["--keepalive-interval", "0.05", "--handshake-timeout", "0.2"]
    server = env.server()
    port = server.port()
    clients = [env.client(port, name="client%d" % i, cid="soak-%d" % i, extra=fast) for i in range(5)]
    procs = [server] + clients
    it.wait_for(lambda: all(it.answered(c) for c in clients), what="all connected")
    start = time.monotonic()
    first, last = {}, {}
    while time.monotonic() - start < seconds:
        time.sleep(1)
        for p in procs:
            sample = (it.rss_kib(p.proc.pid), fds(p.proc.pid))
            if time.monotonic() - start > min(20, seconds / 4):
                first.setdefault(p.log, sample)
            last[p.log] = sample
            it.check(p.proc.poll() is None, "%s running" % p.log)
    print("# soak memory (kB) and open files, from %.0f s to the end: %s" % (min(20, seconds / 4), ", ".join(
        "%s %d->%d/%d->%d" % (os.path.basename(p.log)[:-4], first[p.log][0], last[p.log][0], first[p.log][1],
                              last[p.log][1]) for p in procs)))
    for p in procs:
        (rss0, fd0), (rss1, fd1) = first[p.log], last[p.log]
        it.check(rss1 - rss0 < 512, "%s: memory flat (%d kB then %d kB)" % (os.path.basename(p.log), rss0, rss1))
        it.check(fd1 == fd0, "%s: open files flat (%d then %d)" % (os.path.basename(p.log), fd0, fd1))
    for c in clients:
        it.check(c.stop() == 0, "client exits cleanly")
    it.check(server.stop() == 0, "server exits cleanly")
    got = [m for _, _, m in server.packets("RX")]
    sent_back = [m for _, _, m in server.packets("TX")]
    total = 0
    for c in clients:
        sent = [m for _, _, m in c.packets("TX")]
        total += len(sent)
        cid = sent[0]["id"]
        mine = [m for m in got if m["id"] == cid]
        it.check(sent[:len(mine)] == mine and len(sent) - len(mine) <= 2,
                 "server logged every packet of %s: %d sent, %d received" % (sent[0]["id"], len(sent), len(mine)))
        back = [m for _, _, m in c.packets("RX")]
        theirs = [m for m in sent_back if m["id"] == sent[0]["id"]]
        it.check(theirs[:len(back)] == back and len(theirs) - len(back) <= 1,
                 "%s logged every answer: %d sent, %d received" % (sent[0]["id"], len(theirs), len(back)))
    print("# soak: %.0f s, 5 clients, %d packets sent by the clients" % (seconds, total))


def writer_constant(name):
    """A constant of the state writer, read from its header."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "include", "daemon", "state-writer.h")
    return int(re.search(r"#define %s (\d+)" % name, open(path).read()).group(1))


# What the promise is made of, besides the handover interval. The writer
# appends one interval's notes (a line or two here) and fsyncs: a tenth of
# a second is room for that fsync on a slow disk. It runs at batch, nice 10
# (weight 110) against SPINNERS nice-0 spinners (weight 1024 each) per
# core: its turn comes after about SPINNERS * 1024 / 110 slices of the
# others, 3 ms each at most (CFS's minimum granularity): twice that, for
# the loop's turn before it and the test's own.
SPINNERS = 4
SAVE_BOUND_S = 0.1
SCHED_ALLOWANCE_S = 2 * SPINNERS * 1024 / 110 * 0.003


def spin():
    while True:
        pass


class Tail:
    """The lines added to a file since the last look; the whole file again
    when it was replaced (a rewrite)."""

    def __init__(self, path):
        self.path, self.ino, self.at, self.rest = path, None, 0, b""

    def new_lines(self):
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return []
        with f:
            ino = os.fstat(f.fileno()).st_ino
            if ino != self.ino:
                self.ino, self.at, self.rest = ino, 0, b""
            f.seek(self.at)
            data = self.rest + f.read()
            self.at = f.tell()
        lines = data.split(b"\n")
        self.rest = lines.pop()
        return lines


def busy_cpu(env):
    seconds = float(os.environ.get("BUSY_SECONDS", "15"))
    clients = 65536
    handover = writer_constant("STATE_WRITER_HANDOVER_US") / 1e6
    promise = (handover + SAVE_BOUND_S + SCHED_ALLOWANCE_S) * it.SLOW
    state = os.path.join(env.tmp, "state")
    os.mkdir(state)
    path = os.path.join(state, "replay.state")
    with open(path, "w") as f:
        f.writelines('%d "busy-%d"\n' % (1000 + i, i) for i in range(clients))
    server = env.server(extra=["--state-dir", state, "--max-clients", str(2 * clients)])
    port = server.port()
    it.wait_for(lambda: any("%d clients loaded" % clients in t for _, t in server.lines()), what="the state loaded")
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(SPINNERS * os.cpu_count())]
    key = base64.b64decode(env.key)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tail = Tail(path)
    tail.new_lines()  # what is there before
    sent, seen = {}, {}
    try:
        for p in spinners:
            p.start()
        time.sleep(1)  # every CPU taken
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds or (len(seen) < len(sent) and
                                                      time.monotonic() - start < seconds + 10 * promise):
            now = time.monotonic()
            if now - start < seconds and now >= start + n * 0.1:
                cid = "new-%d" % n
                sock.sendto(it.seal(key, {"id": cid, "type": "handshake_init", "data": [5000 + n, 0]}),
                            ("127.0.0.1", port))
                sent[cid] = now
                n += 1
            for line in tail.new_lines():
                m = re.match(rb'(\d+) "(new-\d+)"$', line)
                if m and m.group(2).decode() not in seen:
                    seen[m.group(2).decode()] = time.monotonic()
            time.sleep(0.01)
        stop = time.monotonic()
        server.proc.send_signal(15)
        status = server.proc.wait(timeout=30 * it.SLOW)
        took_stop = time.monotonic() - stop
    finally:
        for p in spinners:
            if p.is_alive():
                p.kill()
            p.join()
    delays = sorted(seen[c] - sent[c] for c in seen)
    p99 = delays[min(len(delays) - 1, int(0.99 * len(delays)))] if delays else float("inf")
    print("# busy cpu: %d spinners, %d clients, %d new ids in %.0f s, %d in replay.state while running; "
          "to disk: median %.3f s, p99 %.3f s, max %.3f s (promise %.3f s: handover %.3f + save %.3f + "
          "scheduling %.3f); SIGTERM to exit %.3f s"
          % (len(spinners), clients, len(sent), seconds, len(seen), delays[len(delays) // 2] if delays else 0,
             p99, delays[-1] if delays else 0, promise, handover, SAVE_BOUND_S, SCHED_ALLOWANCE_S, took_stop))
    server.stderr.close()
    it.check(status == 0, "clean exit: %d" % status)
    it.check(len(seen) >= 0.99 * len(sent), "the new ids reached the file: %d of %d" % (len(seen), len(sent)))
    it.check(p99 <= promise, "99th percentile to disk %.3f s, within %.3f s" % (p99, promise))
    it.check(took_stop <= 2 * it.SLOW, "SIGTERM to exit %.3f s, within 2 s" % took_stop)
    final = open(path).read()
    it.check(all('"%s"' % c in final for c in sent), "every new id in the file at the end")
    it.check(final.count("\n") >= clients + len(sent), "and every loaded client")


if __name__ == "__main__":
    sys.exit(it.main([flood, soak, busy_cpu]))
