#!/usr/bin/env python3
"""udp-canary report on the recorded logs in tests/data (see record.py):
ours from a NAT namespace run (a flush, a 6 s blackhole, 25% loss), and the
original tool's format (a server stopped for about 3 s). Text, JSON, SVG;
unparsable lines counted, never fatal; --id; a missing file; a server's
own socket drops."""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

BIN = os.path.abspath(os.environ.get("UDP_CANARY", "build/src/udp-canary"))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
NETNS = [os.path.join(DATA, "netns-%s.log" % n) for n in ("server", "home", "office", "phone")]
ORIGINAL = [os.path.join(DATA, "original-%s.log" % n) for n in ("client", "server")]
FAST = ["--keepalive-interval", "0.2"]
ENV = dict(os.environ, TZ="UTC")
passed, failed = [], []


def check(cond, what):
    print(("ok - " if cond else "FAIL - ") + what)
    (passed if cond else failed).append(what)


def run(*args):
    return subprocess.run([BIN, "report"] + list(args), capture_output=True, text=True, env=ENV)


def as_json(*args):
    r = run("--json", *args)
    check(r.returncode == 0, "report --json exits 0 (%s)" % r.stderr.strip())
    return json.loads(r.stdout)


def netns_case():
    rep = as_json(*FAST, *NETNS)
    clients = {c["id"]: c for c in rep["clients"]}
    check(sorted(clients) == ["home", "office", "phone"], "three clients: %s" % sorted(clients))
    check(rep["skipped"] == 0 and rep["lines"] > 1500, "every line understood: %d" % rep["lines"])
    rebind_times = set()
    for cid, c in clients.items():
        check(c["seen_in"] == {"client_log": True, "server_log": True}, "%s seen at both ends" % cid)
        check(len(c["nat_rebindings"]) == 1, "%s: one rebinding (the flush)" % cid)
        rebind_times.add(round(c["nat_rebindings"][0]["time_unix"]))
        r = c["nat_rebindings"][0]
        check(r["old"] != r["new"] and r["old"].startswith("203.0.113.1:"), "%s: the NAT's old and new port" % cid)
        long = [o for o in c["outages"] if o["seconds"] > 3]
        check(len(long) == 1 and 6.0 <= long[0]["seconds"] <= 7.5 and long[0]["seen_by"] == "both",
              "%s: the 6 s blackhole, seen by both ends: %s" % (cid, long))
        check(c["keepalives"]["lost"] > 0 and 0.01 < c["keepalives"]["loss_ratio"] < 0.15,
              "%s: loss from the lossy 6 s: %s" % (cid, c["keepalives"]))
        check(0.6 < c["availability"] < 0.9, "%s: availability %.3f" % (cid, c["availability"]))
        check(c["handshakes"]["answered"] == c["handshakes"]["answered_by_server"],
              "%s: answers counted alike at both ends" % cid)
        check(c["rtt_ms"]["count"] == c["handshakes"]["answered"] and c["rtt_ms"]["max"] < 50,
              "%s: a round trip per answer" % cid)
    check(len(rebind_times) <= 2, "the rebindings happen together: %s" % rebind_times)

    text = run(*FAST, *NETNS)
    check(text.returncode == 0 and all("client '%s'" % c in text.stdout for c in clients), "text names the clients")
    check("NAT rebindings 1" in text.stdout and "both" in text.stdout, "text lists rebindings and outages")

    svg = os.path.join(tempfile.mkdtemp(), "t.svg")
    r = run(*FAST, "--svg", svg, *NETNS)
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    names = [t.text for t in root.iter(ns + "text") if t.get("class") == "name"]
    check(r.returncode == 0 and sorted(names) == ["'home'", "'office'", "'phone'"], "svg: one lane per client: %s" % names)
    marks = [p for p in root.iter(ns + "path") if p.get("class") == "rebind"]
    check(len(marks) == 1 + 3, "svg: the legend and a rebinding mark per client: %d" % len(marks))
    downs = [p for p in root.iter(ns + "rect") if p.get("class") in ("down", "down2")]
    check(len(downs) >= 3, "svg: outages drawn: %d" % len(downs))


