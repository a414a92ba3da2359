#!/usr/bin/env python3
"""Hostile-network tests in network namespaces this test creates (root, and
a kernel that lets it make them: exit 77 otherwise, saying why): a client
behind a NAT namespace (nftables masquerade with random ports, like a
CG-NAT) and a server namespace (canary_test.Net), with fast timers.

    client ns            nat ns                      server ns
    198.51.100.2 --- 198.51.100.1 | 203.0.113.1 --- 203.0.113.2:43210

Only documentation addresses (RFC 5737), only inside these namespaces; all
are removed afterwards, also when a case fails.

Cases: the NAT forgets the flow (conntrack -F); a blackhole in both
directions; 30% random loss; a server restart with captured traffic
replayed afterwards; a blackhole of known length, told live and by the
report; 20% loss one way, counted exactly. Each asserts on both ends' logs.
Run one: tests/netns.py conntrack_flush
"""
import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402  (namespaces, processes, log reading, checks)
from canary_test import BIN, NAT_OUT_IP, PORT, SERVER_IP  # noqa: E402

KA, HT = 0.2, 0.5  # keepalive interval and handshake timeout, seconds
FAST = ["--keepalive-interval", str(KA), "--handshake-timeout", str(HT)]


def report(*logs, timers=()):
    """udp-canary report --json over the logs, as a dict."""
    out = subprocess.check_output([BIN, "report", "--json"] + list(timers) + [l.log for l in logs])
    return json.loads(out)


def keep_logs(case, name):
    """With $KEEP_LOGS set, keeps the case's logs there (for recorded test data)."""
    dest = os.environ.get("KEEP_LOGS")
    if dest:
        os.makedirs(dest, exist_ok=True)
        for p in case.procs:
            shutil.copy(p.log, os.path.join(dest, "%s-%s" % (name, os.path.basename(p.log))))


def answers(client):
    return [m["data"][0] for _, _, m in client.packets("RX") if m["type"] == "handshake_response"]


def inits(client):
    return [m["data"][0] for _, _, m in client.packets("TX") if m["type"] == "handshake_init"]


def server_ports(server):
    return [int(peer.rsplit(":", 1)[1]) for _, peer, m in server.packets("RX") if m["id"] == "home"]


def conntrack_flush(case):
    """The NAT forgets the flow: the server sees the client from a new port,
    answers it there, and the client's very next handshake succeeds."""
    server = case.server()
    client = case.client(FAST)
    it.wait_for(lambda: len(answers(client)) >= 2, timeout=10, what="2 handshakes")
    old_ports = set(server_ports(server))
    it.check(len(old_ports) == 1, "one NAT port before: %s" % old_ports)
    sent_before = len(inits(client))
    case.net.ns(case.net.n, "conntrack", "-F")
    it.wait_for(lambda: len(answers(client)) >= 4, timeout=10, what="2 more handshakes")
    new_ports = set(server_ports(server)) - old_ports
    it.check(len(new_ports) == 1, "the server sees one new port: %s" % new_ports)
    replies = {int(peer.rsplit(":", 1)[1]) for _, peer, m in server.packets("TX")}
    it.check(new_ports <= replies, "answers go to the new port")
    after = inits(client)[sent_before:]
    it.check(answers(client)[2] == after[0], "the first init after the flush is answered: %s %s"
             % (after[:3], answers(client)))
    it.check(client.stop() == 0 and server.stop() == 0, "clean exits")
    rebinds = [t for _, t in server.lines() if t.startswith("NAT rebinding")]
    (old,), (new,) = old_ports, new_ports
    it.check(rebinds == ["NAT rebinding: 'home' moved from %s:%d to %s:%d" % (NAT_OUT_IP, old, NAT_OUT_IP, new)],
             "exactly one nat_rebind, with the old and new ports: %s" % rebinds)
    rep = report(client, server, timers=["--keepalive-interval", str(KA)])
    home = [c for c in rep["clients"] if c["id"] == "home"][0]
    it.check([(r["old"], r["new"]) for r in home["nat_rebindings"]]
             == [("%s:%d" % (NAT_OUT_IP, old), "%s:%d" % (NAT_OUT_IP, new))], "report: the same rebinding")
    keep_logs(case, "rebind")


