#!/usr/bin/env python3
"""udp-canary report on several flows: generated logs of two clients (ids
home-v4 and home-v6, to the server's IPv4 and IPv6 address), each with its
own log, and the one server's log that heard both. The IPv4 flow broken
alone is this_flow_only with home-v6 up in its outage's others; both broken
at once, all_flows on both. A trace line in home-v4's log within its outage
is that outage's last_hop, and the finding names it. The same whether the
packets wait in a temporary file or in memory (the report's two passes).
The --html page gives each outage both, in its row and its tooltip, the
other flow's id escaped however it is spelled."""
import datetime
import html
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

ENV = dict(os.environ, TZ="UTC")
TMP = tempfile.mkdtemp()
T0 = datetime.datetime(2026, 11, 2, tzinfo=datetime.timezone.utc).timestamp()
SERVERS = {"home-v4": "198.51.100.1:43210", "home-v6": "[2001:db8::1]:43210"}
PEERS = {"home-v4": "192.0.2.1:20000", "home-v6": "[2001:db8:1::5]:43210"}
tally = it.Tally()
check = tally.check


def stamp(at):
    return datetime.datetime.fromtimestamp(T0 + at, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:23]


def flow(name, seconds, lost=(), ka=1.0, count=5, retry=1.0):
    """(client lines, server lines) of one flow, each (time, text); messages
    both ways lost in the spans `lost` (seconds from the start)."""
    cl, sv, t, hs = [], [], 0.0, 1795000000
    srv, peer = SERVERS[name], PEERS[name]

    def line(at, way, addr, kind, ctr):
        return (at, "[%s udp-canary INFO] %s %s {'id': '%s', 'type': '%s', 'data': [%d, %d]}" % (
            stamp(at), way, addr, name, kind, hs, ctr))

    while t < seconds:
        hs += 1
        cl.append(line(t, "TX", srv, "handshake_init", 0))
        if any(a <= t < b for a, b in lost):
            t += retry
            continue
        sv += [line(t + 0.002, "RX", peer, "handshake_init", 0), line(t + 0.002, "TX", peer, "handshake_response", 0)]
        cl.append(line(t + 0.004, "RX", srv, "handshake_response", 0))
        for i in range(1, count + 1):
            k = t + 0.005 + (i - 1) * ka
            cl.append(line(k, "TX", srv, "keepalive", i))
            if not any(a <= k < b for a, b in lost):
                sv.append(line(k + 0.002, "RX", peer, "keepalive", i))
        t += 0.006 + count * ka
    return cl, sv


def write(name, lines):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write("\n".join(text for _, text in sorted(lines, key=lambda x: x[0])) + "\n")
    return path


def logs(tag, v4_lost, v6_lost, trace_at=None):
    c4, s4 = flow("home-v4", 120, v4_lost)
    c6, s6 = flow("home-v6", 120, v6_lost)
    if trace_at is not None:
        c4.append((trace_at, "[%s udp-canary WARNING] Trace to %s after handshake 1795000001: 1 100.64.0.1, 2 *, "
                   "3 *; last hop that answered: 1 100.64.0.1, a carrier NAT (RFC 6598 shared address)"
                   % (stamp(trace_at), SERVERS["home-v4"])))
    return [write("%s-v4.log" % tag, c4), write("%s-v6.log" % tag, c6), write("%s-server.log" % tag, s4 + s6)]


def report(*args, env=ENV):
    r = subprocess.run(it.WRAP + [it.BIN, "report"] + list(args), capture_output=True, text=True, env=env)
    check(r.returncode == 0, "report %s exits 0 %s" % (args[0], r.stderr.strip()))
    return r.stdout


def client(rep, name):
    return next(c for c in rep["clients"] if c["id"] == name)


def kinds(c):
    return [f["kind"] for f in c["findings"]]


