#!/usr/bin/env python3
"""udp-canary report, scored against the truth: the original udp-canary.py's
logs of a 60 s NAT scenario (tests/data/original-scenario: a flush, a drop
both ways, one to the client, one to the server, 30% loss; truth.json has the
times) read as both logs, the client's alone, the server's alone, and with the
server's clock moved by +1 h 0 min 7.3 s (and the client's by an hour, as a
CET log read next to a UTC one). Then ours (tests/data/netns-*.log, the old
"TX server" form), and what users hand it: .gz, --since/--until, --id,
--svg -, hostile lines."""
import datetime
import gzip
import html
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

BIN = it.BIN
DATA = os.path.join(it.HERE, "data")
SCEN = os.path.join(DATA, "original-scenario")
CLIENT, SERVER = os.path.join(SCEN, "client.log"), os.path.join(SCEN, "server.log")
NETNS = [os.path.join(DATA, "netns-%s.log" % n) for n in ("server", "home", "office", "phone")]
ENV = dict(os.environ, TZ="UTC")  # the scenario's stamps are UTC
TMP = tempfile.mkdtemp()
with open(os.path.join(SCEN, "truth.json")) as f:
    TRUTH = json.load(f)
KA = TRUTH["keepalive_interval"]
HT = TRUTH["handshake_timeout"]
DROPS = [e for e in TRUTH["events"] if e["event"] == "drop"]
LOSS = [e for e in TRUTH["events"] if e["event"] == "loss"]
FLUSHES = [e for e in TRUTH["events"] if e["event"] == "flush"]
SLACK = 0.002  # the stamps are to the millisecond
tally = it.Tally()
check = tally.check


def run(*args, env=ENV, wrap=True):
    """The report, under $UDP_CANARY_WRAPPER (valgrind) when set and wrap, as
    the daemon's tests run it: valgrind's findings fail it (status 97)."""
    return subprocess.run((it.WRAP if wrap else []) + [BIN, "report"] + list(args), capture_output=True, text=True,
                          env=env)


def as_json(*args, env=ENV):
    r = run("--json", *args, env=env)
    check(r.returncode == 0, "report --json %s exits 0 %s" % (" ".join(os.path.basename(a) for a in args),
                                                               r.stderr.strip()))
    return json.loads(r.stdout)


def shifted(path, seconds, name):
    """A copy of a log with every stamp moved by `seconds`."""
    out = os.path.join(TMP, name)
    with open(path) as f, open(out, "w") as g:
        for line in f:
            t = datetime.datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S.%f") + datetime.timedelta(seconds=seconds)
            g.write("[" + t.strftime("%Y-%m-%d %H:%M:%S.%f")[:23] + line[24:])
    return out


def overlaps(o, a, b):
    return o["start_unix"] < b and a < o["end_unix"]


def expected_dirs(drop, one_log):
    if one_log == "client":
        return {"unknown"}
    # a full blackhole shows as client_to_server (the server sends nothing it did not hear) or both
    return {"both": {"both", "client_to_server"}, "to_client": {"server_to_client"},
            "to_server": {"client_to_server"}}[drop["direction"]]


def score(rep, label, shift=0.0, one_log=None):
    """Every drop found once, in the right direction, the truth inside the
    bounds, the best estimate near; nothing false outside the loss window;
    one rebinding per flush (not visible in a client log)."""
    c = [c for c in rep["clients"] if c["id"] == TRUTH["client_id"]]
    check(len(c) == 1, "%s: the client %s" % (label, TRUTH["client_id"]))
    if not c:
        return
    c = c[0]
    outs = c["outages"]
    for d in DROPS:
        a, b = d["start"] + shift, d["end"] + shift
        hits = [o for o in outs if overlaps(o, a, b)]
        what = "%s: the %s drop %.1f..%.1f s" % (label, d["direction"], d["start"] % 100, d["end"] % 100)
        check(len(hits) == 1, "%s found once: %d" % (what, len(hits)))
        if len(hits) != 1:
            continue
        o = hits[0]
        check(o["direction"] in expected_dirs(d, one_log), "%s: direction %s" % (what, o["direction"]))
        check(o["start_min_unix"] - SLACK <= a <= o["start_max_unix"] + SLACK,
              "%s: start inside %.3f..%.3f" % (what, o["start_min_unix"] % 100, o["start_max_unix"] % 100))
        check(o["end_min_unix"] - SLACK <= b <= o["end_max_unix"] + SLACK,
              "%s: end inside %.3f..%.3f" % (what, o["end_min_unix"] % 100, o["end_max_unix"] % 100))
        check(o["seconds_min"] - SLACK <= b - a <= o["seconds_max"] + SLACK,
              "%s: %.3f s inside %.3f..%.3f s" % (what, b - a, o["seconds_min"], o["seconds_max"]))
        if one_log != "client":
            tol = max(KA, HT)
            check(abs(o["start_unix"] - a) <= tol and abs(o["end_unix"] - b) <= tol,
                  "%s: estimate %.3f..%.3f within %.0f s of the truth" % (what, o["start_unix"] % 100,
                                                                          o["end_unix"] % 100, tol))
    in_loss = []
    for o in outs:
        if any(overlaps(o, d["start"] + shift, d["end"] + shift) for d in DROPS):
            continue
        if any(overlaps(o, l["start"] + shift - KA, l["end"] + shift + KA) for l in LOSS):
            in_loss.append(o)
            continue
        check(False, "%s: a false outage %s" % (label, o))
    print("# %s: %d outage(s) inside the 30%% loss window: %s" % (
        label, len(in_loss), ["%.1f s %s, %d lost" % (o["seconds"], o["direction"], o["lost_messages"])
                              for o in in_loss]))
    if one_log == "client":
        check(c["nat_rebindings"] is None and "not visible in a client log" in c["summary"],
              "%s: rebindings not visible, said so" % label)
    else:
        rb = c["nat_rebindings"]
        check(len(rb) == len(FLUSHES), "%s: one rebinding per flush: %d" % (label, len(rb)))
        for r, fl in zip(rb, FLUSHES):
            check(fl["time"] + shift <= r["time_unix"] + SLACK <= fl["time"] + shift + 2 * KA and r["old"] != r["new"],
                  "%s: the rebinding just after the flush: %s" % (label, r))
    return c


