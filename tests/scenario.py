#!/usr/bin/env python3
"""Scripted fault scenarios in network namespaces (root only; exit 77
otherwise), and a scorer for what `udp-canary report --json` (version 2)
says about them.

Each scenario builds the three namespaces of canary_test.Net (under names
of its own), runs our server and client with fast timers, and does faults
in the NAT namespace at known times. The first, "faults", is the script of
the original's scenario (tests/data/original-scenario) plus a server
restart:

    +6 s   flush      conntrack -F: the client's next packet leaves from a new port
    +14 s  drop both        4 s   (nft drop in the NAT's forward chain)
    +24 s  drop to_client   5 s   (server to client only)
    +35 s  drop to_server   4 s   (client to server only)
    +45 s  loss 30%        10 s   (numgen random mod 100 < 30 drop, both ways)
    +59 s  restart          3 s   (SIGTERM the server, start it again, same
                                   log and --state-dir)
    +66 s  end

It writes the truth (Unix times, the shape of the original scenario's
truth.json, plus a "restart" event) next to the logs in a temporary
directory, then scores `udp-canary report --json` on the client's log alone,
the server's log alone, and both:

- every fault that log set can see (drop both/to_client/to_server, restart)
  found: an outage overlapping the fault's window, in one piece;
- its `direction`: with both logs to_server -> client_to_server, to_client
  -> server_to_client, both (and the restart) -> both or client_to_server;
  the client's log alone -> unknown; the server's log alone -> unknown or
  what both logs would allow;
- the true length inside [seconds_min, seconds_max] (give or take TOL);
- the best estimate `seconds` within one keepalive interval of the truth
  where the log set sees a packet in the broken direction that often (the
  server hears the client's keepalives, and its retries every handshake
  timeout once the flow is down: so max(KA, HT)); else (server to client
  only carries handshake answers; the client's log alone sees only those)
  within the handshake timeout;
- no outage outside the fault windows (those inside the loss window are
  listed, not scored);
- exactly one NAT rebinding per flush where the server's log is read, none
  unexplained (one after the restart is allowed, not required);
- the schema: version 2, every documented field, clock_offset_seconds null
  with one log;
- the findings (score_findings): one per outage, of the kind its direction
  gives, the restart's server_stopped where the server's log is read (its
  Exit); one mapping_replaced per flush there; none a fault does not explain.

Three more, each for one finding (or none), are scored on their findings
(score_kind): no outage, and from the server's log alone and from both
exactly the one finding, none from the client's log alone (it cannot see
rebindings), and where nothing is found the line saying so and what that
log set cannot show:

    idle     the NAT forgets idle UDP mappings after IDLE_T s (conntrack's UDP
             timeouts in its namespace); the client's keepalive interval is
             switched by a reload from below to above it at +4 s and back at
             +16 s: one nat_idle_timeout from the switch on, still open at
             the end, counting every rebinding, with advice on
             PersistentKeepalive, whose idle_timeout_s [lo, hi] holds IDLE_T
    address  at +3 s the NAT's masquerade becomes a snat to a second address
             and its table is flushed: one public_address_changed then
    clean    30 s without a fault: findings [] from every log set

    tests/scenario.py [--only NAME,...]
                                      run the scenarios (all by default: faults,
                                      idle, address, clean) and score them (root)
    tests/scenario.py --score CLIENT.log SERVER.log TRUTH.json [--tz ZONE]
                                      score the report of logs recorded elsewhere,
                                      e.g. tests/data/original-scenario
                                      (written in UTC: --tz UTC)
    tests/scenario.py --self-test     the scorer against hand-written reports

KEEP_LOGS=DIR keeps each scenario's logs, truth and reports in DIR/NAME. The
temporary directory is also left in place (and named) when a score fails.
"""
import ast
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402  (namespaces, processes, log reading)

BIN = it.BIN

KA, HT, COUNT = 0.5, 1.0, 5  # keepalive interval, handshake timeout, keepalives per handshake
TIMERS = ["--keepalive-interval", str(KA), "--handshake-timeout", str(HT), "--keepalive-count", str(COUNT)]
CLIENT_ID = "home"
TOL = 0.05  # log stamps have milliseconds; the fault commands take a few ms to run

# seconds after the client's first answered handshake
SCRIPT = [
    {"at": 6, "do": "flush"},
    {"at": 14, "do": "drop", "dir": "both", "for": 4},
    {"at": 24, "do": "drop", "dir": "to_client", "for": 5},
    {"at": 35, "do": "drop", "dir": "to_server", "for": 4},
    {"at": 45, "do": "loss", "percent": 30, "for": 10},
    {"at": 59, "do": "restart", "for": 3},
    {"at": 66, "do": "end"},
]

DIRECTIONS = ("both", "client_to_server", "server_to_client", "unknown")
# what a report of both logs may call each fault
BOTH_LOGS = {
    "both": {"both", "client_to_server"},  # the server sends nothing it did not hear
    "to_server": {"client_to_server"},
    "to_client": {"server_to_client"},
    "restart": {"both", "client_to_server"},
}
# which faults show as an outage in which log set
VISIBLE = {
    "client": {"both", "to_server", "to_client", "restart"},  # unanswered handshakes
    "server": {"both", "to_server", "to_client", "restart"},  # silence; retries without keepalives
    "both": {"both", "to_server", "to_client", "restart"},
}
LOG_SETS = [("client's log only", "client"), ("server's log only", "server"), ("both logs", "both")]

OUTAGE_FIELDS = ("start", "start_unix", "end", "end_unix", "seconds", "seconds_min", "seconds_max",
                 "direction", "seen_by", "ongoing")
REBIND_FIELDS = ("time", "time_unix", "old", "new")
DELIVERY_FIELDS = ("sent", "received", "lost")


# --- the scorer: no root, no processes ---


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fault_key(ev):
    """'both', 'to_server', 'to_client' or 'restart' for a fault with a window."""
    return ev["direction"] if ev["event"] == "drop" else ev["event"]


def fault_name(ev):
    if ev["event"] == "drop":
        return "drop " + ev["direction"]
    if ev["event"] == "loss":
        return "loss %s%%" % ev.get("percent", "?")
    return ev["event"]


def expected_directions(key, logs):
    if logs == "client":
        return {"unknown"}
    if logs == "server":
        return {"unknown"} | BOTH_LOGS[key]
    return BOTH_LOGS[key]


def estimate_tolerance(key, logs, ka, ht, count):
    """How far the best estimate may be from the truth: the client-to-server
    direction, where the server's log is read, shows a packet every keepalive
    interval (every handshake timeout once the flow is down): one of those.
    Otherwise only the handshake answers tell, one per cycle of keepalives:
    a break's start is known only to within a cycle (the issue: 'bounded by
    the client's retries'), and the bounds, checked apart, must hold it."""
    if logs != "client" and key in ("both", "to_server", "restart"):
        return max(ka, ht)
    return (count - 1) * ka + ht


