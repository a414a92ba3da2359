#!/usr/bin/env python3
"""How the recorded logs in tests/data were made (root; run from the source
tree with a built binary). Not a test: it records once, and the report tests
read the result.

netns-*.log: three clients ('home', 'office', 'phone') behind a NAT namespace
for about 40 s with fast timers (keepalive 0.2 s, handshake timeout 0.5 s):
at 10 s the NAT forgets every flow (conntrack -F), from 18 s to 24 s the path
is a blackhole, from 28 s to 34 s 25% of client-to-server packets are lost.

refpeer-*.log: tests/refpeer.py (the original's log format, not the original itself) as client and
server on 127.0.0.1, keepalive 0.2 s, handshake timeout 0.5 s; the server is
stopped for about 3 s in the middle.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import integration as it  # noqa: E402
import netns  # noqa: E402


def record_netns():
    case = netns.Case()
    try:
        server = case.server(extra=netns.FAST)
        clients = []
        for cid in ("home", "office", "phone"):
            clients.append(it.Canary(case.tmp, cid, ["--client", "--id", cid, "--host", netns.SERVER_IP, "--port",
                                                     str(netns.PORT), "--key-file", case.key_file] + netns.FAST,
                                     exe=case.net.exe(case.net.c)))
            case.procs.append(clients[-1])
        time.sleep(10)
        case.net.ns(case.net.n, "conntrack", "-F")
        time.sleep(8)
        case.net.nft("add rule ip canary gate drop")
        time.sleep(6)
        case.net.nft("flush chain ip canary gate")
        time.sleep(4)
        case.net.nft('add rule ip canary gate iifname "n1" numgen random mod 100 < 25 drop')
        time.sleep(6)
        case.net.nft("flush chain ip canary gate")
        time.sleep(6)
        for p in clients + [server]:
            p.stop()
        shutil.copy(server.log, os.path.join(HERE, "netns-server.log"))
        for c in clients:
            shutil.copy(c.log, os.path.join(HERE, "netns-%s.log" % os.path.basename(c.log)[:-4]))
    finally:
        case.close()


def record_original():
    tmp = it.tempfile.mkdtemp()
    key = subprocess.check_output([it.BIN, "--generate-key"], text=True).strip()
    ref = [sys.executable, os.path.join(os.path.dirname(HERE), "refpeer.py")]
    fast = ["--keepalive-interval", "0.2", "--handshake-timeout", "0.5"]
    server_log, client_log = os.path.join(tmp, "s.log"), os.path.join(tmp, "c.log")
    srv = lambda: subprocess.Popen(ref + ["--server", "--host", "127.0.0.1", "--port", "43299", "--key", key,  # noqa
                                          "--log", server_log], stderr=subprocess.DEVNULL)
    s = srv()
    time.sleep(0.5)
    c = subprocess.Popen(ref + ["--client", "--id", "my-client-id", "--host", "127.0.0.1", "--port", "43299",
                                "--key", key, "--log", client_log] + fast, stderr=subprocess.DEVNULL)
    time.sleep(5)
    s.send_signal(signal.SIGINT)
    s.wait()
    time.sleep(3)
    s = srv()
    time.sleep(5)
    for p in (c, s):
        p.send_signal(signal.SIGINT)
        p.wait()
    shutil.copy(server_log, os.path.join(HERE, "refpeer-server.log"))
    shutil.copy(client_log, os.path.join(HERE, "refpeer-client.log"))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    record_original()
    record_netns()
