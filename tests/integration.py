#!/usr/bin/env python3
"""Integration tests: real udp-canary processes on 127.0.0.1 (and ::1) with
fast timers, asserting on the logs both ends write. The binary under test
comes from $UDP_CANARY. Cases that need Python's cryptography module (the
reference peer) are skipped without it; the run exits 77 only when every
case skipped.

Run one case: UDP_CANARY=build/src/udp-canary tests/integration.py cycles
Under valgrind: UDP_CANARY_WRAPPER="valgrind --error-exitcode=97 ..." (every
wait is then given more time, and an error or leak shows as exit status 97).
"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from canary_test import (BIN, FAST, SLOW, WRAP, Canary, Cases, Skip, answered, check, main, read_log,  # noqa: E402
                         refpeer, run_bad, seal_raw, sender, settled, wait_for, free_port)


def check_cycles(client, server_log_packets, n, cid="home"):
    """n answered handshakes with ids rising by one, and every packet the
    client sent logged by the server."""
    resp = answered(client)
    check(len(resp) >= n, "%d answered handshakes, got %d" % (n, len(resp)))
    ids = [m["data"][0] for m in resp]
    check(ids == list(range(ids[0], ids[0] + len(ids))), "ids rise by one: %s" % ids)
    sent = [m for _, _, m in client.packets("TX")]
    got = [m for _, _, m in server_log_packets]
    for m in sent[: len(sent) - 2]:  # the last may still be in flight
        check(m in got, "server logged %s" % m)
    for m in sent:
        check(m["id"] == cid, "client id in %s" % m)


case = Cases()


@case
def cycles(env):
    """Client and server complete several cycles with exact keepalive runs."""
    server = env.server()
    port = server.port()
    client = env.client(port)
    wait_for(lambda: len(answered(client)) >= 4, timeout=10, what="4 handshakes")
    check(client.stop() == 0, "client exit status 0")
    check(server.stop() == 0, "server exit status 0")
    check_cycles(client, server.packets("RX"), 4)
    # between answers: keepalives 1..5 in order, then the next init
    tx = [m for _, _, m in client.packets("TX")]
    first = tx.index(next(m for m in tx if m["type"] == "keepalive"))
    run = tx[first:first + 6]
    check([m["data"][1] for m in run[:5]] == [1, 2, 3, 4, 5], "keepalives 1..5: %s" % run)
    check(run[5]["type"] == "handshake_init" and run[5]["data"][0] == run[0]["data"][0] + 1,
          "next init right after keepalive 5")
    # the server answers to where the init came from, in the original's text
    tx_server = server.packets("TX")
    rx_server = server.packets("RX")
    check(tx_server and all(peer == rx_server[0][1] for _, peer, _ in tx_server), "replies go to the client")
    # and the client names the server by address and port, as the original does
    check(all(peer == "127.0.0.1:%d" % port for _, peer, _ in client.packets()),
          "client logs its peer as 127.0.0.1:%d: %s" % (port, {p for _, p, _ in client.packets()}))


@case
def server_restart(env):
    """The client rides out a server restart: it retries, then reconnects."""
    server = env.server()
    port = server.port()
    client = env.client(port)
    wait_for(lambda: len(answered(client)) >= 2, timeout=10, what="2 handshakes")
    check(server.stop() == 0, "server exit status 0")
    before = len(answered(client))
    time.sleep(1.0 * SLOW)
    inits_while_down = [m for _, _, m in client.packets("TX") if m["type"] == "handshake_init"]
    server2 = env.server(port=port, name="server2")
    server2.port()
    wait_for(lambda: len(answered(client)) >= before + 2, timeout=10, what="reconnection")
    check(client.proc.poll() is None, "client still running")
    ids = [m["data"][0] for m in inits_while_down]
    check(ids == sorted(set(ids)) and len(ids) >= 3, "retries with rising ids: %s" % ids)
    check(client.stop() == 0 and server2.stop() == 0, "clean exits")


@case
def signals(env):
    """SIGTERM and SIGINT: 'Exit' logged, status 0, on both ends."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        server = env.server(name="server-%d" % sig)
        client = env.client(server.port(), name="client-%d" % sig)
        wait_for(lambda: answered(client), what="a handshake")
        for p in (client, server):
            check(p.stop(sig) == 0, "exit status 0 after signal %d" % sig)
            check(p.lines()[-1] == ("INFO", "Exit"), "last line Exit: %s" % p.lines()[-1:])