def blackhole(case):
    """Both directions dropped for several handshake timeouts: the client
    retries on schedule with rising ids and reconnects once the path is back."""
    server = case.server()
    client = case.client(FAST)
    it.wait_for(lambda: len(answers(client)) >= 1, timeout=10, what="a handshake")
    case.net.nft("add rule ip canary gate drop")
    time.sleep(0.1)
    mark = len(inits(client))
    it.wait_for(lambda: len(inits(client)) >= mark + 5, timeout=15, what="5 retries in the dark")
    case.net.nft("flush chain ip canary gate")
    dark = inits(client)[mark:mark + 5]
    it.check(dark == list(range(dark[0], dark[0] + 5)), "retries with ids rising by one: %s" % dark)
    stamps = [t for t, m in tx_times(client) if m["type"] == "handshake_init" and m["data"][0] in dark]
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    it.check(all(0.8 * HT <= g <= 2.0 * HT for g in gaps), "one retry per handshake timeout: %s" % gaps)
    heard = {m["data"][0] for _, _, m in server.packets("RX")}
    it.check(not heard & set(dark[1:]), "the server heard none of them")
    it.wait_for(lambda: answers(client)[-1] > dark[-1], timeout=10, what="reconnection")
    first_back = min(a for a in answers(client) if a > dark[-1])
    sent_after = [i for i in inits(client) if i > dark[-1]]
    it.check(first_back in sent_after[:2], "reconnects at the first or second init after the path returns")
    it.check(client.stop() == 0 and server.stop() == 0, "clean exits")


def outage_length(case):
    """A blackhole of known length: the client's live events report the
    outage within one handshake timeout of the truth."""
    length = 3.0
    timers = ["--keepalive-interval", str(KA), "--handshake-timeout", str(HT), "--keepalive-count", "2"]
    server = case.server(extra=timers)
    client = case.client(timers)
    it.wait_for(lambda: len(answers(client)) >= 3, timeout=10, what="3 handshakes")
    case.net.nft("add rule ip canary gate drop")
    time.sleep(length)
    case.net.nft("flush chain ip canary gate")
    it.wait_for(lambda: any(t.startswith("Outage over") for _, t in client.lines()), timeout=10, what="the end")
    ends = [t for _, t in client.lines() if t.startswith("Outage over")]
    starts = [t for _, t in client.lines() if t.startswith("Outage: ")]
    it.check(len(ends) == 1 and len(starts) == 1, "one outage: %s %s" % (starts, ends))
    told = float(ends[0].split()[3])
    it.check(abs(told - length) <= HT, "outage of %.1f s reported as %.1f s" % (length, told))
    silent = [t for _, t in server.lines() if t.startswith("Silent:")]
    back = [t for _, t in server.lines() if t.startswith("Back:")]
    it.check(len(silent) == 1 and len(back) == 1, "the server saw it too: %s %s" % (silent, back))
    it.check(client.stop() == 0 and server.stop() == 0, "clean exits")
    rep = report(client, server, timers=["--keepalive-interval", str(KA), "--keepalive-count", "2"])
    outages = [c for c in rep["clients"] if c["id"] == "home"][0]["outages"]
    it.check(len(outages) == 1 and abs(outages[0]["seconds"] - length) <= HT and outages[0]["seen_by"] == "both",
             "report: one outage of about %.1f s seen by both ends: %s" % (length, outages))
    keep_logs(case, "outage")
    print("# outage: a %.1f s blackhole reported live as %.1f s, by report as %.1f s"
          % (length, told, outages[0]["seconds"] if outages else -1))


def loss20(case):
    """20% loss from client to server, over at least 400 keepalives: the
    server's live loss events add up to 20% within 8 points, and to exactly
    what went missing between the two logs."""
    timers = ["--keepalive-interval", "0.02", "--handshake-timeout", "0.3"]
    server = case.server(extra=timers)
    case.net.nft('add rule ip canary gate iifname "n1" numgen random mod 100 < 20 drop')
    client = case.client(timers)
    kas = lambda: sum(1 for _, _, m in client.packets("TX") if m["type"] == "keepalive")  # noqa: E731
    it.wait_for(lambda: kas() >= 420, timeout=60, what="420 keepalives")
    client.stop()
    time.sleep(0.1)
    server.stop()
    # the last handshake is still open: its end has not been counted yet
    last_hs = max(m["data"][0] for _, _, m in server.packets("RX") if m["type"] == "handshake_init")
    lost = sum(int(t.split()[1]) for _, t in server.lines() if t.startswith("Lost ") and int(t.split()[-1]) < last_hs)
    got = sum(1 for _, _, m in server.packets("RX") if m["type"] == "keepalive" and m["data"][0] < last_hs)
    sent = [m for _, _, m in client.packets("TX") if m["type"] == "keepalive"]
    counted = [m for m in sent if m["data"][0] < last_hs]
    rx_all = [x for _, _, x in server.packets("RX")]
    # a handshake none of whose keepalives arrived is invisible to the
    # server's count (it cannot tell it from an answer lost): left out
    heard = {x["data"][0] for x in rx_all if x["type"] == "keepalive"}
    missing = sum(1 for m in counted if m["data"][0] in heard and m not in rx_all)
    if lost != missing:
        rx = [x for _, _, x in server.packets("RX")]
        for hs in sorted({m["data"][0] for m in counted}):
            miss = [m["data"][1] for m in counted if m["data"][0] == hs and m not in rx]
            said = [t for _, t in server.lines() if t.startswith("Lost ") and t.endswith(" %d" % hs)]
            told = sum(int(t.split()[1]) for t in said)
            if told != len(miss):
                print("# handshake %d: missing %s, events %s" % (hs, miss, said))
    rate = 100.0 * lost / (lost + got)
    it.check(abs(rate - 20) <= 8, "loss reported as %.1f%% of %d keepalives" % (rate, lost + got))
    it.check(lost == missing, "the events count exactly what went missing: %d vs %d" % (lost, missing))
    rep = report(client, server, timers=["--keepalive-interval", "0.02"])
    ratio = 100 * [c for c in rep["clients"] if c["id"] == "home"][0]["keepalives"]["loss_ratio"]
    it.check(abs(ratio - 20) <= 8, "report: loss %.1f%%" % ratio)
    keep_logs(case, "loss")
    print("# loss: 20%% dropped, reported live as %.1f%% of %d keepalives, by report as %.1f%%"
          % (rate, lost + got, ratio))