def alone_case():
    paths = logs("alone", [(40, 50)], [], trace_at=45)
    rep = json.loads(report("--json", *paths))
    v4, v6 = client(rep, "home-v4"), client(rep, "home-v6")
    check(len(v4["outages"]) == 1 and v6["outages"] == [], "one outage, home-v4's: %d, %d" % (
        len(v4["outages"]), len(v6["outages"])))
    if not v4["outages"]:
        return
    o = v4["outages"][0]
    check(o.get("others") == [{"id": "home-v6", "server": SERVERS["home-v6"], "state": "up"}],
          "home-v6 up in its others: %s" % o.get("others"))
    hop = o.get("last_hop") or {}
    check(hop.get("address") == "100.64.0.1" and hop.get("hop") == 1 and hop.get("hops") == ["100.64.0.1", None, None],
          "its last hop, the carrier NAT: %s" % hop)
    check("this_flow_only" in kinds(v4) and "all_flows" not in kinds(v4), "this_flow_only: %s" % kinds(v4))
    only = [f for f in v4["findings"] if f["kind"] == "this_flow_only"]
    check(only and only[0]["text"].startswith("IPv4 only, while IPv6") and only[0]["evidence"]["flows_up"] == 1,
          "it names the families: %s" % (only[0]["text"] if only else None))
    check(any("last hop that answered was 100.64.0.1 (hop 1), a carrier NAT" in f["text"] for f in v4["findings"]),
          "the outage's finding names the last hop")
    text = report(*paths)
    check("others: home-v6 up" in text, "the text says what the other flow did")
    nowhere = dict(ENV, TMPDIR=os.path.join(TMP, "not-there"))
    a = report("--json", *paths)
    b = subprocess.run([it.BIN, "report", "--json"] + paths, capture_output=True, text=True, env=nowhere).stdout
    check(a == b, "the same with the packets in a file and in memory")


def html_case():
    """The page's outage row and tooltip say what the text says under the
    outage: the last hop and the other flows, the ids escaped."""
    hostile = "<b>v6&amp;</b>"
    paths = logs("html", [(40, 50)], [], trace_at=45)
    for path in paths:
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("'home-v6'", repr(hostile)))
    page = report("--html", "-", *paths)
    said = report(*paths)
    hop = "the last hop that answered was 100.64.0.1 (hop 1), a carrier NAT address"
    others = "others: %s up" % hostile
    check(hop in said and others in said, "the text says both: %s" % said[:0])
    check("<b>" not in page and html.escape(others) in page, "html: the other flow named, its id escaped")
    sections = page.split("<section")[1:]
    v4 = next((x for x in sections if "<h2>client &#39;home-v4&#39;</h2>" in x), "")
    rows = re.findall(r'<tr class="num">(.*?)</tr>', v4)
    outage_row = [r for r in rows if html.escape(others) in r]
    check(len(outage_row) == 1 and html.escape(hop) in outage_row[0] and "<th>last hop</th><th>other flows</th>" in v4,
          "html: home-v4's outage row has its last hop and other flows: %s" % outage_row)
    tips = [html.unescape(t) for t in re.findall(r'class="(?:c2s|s2c|both|unknown)"><title>([^<]*)</title>', v4)]
    check(len(tips) == 1 and all(others in t and hop[0].upper() + hop[1:] in t for t in tips),
          "html: its tooltip names the other flows and the last hop: %s" % tips)


def both_case():
    paths = logs("both", [(40, 50)], [(40, 50)])
    rep = json.loads(report("--json", *paths))
    for name in SERVERS:
        c = client(rep, name)
        check("all_flows" in kinds(c) and "this_flow_only" not in kinds(c), "%s: all_flows %s" % (name, kinds(c)))
        check(all(o["others"][0]["state"] == "down" and o["last_hop"] is None for o in c["outages"]) and c["outages"],
              "%s: the other down, no trace" % name)


for case in (alone_case, html_case, both_case):
    try:
        case()
    except Exception as e:  # a crash of the test itself is a failure too
        check(False, "%s raised %r" % (case.__name__, e))
sys.exit(tally.finish())