@case
def bad_command_lines(env):
    """Every kind of wrong input: status 2 and one clear line naming it."""
    k = ["--key-file", env.key_file]
    loose = os.path.join(env.tmp, "loose.key")
    with open(loose, "w") as f:
        f.write(env.key + "\n")
    os.chmod(loose, 0o644)
    short = os.path.join(env.tmp, "short.key")
    fd = os.open(short, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, base64.b64encode(b"x" * 15))
    os.close(fd)
    conf = os.path.join(env.tmp, "bad.conf")
    with open(conf, "w") as f:
        f.write("id = home\nhost == \nporty = 1\n")
    cases = [
        ([], "one of --client, --server, --generate-key is required"),
        (["--client", "--server"] + k, "not allowed"),
        (["--client", "--host", "127.0.0.1"] + k, "--client needs --id"),
        (["--client", "--id", "a"] + k, "--client needs --host"),
        (["--server", "--port", "70000"] + k, "not a port number"),
        (["--server", "--port", "x"] + k, "not a port number"),
        (["--server", "--frobnicate"] + k, "unknown or ambiguous option '--frobnicate'"),
        (["--server"], "a key is needed"),
        (["--server", "--key", "not base64!"], "--key: not base64"),
        (["--server", "--key", base64.b64encode(b"y" * 32).decode()], "not a 16-byte key"),
        (["--server", "--key-file", short], "not a 16-byte key"),
        (["--server", "--key-file", loose], "readable by group or others"),
        (["--server", "--key-file", os.path.join(env.tmp, "nope")], "No such file"),
        (["--server", "--config", os.path.join(env.tmp, "none.conf")] + k, "cannot read config file"),
        (["--client", "--config", conf] + k, "bad.conf:3: unknown option 'porty'"),
        (["--server", "--keepalive-count", "0"] + k, "whole number"),
    ]
    for args, says in cases:
        run_bad(env, args, says)


@case
def generate_key(env):
    """--generate-key prints 16 fresh random bytes as base64."""
    keys = {subprocess.check_output([BIN, "--generate-key"], text=True) for _ in range(5)}
    check(len(keys) == 5, "keys differ")
    for k in keys:
        check(re.fullmatch(r"[A-Za-z0-9+/]{22}==\n", k), "24 base64 characters: %r" % k)
        check(len(base64.b64decode(k)) == 16, "16 bytes")


@case
def version(env):
    """--version names the release and the crypto paths this CPU runs."""
    out = subprocess.check_output([BIN, "--version"], text=True)
    m = re.fullmatch(r"udp-canary \S+ \(AES-128: (aesni|portable), HMAC-SHA256: libsodium [0-9.]+\)\n", out)
    check(m, "version line: %r" % out)


@case
def key_not_in_cmdline(env):
    """A key given with --key is not visible in /proc/PID/cmdline."""
    if WRAP:
        raise Skip("under a wrapper, /proc/PID/cmdline is the wrapper's")
    server = env.server(exe=[BIN])  # exe set: passes --key
    server.port()
    with open("/proc/%d/cmdline" % server.proc.pid, "rb") as f:
        cmdline = f.read()
    check(env.key.encode() not in cmdline, "key wiped from the command line")
    check(b"--key" in cmdline, "the option itself is still there")
    server.stop()