def tx_times(canary):
    """(seconds, message) of each TX line, from the log stamps."""
    return [(t, ast.literal_eval(p.group(3))) for t, text in it.stamped(canary.log)
            for p in [it.PACKET.match(text)] if p and p.group(1) == "TX"]


def loss30(case):
    """30% random loss each way: cycles keep completing, nothing crashes, and
    every packet one end logs as received was logged as sent by the other."""
    server = case.server()
    client = case.client(FAST)
    case.net.nft("add rule ip canary gate numgen random mod 100 < 30 drop")
    it.wait_for(lambda: len(answers(client)) >= 8, timeout=40, what="8 handshakes through the loss")
    it.check(client.proc.poll() is None and server.proc.poll() is None, "both alive")
    client.stop()
    server.stop()
    sent = [m for _, _, m in client.packets("TX")]
    got = [m for _, _, m in server.packets("RX")]
    it.check(all(m in sent for m in got), "every packet the server logged was sent")
    lost = 1 - len(got) / len(sent)
    it.check(0.1 < lost < 0.5, "about 30%% lost on the way: %.0f%% of %d" % (100 * lost, len(sent)))
    answered_by_server = [m for _, _, m in server.packets("TX")]
    it.check(all(m in answered_by_server for m in [m for _, _, m in client.packets("RX")]), "and back")


def sniff(ns, dev, port, out):
    """Captures the UDP payloads sent to port on dev inside ns, to out (hex
    lines); returns the process."""
    code = (
        "import socket,struct,sys\n"
        "s=socket.socket(socket.AF_PACKET,socket.SOCK_DGRAM,socket.htons(0x0800));s.bind((%r,0))\n"
        "f=open(%r,'w')\n"
        "while True:\n"
        " p=s.recv(65535);h=(p[0]&15)*4\n"
        " if p[9]==17 and struct.unpack('!H',p[h+2:h+4])[0]==%d: f.write(p[h+8:].hex()+'\\n');f.flush()\n"
    ) % (dev, out, port)
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code])


def restart_replay(case):
    """The server restarts (keeping its state): the client reconnects, and the
    handshakes captured on the wire before the restart get no answer after."""
    state = os.path.join(case.tmp, "state")
    os.mkdir(state)
    capture = os.path.join(case.tmp, "capture")
    tap = sniff(case.net.s, "s0", PORT, capture)
    time.sleep(0.3)
    server = case.server(extra=["--state-dir", state])
    client = case.client(FAST)
    it.wait_for(lambda: len(answers(client)) >= 2, timeout=10, what="2 handshakes")
    tap.send_signal(signal.SIGTERM)
    tap.wait()
    captured = [bytes.fromhex(l) for l in open(capture) if l.strip()]
    it.check(len(captured) >= 6, "traffic captured: %d packets" % len(captured))
    it.check(server.stop() == 0, "server stopped")
    before = len(answers(client))
    server2 = case.server(name="server2", extra=["--state-dir", state])
    it.wait_for(lambda: len(answers(client)) >= before + 1, timeout=10, what="reconnection after restart")
    tx_before = len(server2.packets("TX"))
    replayer = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                "for l in open(%r):\n s.sendto(bytes.fromhex(l.strip()),(%r,%d))\n") % (capture, SERVER_IP, PORT)
    case.net.ns(case.net.c, sys.executable, "-c", replayer)
    it.wait_for(lambda: len([t for _, t in server2.lines() if t.startswith("Replay from")]) >= 2,
                what="the replays logged")
    time.sleep(0.3)
    replies = [m for _, _, m in server2.packets("TX")][tx_before:]
    it.check(all(m["data"][0] > max(answers(client)[:before]) for m in replies),
             "no old handshake answered after the restart: %s" % replies)
    it.check(client.stop() == 0 and server2.stop() == 0, "clean exits")


CASES = [conntrack_flush, blackhole, loss30, restart_replay, outage_length, loss20]


if __name__ == "__main__":
    sys.exit(it.main(CASES, it.NetEnv, it.netns_unavailable))
