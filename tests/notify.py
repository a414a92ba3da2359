#!/usr/bin/env python3
"""The sd_notify protocol, checked against a socket this test binds itself
($NOTIFY_SOCKET): READY=1 only once the socket is bound, STATUS= lines,
WATCHDOG=1 pings at half of $WATCHDOG_USEC, RELOADING=1 with MONOTONIC_USEC
then READY=1 on SIGHUP, STOPPING=1 on SIGTERM. For the server and the client.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

BIN = it.BIN
tally = it.Tally()
check = tally.check


class Notify:
    def __init__(self, tmp, name):
        self.path = os.path.join(tmp, "notify-%s-%d" % (name, len(os.listdir(tmp))))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.got = []

    def wait(self, prefix, timeout=5.0):
        """Reads messages until one has a line starting with prefix."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for msg in self.got:
                for line in msg.split("\n"):
                    if line.startswith(prefix):
                        self.got.remove(msg)
                        return msg
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                self.got.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        return None

    def count(self, prefix, seconds):
        end, n = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            if self.wait(prefix, end - time.monotonic()):
                n += 1
        return n


def run(tmp, key_file, role, args):
    notify = Notify(tmp, role)
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="200000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([BIN] + args + ["--key-file", key_file, "--log", ""], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, notify


def main():
    tmp = tempfile.mkdtemp(prefix="udp-canary-notify-")
    key_file = os.path.join(tmp, "key")
    it.write_key(key_file)
    port = it.free_port()

    server, n = run(tmp, key_file, "server", ["--server", "--host", "127.0.0.1", "--port", str(port)])
    check(n.wait("READY=1") is not None, "server: READY=1")
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        taken.bind(("127.0.0.1", port))
        check(False, "server: the port is bound when READY=1 comes")
    except OSError:
        check(True, "server: the port is bound when READY=1 comes")
    status = n.wait("STATUS=")
    check(status is not None and "0 clients" in status, "server: STATUS= %r" % status)
    pings = n.count("WATCHDOG=1", 1.0)
    check(3 <= pings <= 15, "server: WATCHDOG=1 about every 0.1 s (%d in 1 s)" % pings)

    client, cn = run(tmp, key_file, "client",
                     ["--client", "--id", "home", "--host", "127.0.0.1", "--port", str(port),
                      "--keepalive-interval", "0.2", "--handshake-timeout", "0.5"])
    check(cn.wait("READY=1") is not None, "client: READY=1")
    connected = cn.wait("STATUS=Connected", timeout=3)
    check(connected is not None, "client: STATUS= says connected: %r" % connected)
    status = n.wait("STATUS=1 client")
    check(status is not None and "last from 'home'" in status, "server: STATUS= counts the client: %r" % status)

    server.send_signal(signal.SIGHUP)
    reloading = n.wait("RELOADING=1")
    check(reloading is not None and "MONOTONIC_USEC=" in reloading, "server: RELOADING=1 with MONOTONIC_USEC")
    check(n.wait("READY=1") is not None, "server: READY=1 after the reload")

    for name, proc, nn in (("client", client, cn), ("server", server, n)):
        proc.send_signal(signal.SIGTERM)
        check(nn.wait("STOPPING=1") is not None, "%s: STOPPING=1" % name)
        check(proc.wait(timeout=5) == 0, "%s: exit status 0" % name)

    # the client tells how long it has gone unanswered
    client, cn = run(tmp, key_file, "client",
                     ["--client", "--id", "home", "--host", "127.0.0.1", "--port", str(port),
                      "--handshake-timeout", "0.3"])
    waiting = cn.wait("STATUS=No answer for", timeout=3)
    check(waiting is not None and "handshakes unanswered" in waiting, "client: STATUS= without a server: %r" % waiting)
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=5)
    shutil.rmtree(tmp, ignore_errors=True)

    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