def original_case():
    rep = as_json(*FAST, *ORIGINAL)
    check([c["id"] for c in rep["clients"]] == ["my-client-id"], "the original's logs: one client")
    c = rep["clients"][0]
    check(len(c["outages"]) == 1 and 2.5 <= c["outages"][0]["seconds"] <= 4.5,
          "the server's 3 s stop is one outage: %s" % c["outages"])
    check(c["nat_rebindings"] == [], "no rebinding on loopback")
    check(c["handshakes"]["sent"] > c["handshakes"]["answered"] > 5, "retries while the server was away")


def robustness_case():
    tmp = tempfile.mkdtemp()
    mixed = os.path.join(tmp, "mixed.log")
    with open(ORIGINAL[1]) as f:
        lines = f.readlines()
    junk = ["garbage\n", "[2024-13-45 99:99:99.999 udp-canary INFO] RX 1.2.3.4:5 {'id': 'x'}\n",
            "[2024-11-27 13:06:56.795 udp-canary INFO] RX 1.2.3.4:99999 {'id': 'x', 'type': 'keepalive', 'data': [1, 1]}\n",
            "[2024-11-27 13:06:56.795 udp-canary INFO] RX 1.2.3.4:5 {'id': 'x\\q', 'type': 'keepalive', 'data': [1, 1]}\n",
            "\xff\xfe binary \x00 bytes\n", "[" * 5000 + "\n"]
    with open(mixed, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.writelines(lines[:10] + junk + lines[10:])
    rep = as_json(*FAST, mixed)
    check(rep["skipped"] == len(junk), "unparsable lines counted: %d of %d" % (rep["skipped"], len(junk)))
    check(rep["lines"] == len(lines), "the rest read: %d" % rep["lines"])
    only = as_json(*FAST, "--id", "home", *NETNS)
    check([c["id"] for c in only["clients"]] == ["home"], "--id keeps one client")
    r = run(os.path.join(tmp, "nope.log"))
    check(r.returncode == 2 and "nope.log" in r.stderr and len(r.stderr.splitlines()) == 1,
          "a missing file: status 2, one line")
    r = run("--since", "yesterday", "--journal")
    check(r.returncode == 2 and "not a time" in r.stderr, "a bad --since: status 2")
    empty = os.path.join(tmp, "empty.log")
    open(empty, "w").close()
    check(as_json(empty)["clients"] == [], "an empty log: an empty report")


def socket_drops_case():
    """A server's own drops are summed, apart from the network's loss; a
    line that only looks like one is not counted."""
    tmp = tempfile.mkdtemp()
    log = os.path.join(tmp, "drops.log")
    with open(ORIGINAL[1]) as f:
        lines = f.readlines()
    text = " datagrams dropped here, the receive buffer full: the server did not keep up (not network loss)"
    stamp = lines[10][:lines[10].index(" udp-canary ")]
    warn = ["%s udp-canary WARNING] %s%s\n" % (stamp, n, text) for n in ("5123", "77", "12x", "")]
    with open(log, "w") as f:
        f.writelines(lines[:10] + warn + lines[10:])
    rep = as_json(*FAST, log)
    check(rep["socket_drops"] == 5123 + 77, "drops summed: %s" % rep["socket_drops"])
    check(as_json(*FAST, ORIGINAL[1])["socket_drops"] == 0, "none in a log without them")
    out = run(*FAST, log).stdout
    check("dropped at the server's own full socket: 5200 datagrams" in out, "the text report says so")


for case in (netns_case, original_case, robustness_case, socket_drops_case):
    try:
        case()
    except Exception as e:  # a crash of the test itself is a failure too
        check(False, "%s raised %r" % (case.__name__, e))
print("%d passed, %d failed" % (len(passed), len(failed)))
sys.exit(1 if failed else 0)