@case
def invalid_datagrams(env):
    """Junk of every size and a replayed init do not stop the server, and it
    answers the next valid init."""
    server = env.server()
    port = server.port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for size in (0, 1, 47, 48, 64, 65, 4096, 4097, 65507):
        s.sendto(os.urandom(size), ("127.0.0.1", port))
    wait_for(lambda: len([t for _, t in server.lines() if t.endswith("[InvalidMessage]")]) >= 9,
             what="the junk logged")
    check(server.proc.poll() is None, "server alive after junk")
    invalid = [t for _, t in server.lines() if t.endswith("[InvalidMessage]")]
    check(len(invalid) == 9, "each datagram logged once as invalid: %d" % len(invalid))
    client = env.client(port)
    wait_for(lambda: answered(client), what="an answer after the junk")
    client.stop()
    server.stop()


@case
def socket_drops(env):
    """Datagrams the kernel drops at a stopped server's full socket are
    counted, logged as a warning that says they are not network loss, and
    served as a metric: logged drops + datagrams read = datagrams sent."""
    import urllib.request
    mport = free_port()
    server = env.server(extra=["--metrics-listen", "127.0.0.1:%d" % mport])
    port = server.port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    junk = b"x" * 100
    sent = 60000  # more than the 8 MiB buffer holds (about 10,000 of these)
    server.proc.send_signal(signal.SIGSTOP)
    try:
        for _ in range(sent):
            s.sendto(junk, ("127.0.0.1", port))
    finally:
        server.proc.send_signal(signal.SIGCONT)

    more = re.compile(r"(\d+) more invalid datagrams from .* in the last second$")

    def invalid():  # a flood is logged in part, the rest summed up
        return sum(1 if t.endswith("[InvalidMessage]") else int(m.group(1)) if m else 0
                   for _, t in server.lines() for m in [more.match(t)])
    settled(invalid, what="the backlog read")
    time.sleep(1.1)  # drops are looked at with the status, at most once a second
    s.sendto(junk, ("127.0.0.1", port))
    sent += 1
    warn = re.compile(r"(\d+) datagrams dropped here, the receive buffer full: "
                      r"the server did not keep up \(not network loss\)$")

    def dropped():
        return sum(int(m.group(1)) for lvl, t in server.lines() if lvl == "WARNING" for m in [warn.match(t)] if m)
    wait_for(dropped, what="the drop warning")
    read = invalid()
    check(dropped() > 0 and dropped() + read == sent,
          "dropped %d + read %d == sent %d" % (dropped(), read, sent))
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5 * SLOW).read().decode()
    m = re.search(r"^udp_canary_socket_drops_total (\d+)$", text, re.M)
    check(m and int(m.group(1)) == dropped(), "the metric says the same: %r" % (m and m.group(0)))
    server.stop()
    rep = json.loads(subprocess.check_output([BIN, "report", "--json", server.log], text=True))
    check(rep["socket_drops"] == dropped(), "report reads the warnings back: %s" % rep["socket_drops"])


