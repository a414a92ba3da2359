#!/usr/bin/env python3
"""udp-canary probe through a real NAT: the namespaces of canary_test.Net
(a client behind nftables masquerade, a server), with the NAT namespace's
conntrack UDP timeouts set to known, different values (conntrack sysctls
are per network namespace): 8 s for a fresh mapping, 20 s for a flow that
has seen both directions. The bounds the probe reports must contain them,
for both kinds; a NAT that drops everything must give "no answer" (exit
3), not a timeout of 0. Root only (exit 77 otherwise); the namespaces are
named prb*, and removed afterwards.
Run one: tests/netns-probe.py timeouts"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402
import netns  # noqa: E402

FRESH_S, STREAM_S = 8, 20


class Case(it.NetEnv):
    """The namespaces under names of our own, the NAT's timeouts set."""

    def __init__(self):
        super().__init__("prb", ["net.netfilter.nf_conntrack_udp_timeout=%d" % FRESH_S,
                                 "net.netfilter.nf_conntrack_udp_timeout_stream=%d" % STREAM_S])

    def probe(self, *extra):
        cmd = self.net.exe(self.net.c) + ["probe", "--id", "home", "--host", it.SERVER_IP, "--port",
                                          str(it.PORT), "--key-file", self.key_file, "--json"] + list(extra)
        start = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=200)
        return r, time.monotonic() - start


def timeouts(case):
    """Both kinds' bounds contain the NAT's timeouts, 2 s apart at most,
    in well under two minutes."""
    case.server()
    r, took = case.probe("--resolution", "2", "--max-delay", "30", "--time-bound", "100",
                         "--log", os.path.join(case.tmp, "probe.log"))
    it.check(r.returncode == 0, "exit 0: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    out = json.loads(r.stdout)
    for kind, truth in (("fresh", FRESH_S), ("established", STREAM_S)):
        b = out[kind]
        it.check(b["lower"] is not None and b["upper"] is not None, "%s: both bounds: %s" % (kind, b))
        it.check(b["lower"] < truth <= b["upper"], "%s: %s contains %d s" % (kind, b["text"], truth))
        it.check(b["upper"] - b["lower"] <= 2, "%s: within the resolution: %s" % (kind, b["text"]))
    it.check(out["keepalive_below"] == out["fresh"]["lower"], "the advice follows the shorter: %s" % out)
    it.check(took < 110, "within the time bound: %.0f s" % took)
    print("# NAT %d s fresh, %d s established: %s (%.0f s)" % (FRESH_S, STREAM_S, out["verdict"], took))


def drops_everything(case):
    """A NAT that forwards nothing: "no answer", exit 3, not a timeout of 0."""
    case.server()
    case.net.nft("add rule ip canary gate drop")
    r, took = case.probe("--max-delay", "30", "--time-bound", "100")
    it.check(r.returncode == 3, "exit 3: %d %s" % (r.returncode, r.stderr))
    out = json.loads(r.stdout)
    for kind in ("fresh", "established"):
        it.check(out[kind]["text"] == "no answer" and out[kind]["lower"] is None,
                 "%s: no answer, not 0: %s" % (kind, out[kind]))
    it.check(out["keepalive_below"] is None, "no advice")
    it.check(took < 30, "over soon: %.0f s" % took)
    print("# drops everything: %s (%.0f s)" % (out["verdict"], took))


def background(case):
    """The client daemon with --probe-every: the canary's flow goes on, the
    result is a log line whose bounds contain the NAT's, and /metrics
    serves them."""
    server = case.server()
    client = case.client(netns.FAST + ["--probe-every", "600", "--probe-max-delay", "30",
                                       "--metrics-listen", "127.0.0.1:9109"])
    done = lambda: [t for _, t in client.lines() if t.startswith("NAT idle timeout probe: ")]  # noqa: E731
    it.wait_for(done, timeout=110, what="the probe's result")
    line = done()[0]
    m = re.search(r"mapping (\d+) to (\d+) s \(fresh\), (\d+) to (\d+) s \(established\)", line)
    it.check(m, "both bounds of both kinds: %s" % line)
    fl, fu, el, eu = map(int, m.groups())
    it.check(fl < FRESH_S <= fu and el < STREAM_S <= eu, "they contain %d and %d s: %s" % (FRESH_S, STREAM_S, line))
    text = case.net.ns(case.net.c, sys.executable, "-c", "import urllib.request as u;"
                       "print(u.urlopen('http://127.0.0.1:9109/metrics').read().decode())")
    served = {(k, b): int(v) for k, b, v in
              re.findall(r'^udp_canary_nat_idle_timeout_seconds\{kind="(\w+)",bound="(\w+)"\} (\d+)$', text, re.M)}
    it.check(served == {("fresh", "lower"): fl, ("fresh", "upper"): fu, ("established", "lower"): el,
                        ("established", "upper"): eu}, "served as metrics: %s" % served)
    probes = [m for _, _, m in client.packets("TX") if m["type"] == "probe"]
    it.check(probes, "the probes logged as packets")
    answers = [m for _, _, m in client.packets("RX") if m["type"] == "handshake_response"]
    it.check(len(answers) >= 10, "the canary went on meanwhile: %d handshakes" % len(answers))
    it.check(client.stop() == 0, "clean exit")
    it.check(not [t for _, t in server.lines() if t.startswith("NAT rebinding")],
             "the probes' ports are not read as the canary's rebinding")
    print("# background: %s" % line)


CASES = [timeouts, drops_everything, background]


if __name__ == "__main__":
    sys.exit(it.main(CASES, Case, it.netns_unavailable))