def schema_problems(rep, logs):
    """The documented version-2 fields missing or mistyped, as text."""
    if not isinstance(rep, dict):
        return ["not a JSON object"]
    out = []
    if rep.get("version") != 2:
        out.append("version %r, expected 2" % rep.get("version"))
    clients = rep.get("clients")
    if not isinstance(clients, list):
        return out + ["no clients[]"]
    missing = set()
    for c in clients:
        if not isinstance(c, dict):
            out.append("a client that is not an object")
            continue
        for k in ("id", "outages", "delivery", "clock_offset_seconds", "nat_rebindings"):
            if k not in c:
                missing.add(k)
        for o in c.get("outages") or []:
            for k in OUTAGE_FIELDS:
                if k not in o:
                    missing.add("outages[]." + k)
            for k in ("start_unix", "end_unix", "seconds", "seconds_min", "seconds_max"):
                if k in o and not is_num(o[k]):
                    out.append("outages[].%s is %r" % (k, o[k]))
            if "direction" in o and o["direction"] not in DIRECTIONS:
                out.append("outages[].direction %r is none of %s" % (o["direction"], "/".join(DIRECTIONS)))
        for r in c.get("nat_rebindings") or []:
            for k in REBIND_FIELDS:
                if k not in r:
                    missing.add("nat_rebindings[]." + k)
        d = c.get("delivery")
        if "delivery" in c and not isinstance(d, dict):
            out.append("delivery is %r" % (d,))
        elif isinstance(d, dict):
            for way in ("client_to_server", "server_to_client"):
                if way not in d:
                    missing.add("delivery." + way)
                elif d[way] is not None:
                    for k in DELIVERY_FIELDS:
                        if not isinstance(d[way], dict) or not isinstance(d[way].get(k), int):
                            missing.add("delivery.%s.%s" % (way, k))
        if "clock_offset_seconds" in c:
            off = c["clock_offset_seconds"]
            if logs != "both" and off is not None:
                out.append("clock_offset_seconds %r with one log (expected null)" % off)
            if logs == "both" and not is_num(off):
                out.append("clock_offset_seconds %r with both logs (expected a number)" % (off,))
    if missing:
        out.append("missing: " + ", ".join(sorted(missing)))
    return out


def fmt(v, spec="%.3f"):
    return spec % v if is_num(v) else "-"


class Scorer:
    """Checks one report against the truth, printing a table; results are
    (ok, what) pairs, for counting and for the self-test."""

    def __init__(self, out=print):
        self.results = []
        self.pending = []
        self.out = out

    def check(self, ok, what):
        self.results.append((bool(ok), what))
        if not ok:
            self.pending.append(what)
        return bool(ok)

    def flush(self):
        """Prints the failures since the last table row."""
        for what in self.pending:
            self.out("  FAIL: " + what)
        del self.pending[:]

    def failed(self):
        return [w for ok, w in self.results if not ok]

    def score(self, title, logs, rep, truth, error=None):
        """logs: 'client', 'server' or 'both'."""
        self.out("\n== %s ==" % title)
        try:
            self._score(title, logs, rep, truth, error)
        finally:
            self.flush()

    def _score(self, title, logs, rep, truth, error):
        if rep is None:
            self.check(False, "%s: no report (%s)" % (title, error))
            return
        ka = float(truth.get("keepalive_interval", KA))
        ht = float(truth.get("handshake_timeout", HT))
        count = int(truth.get("keepalive_count", COUNT))
        events = sorted(truth["events"], key=lambda e: e.get("start", e.get("time")))
        # times are shown from t0: the scenario's start, else the first event
        t0 = truth.get("t0", events[0].get("start", events[0].get("time")) if events else 0.0)
        # how far past a window an outage still counts as that fault's: the
        # client notices within half a cycle and a handshake timeout
        slack = ka * (count - 1) / 2 + ht

        problems = schema_problems(rep, logs)
        self.check(not problems, "%s: schema: %s" % (title, "; ".join(problems) or "ok"))
        clients = [c for c in (rep.get("clients") or []) if isinstance(c, dict)] if isinstance(rep, dict) else []
        cid = truth.get("client_id", CLIENT_ID)
        mine = [c for c in clients if c.get("id") == cid]
        if not self.check(len(mine) == 1, "%s: one client %r in the report: %s"
                          % (title, cid, [c.get("id") for c in clients])):
            return
        client = mine[0]
        outages = [o for o in client.get("outages") or []
                   if isinstance(o, dict) and is_num(o.get("start_unix")) and is_num(o.get("end_unix"))]
        self.check(len(outages) == len(client.get("outages") or []),
                   "%s: every outage has start_unix and end_unix" % title)
        self.flush()

        # each outage to the window it overlaps most (with slack), if any
        windows = [e for e in events if "start" in e and "end" in e]

        def overlap(o, w, pad=0.0):
            return min(o["end_unix"], w["end"] + pad) - max(o["start_unix"], w["start"] - pad)

        owner = []
        for o in outages:
            near = [w for w in windows if overlap(o, w, slack) >= 0]
            owner.append(max(near, key=lambda w: (overlap(o, w, slack), overlap(o, w))) if near else None)

        def when(o):
            return "%s s at %s..%s (%s)" % (fmt(o.get("seconds")), fmt(o["start_unix"] - t0, "%+.2f"),
                                           fmt(o["end_unix"] - t0, "%+.2f"), o.get("direction", "-"))

        row = "%-21s %-5s %-17s %8s  %-27s %7s %5s  %s"
        self.out(row % ("fault (s after t0)", "found", "direction", "truth s", "reported s [min, max]", "error",
                        "tol", "verdict"))
        false = [o for o, w in zip(outages, owner) if w is None]
        for w in windows:
            name = "%s %+.1f" % (fault_name(w), w["start"] - t0)
            mine_o = [o for o, ow in zip(outages, owner) if ow is w]
            if w["event"] == "loss":
                inside = [o for o in mine_o if o["start_unix"] >= w["start"] - slack and o["end_unix"] <= w["end"] + slack]
                false += [o for o in mine_o if o not in inside]
                self.out("%-21s %d outage(s) inside, not scored%s" % (name, len(inside), "".join(
                    "\n    " + when(o) for o in inside)))
                continue
            key = fault_key(w)
            truth_s = w["end"] - w["start"]
            if key not in VISIBLE[logs]:
                self.out("%-21s %-5s (not visible in this log set)" % (name, "-"))
                continue
            if not mine_o:
                merged = [o for o in outages if overlap(o, w) > 0]
                self.out(row % (name, "NO", "-", "%.3f" % truth_s, "-", "-", "-", "FAIL"))
                self.check(False, "%s: %s not found: no outage overlaps %.3f..%.3f%s" % (
                    title, name, w["start"], w["end"],
                    "".join(" on its own (merged into the outage of %s)" % when(o) for o in merged)))
                self.flush()
                continue
            o = max(mine_o, key=lambda o: overlap(o, w))
            lo, hi, est = o.get("seconds_min"), o.get("seconds_max"), o.get("seconds")
            tol = estimate_tolerance(key, logs, ka, ht, count)
            err = est - truth_s if is_num(est) else None
            want = expected_directions(key, logs)
            ok = [self.check(len(mine_o) == 1, "%s: %s in one piece, not %d outages: %s"
                             % (title, name, len(mine_o), "; ".join(when(o) for o in mine_o))),
                  self.check(o.get("direction") in want, "%s: %s direction %r, expected %s"
                             % (title, name, o.get("direction"), " or ".join(sorted(want)))),
                  self.check(is_num(lo) and is_num(hi) and lo - TOL <= truth_s <= hi + TOL,
                             "%s: %s truth %.3f s inside the bounds [%s, %s]"
                             % (title, name, truth_s, fmt(lo), fmt(hi))),
                  self.check(err is not None and abs(err) <= tol + TOL,
                             "%s: %s estimate %s s, truth %.3f s: error %s over %.2f s"
                             % (title, name, fmt(est), truth_s, fmt(err, "%+.3f"), tol))]
            self.out(row % (name, "yes", o.get("direction", "-"), "%.3f" % truth_s,
                            "%s [%s, %s]" % (fmt(est), fmt(lo), fmt(hi)), fmt(err, "%+.3f"), "%.2f" % tol,
                            "ok" if all(ok) else "FAIL"))
            self.flush()

        for o in false:
            self.out(row % ("outage %s" % fmt(o["start_unix"] - t0, "%+.1f"), "FALSE", o.get("direction", "-"), "-",
                            "%s [%s, %s]" % (fmt(o.get("seconds")), fmt(o.get("seconds_min")),
                                             fmt(o.get("seconds_max"))), "-", "-", "FAIL"))
        self.check(not false, "%s: no outage outside the fault windows%s" % (
            title, "".join("\n    " + when(o) for o in false)))
        self.flush()
        self.score_rebindings(title, logs, client, events, t0)

    def score_rebindings(self, title, logs, client, events, t0):
        rebinds = [r for r in client.get("nat_rebindings") or [] if isinstance(r, dict) and is_num(r.get("time_unix"))]
        self.check(len(rebinds) == len(client.get("nat_rebindings") or []),
                   "%s: every rebinding has time_unix" % title)
        flushes = [e for e in events if e["event"] == "flush"]
        if logs == "client":
            for f in flushes:
                self.out("%-21s (a rebinding is seen in the server's log only)" % ("flush %+.1f" % (f["time"] - t0)))
            self.check(not rebinds, "%s: no rebinding from the client's log: %s" % (title, rebinds))
            return

        def cause(r):  # the latest event begun before it
            before = [e for e in events if e.get("start", e.get("time")) <= r["time_unix"] + TOL]
            return before[-1] if before else None

        for f in flushes:
            got = [r for r in rebinds if cause(r) is f]
            self.out("%-21s rebindings %d%s  %s" % (
                "flush %+.1f" % (f["time"] - t0), len(got),
                "".join(" (%s -> %s, %+.3f s)" % (r.get("old"), r.get("new"), r["time_unix"] - f["time"])
                        for r in got), "ok" if len(got) == 1 else "FAIL"))
            self.check(len(got) == 1, "%s: one rebinding for the flush at %+.1f, got %d"
                       % (title, f["time"] - t0, len(got)))
            self.flush()
        for r in rebinds:
            c = cause(r)
            if c is not None and c["event"] == "restart":
                self.out("%-21s a rebinding after the restart (%s -> %s): allowed"
                         % ("restart", r.get("old"), r.get("new")))
        false = [r for r in rebinds if cause(r) is None or cause(r)["event"] not in ("flush", "restart")]
        self.check(not false, "%s: no rebinding without a flush: %s" % (title, [
            "%s -> %s at %+.2f" % (r.get("old"), r.get("new"), r["time_unix"] - t0) for r in false]))