def original_cases():
    both = score(as_json(CLIENT, SERVER), "both logs")
    if both:
        check(both["clock_offset_seconds"] is not None and abs(both["clock_offset_seconds"]) < 0.003,
              "both logs: one clock: offset %s" % both["clock_offset_seconds"])
        check(abs(both["timers"]["keepalive_interval_seconds"] - KA) < 0.05 and both["timers"]["keepalive_learned"],
              "timers learned from the log: %s" % both["timers"])
        check(abs(both["timers"]["handshake_timeout_seconds"] - HT) < 0.05, "the retry learned too")
        d = both["delivery"]
        check(d["client_to_server"]["lost"] > 0 and d["server_to_client"]["lost"] >= 3 and
              all(x["sent"] == x["received"] + x["lost"] for x in d.values()), "delivery per direction: %s" % d)
        check(both["seen_in"] == {"client_log": True, "server_log": True}, "roles from content")
        check(both["rtt_ms"]["exact"] is True and both["rtt_ms"]["count"] > 0, "round trips exact: %s" % both["rtt_ms"])
    c = score(as_json(CLIENT), "client log", one_log="client")
    if c:
        check(c["clock_offset_seconds"] is None and c["delivery"]["client_to_server"] is None,
              "client log: what it cannot tell is null")
        check(c["seen_in"] == {"client_log": True, "server_log": False}, "client log: its role from content")
    s = score(as_json(SERVER), "server log", one_log="server")
    if s:
        check(s["rtt_ms"] is None and s["delivery"]["server_to_client"] is None, "server log: no round trips")
        check(s["seen_in"] == {"client_log": False, "server_log": True}, "server log: its role from content")
    moved = 3600 + 7.3
    c = score(as_json(CLIENT, shifted(SERVER, moved, "server-moved.log")), "server clock +1 h 0 min 7.3 s")
    if c:
        check(abs(c["clock_offset_seconds"] - moved) < 0.003, "the offset found: %s" % c["clock_offset_seconds"])
    # a client log in CET read next to a server log in UTC: times are the client's
    c = score(as_json(shifted(CLIENT, 3600, "client-cet.log"), SERVER), "client log in CET", shift=3600)
    if c:
        check(abs(c["clock_offset_seconds"] + 3600) < 0.003, "CET: offset %s" % c["clock_offset_seconds"])
    text = run(CLIENT, SERVER).stdout
    check("<1 ms" in text and " 0 ms" not in text, "round trips at the log's resolution")
    check("summary       home, 59 s: availability" in text, "a summary line for a ticket")
    check("NAT rebindings: not visible in a client log" in run(CLIENT).stdout, "the client log cannot show rebindings")


def netns_case():
    """Ours, the old form ('TX server'): three clients, a flush, a 6 s blackhole."""
    rep = as_json(*NETNS)
    clients = {c["id"]: c for c in rep["clients"]}
    check(sorted(clients) == ["home", "office", "phone"], "three clients: %s" % sorted(clients))
    check(rep["skipped"] == 0 and rep["version"] == 2, "every line understood, version 2")
    for cid, c in clients.items():
        check(c["seen_in"] == {"client_log": True, "server_log": True}, "%s seen at both ends" % cid)
        check(len(c["nat_rebindings"]) == 1 and c["nat_rebindings"][0]["old"].startswith("203.0.113.1:"),
              "%s: one rebinding (the flush)" % cid)
        long = [o for o in c["outages"] if o["seconds"] > 3]
        check(len(long) == 1 and long[0]["seconds_min"] <= 6.0 <= long[0]["seconds_max"],
              "%s: the 6 s blackhole inside its bounds: %s" % (cid, long))
        check(0.6 < c["availability"] < 0.95, "%s: availability %.3f" % (cid, c["availability"]))


def refpeer_case():
    """tests/refpeer.py's logs (the original's format) with the server stopped
    for about 3 s: an outage, marked as the server not running."""
    rep = as_json(os.path.join(DATA, "refpeer-client.log"), os.path.join(DATA, "refpeer-server.log"))
    c = rep["clients"][0]
    check([o["server_stopped"] for o in c["outages"]] == [True] and 2.5 <= c["outages"][0]["seconds"] <= 4.5,
          "the server's 3 s stop: one outage, the server not running: %s" % c["outages"])
    check(c["nat_rebindings"] == [] and "0 outages, 1 while the server was not running" in c["summary"],
          "no rebinding on loopback, the summary tells the stop apart: %s" % c["summary"])


def svg_case():
    r = run("--svg", "-", CLIENT, SERVER)
    check(r.returncode == 0 and r.stdout.startswith("<svg"), "--svg - writes the picture to standard output")
    root = ET.fromstring(r.stdout)
    ns = "{http://www.w3.org/2000/svg}"
    rects = [x for x in root.iter(ns + "rect")]
    classes = [x.get("class") for x in rects]
    check(classes.count("c2s") >= 3 + 1 and classes.count("s2c") >= 1 + 1, "svg: the directions drawn (and in the legend)")
    check("unknown" not in classes and "both" not in classes, "svg: a legend only for what is drawn")
    check(all(float(x.get("width", "3")) >= 3 for x in rects if x.get("class") in ("c2s", "s2c")),
          "svg: every outage at least 3 px wide")
    width = float(root.get("width"))
    labels = [t for t in root.iter(ns + "text") if t.get("class") == "label"]
    check(len(labels) >= 3 and all(0 <= float(t.get("x")) <= width for t in labels), "svg: durations, inside")
    check(any("server log" in (t.text or "") or "both logs" in (t.text or "") for t in labels), "svg: which end saw it")
    # a name cut on a character boundary, escaped
    log = os.path.join(TMP, "name.log")
    name = "<é&" + "ü" * 40
    with open(SERVER) as f, open(log, "w") as g:
        g.write(f.read().replace("'home'", "'%s'" % name))
    r = run("--svg", "-", log)
    root = ET.fromstring(r.stdout)  # parses: escaped, whole characters
    names = [t.text for t in root.iter(ns + "text") if t.get("class") == "name"]
    check(len(names) == 1 and names[0].startswith("<é&ü") and names[0].endswith("…") and len(names[0]) < 30,
          "svg: a long name cut on UTF-8 boundaries, escaped: %r" % names)


