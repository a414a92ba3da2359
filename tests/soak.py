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
"""
import multiprocessing
import os
import random
import socket
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


if __name__ == "__main__":
    sys.exit(it.main([flood, soak]))