@case
def malformed_authentic(env):
    """Every kind of authentic datagram that is not a valid message is logged
    once, with what is wrong, and the server answers the next valid one."""
    refpeer()
    key = base64.b64decode(env.key)
    server = env.server()
    port = server.port()
    cases = [
        (seal_raw(key, b'{"id": "x", "type": "handshake_init", "data": [1, 0]}'.ljust(64, b"\x00"), pad=False),
         "bad padding"),
        (seal_raw(key, b"\xff\xfe not utf-8"), "not a JSON object"),
        (seal_raw(key, b"[1, 2]"), "not a JSON object"),
        (seal_raw(key, b'{"id": "x", "type": "handshake_init"}'), "a member is missing"),
        (seal_raw(key, b'{"id": 5, "type": "handshake_init", "data": [1, 0]}'), "a member is missing"),
        (seal_raw(key, b'{"id": "x", "type": "handshake_init", "data": [-1, 0]}'), "number negative"),
        (seal_raw(key, b'{"id": "x", "type": "handshake_init", "data": [1.5, 0]}'), "number negative"),
        (seal_raw(key, b'{"id": "x", "type": "handshake_init", "data": [99999999999999999999999, 0]}'),
         "number negative"),
        (seal_raw(key, b'{"id": "x", "type": "bogus", "data": [1, 0]}'), "unknown message type"),
        (seal_raw(key, b'{"id": "' + b"x" * 257 + b'", "type": "handshake_init", "data": [1, 0]}'), "id too long"),
    ]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for packet, _ in cases:
        s.sendto(packet, ("127.0.0.1", port))
    wait_for(lambda: len([t for _, t in server.lines() if "[InvalidMessage]" in t]) >= len(cases),
             what="every one logged")
    invalid = [t for _, t in server.lines() if "[InvalidMessage]" in t]
    check(len(invalid) == len(cases), "each logged once: %d for %d" % (len(invalid), len(cases)))
    for (_, why), line in zip(cases, invalid):
        check(why in line, "%r says %r" % (line, why))
    check(not server.packets("TX"), "nothing answered")
    check(sender(env, port)("x", 1)[0] is not None, "the next valid init is answered")
    check(server.stop() == 0, "clean exit")


@case
def replay_rule(env):
    """An init is answered only when its id is above the highest seen for
    that client id; a replay is logged and gets nothing."""
    server = env.server()
    send = sender(env, server.port())

    def init(cid, hid):
        return send(cid, hid)[0]

    check(init("r", 100) == {"id": "r", "type": "handshake_response", "data": [100, 0]}, "first init answered")
    check(init("r", 100) is None, "the same init again: not answered")
    check(init("r", 99) is None, "a lower id: not answered")
    check(init("other", 5) is not None, "another client has its own highest id")
    check(init("r", 101) is not None, "a higher id: answered")
    replays = [t for _, t in server.lines() if t.startswith("Replay")]
    check(len(replays) == 2, "two replays logged: %s" % replays)
    check(server.stop() == 0, "clean exit")


@case
def replay_after_restart(env):
    """With --state-dir, a restart keeps the highest ids: an init captured
    before the restart is not answered after it; the next real one is."""
    state = os.path.join(env.tmp, "state")
    os.mkdir(state)
    server = env.server(extra=["--state-dir", state])
    port = server.port()
    init = sender(env, port)
    answer, captured = init("home", 1000)
    check(answer is not None, "first init answered")
    check(init("other", 7)[0] is not None, "another client answered")
    check(server.stop() == 0, "clean exit")
    saved = open(os.path.join(state, "replay.state")).read()
    check('1000 "home"' in saved and '7 "other"' in saved, "state saved on exit: %r" % saved)

    server = env.server(port=port, name="server2", extra=["--state-dir", state])
    server.port()
    check(any("2 clients loaded" in t for _, t in server.lines()), "state loaded")
    check(init("home", 0, captured)[0] is None, "the captured init replayed: not answered")
    check(any(t.startswith("Replay from") for _, t in server.lines()), "the replay logged")
    check(init("home", 1001)[0] is not None, "the next real init answered")
    # saved soon after a change, not only on exit
    wait_for(lambda: '1001 "home"' in open(os.path.join(state, "replay.state")).read(), what="state saved")
    server.proc.kill()  # no clean exit this time
    server.proc.wait()
    server = env.server(port=port, name="server3", extra=["--state-dir", state])
    server.port()
    check(init("home", 1001)[0] is None, "after a crash too")
    server.stop()


