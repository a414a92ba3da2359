#!/usr/bin/env python3
"""Where a dead flow stops, in network namespaces this test creates (root,
and a kernel that lets it make them: exit 77 otherwise, saying why): a
client behind a carrier NAT (nftables masquerade with random ports, its
inside in 100.64.0.0/10 as a CG-NAT's is), a router, and the server.

    client ns         nat ns                       router ns                       server ns
    100.64.0.2 --- 100.64.0.1 | 192.0.2.1 --- 192.0.2.2 | 203.0.113.1 --- 203.0.113.2:43210

The NAT's and the router's kernels answer every expired TTL
(net.ipv4.icmp_ratelimit=0: the default limit of one ICMP error per second
and destination would turn hops into "*" at random). Cases: a blackhole in
the NAT's forward chain gives the NAT as the last hop; one on the router
gives the router; only the server's answers dropped on the router lets
the copies reach the server, which logs them and ignores them (no replay,
no invalid datagram, no rebinding); over IPv6 (2001:db8:1::/64 to
2001:db8:3::/64, routed, no NAT), a blackhole on the router gives the
router. Namespaces are named tr24-*, removed
afterwards, also when a case fails.
Run one: tests/netns-trace.py nat_blackhole"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

KA, HT = 0.2, 0.5  # keepalive interval and handshake timeout, seconds
# a trace at start (a slow first handshake is an outage too) must not use
# up the interval before the case's own outage
FAST = ["--keepalive-interval", str(KA), "--handshake-timeout", str(HT), "--trace-interval", "1"]
CLIENT_IP, NAT_IN_IP, NAT_OUT_IP, ROUTER_IP = "100.64.0.2", "100.64.0.1", "192.0.2.1", "192.0.2.2"
# IPv6 beside it, routed without NAT (RFC 3849 documentation prefix)
V6 = {"c0": "2001:db8:1::2", "n1": "2001:db8:1::1", "n2": "2001:db8:2::1", "r1": "2001:db8:2::2",
      "r2": "2001:db8:3::1", "s0": "2001:db8:3::2"}
HOP_TIMEOUT = 1.0  # core/trace.h TRACE_HOP_TIMEOUT_US
SILENT_STOP = 3    # core/trace.h TRACE_SILENT_STOP
NO_ICMP_LIMIT, NO_ICMP6_LIMIT = "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"
TRACE = re.compile(r"^Trace to (\S+) after handshake (\d+): (.*?); (last hop that answered: (\d+) (\S+?)(, .*)?"
                   r"|no hop answered)$")


class Net4(it.Net):
    """canary_test.Net with a router between the NAT and the server, and
    no ICMP rate limit in the NAT or the router."""

    def _build(self):
        at = next(i for i, (a, b) in enumerate(zip(self.c, self.s)) if a != b)  # prefix + c|n|s + tag
        self.r = self.s[:at] + "r" + self.s[at + 1:]
        for ns in (self.c, self.n, self.r, self.s):
            it.sh("ip", "netns", "add", ns)
            self.ns(ns, "ip", "link", "set", "lo", "up")
            # no duplicate address detection: the link-local addresses that
            # neighbour discovery needs would be unusable for a second or two
            self.ns(ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
        it.sh("ip", "link", "add", "c0", "netns", self.c, "type", "veth", "peer", "name", "n1", "netns", self.n)
        it.sh("ip", "link", "add", "n2", "netns", self.n, "type", "veth", "peer", "name", "r1", "netns", self.r)
        it.sh("ip", "link", "add", "r2", "netns", self.r, "type", "veth", "peer", "name", "s0", "netns", self.s)
        for ns, dev, addr in ((self.c, "c0", CLIENT_IP), (self.n, "n1", NAT_IN_IP), (self.n, "n2", NAT_OUT_IP),
                              (self.r, "r1", ROUTER_IP), (self.r, "r2", "203.0.113.1"),
                              (self.s, "s0", it.SERVER_IP)):
            self.ns(ns, "ip", "addr", "add", addr + "/24", "dev", dev)
            self.ns(ns, "ip", "link", "set", dev, "up")
        for ns, dev in ((self.c, "c0"), (self.n, "n1"), (self.n, "n2"), (self.r, "r1"), (self.r, "r2"),
                        (self.s, "s0")):
            self.ns(ns, "ip", "-6", "addr", "add", V6[dev] + "/64", "dev", dev, "nodad")
        for ns, via in ((self.c, V6["n1"]), (self.n, V6["r1"]), (self.s, V6["r2"])):
            self.ns(ns, "ip", "-6", "route", "add", "default", "via", via)
        self.ns(self.r, "ip", "-6", "route", "add", "2001:db8:1::/64", "via", V6["n2"])
        self.ns(self.c, "ip", "route", "add", "default", "via", NAT_IN_IP)
        self.ns(self.n, "ip", "route", "add", "default", "via", ROUTER_IP)
        self.ns(self.s, "ip", "route", "add", "default", "via", "203.0.113.1")
        for ns in (self.n, self.r):
            self.ns(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            self.ns(ns, "sysctl", "-qw", NO_ICMP_LIMIT)
            self.ns(ns, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
            self.ns(ns, "sysctl", "-qw", NO_ICMP6_LIMIT)
            self.ns(ns, "nft", "add table ip canary")
            self.ns(ns, "nft", "add chain ip canary gate { type filter hook forward priority 0 ; }")
            self.ns(ns, "nft", "add table ip6 canary")
            self.ns(ns, "nft", "add chain ip6 canary gate { type filter hook forward priority 0 ; }")
        self.nft("add chain ip canary post { type nat hook postrouting priority 100 ; }")
        self.nft('add rule ip canary post oifname "n2" masquerade fully-random')

    def router_nft(self, rule):
        self.ns(self.r, "nft", rule)

    def close(self):
        super().close()
        if hasattr(self, "r"):
            it.sh("ip", "netns", "del", self.r, check=False)


class Case(it.NetEnv):
    def __init__(self):
        super().__init__("tr24-", net=Net4)


def answers(client):
    return [m["data"][0] for _, _, m in client.packets("RX") if m["type"] == "handshake_response"]


def traces(client):
    return [t for _, t in client.lines() if t.startswith("Trace to ")]


def parse(line):
    """(handshake, hops as addresses or None, (last TTL, last address) or None)."""
    m = TRACE.match(line)
    it.check(m, "a trace line in its format: %r" % line)
    hops = []
    for i, part in enumerate(m.group(3).split(", ")):
        ttl, addr = part.split(" ")
        it.check(int(ttl) == i + 1, "TTLs in order: %r" % line)
        hops.append(None if addr == "*" else addr)
    last = (int(m.group(5)), m.group(6)) if m.group(5) else None
    return int(m.group(2)), hops, last


def trace_in_the_dark(case, block, v6=False):
    """Runs a client and the server (over IPv6: both families served, the
    client to the server's IPv6 address), blocks the path with block(),
    waits for the trace and the reconnection after unblocking; the server,
    the client, the trace's hops, its last hop and its line."""
    if v6:
        server = case.server(extra=["--host", "::"])
        client = case.start("client", case.net.c, ["--client", "--id", "home", "--host", V6["s0"], "--port",
                                                   str(it.PORT), "--key-file", case.key_file] + FAST)
    else:
        server = case.server()
        client = case.client(FAST)
    it.wait_for(lambda: len(answers(client)) >= 2, timeout=10, what="2 handshakes")
    before = len(traces(client))
    block(True)
    # the inits left unanswered, then 3 silent hops of 1 s each and those before
    it.wait_for(lambda: traces(client)[before:], timeout=3 * HT + 8 * HOP_TIMEOUT + 5, what="a trace line")
    block(False)
    it.wait_for(lambda: any(t.startswith("Outage over") for _, t in client.lines()), timeout=10,
                what="the reconnection")
    it.check(client.stop() == 0 and server.stop() == 0, "clean exits")
    lines = [t for _, t in client.lines()]
    found = traces(client)[before:]
    it.check(len(found) == 1, "one trace per outage: %s" % found)
    at = lines.index(found[0])
    unanswered = [t for t in lines[:at] if t.startswith("No answer to handshake")]
    it.check(len(unanswered) >= 2, "traced after two unanswered handshakes: %s" % unanswered)
    hs, hops, last = parse(found[0])
    inits = [m["data"][0] for _, _, m in client.packets("TX") if m["type"] == "handshake_init"]
    it.check(hs in inits and hs > answers(client)[1], "after an init sent in the dark: %d" % hs)
    copies = [m for _, _, m in client.packets("TX") if m["type"] == "trace" and m["data"][0] == hs]
    it.check([m["data"][1] for m in copies] == list(range(1, len(hops) + 1)),
             "a TX line for each copy, TTL 1 to %d: %s" % (len(hops), copies))
    print("# %s" % found[0])
    return server, client, hops, last, found[0]


def check_silent_tail(hops, answered):
    it.check(hops[:answered] == [h for h in hops[:answered] if h], "the hops before answered: %s" % hops)
    it.check(hops[answered:] == [None] * SILENT_STOP, "then %d silent and the end: %s" % (SILENT_STOP, hops))


def nat_blackhole(case):
    """Everything dropped in the NAT's forward chain: the NAT still answers
    TTL 1 (the TTL runs out before the chain), nothing past it: the NAT,
    at its inside address in 100.64.0.0/10, is the last hop that answered,
    called a carrier NAT."""
    def block(on):
        case.net.nft("add rule ip canary gate drop" if on else "flush chain ip canary gate")
    server, client, hops, last, line = trace_in_the_dark(case, block)
    it.check(hops[0] == NAT_IN_IP, "hop 1 is the NAT: %s" % hops)
    check_silent_tail(hops, 1)
    it.check(last == (1, NAT_IN_IP), "the last hop that answered is the NAT: %s" % (last,))
    it.check(line.endswith("a carrier NAT (RFC 6598 shared address)"), "called a carrier NAT: %s" % line)
    it.check(not [m for _, _, m in server.packets("RX") if m["type"] == "trace"], "no copy got through")


def router_blackhole(case):
    """Everything dropped in the router's forward chain: the NAT answers
    TTL 1, the router TTL 2 (its answer NATed back to the client), then
    silence: the router is the last hop, and is no carrier NAT."""
    def block(on):
        case.net.router_nft("add rule ip canary gate drop" if on else "flush chain ip canary gate")
    server, client, hops, last, line = trace_in_the_dark(case, block)
    it.check(hops[:2] == [NAT_IN_IP, ROUTER_IP], "the NAT, then the router: %s" % hops)
    check_silent_tail(hops, 2)
    it.check(last == (2, ROUTER_IP), "the last hop that answered is the router: %s" % (last,))
    it.check("carrier NAT" not in line, "the router is not called a carrier NAT: %s" % line)


def answers_dropped(case):
    """Only the server's answers dropped, on the router: the copies with TTL
    3 and more reach the server, which logs each as RX and ignores it: no
    replay, no invalid datagram, no rebinding, nothing sent back."""
    def block(on):
        case.net.router_nft("add rule ip canary gate ip saddr %s drop" % it.SERVER_IP if on
                            else "flush chain ip canary gate")
    server, client, hops, last, line = trace_in_the_dark(case, block)
    it.check(hops[:2] == [NAT_IN_IP, ROUTER_IP], "the NAT, then the router: %s" % hops)
    check_silent_tail(hops, 2)
    got = [m for _, _, m in server.packets("RX") if m["type"] == "trace"]
    it.check([m["data"][1] for m in got] == [3, 4, 5], "the server got the copies with TTL 3 to 5: %s" % got)
    sent = [m for _, _, m in client.packets("TX")]
    it.check(all(m in sent for m in got), "each logged as sent by the client")
    texts = [t for _, t in server.lines()]
    bad = [t for t in texts if t.startswith(("Replay", "NAT rebinding", "Refused")) or "[InvalidMessage]" in t]
    it.check(not bad, "a trace is neither a replay, an attack nor a new address: %s" % bad)
    answers_sent = [m for _, _, m in server.packets("TX") if m["type"] != "handshake_response"]
    it.check(not answers_sent, "nothing but handshake responses sent: %s" % answers_sent)


def router_blackhole_v6(case):
    """The same over IPv6, routed without NAT: hop limits on the datagram,
    ICMPv6 time-exceeded from the error queue; the router is the last hop."""
    def block(on):
        case.net.router_nft("add rule ip6 canary gate drop" if on else "flush chain ip6 canary gate")
    server, client, hops, last, line = trace_in_the_dark(case, block, v6=True)
    it.check(hops[:2] == [V6["n1"], V6["r1"]], "the first router, then the second: %s" % hops)
    check_silent_tail(hops, 2)
    it.check(last == (2, V6["r1"]), "the last hop that answered is the router: %s" % (last,))
    it.check(line.startswith("Trace to [%s]:%d " % (V6["s0"], it.PORT)), "to the server's IPv6 address: %s" % line)


CASES = [nat_blackhole, router_blackhole, answers_dropped, router_blackhole_v6]


if __name__ == "__main__":
    sys.exit(it.main(CASES, Case, it.netns_unavailable))
