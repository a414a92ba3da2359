#!/usr/bin/env python3
"""Two flows side by side, end to end in network namespaces (root, and a
kernel that lets this make them: exit 77 otherwise, saying why): the
namespaces of tests/netns-trace.py (client -> carrier NAT -> router ->
server, no ICMP rate limit), IPv4 masqueraded by the NAT, IPv6 routed
without NAT; one dual-stack server (--host ::) and two clients on the one
machine, home-v4 (-4) and home-v6 (-6), with fast timers (at the defaults a
blackhole of seconds loses fewer than two messages).

Script: 3 conntrack flushes in the NAT (each waited for as a NAT rebinding
of home-v4 in the server's log); an IPv4-only blackhole in the NAT's forward
chain, held until home-v4 has traced its dead flow; then both families
dropped on the router, past the NAT, held until both clients have traced.
`udp-canary report --json` on the two clients' logs and the server's must
find the IPv4-only outage on home-v4 alone (no IPv6 outage invented, home-v6
answered throughout), the joint one on both, each with the right direction
and bounds holding the blackhole's times, and the three rebindings on
home-v4 only. Each client's trace line must name the right last hop: the
NAT (hop 1, a carrier NAT) for the first, the router (hop 2) for the joint.

The report's flow comparison (outages[].others, outages[].last_hop, the
findings this_flow_only and all_flows) is checked when the report has it,
and reported as "skip - ..." lines otherwise. Namespaces are named
$UDP_CANARY_NETNS_PREFIX + fl24-*, removed afterwards, also on failure.
KEEP_LOGS=DIR keeps the three logs, the report and the script's times in DIR.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import canary_test as it  # noqa: E402


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tr = _load("netns_trace", "netns-trace.py")  # Net4, V6, FAST and the trace line's reader

V4_ID, V6_ID = "home-v4", "home-v6"
SERVER_V6 = tr.V6["s0"]
FLUSHES = 3
TOL = 0.05  # log stamps have milliseconds; an nft or conntrack command takes a few ms
# the inits left unanswered, then the hops: at most --trace-hops (default 8)
# of HOP_TIMEOUT each
TRACE_WAIT = 3 * tr.HT + 8 * tr.HOP_TIMEOUT + 5


class Flows(it.NetEnv):
    def __init__(self):
        super().__init__("fl24-", net=tr.Net4)

    def at(self, ns, *cmd):
        """Runs cmd in a namespace; the Unix time halfway through."""
        before = time.time()
        self.net.ns(ns, *cmd)
        return (before + time.time()) / 2

    def flow(self, cid, family, host):
        return self.start(cid, self.net.c, ["--client", family, "--id", cid, "--host", host, "--port",
                                            str(it.PORT), "--key-file", self.key_file] + tr.FAST)


def rebinds(server, cid):
    return [t for _, t in server.lines() if t.startswith("NAT rebinding: '%s' moved " % cid)]


def outage_over(client):
    return [t for _, t in client.lines() if t.startswith("Outage over")]


def answered_in(client, start, end):
    """Handshake answers the client logged between two Unix times."""
    return [t for t, text in it.stamped(client.log)
            if start <= t <= end and text.startswith("RX ") and "'handshake_response'" in text]


def blackhole(env, ns, rules, clients):
    """Drops with rules in ns's forward chains until every client has
    logged a new trace line, then lifts them and waits for each to be
    answered again; the window (Unix times)."""
    before = {c: len(tr.traces(c)) for c in clients}
    over = {c: len(outage_over(c)) for c in clients}
    start = env.at(ns, "nft", "; ".join(rules))
    for c in clients:
        it.wait_for(lambda: tr.traces(c)[before[c]:], timeout=TRACE_WAIT, what="a trace line in " + c.log)
    end = env.at(ns, "nft", "flush chain ip canary gate; flush chain ip6 canary gate")
    for c in clients:
        it.wait_for(lambda: outage_over(c)[over[c]:], timeout=10, what="the outage's end in " + c.log)
    return start, end


def run(env):
    """The script; the logs and what happened when."""
    server = env.server(extra=["--host", "::", "--keepalive-interval", str(tr.KA)])
    v4 = env.flow(V4_ID, "-4", it.SERVER_IP)
    v6 = env.flow(V6_ID, "-6", SERVER_V6)
    for c in (v4, v6):
        it.wait_for(lambda: len(tr.answers(c)) >= 2, timeout=10, what="2 handshakes in " + c.log)
    flushes = []
    for i in range(FLUSHES):
        flushes.append(env.at(env.net.n, "conntrack", "-F"))
        # its next message leaves from a new port: the server says so
        it.wait_for(lambda: len(rebinds(server, V4_ID)) > i, timeout=10, what="rebinding %d" % (i + 1))
    v4_only = blackhole(env, env.net.n, ["add rule ip canary gate drop"], [v4])
    for c in (v4, v6):  # both flows steady again before the next
        n = len(tr.answers(c))
        it.wait_for(lambda: len(tr.answers(c)) >= n + 2, timeout=10, what="2 more handshakes in " + c.log)
    joint = blackhole(env, env.net.r, ["add rule ip canary gate drop", "add rule ip6 canary gate drop"], [v4, v6])
    for c in (v4, v6):
        n = len(tr.answers(c))
        it.wait_for(lambda: len(tr.answers(c)) >= n + 2, timeout=10, what="2 more handshakes in " + c.log)
    statuses = [p.stop() for p in (v4, v6, server)]
    it.check(statuses == [0, 0, 0], "clean exits: %s" % statuses)
    return {"server": server, "v4": v4, "v6": v6, "flushes": flushes, "v4_only": v4_only, "joint": joint}


def report(logs):
    cmd = [it.BIN, "report", "--json", "--keepalive-interval", str(tr.KA), "--handshake-timeout", str(tr.HT)]
    r = subprocess.run(cmd + logs, capture_output=True, text=True, timeout=60 * it.SLOW)
    it.check(r.returncode == 0, "report: exit status %d: %s" % (r.returncode, r.stderr[-500:]))
    return json.loads(r.stdout)


def has_flows(rep, field):
    """Whether the report compares flows: its outages carry field."""
    outages = [o for c in rep["clients"] for o in c["outages"]]
    return bool(outages) and all(field in o for o in outages)


def brief(outages):
    return ["%.3f..%.3f %s" % (o["start_unix"], o["end_unix"], o["direction"]) for o in outages]


def overlaps(o, window):
    return o["start_unix"] < window[1] and o["end_unix"] > window[0]


def bounded(lo, hi, t):
    """lo <= t <= hi give or take TOL, a null bound being open."""
    return (lo is None or lo - TOL <= t) and (hi is None or t <= hi + TOL)


def trace_in(client, window):
    """The trace lines logged in a window, as (stamp, Unix time, parsed)."""
    with open(client.log, encoding="utf-8") as f:  # the stamps as written, beside it.stamped's times
        stamps = [line[1:24] for line in f if it.LINE.match(line.rstrip("\n"))]
    return [(stamp, when, tr.parse(text)) for stamp, (when, text) in zip(stamps, it.stamped(client.log))
            if text.startswith("Trace to ") and window[0] <= when <= window[1]]


def check_outage(t, rep, cid, window, what, last_hop, other, other_state, kind, client):
    """The one outage of client cid overlapping window, with its last hop
    from the trace line, and (where the report compares flows) the other
    flow's state and the finding."""
    me = next(c for c in rep["clients"] if c["id"] == cid)
    found = [o for o in me["outages"] if overlaps(o, window)]
    if not t.check(len(found) == 1, "%s: one outage of %s over it: %s" % (what, cid, brief(found))):
        return
    o = found[0]
    t.check(o["direction"] in ("both", "client_to_server"),
            "%s: %s's direction both or client_to_server (the server sends nothing it did not hear): %s"
            % (what, cid, o["direction"]))
    t.check(bounded(o["start_min_unix"], o["start_max_unix"], window[0])
            and bounded(o["end_min_unix"], o["end_max_unix"], window[1]),
            "%s: %s's bounds hold the blackhole %.3f..%.3f: start %s..%s, end %s..%s"
            % (what, cid, window[0], window[1], o["start_min_unix"], o["start_max_unix"], o["end_min_unix"],
               o["end_max_unix"]))
    traced = trace_in(client, window)
    if t.check(len(traced) == 1, "%s: one trace line in %s's log: %s" % (what, cid, [x[0] for x in traced])):
        stamp, when, (_, hops, last) = traced[0]
        t.check(last == last_hop, "%s: %s's trace names the last hop that answered %s: %s"
                % (what, cid, last_hop, last))
        t.check(hops[:last_hop[0]] == [h for h in hops[:last_hop[0]] if h] and set(hops[last_hop[0]:]) == {None},
                "%s: %s's hops answered up to it, none after: %s" % (what, cid, hops))
        if not has_flows(rep, "last_hop"):
            t.skip("%s: %s's last_hop in the report (outages[].last_hop: not in this report)" % (what, cid))
        else:
            got = o["last_hop"] or {}
            t.check(got.get("address") == last_hop[1] and got.get("hop") == last_hop[0] and got.get("hops") == hops
                    and got.get("time") in (stamp, round(when, 3)),
                    "%s: %s's last_hop is its trace's (%s at %s, %s): %s" % (what, cid, last_hop, stamp, hops, got))
    if not has_flows(rep, "others"):
        t.skip("%s: %s's others (%s %s) and finding %s (outages[].others: not in this report)"
               % (what, cid, other, other_state, kind))
        return
    peer = next(c for c in rep["clients"] if c["id"] == other)
    mates = [x for x in o["others"] if x.get("id") == other]
    t.check(len(mates) == 1 and mates[0].get("state") == other_state and mates[0].get("server") in peer["servers"],
            "%s: %s's others has %s %s (to %s): %s" % (what, cid, other, other_state, peer["servers"], o["others"]))
    kinds = [f["kind"] for f in me["findings"] if f["start_unix"] < o["end_unix"]
             and (f["end_unix"] is None or f["end_unix"] > o["start_unix"])]
    t.check(kind in kinds, "%s: %s's finding %s: %s" % (what, cid, kind, kinds))