# --- the findings against the truth: a scorer of its own ---

FINDING_OF_DIRECTION = {"both": "path_down", "client_to_server": "outbound_lost",
                        "server_to_client": "inbound_lost", "unknown": "outage_unknown_direction"}
OUTAGE_FINDINGS = set(FINDING_OF_DIRECTION.values()) | {"server_stopped"}
REBIND_FINDINGS = {"mapping_replaced", "public_address_changed"}
FINDING_FIELDS = ("kind", "start", "start_unix", "end", "end_unix", "text", "advice", "evidence")


def score_findings(sc, title, logs, rep, truth):
    """clients[].findings[] against the truth: each fault this log set can
    see gives one outage finding of the kind its direction allows (a
    restart server_stopped where the server's log is read), one rebinding finding per flush
    where the server's log is read and none from the client's alone, one
    outage finding per outage, and nothing a fault does not explain: no
    NAT idle timeout, nothing recurring, no finding outside the faults."""
    if not isinstance(rep, dict):
        return
    cid = truth.get("client_id", CLIENT_ID)
    mine = [c for c in rep.get("clients") or [] if isinstance(c, dict) and c.get("id") == cid]
    if not sc.check(len(mine) == 1 and isinstance(mine[0].get("findings"), list),
                    "%s: findings: a list for %r" % (title, cid)):
        return
    client, ka, ht = mine[0], float(truth.get("keepalive_interval", KA)), float(truth.get("handshake_timeout", HT))
    slack = ka * (int(truth.get("keepalive_count", COUNT)) - 1) / 2 + ht
    fs = [f for f in client["findings"] if isinstance(f, dict) and all(k in f for k in FINDING_FIELDS)
          and is_num(f["start_unix"]) and isinstance(f["text"], str) and f["text"]]
    sc.check(len(fs) == len(client["findings"]), "%s: findings: every one has %s" % (title, ", ".join(FINDING_FIELDS)))
    events = sorted(truth["events"], key=lambda e: e.get("start", e.get("time")))
    windows = [e for e in events if "start" in e and "end" in e]

    def end(f):
        return f["end_unix"] if is_num(f["end_unix"]) else float("inf")

    def near(f, w):
        return f["start_unix"] < w["end"] + slack and w["start"] - slack < end(f)
    outage_fs = [f for f in fs if f["kind"] in OUTAGE_FINDINGS]
    sc.check(len(outage_fs) == len(client.get("outages") or []), "%s: findings: one per outage (%d for %d)"
             % (title, len(outage_fs), len(client.get("outages") or [])))
    for w in windows:
        if w["event"] == "loss" or fault_key(w) not in VISIBLE[logs]:
            continue
        want = {FINDING_OF_DIRECTION[d] for d in expected_directions(fault_key(w), logs)}
        if fault_key(w) == "restart" and logs != "client":
            want = {"server_stopped"}  # the server's log shows its Exit
        got = [f["kind"] for f in outage_fs if near(f, w)]
        sc.check(len(got) == 1 and got[0] in want, "%s: findings: %s gives one of %s: %s"
                 % (title, fault_name(w), "/".join(sorted(want)), got))
    rebinds = [f for f in fs if f["kind"] in REBIND_FINDINGS]
    for fl in (e for e in events if e["event"] == "flush"):
        nxt = min([e.get("start", e.get("time")) for e in events if e.get("start", e.get("time")) > fl["time"]]
                  or [float("inf")])
        got = [f for f in rebinds if fl["time"] - TOL <= f["start_unix"] <= nxt]
        sc.check(len(got) == (0 if logs == "client" else 1), "%s: findings: the flush gives %s mapping_replaced: %s"
                 % (title, "no" if logs == "client" else "one", [f["kind"] for f in got]))
    for f in fs:
        cause = [e for e in events if e.get("start", e.get("time")) <= f["start_unix"] + TOL]
        ok = (f["kind"] in OUTAGE_FINDINGS and any(near(f, w) for w in windows)) or \
             (f["kind"] in REBIND_FINDINGS and cause and cause[-1]["event"] in ("flush", "restart"))
        sc.check(ok, "%s: findings: %s at %.2f is explained by a fault: %s" % (title, f["kind"], f["start_unix"],
                                                                               f["text"]))
    sc.check(client.get("findings_none") is None, "%s: findings: not said to be none" % title)
    sc.flush()


