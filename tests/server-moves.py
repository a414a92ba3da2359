#!/usr/bin/env python3
"""A server that moves: the client is pointed at a name, and the name's
address changes under it. The client runs in a mount namespace of its own
with a hosts file of the test's bound over /etc/hosts (root and unshare
needed, else every case skips, exit 77); two servers listen on the old and
the new address (127.0.0.1 and 127.0.0.2, or ::1 for the other family).
  - a reload looks the name up again: an unchanged address stays; a new
    one, the client moves to, says so, sends nothing more to the old
    address, and its background probe follows;
  - without a reload, once CLIENT_RERESOLVE_UNANSWERED handshakes in a row
    went unanswered (include/core/client.h), it looks the name up itself.
"""
import os
import re
import shutil
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

NAME = "canary-server.test"


def unavailable():
    if os.geteuid() != 0:
        return "needs root (a mount namespace with a hosts file of the test's own)"
    if not shutil.which("unshare"):
        return "unshare is missing (Debian: util-linux)"
    return None


def reresolve_unanswered():
    """CLIENT_RERESOLVE_UNANSWERED, as the core holds it."""
    text = open(os.path.join(it.SRC, "include", "core", "client.h")).read()
    m = re.search(r"^#define CLIENT_RERESOLVE_UNANSWERED (\d+)$", text, re.M)
    it.check(m, "CLIENT_RERESOLVE_UNANSWERED in client.h")
    return int(m.group(1))


def handshake_timeout_s():
    i = it.FAST.index("--handshake-timeout")
    return float(it.FAST[i + 1])


def write_hosts(path, ip):
    # written in place: the bind mount shows this inode
    with open(path, "w") as f:
        f.write("%s %s\n" % (ip, NAME))


def fmt(ip, port):
    return ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, port)


def start(env, new_ip, extra=()):
    """Servers on 127.0.0.1 and new_ip (one port), the hosts file naming
    the first, and the client pointed at the name, answered by it."""
    old = env.server(name="server-old")
    port = old.port()
    new = env.server(host=new_ip, port=port, name="server-new")
    new.port()
    hosts = os.path.join(env.tmp, "hosts")
    write_hosts(hosts, "127.0.0.1")
    exe = ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', hosts] + it.WRAP + [it.BIN]
    client = env.client(port, host=NAME, exe=exe, extra=list(extra))
    it.wait_for(lambda: it.answered(client), what="answers from the old address")
    return old, new, client, hosts, port


def heard_from(server, cid="home", kind="handshake_init"):
    return [m for _, _, m in server.packets("RX") if m["id"] == cid and m["type"] == kind]


def moved_line(client, old, new):
    want = "Server moved: %s now resolves to %s, was %s" % (NAME, new, old)
    return [t for _, t in client.lines() if t == want]


def sent_after_move(client, to):
    """TX lines to `to` logged after the move's line."""
    after, out = False, []
    for _, text in client.lines():
        if text.startswith("Server moved: "):
            after = True
        elif after and text.startswith("TX %s " % to):
            out.append(text)
    return out


def follows_reload(env, new_ip):
    old, new, client, hosts, port = start(env, new_ip, ["--probe-every", "4"])
    it.wait_for(lambda: heard_from(old, kind="probe"), timeout=30, what="a probe at the old address")
    # a reload with the name unchanged: looked up, and it stays
    client.proc.send_signal(signal.SIGHUP)
    still = "Looked up %s again: still %s" % (NAME, fmt("127.0.0.1", port))
    it.wait_for(lambda: [t for _, t in client.lines() if t == still], what="the lookup at a reload")
    it.check(not [t for _, t in client.lines() if t.startswith("Server moved: ")], "no move while the name stays")
    write_hosts(hosts, new_ip)
    client.proc.send_signal(signal.SIGHUP)
    it.wait_for(lambda: heard_from(new), what="a handshake at the new address")
    it.wait_for(lambda: moved_line(client, fmt("127.0.0.1", port), fmt(new_ip, port)), what="the move logged")
    it.wait_for(lambda: [1 for _, peer, m in client.packets("RX")
                         if peer == fmt(new_ip, port) and m["type"] == "handshake_response"],
                what="an answer from the new address")
    it.wait_for(lambda: heard_from(new, kind="probe"), timeout=15, what="the probe following to the new address")
    it.check(not sent_after_move(client, fmt("127.0.0.1", port)),
             "nothing sent to the old address after the move: %s" % sent_after_move(client, fmt("127.0.0.1", port)))
    for p in (client, old, new):
        it.check(p.stop() == 0, "clean exit")


case = it.Cases()


@case
def reload_follows_same_family(env):
    """SIGHUP: the name now says 127.0.0.2; the client and its probe go there."""
    follows_reload(env, "127.0.0.2")


@case
def reload_follows_other_family(env):
    """SIGHUP: the name now says ::1; a new socket of that family."""
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))
    except OSError:
        raise it.Skip("no IPv6 loopback here")
    follows_reload(env, "::1")


@case
def unanswered_looks_up_again(env):
    """No reload: the old server stops, the name says 127.0.0.2; after
    CLIENT_RERESOLVE_UNANSWERED unanswered handshakes (no sooner) the client
    looks the name up again and reaches the new server."""
    old, new, client, hosts, port = start(env, "127.0.0.2")
    write_hosts(hosts, "127.0.0.2")
    it.check(old.stop() == 0, "the old server stops cleanly")
    n = reresolve_unanswered()
    bound = n * handshake_timeout_s()
    again = "No answer to %d handshakes in a row: looking up %s again" % (n, NAME)
    it.wait_for(lambda: [t for _, t in client.lines() if t == again], timeout=bound + 10,
                what="the lookup after %d unanswered handshakes" % n)
    it.wait_for(lambda: moved_line(client, fmt("127.0.0.1", port), fmt("127.0.0.2", port)), what="the move logged")
    it.wait_for(lambda: [1 for _, peer, m in client.packets("RX")
                         if peer == fmt("127.0.0.2", port) and m["type"] == "handshake_response"],
                what="an answer from the new address")
    lines = it.stamped(client.log)
    last_answer = max(t for t, text in lines if text.startswith("RX ") and "handshake_response" in text
                      and text.startswith("RX " + fmt("127.0.0.1", port)))
    first_unanswered = min(t for t, text in lines if t > last_answer and text.startswith("TX ")
                           and "handshake_init" in text)
    asked = min(t for t, text in lines if text == again)
    # the stamps have milliseconds: one of slack each side
    it.check(asked - first_unanswered >= bound - 0.002,
             "looked up after %.3f s of silence, not before %.3f s" % (asked - first_unanswered, bound))
    it.check(not sent_after_move(client, fmt("127.0.0.1", port)), "nothing sent to the old address after the move")
    for p in (client, new):
        it.check(p.stop() == 0, "clean exit")


if __name__ == "__main__":
    sys.exit(it.main(case, unavailable=unavailable))