def check_all(t, env, ran, rep):
    server, v4, v6 = ran["server"], ran["v4"], ran["v6"]
    v4_only, joint = ran["v4_only"], ran["joint"]
    t.check(sorted(c["id"] for c in rep["clients"]) == [V4_ID, V6_ID], "two flows in the report: %s"
            % [c["id"] for c in rep["clients"]])
    by_id = {c["id"]: c for c in rep["clients"]}
    for cid, addr in ((V4_ID, it.SERVER_IP), (V6_ID, SERVER_V6)):
        c = by_id[cid]
        t.check(c["seen_in"] == {"client_log": True, "server_log": True}, "%s in both its logs: %s"
                % (cid, c["seen_in"]))
        t.check(len(c["servers"]) == 1 and addr in c["servers"][0], "%s's server is %s: %s"
                % (cid, addr, c["servers"]))
    t.check(len(by_id[V4_ID]["nat_rebindings"]) == FLUSHES and not by_id[V6_ID]["nat_rebindings"],
            "a rebinding per flush on %s, none on %s (routed): %d, %d" % (
                V4_ID, V6_ID, len(by_id[V4_ID]["nat_rebindings"]), len(by_id[V6_ID]["nat_rebindings"])))
    t.check(len(by_id[V4_ID]["outages"]) == 2, "%s: 2 outages, the blackholes: %s"
            % (V4_ID, brief(by_id[V4_ID]["outages"])))
    t.check(len(by_id[V6_ID]["outages"]) == 1, "%s: 1 outage, the joint blackhole: %s"
            % (V6_ID, brief(by_id[V6_ID]["outages"])))
    # the IPv4-only blackhole: the NAT, at its inside address, the last hop
    nat = (1, tr.NAT_IN_IP)
    check_outage(t, rep, V4_ID, v4_only, "IPv4 only", nat, V6_ID, "up", "this_flow_only", v4)
    t.check(not [o for o in by_id[V6_ID]["outages"] if overlaps(o, v4_only)],
            "IPv4 only: no IPv6 outage invented")
    t.check(len(answered_in(v6, *v4_only)) >= 2 and not [x for x in it.stamped(v6.log) if
                                                          v4_only[0] <= x[0] <= v4_only[1]
                                                          and x[1].startswith("No answer to handshake")],
            "IPv4 only: %s answered throughout (%d answers, none unanswered)"
            % (V6_ID, len(answered_in(v6, *v4_only))))
    line = [text for when, text in it.stamped(v4.log) if text.startswith("Trace to ")
            and v4_only[0] <= when <= v4_only[1]]
    t.check(line and line[0].endswith("a carrier NAT (RFC 6598 shared address)"),
            "IPv4 only: the NAT called a carrier NAT: %s" % line)
    # both families dropped on the router: the router the last hop of each
    check_outage(t, rep, V4_ID, joint, "joint", (2, tr.ROUTER_IP), V6_ID, "down", "all_flows", v4)
    check_outage(t, rep, V6_ID, joint, "joint", (2, tr.V6["r1"]), V4_ID, "down", "all_flows", v6)
    if not has_flows(rep, "others"):
        t.skip("no finding this_flow_only or all_flows outside the blackholes (findings: not in this report)")
        return
    stray = [(c["id"], f["kind"]) for c in rep["clients"] for f in c["findings"]
             if f["kind"] in ("this_flow_only", "all_flows")
             and not any(f["start_unix"] < w[1] + TOL and (f["end_unix"] or w[1]) > w[0] - TOL
                         for w in (v4_only, joint))]
    t.check(not stray, "no finding this_flow_only or all_flows outside the blackholes: %s" % stray)