# --- the scenarios of one finding each, scored ---

# what the server's log (alone or with the client's) must find in each; a
# client's log alone cannot see a rebinding, so it finds nothing in any
KIND_OF_SCENARIO = {"idle": ["nat_idle_timeout"], "address": ["public_address_changed"], "clean": []}


def keepalive_lateness(path, intervals):
    """How far the client's keepalive timers strayed from their intervals:
    the largest distance of a gap between two keepalives of one handshake
    (in its log's stamps) from the nearest interval it used."""
    worst, prev = 0.0, None
    for t, text in it.stamped(path):
        m = it.PACKET.match(text)
        msg = ast.literal_eval(m.group(3)) if m and m.group(1) == "TX" else {}
        if msg.get("type") != "keepalive":
            continue
        hs = msg["data"][0]
        if prev and prev[1] == hs:
            worst = max(worst, min(abs(t - prev[0] - i) for i in intervals))
        prev = (t, hs)
    return worst


def score_kind(sc, title, logs, rep, truth, error=None, client_log=None):
    """A scenario of one finding (or none): no outage, exactly the findings
    of KIND_OF_SCENARIO where the server's log is read and none from the
    client's alone, each at the time the truth says with its numbers; with
    none, the line saying so and, from one log, what that log cannot show."""
    name = truth["scenario"]
    sc.out("\n== %s: %s ==" % (name, title))
    try:
        _score_kind(sc, title, logs, rep, truth, error, client_log)
    finally:
        sc.flush()


def _score_kind(sc, title, logs, rep, truth, error, client_log):
    if not sc.check(rep is not None, "%s: a report (%s)" % (title, error)):
        return
    problems = schema_problems(rep, logs)
    sc.check(not problems, "%s: schema: %s" % (title, "; ".join(problems) or "ok"))
    mine = [c for c in rep.get("clients") or [] if isinstance(c, dict) and c.get("id") == truth["client_id"]]
    if not sc.check(len(mine) == 1 and isinstance(mine[0].get("findings"), list),
                    "%s: one client %r with findings" % (title, truth["client_id"])):
        return
    client = mine[0]
    fs = client["findings"]
    kinds = [f.get("kind") if isinstance(f, dict) else f for f in fs]
    want = KIND_OF_SCENARIO[truth["scenario"]] if logs != "client" else []
    sc.out("findings %s, expected %s; outages %d, rebindings %d" % (
        kinds, want, len(client.get("outages") or []), len(client.get("nat_rebindings") or [])))
    sc.check(not client.get("outages"), "%s: no outage: %s" % (title, client.get("outages")))
    if not sc.check(kinds == want, "%s: findings %s, expected %s" % (title, kinds, want)):
        return
    none = client.get("findings_none")
    if not fs:
        sc.out("none-line: %s" % none)
        # what one log cannot show: a client's, the rebindings; a server's, the answers' fate
        cannot = {"client": "rebindings", "server": "cannot", "both": ""}[logs]
        if sc.check(isinstance(none, str) and none, "%s: the line saying nothing was found: %r" % (title, none)):
            sc.check(cannot in none, "%s: the none-line says what this log set cannot show (%r): %r"
                     % (title, cannot, none))
        return
    sc.check(none is None, "%s: findings_none null beside findings: %r" % (title, none))
    f = fs[0]
    sc.out("%s at %s: %s" % (f["kind"], f.get("start"), f.get("text")))
    ev = truth["events"][0]
    if truth["scenario"] == "address":
        # the client's next message after the flush, within a keepalive interval
        late = f.get("start_unix", 0) - ev["time"]
        sc.check(-TOL <= late <= truth["keepalive_interval"] + TOL, "%s: %s %+.3f s after the change (%.3f s "
                 "allowed)" % (title, f["kind"], late, truth["keepalive_interval"]))
        sc.check(ev["new"] in f.get("text", ""), "%s: the text names the new address %s" % (title, ev["new"]))
        return
    # idle: from the first gap that began after the switch to the long
    # interval (the one running then ends on the short cadence)
    kept, forgot = truth["intervals"]
    late = f.get("start_unix", 0) - ev["time"]
    sc.check(-TOL <= late <= kept + TOL, "%s: the forgetting found from %+.3f s after the switch to %s s keepalives "
             "(within one %s s interval)" % (title, late, forgot, kept))
    lo_hi = f.get("idle_timeout_s")
    # a gap in the server's stamps differs from the NAT's by the stamps'
    # milliseconds (both ends), the kernel's tick on the mapping's expiry
    # (10 ms at the coarsest HZ, 100) and how late the timers fired
    slack = 0.002 + 0.010 + (keepalive_lateness(client_log, truth["intervals"]) if client_log else TOL)
    ok = isinstance(lo_hi, list) and len(lo_hi) == 2 and all(is_num(x) for x in lo_hi)
    sc.out("idle_timeout_s %s, the NAT's %s s give or take %.3f s; found %+.3f s after the switch"
           % (lo_hi, truth["idle_timeout"], slack, late))
    sc.check(ok and lo_hi[0] - slack <= truth["idle_timeout"] <= lo_hi[1] + slack,
             "%s: idle_timeout_s %r holds the NAT's %s s (give or take %.3f s)"
             % (title, lo_hi, truth["idle_timeout"], slack))
    sc.check(f.get("end") is None, "%s: the NAT still forgets at the end of the logs: end %r" % (title, f.get("end")))
    # nothing else moved the flow: every rebinding is the NAT's forgetting
    n = (f.get("evidence") or {}).get("rebindings")
    sc.check(n == len(client.get("nat_rebindings") or []) and n >= 3, "%s: the finding counts the run's %d "
             "rebindings, 3 or more: %r" % (title, len(client.get("nat_rebindings") or []), n))
    sc.check(isinstance(f.get("advice"), str) and "PersistentKeepalive" in f["advice"],
             "%s: advice on PersistentKeepalive: %r" % (title, f.get("advice")))