def files_case():
    gz = os.path.join(TMP, "server.log.1.gz")
    with open(SERVER, "rb") as f, gzip.open(gz, "wb") as g:
        g.write(f.read())
    a, b = as_json(CLIENT, SERVER), as_json(CLIENT, gz)
    check(a["clients"] == b["clients"], "a .gz log reads as the plain one")
    r = run("--id", "nobody", CLIENT, SERVER)
    check(r.returncode == 1 and "nobody" in r.stderr, "an --id that matches nothing: status 1")
    check([c["id"] for c in as_json("--id", "home", *NETNS)["clients"]] == ["home"], "--id keeps one client")
    cut = as_json("--since", "2026-11-25 11:43:10", "--until", "2026-11-25 11:43:30", CLIENT, SERVER)
    c = cut["clients"][0]
    check(c["period"]["start_unix"] >= TRUTH["events"][1]["start"] + 7 and len(c["outages"]) == 2,
          "--since/--until on files: %s, %d outages" % (c["period"]["start"], len(c["outages"])))
    r = run(os.path.join(TMP, "nope.log"))
    check(r.returncode == 2 and "nope.log" in r.stderr and len(r.stderr.splitlines()) == 1, "a missing file: status 2")
    r = run("--since", "yesterday", CLIENT)
    check(r.returncode == 2 and "not a time" in r.stderr, "a bad --since: status 2")
    # one file given twice (by a link too) is read once, and said so: its
    # every message counted twice would read as sent twice, half of it lost
    # (a copy in TMP first: a hard link cannot cross file systems)
    mine, link = os.path.join(TMP, "server-mine.log"), os.path.join(TMP, "server-again.log")
    shutil.copyfile(SERVER, mine)
    if not os.path.exists(link):
        os.link(mine, link)
    r = run("--json", CLIENT, mine, link, mine)
    twice = json.loads(r.stdout) if r.returncode == 0 else {}
    check(r.returncode == 0 and twice.get("clients") == a["clients"] and twice["lines"] == a["lines"] and
          r.stderr.count("read once") == 2, "a file given twice is read once: %s" % r.stderr.strip())