def keep(env, ran, rep):
    """With KEEP_LOGS=DIR, the logs, the report and the script's times in DIR."""
    top = os.environ.get("KEEP_LOGS")
    if not top:
        return
    os.makedirs(top, exist_ok=True)
    for p in (ran["v4"], ran["v6"], ran["server"]):
        shutil.copy(p.log, top)
    with open(os.path.join(top, "report.json"), "w") as f:
        json.dump(rep, f, indent=1)
    with open(os.path.join(top, "times.json"), "w") as f:
        json.dump({k: ran[k] for k in ("flushes", "v4_only", "joint")}, f)
    print("# logs, report and times kept in %s" % top)


def main():
    why = it.netns_unavailable()
    if why:
        print("SKIP: " + why)
        return it.status(0, 0, 1)
    t = it.Tally()
    env = None
    try:
        env = Flows()
        ran = run(env)
        print("# flushes %s, IPv4-only %.3f..%.3f, joint %.3f..%.3f" % (
            ["%.3f" % f for f in ran["flushes"]], *ran["v4_only"], *ran["joint"]), flush=True)
        for c in (ran["v4"], ran["v6"]):
            for line in tr.traces(c):
                print("# %s: %s" % (os.path.basename(c.log), line))
        rep = report([ran["v4"].log, ran["v6"].log, ran["server"].log])
        keep(env, ran, rep)
        check_all(t, env, ran, rep)
        if t.failed:
            print(json.dumps(rep, indent=1)[:6000])
            it.tell_failure(env)
    except Exception:
        import traceback
        traceback.print_exc(file=sys.stdout)
        t.check(False, "the run")
        it.tell_failure(env)
    finally:
        if env:
            env.close()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