# --- running the report ---


def run_report(logs, truth, env=None):
    """(report dict, None) or (None, why)."""
    cmd = [BIN, "report", "--json", "--keepalive-interval", str(truth.get("keepalive_interval", KA)),
           "--keepalive-count", str(truth.get("keepalive_count", COUNT))] + list(logs)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "%s: %s" % (" ".join(cmd), e)
    if r.returncode != 0:
        return None, "exit status %d: %s" % (r.returncode, r.stderr.strip()[-500:])
    try:
        return json.loads(r.stdout), None
    except ValueError as e:
        return None, "not JSON (%s): %r" % (e, r.stdout[:200])


def score_logs(client_log, server_log, truth, env=None, keep=None):
    """Reports and scores the three log sets; returns the Scorer."""
    sc = Scorer()
    sets = {"client": [client_log], "server": [server_log], "both": [client_log, server_log]}
    for title, logs in LOG_SETS:
        rep, err = run_report(sets[logs], truth, env)
        if keep and rep is not None:
            with open(os.path.join(keep, "report-%s.json" % logs), "w") as f:
                json.dump(rep, f, indent=1)
        try:
            if truth.get("scenario", "faults") == "faults":
                sc.score(title, logs, rep, truth, err)
                score_findings(sc, title, logs, rep, truth)
            else:
                score_kind(sc, title, logs, rep, truth, err, client_log)
        except Exception as e:  # the scorer's own bug: a failure, with the trace
            traceback.print_exc(file=sys.stdout)
            sc.check(False, "%s: the scorer raised %r" % (title, e))
    return sc


def log_period(path):
    """(first, last) Unix time of a log's stamps, read in the local zone."""
    stamps = [t for t, _ in it.stamped(path)]
    return (min(stamps), max(stamps)) if stamps else (None, None)


def finish(sc):
    passed = sum(1 for ok, _ in sc.results if ok)
    failed = len(sc.results) - passed
    print()
    return it.status(passed, failed, 0)


def score_main(args):
    tz = None
    if "--tz" in args:
        i = args.index("--tz")
        tz = args[i + 1] if i + 1 < len(args) else None
        args = args[:i] + args[i + 2:]
        if not tz:
            print("--tz needs a zone")
            return 2
    if len(args) != 3:
        print("usage: scenario.py --score CLIENT.log SERVER.log TRUTH.json [--tz ZONE]")
        return 2
    client_log, server_log, truth_path = args
    for path in args:
        if not os.path.isfile(path):
            print("no such file: %s" % path)
            return 2
    try:
        with open(truth_path) as f:
            truth = json.load(f)
        times = [e.get("start", e.get("time")) for e in truth["events"]]
        if not all(is_num(t) for t in times) or not times:
            raise ValueError("an event without a time")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        print("%s: not a truth file (%s)" % (truth_path, e))
        return 2
    env = None
    if tz:
        os.environ["TZ"] = tz
        time.tzset()
        env = dict(os.environ)
    first, last = log_period(client_log)
    if first is None or not (first <= min(times) and max(times) <= last):
        print("WARNING: the truth's events (%.0f..%.0f) are not inside the client log's period (%s..%s) read in "
              "this time zone (%s): the logs' zone may differ (--tz)"
              % (min(times), max(times), fmt(first, "%.0f"), fmt(last, "%.0f"), time.tzname[0]))
    print("truth: %s (keepalive interval %s s, handshake timeout %s s)" % (
        truth_path, truth.get("keepalive_interval"), truth.get("handshake_timeout")))
    return finish(score_logs(client_log, server_log, truth, env))


# --- the runner (root) ---


class Scenario(it.NetEnv):
    """The namespaces, and the server's state kept across its restart."""

    def __init__(self, tmp, sysctls=()):
        self.state = os.path.join(tmp, "state")
        os.mkdir(self.state)
        self.server_log = os.path.join(tmp, "server.log")
        self.client_log = os.path.join(tmp, "client.log")
        super().__init__("uc-scn-", sysctls=sysctls, tmp=tmp)

    def start_server(self):
        return self.server(extra=["--state-dir", self.state] + TIMERS, wait=False)

    def start_client(self, timers=TIMERS):
        return self.client(timers, cid=CLIENT_ID)

    def nat(self, *cmd):
        """Runs cmd in the NAT namespace; the Unix time halfway through."""
        before = time.time()
        self.net.ns(self.net.n, *cmd)
        return (before + time.time()) / 2


def stderr_of(canary):
    return canary.errors()[-1000:]


def listening_times(path):
    return [t for t, text in it.stamped(path) if text.startswith("Listening on")]


def started(sc, tmp, timers=TIMERS):
    """Starts the server and the client; (server, client, t0: the client's
    first answered handshake)."""
    server = sc.start_server()
    server.port()
    client = sc.start_client(timers)
    it.wait_for(lambda: it.answered(client), timeout=10, what="the first handshake")
    t0 = time.time()
    print("# scenario started at %.3f; logs in %s" % (t0, tmp), flush=True)
    return server, client, t0