@case
def corrupt_state_file(env):
    """A corrupt state file is reported, kept aside, and the server starts."""
    state = os.path.join(env.tmp, "state")
    os.mkdir(state)
    with open(os.path.join(state, "replay.state"), "wb") as f:
        f.write(b'5 "home"\n\xff\xfe garbage\n12 "cut')
    server = env.server(extra=["--state-dir", state])
    port = server.port()
    lines = [t for _, t in server.lines()]
    check(any("2 bad lines skipped; the file is kept as .corrupt" in t for t in lines), "reported: %s" % lines)
    check(any("1 clients loaded" in t for t in lines), "the good line loaded")
    check(os.path.exists(os.path.join(state, "replay.state.corrupt")), "kept aside")
    init = sender(env, port)
    check(init("home", 5)[0] is None, "the loaded id still protects")
    check(init("home", 6)[0] is not None, "and the server serves")
    check(server.stop() == 0, "clean exit")
    check('6 "home"' in open(os.path.join(state, "replay.state")).read(), "a fresh state file")


@case
def log_file_appended(env):
    """The log file is appended to, never truncated."""
    log = os.path.join(env.tmp, "server.log")
    with open(log, "w") as f:
        f.write("[2024-11-27 13:06:33.401 udp-canary INFO] Listening on 0.0.0.0:43210\n")
    server = env.server()
    wait_for(lambda: len(server.lines()) == 3, what="the new Listening and fingerprint lines")
    server.stop()
    lines = server.lines()
    check(lines[0][1] == "Listening on 0.0.0.0:43210", "old line kept")
    check(lines[1][1].startswith("Listening on 127.0.0.1:") and lines[2][1].startswith("Key fingerprint "),
          "the new start: %s" % lines[1:3])
    check(lines[-1][1] == "Exit" and len(lines) == 4, "new lines appended: %s" % lines)


@case
def log_reopen(env):
    """SIGHUP reopens the log file, so logrotate can move it."""
    server = env.server()
    port = server.port()
    os.rename(server.log, server.log + ".1")
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: os.path.exists(server.log), what="a new log file")
    client = env.client(port)
    wait_for(lambda: server.packets("RX"), what="traffic in the new file")
    client.stop()
    server.stop()
    old = read_log(server.log + ".1")
    check(old[0][1].startswith("Listening"), "old file keeps its lines")


@case
def reload_rereads_config_and_key(env):
    """SIGHUP rereads the config file (the client moves to another server)
    and the key (the server takes a new one); a bad config on reload is
    logged and the old settings stay."""
    a = env.server(name="server-a")
    b = env.server(name="server-b")
    port_a, port_b = a.port(), b.port()
    conf = os.path.join(env.tmp, "home.conf")

    def write_conf(port, extra=""):
        with open(conf, "w") as f:
            f.write("host = 127.0.0.1\nport = %d\nkey-file = %s\n%s" % (port, env.key_file, extra))

    write_conf(port_a)
    client = Canary(env.tmp, "client", ["--client", "--id", "home", "--config", conf] + FAST)
    env.procs.append(client)
    wait_for(lambda: any(m["type"] == "handshake_init" for _, _, m in a.packets("RX")), what="server a hears it")

    write_conf(port_a, "bogus line\n")
    client.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any("Reload failed, keeping the old settings" in t for _, t in client.lines()),
             what="the bad reload logged")
    check(client.proc.poll() is None, "a bad config on reload does not stop the client")

    write_conf(port_b)
    client.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any(m["type"] == "handshake_init" for _, _, m in b.packets("RX")), what="server b hears it")
    # the log thread takes lines every LOG_FLUSH_MS: the line may follow the packet
    wait_for(lambda: any(t == "Reloaded" for _, t in client.lines()), what="the reload logged")

    # a new key for server b and the client: they keep talking
    new_key = subprocess.check_output([BIN, "--generate-key"], text=True)
    with open(env.key_file, "w") as f:
        f.write(new_key)
    b.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any(t == "Reloaded" for _, t in b.lines()), what="server b reloaded")
    before = len(answered(client))
    time.sleep(0.5 * SLOW)  # the client still has the old key: its inits are invalid to b
    check(len(answered(client)) == before, "old key no longer answered")
    check(any(t.endswith("[InvalidMessage]") for _, t in b.lines()), "old key invalid for b")
    client.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(answered(client)) > before, what="answers with the new key")
    for p in (client, a, b):
        check(p.stop() == 0, "clean exit")