def hostile_case():
    mixed = os.path.join(TMP, "mixed.log")
    with open(SERVER) as f:
        lines = f.readlines()
    junk = ["garbage\n", "[2024-13-45 99:99:99.999 udp-canary INFO] RX 1.2.3.4:5 {'id': 'x'}\n",
            "[2024-11-27 13:06:56.795 udp-canary INFO] RX 1.2.3.4:99999 {'id': 'x', 'type': 'keepalive', 'data': [1, 1]}\n",
            "[2024-11-27 13:06:56.795 udp-canary INFO] RX 1.2.3.4:5 {'id': 'x\\q', 'type': 'keepalive', 'data': [1, 1]}\n",
            "\xff\xfe binary \x00 bytes\n", "[" * 5000 + "\n"]
    # a step back in time (a DST change) in the middle of the log
    step = [l.replace("2026-11-25 11:43", "2026-11-25 10:43") for l in lines[40:]]
    with open(mixed, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.writelines(lines[:10] + junk + lines[10:40] + step)
    rep = as_json(mixed)
    check(rep["skipped"] == len(junk), "unparsable lines counted: %d of %d" % (rep["skipped"], len(junk)))
    c = rep["clients"][0]
    nums = [o["seconds"] for o in c["outages"]] + [o["seconds_min"] for o in c["outages"]]
    check(all(0 <= x < 3600 for x in nums) and c["period"]["seconds"] < 3600,
          "a step back in time: no wrapped numbers: %s" % nums)
    big = os.path.join(TMP, "big.log")
    with open(big, "w") as f:
        f.writelines(lines[:5])
        f.write("[2026-11-25 11:43:00.000 udp-canary INFO] RX ")
        for _ in range(64):
            f.write("9" * (1 << 20))
        f.write("\n")
        f.writelines(lines[5:])
    p = subprocess.Popen([BIN, "report", "--json", big], stdout=subprocess.PIPE, env=ENV)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    rep = json.loads(out)
    check(status == 0 and rep["skipped"] == 1 and rep["lines"] == len(lines), "a 64 MiB line skipped, the rest read")
    check(usage.ru_maxrss < 32 * 1024, "a 64 MiB line costs no 64 MiB: max RSS %d KiB" % usage.ru_maxrss)
    empty = os.path.join(TMP, "empty.log")
    open(empty, "w").close()
    check(as_json(empty)["clients"] == [], "an empty log: an empty report")
    # what is not a log file: a directory, a FIFO (which must not hang it)
    fifo = os.path.join(TMP, "fifo")
    os.mkfifo(fifo, 0o600)
    for path, says in ((TMP, "Is a directory"), (fifo, "not a regular file")):
        r = subprocess.run([BIN, "report", path], capture_output=True, text=True, env=ENV, timeout=10)
        check(r.returncode == 2 and says in r.stderr, "%s: status 2, %r" % (says, r.stderr.strip()))
    r = subprocess.run([BIN, "report", "--keepalive-count", "4294967297", SERVER], capture_output=True, text=True,
                       env=ENV, timeout=10)
    check(r.returncode == 2 and "--keepalive-count" in r.stderr, "a count past 32 bits is refused, not wrapped to 1")
    # control characters in an id never reach the terminal raw (a C1 CSI,
    # a bidi override): shown escaped, as Python's repr writes them
    ctl = os.path.join(TMP, "ctl.log")
    with open(ctl, "w") as f:
        f.write("[2026-11-25 11:42:48.842 udp-canary INFO] RX 1.2.3.4:5 {'id': 'ev\\x9b2Jil\\u202eabc', "
                "'type': 'handshake_init', 'data': [1, 0]}\n")
    out = subprocess.run([BIN, "report", ctl], capture_output=True, env=ENV).stdout.decode()
    check("\x9b" not in out and "\u202e" not in out and "'ev\\x9b2Jil\\u202eabc'" in out,
          "control characters in an id shown escaped: %r" % out[:300])
    # many clients: each one found (the lookup is a hash, not a scan)
    many = os.path.join(TMP, "many.log")
    with open(many, "w") as f:
        for i in range(100000):
            f.write("[2026-11-25 11:42:%02d.%03d udp-canary INFO] RX 10.0.%d.%d:4000 {'id': 'c%d', 'type': "
                    "'handshake_init', 'data': [1795606969, 0]}\n" % (i // 2000 % 60, i % 1000, i // 250 % 250, i % 250, i))
    rep = as_json(many)
    check(len(rep["clients"]) == 100000 and rep["skipped"] == 0, "100,000 client ids: %d" % len(rep["clients"]))


def server_stopped_case():
    """The server's log ends (Exit) while the client goes on unanswered: the
    outage after it is not hidden by the server log's end, and is marked as
    the server not running."""
    def line(t, text):
        return "[2026-11-25 12:00:%06.3f udp-canary INFO] %s\n" % (t, text)

    def msg(kind, hs, ctr=0):
        return "{'id': 'cx', 'type': '%s', 'data': [%d, %d]}" % (kind, hs, ctr)
    c, sv = [], [line(0.0, "Listening on 127.0.0.1:43212")]
    t, hs = 1.0, 100
    while t < 3.0:  # answered cycles: init, answer, 4 keepalives 0.1 s apart
        hs += 1
        c += [line(t, "TX 127.0.0.1:43212 " + msg("handshake_init", hs)),
              line(t + 0.001, "RX 127.0.0.1:43212 " + msg("handshake_response", hs))]
        sv += [line(t, "RX 127.0.0.1:5000 " + msg("handshake_init", hs)),
               line(t, "TX 127.0.0.1:5000 " + msg("handshake_response", hs))]
        for k in range(1, 5):
            c.append(line(t + 0.1 * k, "TX 127.0.0.1:43212 " + msg("keepalive", hs, k)))
            sv.append(line(t + 0.1 * k, "RX 127.0.0.1:5000 " + msg("keepalive", hs, k)))
        t += 0.5
    sv.append(line(t, "Exit"))
    while t < 8.0:  # the server is gone: inits every 0.3 s, never answered
        hs += 1
        c.append(line(t + 0.05, "TX 127.0.0.1:43212 " + msg("handshake_init", hs)))
        t += 0.3
    cl, sl = os.path.join(TMP, "stop-client.log"), os.path.join(TMP, "stop-server.log")
    open(cl, "w").writelines(c)
    open(sl, "w").writelines(sv)
    both = as_json(cl, sl)["clients"][0]
    alone = as_json(cl)["clients"][0]
    late = [o for o in both["outages"] if o["end_unix"] - o["start_unix"] > 3]
    check(len(late) == 1 and late[0]["server_stopped"], "both logs: the outage after the server's Exit: %s"
          % both["outages"])
    check(both["availability"] < 0.6 and abs(both["availability"] - alone["availability"]) < 0.05,
          "both logs agree with the client's alone on availability: %.3f and %.3f"
          % (both["availability"], alone["availability"]))


def socket_drops_case():
    log = os.path.join(TMP, "drops.log")
    with open(SERVER) as f:
        lines = f.readlines()
    text = " datagrams dropped here, the receive buffer full: the server did not keep up (not network loss)"
    stamp = lines[10][:lines[10].index(" udp-canary ")]
    warn = ["%s udp-canary WARNING] %s%s\n" % (stamp, n, text) for n in ("5123", "77", "12x", "")]
    with open(log, "w") as f:
        f.writelines(lines[:10] + warn + lines[10:])
    check(as_json(log)["socket_drops"] == 5123 + 77, "a server's own drops summed")
    check(as_json(SERVER)["socket_drops"] == 0, "none in a log without them")
    check("dropped at the server's own full socket: 5200 datagrams" in run(log).stdout, "the text report says so")


def findings_original_case():
    """The findings of the original's scenario: each drop gives the outage
    finding of its direction, the flush a mapping_replaced (not from a
    client's log alone), and every finding lies on a fault of truth.json:
    none invented."""
    kinds = {"both": {"path_down", "outbound_lost"}, "to_client": {"inbound_lost"}, "to_server": {"outbound_lost"}}
    for label, args, one in (("both logs", (CLIENT, SERVER), None), ("client log", (CLIENT,), "client"),
                             ("server log", (SERVER,), "server")):
        c = as_json(*args)["clients"][0]
        fs = c["findings"]
        for d in DROPS:
            hits = [f for f in fs if f["start_unix"] < d["end"] and d["start"] < f["end_unix"]]
            want = {"outage_unknown_direction"} if one == "client" else kinds[d["direction"]]
            check(len(hits) == 1 and hits[0]["kind"] in want,
                  "findings, %s: the %s drop gives one %s: %s" % (label, d["direction"], want,
                                                                [h["kind"] for h in hits]))
        replaced = [f for f in fs if f["kind"] == "mapping_replaced"]
        if one == "client":
            check(not replaced, "findings, %s: no rebinding claimed from a client's log" % label)
        else:
            check(len(replaced) == len(FLUSHES) and all(
                fl["time"] <= f["start_unix"] + SLACK <= fl["time"] + 2 * KA for f, fl in zip(replaced, FLUSHES)),
                "findings, %s: one mapping_replaced just after each flush: %s" % (label, replaced))
        events = [(e.get("start", e.get("time")) - KA, e.get("end", e.get("time")) + 2 * KA) for e in TRUTH["events"]]
        for f in fs:
            check(any(f["start_unix"] < b and a < (f["end_unix"] or 1e12) for a, b in events),
                  "findings, %s: %s at %.1f lies on a fault" % (label, f["kind"], f["start_unix"] % 100))
            check(set(f) >= {"kind", "start", "start_unix", "end", "end_unix", "text", "advice", "evidence"}
                  and f["text"], "findings, %s: %s has its members" % (label, f["kind"]))
        check(len(fs) == len([f for f in fs if f["kind"] != "nat_idle_timeout"]),
              "findings, %s: no NAT idle timeout claimed from one flush" % label)
        check(c["findings_none"] is None, "findings, %s: not said to be none" % label)
    text = run(CLIENT, SERVER).stdout
    check(text.index("  findings ") < text.index("  period "), "the text report: findings first")


def write_default_timer_logs(name, minutes, forget_from=None, idle=20.0):
    """A client's and a server's logs with the default timers (keepalives
    26.625 s apart, 5 per handshake), from 2026-11-25 20:00 UTC, through a
    NAT that from `forget_from` minutes on forgets a mapping idle `idle` s:
    the server then hears the client from a new port."""
    t0 = datetime.datetime(2026, 11, 25, 20, 0, 0)
    cl, sv, port, last, hs, t = [], [], [40000], [None], 1795600000, 0.0

    def stamp(t):
        return "[" + (t0 + datetime.timedelta(seconds=t)).strftime("%Y-%m-%d %H:%M:%S.%f")[:23] + " udp-canary INFO] "

    def nat(t):
        if forget_from is not None and last[0] is not None and t >= forget_from * 60 and t - last[0] >= idle:
            port[0] += 1
        last[0] = t

    def msg(kind, ctr=0):
        return "{'id': 'home', 'type': '%s', 'data': [%d, %d]}\n" % (kind, hs, ctr)

    def send(t, kind, ctr=0):
        cl.append(stamp(t) + "TX 192.0.2.1:43210 " + msg(kind, ctr))
        nat(t)
        sv.append(stamp(t + 0.015) + "RX 198.51.100.7:%d " % port[0] + msg(kind, ctr))
    while t < minutes * 60:
        hs += 1
        send(t, "handshake_init")
        sv.append(stamp(t + 0.015) + "TX 198.51.100.7:%d " % port[0] + msg("handshake_response"))
        nat(t + 0.03)
        cl.append(stamp(t + 0.03) + "RX 192.0.2.1:43210 " + msg("handshake_response"))
        for k in range(1, 6):
            send(t + 0.03 + (k - 1) * 26.625, "keepalive", k)
        t += 0.03 + 4 * 26.625 + 0.001
    paths = os.path.join(TMP, name + "-client.log"), os.path.join(TMP, name + "-server.log")
    for path, lines in zip(paths, (cl, sv)):
        with open(path, "w") as f:
            f.writelines(lines)
    return paths


def findings_nat_case():
    """A NAT that forgets idle mappings after 20 s from 20:25 on: one
    nat_idle_timeout from then, still holding, its [lo, hi] holding 20 s,
    its advice about PersistentKeepalive; nothing else. A clean run: no
    findings, said in one line, with what the logs cannot show."""
    cl, sv = write_default_timer_logs("nat", 35, forget_from=25)
    c = as_json(cl, sv)["clients"][0]
    nat = [f for f in c["findings"] if f["kind"] == "nat_idle_timeout"]
    check(len(nat) == 1 and len(c["findings"]) == 1, "findings: one nat_idle_timeout and nothing else: %s"
          % [f["kind"] for f in c["findings"]])
    if nat:
        f, start = nat[0], datetime.datetime(2026, 11, 25, 20, 25, tzinfo=datetime.timezone.utc).timestamp()
        lo, hi = f["idle_timeout_s"]
        check(lo < 20 <= hi <= 26.7, "findings: the NAT's 20 s inside [%.3f, %.3f]" % (lo, hi))
        check(start - 27 <= f["start_unix"] < c["nat_rebindings"][0]["time_unix"] and f["end"] is None,
              "findings: from 20:25 (%s), still holding at the end" % f["start"])
        check(f["evidence"]["rebindings"] == len(c["nat_rebindings"]) and "PersistentKeepalive" in f["advice"],
              "findings: its evidence and advice: %s / %s" % (f["evidence"], f["advice"]))
    cl, sv = write_default_timer_logs("clean", 35)
    for args, blind in (((cl, sv), None), ((cl,), "cannot see NAT rebindings"),
                        ((sv,), "whether the answers reached the client")):
        c = as_json(*args)["clients"][0]
        none = c["findings_none"] or ""
        check(c["findings"] == [] and none.startswith("Nothing found in 3") and (blind is None or blind in none),
              "findings: a clean run of %d log(s): none, said so: %s" % (len(args), none))
    check("  findings      none. Nothing found in 3" in run(cl, sv).stdout, "the text report: none, in one line")


def recurring_zone_case():
    """Five days of file logs with an outage to the server at 04:10 to 04:25
    as their stamps say, read under two TZ values: the stamps are the logs'
    clock, read in TZ, so the recurring finding's time of day is the one the
    outages' stamps show, named by the report's zone, and the same instants
    lie an hour apart."""
    logs = paired_logs("zones", 5 * 86400, c2s=[(d * 86400 + 4 * 3600 + 600, d * 86400 + 4 * 3600 + 1500)
                                               for d in range(5)], ka=60, retry=5)
    starts = {}
    for tz, zone in (("UTC", "UTC"), ("Europe/Berlin", "CET")):
        c = as_json(*logs, env=dict(os.environ, TZ=tz))["clients"][0]
        rec = [f for f in c["findings"] if f["kind"] == "recurring"]
        outs = [f for f in c["findings"] if f["kind"] == "outbound_lost"]
        at = re.fullmatch(r"every day around (\d\d:\d\d) \((\w+)\)", rec[0]["when"]) if len(rec) == 1 else None
        shown = sorted(f["start"][11:16] for f in outs)
        check(at and at.group(2) == zone and len(outs) == 5 and shown[0] <= at.group(1) <= shown[-1]
              and "%s %s (" % (at.group(1), zone) in rec[0]["text"],
              "recurring, TZ=%s: the time of day the outages show (%s..%s), named %s: %s"
              % (tz, shown[:1], shown[-1:], zone, [f["when"] for f in rec]))
        starts[tz] = [f["start_unix"] for f in outs]
    pairs = zip(starts["UTC"], starts["Europe/Berlin"])
    check(len(starts["UTC"]) == 5 and all(abs(a - b - 3600) < 1e-3 for a, b in pairs),
          "recurring: the logs' stamps read in TZ (an hour apart in UTC and CET)")


def paired_logs(name, seconds, c2s=(), s2c=(), ka=1.0, count=5, retry=1.0, port_every=None):
    """A client's and a server's log of `seconds`, in the original's form
    (UTC stamps from 2026-11-02 00:00): messages to the server lost in the
    spans c2s, answers to the client in s2c (relative seconds); the client's
    NAT port new every `port_every` seconds."""
    t0 = datetime.datetime(2026, 11, 2, tzinfo=datetime.timezone.utc).timestamp()
    cl, sv, t, hs = [], [], 0.0, 1795000000

    def line(at, way, peer, kind, ctr):
        s = datetime.datetime.fromtimestamp(t0 + at, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:23]
        return "[%s udp-canary INFO] %s %s {'id': '%s', 'type': '%s', 'data': [%d, %d]}" % (
            s, way, peer, name, kind, hs, ctr)

    while t < seconds:
        hs += 1
        peer = "192.0.2.1:%d" % (20000 + (int(t // port_every) if port_every else 0))
        lost = any(a <= t < b for a, b in c2s)
        cl.append(line(t, "TX", "198.51.100.1:43210", "handshake_init", 0))
        if not lost:
            sv += [line(t, "RX", peer, "handshake_init", 0), line(t, "TX", peer, "handshake_response", 0)]
        if lost or any(a <= t < b for a, b in s2c):
            t += retry
            continue
        cl.append(line(t + 0.004, "RX", "198.51.100.1:43210", "handshake_response", 0))
        for i in range(1, count + 1):
            k = t + 0.005 + (i - 1) * ka
            cl.append(line(k, "TX", "198.51.100.1:43210", "keepalive", i))
            if not any(a <= k < b for a, b in c2s):
                sv.append(line(k, "RX", peer, "keepalive", i))
        t += 0.006 + count * ka
    paths = [os.path.join(TMP, "%s-%s.log" % (name, end)) for end in ("client", "server")]
    for path, lines in zip(paths, (cl, sv)):
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
    return paths


def label_case():
    """Three outages to the server in a row, each longer than the last, the
    middle one's label in the way of the last one's: the first keeps its
    label (it did not, when a neighbour without a label hid it)."""
    logs = paired_logs("labels", 80, c2s=[(10, 12), (20, 24), (27, 37)])
    r = run("--svg", "-", *logs)
    root = ET.fromstring(r.stdout)
    ns = "{http://www.w3.org/2000/svg}"
    outs = [x for x in root.iter(ns + "rect") if x.get("class") == "c2s" and x.find(ns + "title") is not None]
    labels = sorted(float(t.get("x")) for t in root.iter(ns + "text") if t.get("class") == "label")
    check(len(outs) == 3, "labels: three outages drawn: %d" % len(outs))
    if len(outs) == 3:
        first = float(outs[0].get("x")) + float(outs[0].get("width"))
        check(len(labels) == 2 and labels[0] < first, "labels: the first outage and the longest labelled, the middle "
              "one (in the way) not: labels at %s" % labels)
    whiskers = [x for x in root.iter(ns + "path") if x.get("class") == "whisker"]
    check(len(whiskers) >= 3, "bounds: drawn as whiskers: %d" % len(whiskers))
    titles = [x.find(ns + "title").text for x in outs]
    check(all("start" in t and "after" in t and "by" in t for t in titles), "bounds: in each outage's tooltip %s"
          % titles[:1])


class Page(html.parser.HTMLParser):
    """Well-formed (every element closed in order) and self-contained (no
    script, nothing to fetch): what it finds wrong is in .errors."""
    VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "source"}
    LINKS = {"src", "href", "xlink:href", "action", "srcset", "poster", "data", "formaction", "background"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.text, self.style = [], [], [], ""

    def attrs_ok(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "link", "img", "image", "use", "foreignobject"):
            self.errors.append("<%s>" % tag)
        for k, v in attrs:
            if k.startswith("on") or (k in self.LINKS and not (v or "").startswith("#")):
                self.errors.append("%s=%r on <%s>" % (k, v, tag))
            if k == "style" and "url(" in (v or "").replace("url(#", ""):
                self.errors.append("a url() in a style attribute")

    def handle_starttag(self, tag, attrs):
        self.attrs_ok(tag, attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.attrs_ok(tag, attrs)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else ""))
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style":
            self.style += data
        else:
            self.text.append(data)


def page_problems(text):
    """What keeps a page from being well-formed and self-contained."""
    p = Page()
    p.feed(text)
    p.close()
    errors = p.errors + (["unclosed: %s" % p.stack] if p.stack else [])
    if not text.startswith("<!DOCTYPE html>"):
        errors.append("no doctype")
    if "@import" in p.style or "url(" in p.style.replace("url(#", ""):
        errors.append("the style fetches")
    # the one URL allowed is the SVG namespace, a name that is never fetched
    for url in re.findall(r"(?:https?:)?//[^\s\"'<>)]*", text.replace('xmlns="http://www.w3.org/2000/svg"', "")):
        errors.append("a URL: %s" % url)
    return errors, "".join(p.text)


def html_findings(page, text, rep):
    """The page's findings are the report's (--json's): each with its kind as
    a heading, its text and advice escaped, its evidence by name; each
    outage's tooltip carries its finding's text; a client without any says
    so in the report's words."""
    fs = [f for c in rep["clients"] for f in c["findings"]]
    check(fs and page.count('<div class="finding">') == len(fs),
          "html: a finding shown per finding of the report: %d of %d" % (page.count('<div class="finding">'), len(fs)))
    check(all(f["text"] in text and (f["advice"] is None or f["advice"] in text) for f in fs),
          "html: each finding's text and advice shown as they are")
    check(all(">%s</h4>" % f["kind"].replace("_", " ") in page for f in fs), "html: each finding's kind its heading")
    escaped_texts = [f["text"].replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;") for f in fs]
    check(all(t in page for t in escaped_texts) and any("&#39;" in t for t in escaped_texts),
          "html: the findings' texts escaped")
    ev = {n for f in fs for n in f["evidence"]}
    check(all("<th>%s</th>" % n in page for n in ev), "html: the evidence named in its table: %s" % sorted(ev))
    tips = re.findall(r'class="(?:c2s|s2c|both|unknown|stopped)"><title>([^<]*)</title>', page)
    outages = [f for f in fs if f["kind"] in ("outbound_lost", "inbound_lost", "path_down", "outage_unknown_direction",
                                             "server_stopped")]
    check(len(tips) == len(outages) and all(any(html.unescape(t).endswith(f["text"]) for t in tips) for f in outages),
          "html: each outage's tooltip ends with its finding's text: %d tooltips, %d outage findings"
          % (len(tips), len(outages)))
    cl, sv = write_default_timer_logs("html-clean", 35)
    r = run("--html", "-", cl, sv)
    errors, text = page_problems(r.stdout)
    none = as_json(cl, sv)["clients"][0]["findings_none"]
    check(not errors and none and none in text and '<div class="finding">' not in r.stdout,
          "html: no findings, said in the report's words: %s" % errors[:3])


def html_case():
    bad = ('<html><body><script>x()</script><img src="http://example.com/a.png"><p style="background:url(//x/y)">'
           '<a href="//cdn.example/s.css">a</b></body></html>')
    check(len(page_problems(bad)[0]) >= 5, "the page checker finds a script, a fetch, a misnested tag: %s"
          % page_problems(bad)[0])
    hostile = ["<script>alert(1)</script>", "a&amp;b\"c", "it's <b>"]
    logs = []
    for i, name in enumerate(hostile):
        logs.append(os.path.join(TMP, "hostile%d.log" % i))
        with open(SERVER) as f, open(logs[-1], "w") as g:
            g.write(f.read().replace("'home'", repr(name)))
    verdict = "kept after 20 s, lost after 30 s <&> keep PersistentKeepalive below 20 s"
    with open(logs[0], "a") as g:
        g.write("[2026-11-25 11:43:30.000 udp-canary INFO] NAT idle timeout probe: %s\n" % verdict)
    r = run("--html", "-", CLIENT, SERVER, *logs)
    check(r.returncode == 0 and r.stdout.startswith("<!DOCTYPE html>"), "--html - writes the page to standard output")
    errors, text = page_problems(r.stdout)
    check(not errors, "html: well-formed and self-contained: %s" % errors[:5])
    check(all(repr(n) in text for n in hostile), "html: hostile ids shown as they are, escaped")
    check("<script" not in r.stdout and "<b>" not in r.stdout, "html: no markup of an id gets through")
    check("NAT idle timeout probes" in text and verdict in text,
          "html: the probe results, escaped")
    check(r.stdout.count("<section") == 4 and r.stdout.count("class=\"whisker\"") >= 4,
          "html: a section per client, the outages' bounds drawn")
    html_findings(r.stdout, text, as_json(CLIENT, SERVER, *logs))
    # a week: the heat map's cells, a column of hours down every morning
    logs = paired_logs("week", 7 * 86400, c2s=[(d * 86400 + 4 * 3600 + 600, d * 86400 + 4 * 3600 + 1500)
                                              for d in range(7)], ka=60, retry=5, port_every=8 * 3600)
    r = run("--html", "-", *logs)
    errors, text = page_problems(r.stdout)
    check(r.returncode == 0 and not errors, "html of a week: well-formed and self-contained %s" % errors[:5])
    cells = re.findall(r'class="cell (\w+)"><title>([^<]*)</title>', r.stdout)
    check(len(cells) == 7 * 24, "heat map: 7 days x 24 hours: %d cells" % len(cells))
    low = [t for c, t in cells if c != "h100"]
    check(len(low) == 7 and all(" 04:00: " in t and "% up, down 15 min" in t for t in low),
          "heat map: the mornings' 15 min down and only them, with their figures: %s" % low[:2])
    check("20 NAT rebindings" in r.stdout and "<details>" in r.stdout, "html: a long list of rebindings folded")
    fs = as_json(*logs)["clients"][0]["findings"]
    heads = [(m.start(), m.group(1)) for m in re.finditer(r'<div class="finding">\n<h4[^>]*>([^<]*)</h4>', r.stdout)]
    fold = r.stdout.find("other findings in time order</summary>")
    above = [k for at, k in heads if at < fold]
    check(len(fs) > 12 and sorted(k for _, k in heads) == sorted(f["kind"].replace("_", " ") for f in fs),
          "html: a long list of findings (%d), each shown once" % len(fs))
    check(fold > 0 and above and set(above) <= {"recurring", "nat idle timeout"}
          and len(above) == sum(f["kind"] in ("recurring", "nat_idle_timeout") for f in fs)
          and "<li>%d mapping replaced</li>" % sum(f["kind"] == "mapping_replaced" for f in fs) in r.stdout,
          "html: folded but for the patterns (%s), above the fold with a count per kind" % above)
    check(r.stdout.count("rttband") > 100, "html: the round trips over the week drawn")


def journal_export_case():
    """A journal brought over as `journalctl -o export` output (item 5 of
    issue 22): written here from the logs, with text and binary fields (as
    journalctl writes a value it cannot show as text) and other programs'
    entries between, plain and gzip-compressed; it must read to the same
    report as the log. Then broken exports: counted, never a crash."""
    import struct

    def field(name, value, binary=False):
        value = value.encode() if isinstance(value, str) else value
        if binary:
            return name.encode() + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
        return name.encode() + b"=" + value + b"\n"

    def entry(t_us, message, unit, n, ident="udp-canary", binary=False, machine="0123456789abcdef0123456789abcdef"):
        fields = [field("__CURSOR", "s=abc;i=%x;b=def;m=%x;t=%x;x=0" % (n, n, t_us)),
                  field("__REALTIME_TIMESTAMP", str(t_us)), field("__MONOTONIC_TIMESTAMP", str(1000 + n)),
                  field("_BOOT_ID", "fedcba9876543210fedcba9876543210"), field("PRIORITY", "6"),
                  field("SYSLOG_IDENTIFIER", ident), field("_PID", "4242"), field("_SYSTEMD_UNIT", unit),
                  field("_MACHINE_ID", machine)]
        if message is not None:
            fields.insert(5, field("MESSAGE", message, binary))
        # a binary field the report does not read, with a newline and an empty line inside
        fields.append(field("CANARY_NOTE", b"a\n\nb\x00", binary=True))
        return b"".join(fields) + b"\n"

    def export(paths_units, name, shift=0.0, gz=False):
        out, n = [], 0
        for path, unit in paths_units:
            for line in open(path):
                t = datetime.datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S.%f").replace(
                    tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=shift)
                t_us = round(t.timestamp() * 1e6)
                n += 1
                out.append((t_us, entry(t_us, line[line.index("] ") + 2:].rstrip("\n"), unit, n, binary=n % 3 == 0)))
                if n % 10 == 0:  # another program's entry: left out, not counted
                    out.append((t_us, entry(t_us, "Started something.", "init.scope", n, ident="systemd")))
        data = b"".join(e for _, e in sorted(out, key=lambda x: x[0]))
        path = os.path.join(TMP, name)
        with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
            f.write(data)
        return path

    want = as_json(CLIENT, SERVER)
    for label, args in (("the server's export", (CLIENT, export([(SERVER, "udp-canary-server.service")], "s.export"))),
                        ("both in one export, gzip-compressed",
                         (export([(CLIENT, "udp-canary-client@home.service"), (SERVER, "udp-canary-server.service")],
                                 "both.export.gz", gz=True),)),
                        ("both exports", (export([(CLIENT, "udp-canary-client@home.service")], "c.export"),
                                          export([(SERVER, "udp-canary-server.service")], "s.export")))):
        got = as_json(*args)
        check(got["clients"] == want["clients"] and got["skipped"] == 0 and got["lines"] == want["lines"],
              "journal export: %s reads as the logs (%d lines, %d skipped)" % (label, got["lines"], got["skipped"]))
    moved = 3600 + 7.3
    c = as_json(CLIENT, export([(SERVER, "udp-canary-server.service")], "moved.export", shift=moved))["clients"][0]
    check(c["clock_offset_seconds"] is not None and abs(c["clock_offset_seconds"] - moved) < 0.003 and
          c["seen_in"] == {"client_log": True, "server_log": True} and
          {o["direction"] for o in c["outages"]} >= {"client_to_server", "server_to_client"},
          "journal export: another machine's clock: offset %s, directions %s"
          % (c["clock_offset_seconds"], sorted({o["direction"] for o in c["outages"]})))
    cut = as_json("--since", "2026-11-25 11:43:10", "--until", "2026-11-25 11:43:30", CLIENT, SERVER)
    check(as_json("--since", "2026-11-25 11:43:10", "--until", "2026-11-25 11:43:30", CLIENT,
                  export([(SERVER, "udp-canary-server.service")], "s.export"))["clients"] == cut["clients"],
          "journal export: --since/--until as for the log")

    # journal files that are not there: said, status 2
    for opt, says in (("--journal-dir", "cannot read the journal in"), ("--journal-file", "cannot read the journal files")):
        r = run(opt, os.path.join(TMP, "no-such-journal"))
        check(r.returncode == 2 and says in r.stderr, "%s on nothing: status 2, %r" % (opt, r.stderr.strip()))

    # broken exports: each bad entry one skipped, the good ones read
    good = entry(1795606969000000, "Listening on 0.0.0.0:43210", "u.service", 1)
    line = "RX 10.96.0.1:39337 {'id': 'home', 'type': 'handshake_init', 'data': [1795606969, 0]}"
    ok = entry(1795606970000000, line, "u.service", 2)
    cases = {
        "a binary length cut short": (good + ok + b"MESSAGE\n\x05\x00\x00", 1),
        "a huge binary length, then more entries": (good + b"MESSAGE\n" + struct.pack("<Q", 1 << 62) + b"x" * 100 +
                                                     b"\n\n" + ok, 1),
        "an entry without MESSAGE": (good + entry(1795606970000000, None, "u.service", 3) + ok, 1),
        "no newline after the last value": (good + ok + entry(1795606971000000, line, "u.service", 4)[:-2], 1),
        "no empty line after the last entry": (good + ok[:-1], 0),
        "a MESSAGE longer than any line": (good + entry(1795606970000000, "RX " + "9" * 100000, "u.service", 5, binary=True)
                                            + ok, 1),
        "a bad field name, a bad time": (good + b"BAD NAME=x\n\n" + entry(1795606970000000, line, "u", 6)
                                         .replace(b"__REALTIME_TIMESTAMP=1", b"__REALTIME_TIMESTAMP=x") + ok, 2),
        "too many fields": (good + b"".join(b"F%d=1\n" % i for i in range(5000)) + b"\n" + ok, 1),
        "a binary value not ended by a newline": (good + b"MESSAGE\n\x01\x00\x00\x00\x00\x00\x00\x00xy\n\n" + ok, 1),
    }
    for label, (data, bad) in cases.items():
        path = os.path.join(TMP, "bad.export")
        with open(path, "wb") as f:
            f.write(data)
        r = run("--json", path)
        rep = json.loads(r.stdout) if r.returncode == 0 else {}
        check(r.returncode == 0 and rep["skipped"] == bad and rep["lines"] == 2 and len(rep["clients"]) == 1,
              "journal export, %s: %d skipped, the good entries read: %s" % (label, bad, r.stderr.strip() or
                                                                             {k: rep[k] for k in ("skipped", "lines")}))


def spill_case():
    """Two days of both logs: the packets put aside in a temporary file
    while the logs are read say the same as when no such file can be made
    (TMPDIR not writable: all held in memory), in text, JSON and the page
    (whose sections wait in a temporary file too)."""
    cl, sv = write_default_timer_logs("spill", 2 * 24 * 60, forget_from=24 * 60)
    nowhere = dict(ENV, TMPDIR=os.path.join(TMP, "not-there"))
    for args in ((cl, sv), ("--json", cl, sv), ("--json", sv), ("--html", "-", cl, sv)):
        # valgrind needs a TMPDIR of its own: the one without runs bare
        a, b = run(*args), run(*args, env=nowhere, wrap=False)
        check(a.returncode == 0 and a.stdout == b.stdout and b.returncode == 0 and len(a.stdout) > 2000,
              "report %s: the same with the packets in a file and in memory" % " ".join(args[:1]))


for case in (original_cases, netns_case, refpeer_case, svg_case, files_case, hostile_case, server_stopped_case,
             socket_drops_case, findings_original_case, findings_nat_case, recurring_zone_case, label_case, html_case,
             journal_export_case, spill_case):
    try:
        case()
    except Exception as e:  # a crash of the test itself is a failure too
        check(False, "%s raised %r" % (case.__name__, e))
sys.exit(tally.finish())