def at(t0, step, client):
    """Waits for a step's time; checks the client still runs."""
    delay = t0 + step["at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    it.check(client.proc.poll() is None, "the client is running at +%s: %s" % (step["at"], client.errors()))


def stopped(sc, server, client):
    """Stops both ends, each cleanly."""
    it.check(server.proc.poll() is None, "the server is running at the end: %s" % server.errors())
    for name, p in (("client", client), ("server", server)):
        status = p.stop()
        it.check(status == 0, "the %s stopped cleanly: status %s, %s" % (name, status, stderr_of(p)))


def run(sc, tmp):
    """Runs the script; returns the truth."""
    events = []
    rule = {"both": "drop", "to_server": 'iifname "n1" drop', "to_client": 'iifname "n2" drop'}
    server, client, t0 = started(sc, tmp)
    for step in SCRIPT:
        at(t0, step, client)
        do = step["do"]
        if do == "end":
            break
        if do == "flush":
            events.append({"event": "flush", "time": sc.nat("conntrack", "-F")})
        elif do in ("drop", "loss"):
            ev = {"event": do}
            ev["start"] = sc.nat("nft", "add rule ip canary gate " + (
                rule[step["dir"]] if do == "drop" else "numgen random mod 100 < %d drop" % step["percent"]))
            ev.update({"direction": step["dir"]} if do == "drop" else {"percent": step["percent"]})
            time.sleep(max(0.0, t0 + step["at"] + step["for"] - time.time()))
            ev["end"] = sc.nat("nft", "flush chain ip canary gate")
            events.append(ev)
        elif do == "restart":
            before = time.time()
            status = server.stop()
            start = (before + time.time()) / 2
            it.check(status == 0, "the server stopped cleanly: status %s, %s" % (status, stderr_of(server)))
            os.replace(os.path.join(tmp, "server.stderr"), os.path.join(tmp, "server-1.stderr"))
            time.sleep(max(0.0, t0 + step["at"] + step["for"] - time.time()))
            spawned = time.time()
            server = sc.start_server()  # the same log, appended to, and the same state
            listened = it.wait_for(lambda: listening_times(sc.server_log)[1:], what="the restarted server")
            # its own stamp, not our polling: but never before we started it
            events.append({"event": "restart", "start": start, "end": max(listened[0], spawned)})
        print("# +%s %s: %s" % (step["at"], do, json.dumps(events[-1])), flush=True)
    stopped(sc, server, client)
    it.check(os.path.exists(os.path.join(sc.state, "replay.state")), "the server kept its replay state")
    return {
        "note": "times are Unix seconds; faults were done in the NAT between client and server",
        "client_id": CLIENT_ID,
        "keepalive_interval": KA,
        "handshake_timeout": HT,
        "keepalive_count": COUNT,
        "t0": t0,  # the script's zero: the client's first answered handshake
        "events": events,
    }


# --- the scenarios of one finding each ---

# A NAT that forgets idle UDP mappings: conntrack's UDP timeouts in the NAT's
# namespace (the kernel keeps them per namespace) set to IDLE_T. The client
# sends every keepalive interval while connected, and its next handshake
# with its last keepalive (src/core/client.c), so the flow's idle gaps are
# its keepalive interval and less: the interval is switched by a reload
# (SIGHUP, the config file rewritten) from below IDLE_T to above it and back,
# each a second away from it so that the kernel's tick and the timers'
# lateness cannot blur which side a gap is on.
IDLE_T = 2
IDLE_KEPT, IDLE_FORGOT = IDLE_T - 1.0, IDLE_T + 1.0
IDLE_SCRIPT = [
    {"at": 4, "do": "interval", "seconds": IDLE_FORGOT},  # the forgetting begins
    {"at": 16, "do": "interval", "seconds": IDLE_KEPT},   # 3 or more long gaps before
    {"at": 21, "do": "end"},
]
# The client's public address changes: a second address on the NAT's
# outside, the masquerade replaced by a snat to it, its table flushed.
NAT_OUT_IP2 = "203.0.113.3"
ADDRESS_SCRIPT = [{"at": 3, "do": "address"}, {"at": 7, "do": "end"}]
CLEAN_SCRIPT = [{"at": 30, "do": "end"}]


def write_timers(path, interval):
    with open(path, "w") as f:
        f.write("keepalive-interval = %s\nhandshake-timeout = %s\nkeepalive-count = %d\n" % (interval, HT, COUNT))


def reloads(client):
    return [t for _, t in client.lines() if t == "Reloaded"]


def run_idle(sc, tmp):
    conf = os.path.join(tmp, "client.conf")
    write_timers(conf, IDLE_KEPT)
    server, client, t0 = started(sc, tmp, timers=["--config", conf])
    events = []
    for step in IDLE_SCRIPT:
        at(t0, step, client)
        if step["do"] == "end":
            break
        write_timers(conf, step["seconds"])
        done = len(reloads(client))
        before = time.time()
        client.proc.send_signal(signal.SIGHUP)
        it.wait_for(lambda: len(reloads(client)) > done, what="the client's reload")
        events.append({"event": "interval", "time": before, "seconds": step["seconds"]})
        print("# +%s %s" % (step["at"], json.dumps(events[-1])), flush=True)
    stopped(sc, server, client)
    return {"idle_timeout": IDLE_T, "intervals": [IDLE_KEPT, IDLE_FORGOT], "keepalive_interval": IDLE_FORGOT,
            "events": events}


def run_address(sc, tmp):
    sc.nat("ip", "addr", "add", NAT_OUT_IP2 + "/24", "dev", "n2")  # a secondary: the masquerade keeps the first
    server, client, t0 = started(sc, tmp)
    events = []
    for step in ADDRESS_SCRIPT:
        at(t0, step, client)
        if step["do"] == "end":
            break
        events.append({"event": "address", "new": NAT_OUT_IP2, "time": sc.nat("sh", "-c", (
            'nft flush chain ip canary post && nft add rule ip canary post oifname "n2" snat to %s fully-random'
            ' && conntrack -F') % NAT_OUT_IP2)})
        print("# +%s %s" % (step["at"], json.dumps(events[-1])), flush=True)
    stopped(sc, server, client)
    return {"events": events}


def run_clean(sc, tmp):
    server, client, t0 = started(sc, tmp)
    at(t0, CLEAN_SCRIPT[-1], client)
    stopped(sc, server, client)
    return {"events": []}


def run_faults(sc, tmp):
    with open(os.path.join(tmp, "scenario.json"), "w") as f:
        json.dump(SCRIPT, f)
    return run(sc, tmp)


# name: (what it does, its runner, the NAT's sysctls)
SCENARIOS = {
    "faults": ("flush, drops each way, loss, a server restart", run_faults, ()),
    "idle": ("a NAT that forgets idle mappings after %d s" % IDLE_T, run_idle,
             ("net.netfilter.nf_conntrack_udp_timeout=%d" % IDLE_T,
              "net.netfilter.nf_conntrack_udp_timeout_stream=%d" % IDLE_T)),
    "address": ("the client's public address changes", run_address, ()),
    "clean": ("%d s without a fault" % CLEAN_SCRIPT[-1]["at"], run_clean, ()),
}


def run_one(name, tmp):
    """Runs one scenario in tmp; returns its Scorer."""
    what, runner, sysctls = SCENARIOS[name]
    print("\n### scenario %s: %s" % (name, what), flush=True)
    started_at = time.monotonic()
    sc = None
    try:
        sc = Scenario(tmp, sysctls)
        truth = {"scenario": name, "note": "times are Unix seconds; faults were done in the NAT between client and "
                 "server", "client_id": CLIENT_ID, "keepalive_interval": KA, "handshake_timeout": HT,
                 "keepalive_count": COUNT}
        truth.update(runner(sc, tmp))
    finally:
        if sc:
            sc.close()
    with open(os.path.join(tmp, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    scorer = score_logs(sc.client_log, sc.server_log, truth, keep=tmp)
    print("# scenario %s took %.1f s" % (name, time.monotonic() - started_at), flush=True)
    return scorer


def scenario_main(names):
    why = it.netns_unavailable()
    if why:
        print("SKIP: " + why)
        return it.status(0, 0, 1)
    if not os.access(BIN, os.X_OK):
        print("FAIL: no udp-canary binary at %s (set UDP_CANARY)" % BIN)
        return 1
    top = tempfile.mkdtemp(prefix="udp-canary-scenario-")
    keep = os.environ.get("KEEP_LOGS")
    passed = failed = 0
    for name in names:
        tmp = os.path.join(top, name)
        os.mkdir(tmp)
        try:
            results = run_one(name, tmp).results
        except Exception:
            traceback.print_exc(file=sys.stdout)
            for end in ("client", "server"):
                path = os.path.join(tmp, end + ".log")
                if os.path.exists(path):
                    print("--- %s (the end)\n%s" % (path, open(path).read()[-2000:]))
            results = [(False, "%s: the run" % name)]
        passed += sum(1 for ok, _ in results if ok)
        failed += sum(1 for ok, _ in results if not ok)
        if keep:
            os.makedirs(os.path.join(keep, name), exist_ok=True)
            for f in os.listdir(tmp):
                if f.endswith((".log", ".json", ".stderr")):
                    shutil.copy(os.path.join(tmp, f), os.path.join(keep, name, f))
    print()
    status = it.status(passed, failed, 0)
    if status == 0:
        shutil.rmtree(top, ignore_errors=True)
    else:
        print("# logs, truth and reports left in %s" % top)
    return status


# --- the scorer's own test, on hand-written reports ---


def self_test():
    t = 1795606968.0
    truth = {
        "client_id": "home", "keepalive_interval": 1.0, "handshake_timeout": 1.0, "keepalive_count": 5,
        "events": [
            {"event": "flush", "time": t + 6.0},
            {"event": "drop", "start": t + 14.0, "direction": "both", "end": t + 18.0},
            {"event": "drop", "start": t + 24.0, "direction": "to_client", "end": t + 29.0},
            {"event": "drop", "start": t + 35.0, "direction": "to_server", "end": t + 39.0},
            {"event": "loss", "start": t + 45.0, "percent": 30, "end": t + 55.0},
            {"event": "restart", "start": t + 59.0, "end": t + 62.0},
        ],
    }

    def outage(a, b, direction, lo=None, hi=None, seconds=None):
        return {"start": "x", "start_unix": t + a, "end": "x", "end_unix": t + b,
                "seconds": b - a if seconds is None else seconds,
                "seconds_min": (b - a) - 1.5 if lo is None else lo, "seconds_max": (b - a) + 1.5 if hi is None else hi,
                "direction": direction, "seen_by": "both", "ongoing": False}

    def rebind(at):
        return {"time": "x", "time_unix": t + at, "old": "203.0.113.1:1000", "new": "203.0.113.1:2000"}

    def report(logs, outages, rebinds):
        d = {"sent": 10, "received": 9, "lost": 1}
        return {"version": 2, "clients": [{
            "id": "home", "outages": outages, "nat_rebindings": rebinds,
            "delivery": {"client_to_server": d if logs != "server" else None, "server_to_client": d},
            "clock_offset_seconds": 0.001 if logs == "both" else None}]}

    def good(logs):
        dirs = {"client": ["unknown"] * 4, "server": ["unknown", "server_to_client", "unknown", "unknown"],
                "both": ["client_to_server", "server_to_client", "client_to_server", "both"]}[logs]
        return report(logs, [outage(14.2, 18.5, dirs[0]), outage(25.0, 29.3, dirs[1], lo=2.0, hi=7.0),
                             outage(35.4, 39.2, dirs[2]), outage(59.1, 62.5, dirs[3])],
                      [] if logs == "client" else [rebind(6.4)])

    quiet = []
    results = []

    def expect(name, logs, rep, failing, error=None):
        return judged(name, failing, lambda sc: sc.score(name, logs, rep, truth, error))

    def judged(name, failing, score):
        """score(a Scorer); failing: substrings, one per expected failure,
        in any order."""
        sc = Scorer(out=quiet.append)
        score(sc)
        got = sc.failed()
        ok = len(got) == len(failing) and all(any(f in g for g in got) for f in failing)
        results.append((ok, name))
        print(("ok - " if ok else "FAIL - ") + name)
        if not ok:
            print("  expected failures: %s\n  got: %s" % (failing, got))
            print("\n".join("  | " + line for line in quiet))
        del quiet[:]
        return sc

    for logs in ("client", "server", "both"):
        expect("a right report, %s" % logs, logs, good(logs), [])

    r = good("both")
    r["clients"][0]["outages"][1]["direction"] = "client_to_server"
    expect("a wrong direction", "both", r, ["direction"])
    r = good("client")
    r["clients"][0]["outages"][0]["direction"] = "both"
    expect("one log claims a direction", "client", r, ["direction"])
    r = good("both")
    r["clients"][0]["outages"][0].update(seconds_min=4.2, seconds_max=6.0)
    expect("the truth below the bounds", "both", r, ["inside the bounds"])
    r = good("both")
    r["clients"][0]["outages"][0].update(seconds_min=4.02)
    expect("bounds within the tolerance", "both", r, [])
    r = good("both")
    r["clients"][0]["outages"][2]["seconds"] = 5.2
    expect("an estimate too long", "both", r, ["estimate"])
    r = good("both")
    del r["clients"][0]["outages"][2]
    expect("a fault not found", "both", r, ["drop to_server +29.0 not found"])
    r = good("both")
    r["clients"][0]["outages"].insert(0, outage(8.0, 9.0, "both"))
    expect("a false outage", "both", r, ["outside the fault windows"])
    r = good("both")
    r["clients"][0]["outages"][3:3] = [outage(47.0, 48.5, "client_to_server"), outage(52.0, 53.0, "both")]
    expect("outages in the loss window, not scored", "both", r, [])
    r = good("both")
    r["clients"][0]["outages"][0:1] = [outage(14.2, 15.5, "both"), outage(16.0, 18.3, "both")]
    expect("a fault in two pieces", "both", r, ["one piece", "estimate", "inside the bounds"])
    r = good("server")
    r["clients"][0]["nat_rebindings"] = []
    expect("the flush's rebinding missing", "server", r, ["one rebinding for the flush"])
    r = good("both")
    r["clients"][0]["nat_rebindings"].append(rebind(7.0))
    expect("two rebindings for one flush", "both", r, ["one rebinding for the flush"])
    r = good("both")
    r["clients"][0]["nat_rebindings"].append(rebind(62.4))
    expect("a rebinding after the restart", "both", r, [])
    r = good("both")
    r["clients"][0]["nat_rebindings"].append(rebind(20.0))
    expect("a rebinding without a flush", "both", r, ["without a flush"])
    r = good("client")
    r["clients"][0]["nat_rebindings"] = [rebind(6.4)]
    expect("a rebinding from the client's log", "client", r, ["no rebinding from the client"])
    r = good("client")
    r["clients"][0]["clock_offset_seconds"] = 0.0
    expect("a clock offset from one log", "client", r, ["schema"])
    r = good("both")
    r["clients"][0]["id"] = "office"
    expect("the client missing", "both", r, ["one client"])
    expect("no report at all", "both", None, ["no report"], error="exit status 2: boom")
    # version 1: no direction, no bounds, no delivery, no clock offset
    v1 = good("both")
    v1["version"] = 1
    for o in v1["clients"][0]["outages"]:
        for k in ("direction", "seconds_min", "seconds_max"):
            del o[k]
    del v1["clients"][0]["delivery"], v1["clients"][0]["clock_offset_seconds"]
    expect("a version 1 report fails clearly", "both", v1,
           ["schema: version 1"] + ["direction"] * 4 + ["bounds"] * 4)
    expect("garbage fails clearly", "both", {"version": 2, "clients": [{"id": "home", "outages": [{"start_unix": "x"}],
                                                                        "nat_rebindings": [{}]}]},
           ["schema", "start_unix and end_unix", "not found", "not found", "not found", "not found",
            "one rebinding for the flush", "time_unix"])
    expect("not an object", "both", [], ["schema", "one client"])

    # the faults' findings: the restart is server_stopped where the server's log is read
    def with_findings(logs, restart_kind):
        r = good(logs)
        c = r["clients"][0]
        c["findings"] = [dict(start=o["start"], start_unix=o["start_unix"], end=o["end"], end_unix=o["end_unix"],
                              kind=FINDING_OF_DIRECTION[o["direction"]], text="t", advice=None, evidence={})
                         for o in c["outages"]]
        c["findings"][-1]["kind"] = restart_kind
        c["findings"] += [dict(c["findings"][0], kind="mapping_replaced", start_unix=r["time_unix"])
                          for r in c["nat_rebindings"]]
        return r

    for name, logs, kind, failing in (("the restart server_stopped", "server", "server_stopped", []),
                                      ("the restart outbound_lost", "both", "outbound_lost", ["restart gives"]),
                                      ("the restart unknown, client", "client", "outage_unknown_direction", [])):
        judged("findings: " + name, failing,
               lambda sc: score_findings(sc, name, logs, with_findings(logs, kind), truth))

    # the scenarios of one finding each
    def kind_expect(name, scenario, logs, findings, failing, none="Nothing found in 1 minute of logs."):
        ev = {"idle": [{"event": "interval", "time": t + 4.0, "seconds": IDLE_FORGOT},
                       {"event": "interval", "time": t + 16.0, "seconds": IDLE_KEPT}],
              "address": [{"event": "address", "time": t + 3.0, "new": NAT_OUT_IP2}], "clean": []}[scenario]
        tr = {"scenario": scenario, "client_id": "home", "keepalive_interval": KA, "idle_timeout": IDLE_T,
              "intervals": [IDLE_KEPT, IDLE_FORGOT], "events": ev}
        moves = {"idle": [rebind(5.0 + 3 * i) for i in range(4)], "address": [rebind(3.2)], "clean": []}[scenario]
        rep = report(logs, [], moves if logs != "client" else [])
        rep["clients"][0].update(findings=findings, findings_none=None if findings else none)
        judged(name, failing, lambda sc: score_kind(sc, name, logs, rep, tr))

    def finding(kind, at, **more):
        f = {"kind": kind, "start": "x", "start_unix": t + at, "end": None, "end_unix": None, "text": "t",
             "advice": None, "evidence": {}}
        f.update(more)
        return f
    nat = finding("nat_idle_timeout", 4.6, idle_timeout_s=[IDLE_KEPT, IDLE_FORGOT], evidence={"rebindings": 4},
                  advice="Keep PersistentKeepalive below 3 s.")
    moved = finding("public_address_changed", 3.2, text="from %s" % NAT_OUT_IP2)
    for logs in ("server", "both"):
        kind_expect("idle, %s: right" % logs, "idle", logs, [nat], [])
        kind_expect("address, %s: right" % logs, "address", logs, [moved], [])
    kind_expect("idle, client: right", "idle", "client", [], [], none="... cannot see NAT rebindings ...")
    kind_expect("idle, client: the none-line silent on rebindings", "idle", "client", [], ["cannot show"])
    kind_expect("clean, both: no none-line", "clean", "both", [], ["the line saying"], none=None)
    kind_expect("idle, server: none found", "idle", "server", [], ["expected ['nat_idle_timeout']"])
    kind_expect("idle, client: a NAT timeout from a client's log", "idle", "client", [nat], ["expected []"])
    kind_expect("idle, both: two", "idle", "both", [nat, nat], ["expected ['nat_idle_timeout']"])
    kind_expect("idle, both: a bracket above the truth", "idle", "both",
                [dict(nat, idle_timeout_s=[IDLE_T + 0.5, IDLE_FORGOT])], ["holds the NAT's"])
    kind_expect("idle, both: found from before the switch", "idle", "both", [dict(nat, start_unix=t + 1.0)],
                ["found from"])
    kind_expect("idle, both: closed", "idle", "both", [dict(nat, end="x", end_unix=t + 9.0)], ["still forgets"])
    kind_expect("idle, both: a rebinding left out", "idle", "both", [dict(nat, evidence={"rebindings": 3})],
                ["counts the run's 4"])
    kind_expect("idle, both: no advice", "idle", "both", [dict(nat, advice=None)], ["advice"])
    kind_expect("address, both: late", "address", "both", [dict(moved, start_unix=t + 5.0)], ["after the change"])
    kind_expect("address, both: the port only", "address", "both", [dict(moved, kind="mapping_replaced")],
                ["expected ['public_address_changed']"])
    kind_expect("clean, server: an invented finding", "clean", "server", [moved], ["expected []"])
    passed = sum(1 for ok, _ in results if ok)
    return it.status(passed, len(results) - passed, 0)


def main(argv):
    if argv[:1] == ["--self-test"]:
        return self_test()
    if argv[:1] == ["--score"]:
        return score_main(argv[1:])
    names = list(SCENARIOS)
    if argv[:1] == ["--only"] and len(argv) == 2:
        names = argv[1].split(",")
        argv = [] if all(n in SCENARIOS for n in names) else argv
    if argv:
        print(__doc__)
        return 2
    # meson's timeout sends SIGTERM: tear down all the same
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return scenario_main(names)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