@case
def config_file(env):
    """A client set up by a config file, the command line winning."""
    server = env.server()
    port = server.port()
    conf = os.path.join(env.tmp, "home.conf")
    with open(conf, "w") as f:
        f.write("# profile\nhost = 127.0.0.1\nid = from-file\nport = 1\nkey-file = %s\n" % env.key_file)
    client = Canary(env.tmp, "client", ["--client", "--config", conf, "--port", str(port)] + FAST)
    env.procs.append(client)
    wait_for(lambda: answered(client), what="an answer")
    check(answered(client)[0]["id"] == "from-file", "id from the file")
    client.stop()
    server.stop()


@case
def ipv6(env):
    """A server on :: serves IPv6 and IPv4 clients; IPv4 shows as IPv4 in
    every line about it; the report shows the two ids as two flows, each
    with the server address its client sent to."""
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))
    except OSError:
        raise Skip("no IPv6 loopback here")
    server = env.server(host="::")
    port = server.port()
    check(any(t == "Listening on [::]:%d" % port for _, t in server.lines()), "listening on [::]")
    c6 = env.client(port, host="::1", name="c6", cid="six")
    c4 = env.client(port, host="127.0.0.1", name="c4", cid="four")
    wait_for(lambda: answered(c6) and answered(c4), what="answers to both")

    def heard():  # the server's log thread may write after the clients saw its answers
        rx = {m["id"]: peer for _, peer, m in server.packets("RX")}
        tx = {m["id"]: peer for _, peer, m in server.packets("TX")}
        return (rx, tx) if {"six", "four"} <= set(rx) and "four" in tx else None

    peers, sent = wait_for(heard, what="the server's log of both clients")
    check(peers["six"].startswith("[::1]:"), "IPv6 peer: %s" % peers["six"])
    check(peers["four"].startswith("127.0.0.1:"), "IPv4 peer unmapped: %s" % peers["four"])
    check(sent["four"] == peers["four"], "IPv4 peer unmapped in what the server sends: %s" % sent["four"])
    for p in (c6, c4, server):
        p.stop()
    check("ffff" not in open(server.log).read(), "no mapped address anywhere in the server's log")
    rep = json.loads(subprocess.check_output([BIN, "report", "--json", c6.log, c4.log, server.log], text=True))
    flows = {c["id"]: (c["servers"], c["seen_in"]) for c in rep["clients"]}
    both = {"client_log": True, "server_log": True}
    check(flows == {"six": (["[::1]:%d" % port], both), "four": (["127.0.0.1:%d" % port], both)},
          "the report: two flows, each its server address: %s" % flows)
    text = subprocess.check_output([BIN, "report", c6.log, c4.log, server.log], text=True)
    check("  server        [::1]:%d\n" % port in text and "  server        127.0.0.1:%d\n" % port in text,
          "the text report names each flow's server")


@case
def interop_our_client_reference_server(env):
    """Our client against a reference server (the original's behaviour)."""
    server = env.server(exe=refpeer())
    client = env.client(server.port())
    wait_for(lambda: len(answered(client)) >= 3, timeout=10, what="3 handshakes")
    client.stop()
    server.stop(signal.SIGINT)
    check_cycles(client, server.packets("RX"), 3)


@case
def interop_reference_client_our_server(env):
    """A reference client (the original's behaviour) against our server."""
    server = env.server()
    client = env.client(server.port(), exe=refpeer())
    wait_for(lambda: len(answered(client)) >= 3, timeout=10, what="3 handshakes")
    client.stop(signal.SIGINT)
    server.stop()
    check_cycles(client, server.packets("RX"), 3)


if __name__ == "__main__":
    sys.exit(main(case))
