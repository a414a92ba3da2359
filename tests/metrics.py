#!/usr/bin/env python3
"""Prometheus metrics (--metrics-listen): the text passes `promtool check
metrics`, the numbers agree with the logs, and a real Prometheus server
scraping a running server and client answers a query with them. Without
promtool or prometheus (Debian: prometheus) those parts are counted as
skipped."""
import json
import re
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

BS = "\\"
tally = it.Tally()
check = tally.check
free_port = it.tcp_port


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def value(text, series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def main():
    env = it.Env()
    try:
        run(env)
    finally:
        env.close()
    return tally.finish()


def run(env):
    sm, cm = free_port(), free_port()
    server = env.server(extra=["--metrics-listen", "127.0.0.1:%d" % sm, "--keepalive-interval", "0.1"])
    client = env.client(server.port(), extra=["--metrics-listen", "127.0.0.1:%d" % cm])
    it.wait_for(lambda: len(it.answered(client)) >= 3, what="3 handshakes")

    status, ctype, text = get("http://127.0.0.1:%d/metrics" % sm)
    check(status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8", "server /metrics: 200, text format: %s" % ctype)
    _, _, ctext = get("http://127.0.0.1:%d/metrics" % cm)
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % sm, timeout=5)
        check(False, "another path: 404")
    except urllib.error.HTTPError as e:
        check(e.code == 404, "another path: 404")

    answered = value(ctext, "udp_canary_handshakes_answered_total")
    check(answered is not None and answered >= 3, "client: handshakes answered %s" % answered)
    check(value(ctext, "udp_canary_connected") in (0, 1), "client: connected gauge")
    check(value(ctext, 'udp_canary_handshake_rtt_seconds_count') == answered, "client: one round trip per answer")
    check(value(text, "udp_canary_clients") == 1, "server: one client")
    check(value(ctext, 'udp_canary_build_info{version="0.1.0",mode="client",id="home",family="ipv4"}') == 1,
          "client: build_info")
    check(value(text, 'udp_canary_build_info{version="0.1.0",mode="server",id="",family="ipv4"}') == 1,
          "server: build_info")
    for name, t in (("server", text), ("client", ctext)):
        wall, cpu = value(t, "udp_canary_loop_busy_max_seconds"), value(t, "udp_canary_loop_busy_cpu_max_seconds")
        # the CPU span may take in a little of the loop's own work between
        # callbacks, never a wait: well under a second either way here
        check(wall is not None and cpu is not None and 0 < wall < 1 and 0 < cpu < 1,
              "%s: the loop's longest callback %s s, CPU %s s" % (name, wall, cpu))
    check(value(ctext, "udp_canary_outage_seconds_total") == 0, "client: no time in outages yet")
    check(value(text, 'udp_canary_client_silent{client="home"}') == 0, "server: 'home' is not silent")
    rx = value(text, 'udp_canary_client_packets_received_total{client="home"}')
    check(rx is not None and rx >= 3, "server: packets from 'home' %s" % rx)
    def logged():
        n = len(it.packets(server.log, "RX"))
        return n if n >= rx else 0

    # the log thread takes lines every LOG_FLUSH_MS: wait until the log holds
    # what the scrape counted; by then a few more at most
    lines = it.wait_for(logged, what="the server's log to hold what the scrape counted") if rx else 0
    check(rx <= lines <= rx + 5, "server: counts agree with its log (%s vs %d lines)" % (rx, lines))

    if shutil.which("promtool"):
        for name, t in (("server", text), ("client", ctext)):
            r = subprocess.run(["promtool", "check", "metrics"], input=t, capture_output=True, text=True)
            check(r.returncode == 0, "promtool check metrics (%s): %s" % (name, (r.stdout + r.stderr).strip()))
    else:
        tally.skip("promtool is missing")

    if shutil.which("prometheus"):
        scrape_with_prometheus(sm, cm)
    else:
        tally.skip("prometheus is missing")

    rules = open(os.path.join(it.SRC, "systemd", "udp-canary.rules.yml")).read()
    names = set(re.findall(r"expr: .*?(udp_canary_\w+)", rules))
    served = {l.split("{")[0].split()[0] for l in (text + ctext).splitlines() if l.startswith("udp_canary_")}
    check(len(names) == 4 and names <= served, "the alert rules' metrics are served: %s" % sorted(names - served))
    many_clients(env, server, sm)
    dual_stack(env)

    # bad addresses: status 2; taken: status 1
    for bad, status in (("nonsense", 2), ("127.0.0.1:0", 2), ("127.0.0.1:%d" % sm, 1)):
        r = subprocess.run([it.BIN, "--server", "--host", "127.0.0.1", "--port", "0", "--key-file", env.key_file,
                            "--log", "", "--metrics-listen", bad], capture_output=True, text=True, timeout=10)
        check(r.returncode == status and "--metrics-listen" in r.stderr,
              "--metrics-listen %s: status %d (%d, %s)" % (bad, status, r.returncode, r.stderr.strip()))
    check(client.stop() == 0 and server.stop() == 0, "clean exits")


def many_clients(env, server, sm):
    """Past METRICS_PER_CLIENT_MAX (100) clients the per-client series stop
    at the 100 heard last while the totals count everyone; ids that differ
    only as a NUL against a literal backslash-zero get distinct labels."""
    init = it.sender(env, server.port())
    odd = ["nul\x00", "nul\\0"]
    for i in range(150):
        init("many-%d" % i, 1)
    for cid in odd:
        check(init(cid, 1)[0] is not None, "client %r answered" % cid)
    _, _, text = get("http://127.0.0.1:%d/metrics" % sm)
    series = [l for l in text.splitlines() if l.startswith("udp_canary_client_packets_received_total{")]
    check(value(text, "udp_canary_clients") == 153, "the total counts every client: %s" % value(text, "udp_canary_clients"))
    check(len(series) == 100, "per-client series capped at 100: %d" % len(series))
    labels = [l.split('client="', 1)[1].rsplit('"}', 1)[0] for l in series]
    check(len(set(labels)) == len(labels), "no two clients share a label")
    # a backslash is \\ in JSON, then each backslash doubled for Prometheus;
    # both among the newest (the running client 'home' may come between)
    want = ["nul" + BS * 4 + "0", "nul" + BS * 2 + "u0000"]
    check(all(w in labels[:3] for w in want), "the most recent first, NUL and backslash-zero told apart: %s"
          % labels[:3])


def dual_stack(env):
    """The family label: a server on :: serves both families ("both"), its
    clients over IPv6 and over IPv4 say which they use."""
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))
    except OSError:
        tally.skip("no IPv6 loopback here: the family label of :: and ::1")
        return
    sm, m6, m4 = free_port(), free_port(), free_port()
    server = env.server(host="::", name="dual", extra=["--metrics-listen", "127.0.0.1:%d" % sm])
    c6 = env.client(server.port(), host="::1", name="v6", cid="home-v6",
                    extra=["-6", "--metrics-listen", "127.0.0.1:%d" % m6])
    c4 = env.client(server.port(), host="127.0.0.1", name="v4", cid="home-v4",
                    extra=["-4", "--metrics-listen", "127.0.0.1:%d" % m4])
    it.wait_for(lambda: it.answered(c6) and it.answered(c4), what="answers over both families")
    for port, want in ((sm, 'mode="server",id="",family="both"'), (m6, 'mode="client",id="home-v6",family="ipv6"'),
                       (m4, 'mode="client",id="home-v4",family="ipv4"')):
        _, _, t = get("http://127.0.0.1:%d/metrics" % port)
        series = 'udp_canary_build_info{version="0.1.0",%s}' % want
        check(value(t, series) == 1, "%s: %s" % (series, [l for l in t.splitlines() if "build_info{" in l]))
    for p in (c6, c4, server):
        check(p.stop() == 0, "dual stack: a clean exit")


def dashboard_queries(query):
    """Every query of the shipped Grafana dashboard, its range macros set,
    answers with data from the running pair."""
    path = os.path.join(it.SRC, "systemd", "udp-canary.dashboard.json")
    exprs = [t["expr"] for p in json.load(open(path))["panels"] for t in p["targets"]]
    check(len(exprs) >= 12, "the dashboard's queries read: %d" % len(exprs))
    time.sleep(3)  # a few scrapes, so that rates and increases have two samples
    for e in exprs:
        q = e.replace("$__rate_interval", "10s").replace("$__range", "1m")
        check("$" not in q, "a query with no other variable: %s" % e)
        res = it.wait_for(lambda: query(q), timeout=10, what="the dashboard's query %s" % q)
        check(len(res) > 0, "dashboard query answers (%d series): %s" % (len(res), e))


def scrape_with_prometheus(sm, cm):
    tmp = tempfile.mkdtemp(prefix="udp-canary-prom-")
    web = free_port()
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: canary\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d', '127.0.0.1:%d']\n" % (sm, cm))
    prom = subprocess.Popen(["prometheus", "--config.file", os.path.join(tmp, "prometheus.yml"),
                             "--storage.tsdb.path", os.path.join(tmp, "data"), "--web.listen-address",
                             "127.0.0.1:%d" % web], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def query(q):
            try:
                _, _, body = get("http://127.0.0.1:%d/api/v1/query?query=%s" % (web, urllib.parse.quote(q)))
                return json.loads(body)["data"]["result"]
            except (OSError, ValueError, KeyError):
                return []
        res = it.wait_for(lambda: query('udp_canary_client_packets_received_total{client="home"}'), timeout=30,
                          what="Prometheus to scrape the server")
        check(float(res[0]["value"][1]) > 0, "Prometheus: packets from 'home' %s" % res[0]["value"][1])
        res = it.wait_for(lambda: query("udp_canary_handshakes_answered_total > 0"), timeout=30,
                          what="Prometheus to scrape the client")
        check(len(res) == 1, "Prometheus: the client's answered handshakes %s" % res[0]["value"][1])
        up = query("up")
        check(len(up) == 2 and all(r["value"][1] == "1" for r in up), "Prometheus: both targets up")
        dashboard_queries(query)
    finally:
        prom.terminate()
        prom.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import urllib.error
    import urllib.parse
    sys.exit(main())
