#!/usr/bin/env python3
"""The command line as a user meets it: a server name that does not resolve
yet (the client waits and retries, says so, and stops cleanly), a key that
cannot be written, a port glued to --host; and the documentation against
the program: every option of --help and of the option table in
src/daemon/config.c is in the README's table and udp-canary(8), and every
key a config file takes is in udp-canary.conf(5).
Run one case: UDP_CANARY=build/src/udp-canary tests/cli.py docs_match"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

SRC = it.SRC
case = it.Cases()


def options():
    """(name, allowed in a config file) from config.c's table of options."""
    text = open(os.path.join(SRC, "src", "daemon", "config.c")).read()
    rows = re.findall(r'\{ "([a-z-]+)", K_[A-Z]+, [^{}]*?, (true|false) \}', text)
    it.check(len(rows) >= 20, "config.c's option table read: %d rows" % len(rows))
    return [(name, flag == "true") for name, flag in rows]


@case
def resolve_retry(env):
    """A server name that does not resolve is retried with backoff, logged
    and shown in STATUS=, not an exit; SIGTERM still ends it with 0."""
    notify_path = os.path.join(env.tmp, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.2)
    log = os.path.join(env.tmp, "client.log")
    # bounded DNS waits; .invalid never resolves (RFC 2606)
    envv = dict(os.environ, NOTIFY_SOCKET=notify_path, RES_OPTIONS="timeout:1 attempts:1")
    proc = subprocess.Popen(it.WRAP + [it.BIN, "--client", "--id", "home", "--host", "nonexistent.invalid",
                                       "--key-file", env.key_file, "--log", log],
                            env=envv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        tries = lambda: [t for _, t in it.read_log(log) if t.startswith("Cannot resolve nonexistent.invalid: ")]
        it.wait_for(lambda: len(tries()) >= 3, timeout=15 * it.SLOW, what="three tries (at 0, 1 and 3 s)")
        it.check(proc.poll() is None, "the client is still running")
        it.check(all("trying again in" in t for t in tries()), "each try says when the next one is: %s" % tries())
        got = []
        try:
            while True:
                got.append(notify.recv(4096).decode())
        except socket.timeout:
            pass
        it.check(any("READY=1" in m for m in got), "ready for systemd while resolving: %s" % got)
        it.check(any("STATUS=Resolving nonexistent.invalid" in m for m in got), "STATUS= says so: %s" % got)
        proc.send_signal(signal.SIGTERM)
        it.check(proc.wait(timeout=10 * it.SLOW) == 0, "SIGTERM: exit 0")
        it.check(it.read_log(log)[-1][1] == "Exit", "Exit logged last")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()


@case
def reload_without_waiting_for_dns(env):
    """A reload naming a server whose name the DNS never answers for does
    not hold the loop: the client goes on with the old server meanwhile and
    stops at once on SIGTERM. (Root: a mount namespace gives the client a
    resolv.conf whose name server is a socket here that never answers.)"""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise it.Skip("needs root and unshare (a private resolv.conf)")
    mute = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mute.bind(("127.0.0.9", 53))
    resolv = os.path.join(env.tmp, "resolv.conf")
    open(resolv, "w").write("nameserver 127.0.0.9\noptions timeout:5 attempts:2\n")
    server = env.server()
    conf = os.path.join(env.tmp, "home.conf")
    open(conf, "w").write("host = 127.0.0.1\nport = %d\n" % server.port())
    log = os.path.join(env.tmp, "client.log")
    proc = subprocess.Popen(["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"',
                             resolv] + it.WRAP + [it.BIN, "--client", "--id", "home", "--config", conf, "--key-file",
                                                  env.key_file, "--log", log] + it.FAST,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sent = lambda: len(it.packets(log, "TX"))
        it.wait_for(lambda: sent() >= 3, what="the client running")
        open(conf, "w").write("host = nowhere.example\nport = %d\n" % server.port())
        proc.send_signal(signal.SIGHUP)
        it.wait_for(lambda: [t for _, t in it.read_log(log) if t.startswith("Reload: looking up nowhere.example")],
                    what="the lookup begun")
        before = sent()
        time.sleep(1)
        it.check(sent() > before, "still sending to the old server during the lookup: %d then %d" % (before, sent()))
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        it.check(proc.wait(timeout=10) == 0, "SIGTERM: exit 0")
        it.check(time.monotonic() - start < 4 * it.SLOW, "no wait for the DNS on the way out: %.1f s"
                 % (time.monotonic() - start))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        mute.close()
        server.stop()


@case
def generate_key_unwritable(env):
    """--generate-key into a full disk fails, with one line saying so."""
    with open("/dev/full", "w") as full:
        r = subprocess.run([it.BIN, "--generate-key"], stdout=full, stderr=subprocess.PIPE, text=True)
    it.check(r.returncode == 1, "status 1, not %d" % r.returncode)
    it.check("cannot write the key" in r.stderr and r.stderr.count("\n") == 1, "one line: %r" % r.stderr)


def probe_every_min_s():
    """PROBER_MIN_TIME_BOUND_US in seconds, from its parts in probe-client.h."""
    text = open(os.path.join(SRC, "include", "core", "probe-client.h")).read()

    def define(name):
        m = re.search(r"^#define %s (\d+)(?:ULL)?$" % name, text, re.M)
        it.check(m, "%s in probe-client.h" % name)
        return int(m.group(1))
    it.check("#define PROBER_MIN_TIME_BOUND_US (PROBER_MIN_DELAY_S * 1000000ULL + PROBER_DEFAULT_GRACE_US)" in text,
             "the minimum is a delay and its grace")
    return define("PROBER_MIN_DELAY_S") + define("PROBER_DEFAULT_GRACE_US") / 1e6


@case
def probe_every_minimum(env):
    """--probe-every shorter than a run that sends a probe (the prober's
    shortest delay and its grace) is refused at start, status 2, naming the
    minimum; the minimum itself is taken."""
    low = probe_every_min_s()
    base = [it.BIN, "--client", "--id", "x", "--host", "127.0.0.1", "--key-file", env.key_file, "--log", ""]
    r = subprocess.run(base + ["--port", "1", "--probe-every", "%g" % (low - 0.5)], capture_output=True, text=True,
                       timeout=10)
    it.check(r.returncode == 2 and "--probe-every: at least %d s" % low in r.stderr,
             "status 2 naming the minimum: %d %r" % (r.returncode, r.stderr))
    # port 0 makes it stop at the check before, so that it does not run
    r = subprocess.run(base + ["--port", "0", "--probe-every", "%g" % low], capture_output=True, text=True, timeout=10)
    it.check(r.returncode == 2 and "--port" in r.stderr and "probe-every" not in r.stderr,
             "the minimum taken: %r" % r.stderr)


@case
def host_with_port(env):
    """--host vps:43210 says to give the port with --port (status 2)."""
    r = subprocess.run([it.BIN, "--client", "--id", "x", "--host", "vps.example.org:43210", "--key-file",
                        env.key_file, "--log", ""], capture_output=True, text=True, timeout=10)
    it.check(r.returncode == 2 and "--port" in r.stderr, "status 2 naming --port: %d %r" % (r.returncode, r.stderr))
    # port 0 makes it stop at the next check, which is not this one
    r = subprocess.run([it.BIN, "--client", "--id", "x", "--host", "2001:db8::1", "--port", "0", "--key-file",
                        env.key_file, "--log", ""], capture_output=True, text=True, timeout=10)
    it.check(r.returncode == 2 and "host alone" not in r.stderr,
             "an IPv6 address is not taken for host:port: %r" % r.stderr)


@case
def summary_at_terminal(env):
    """A client stopped at a terminal prints what it saw, as ping does;
    with stderr not a terminal (a unit, a pipe) it prints nothing more."""
    import pty
    server = env.server()
    port = server.port()
    args = it.WRAP + [it.BIN, "--client", "--id", "home", "--host", "127.0.0.1", "--port", str(port),
                      "--key-file", env.key_file, "--log", os.path.join(env.tmp, "tty.log")] + it.FAST
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    it.wait_for(lambda: len(it.packets(os.path.join(env.tmp, "tty.log"), "RX")) >= 2, what="2 answers")
    proc.send_signal(signal.SIGINT)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other end closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    it.check(proc.wait(timeout=10) == 0, "SIGINT: exit 0")
    text = out.decode(errors="replace")
    answered = len([m for _, _, m in it.packets(os.path.join(env.tmp, "tty.log"), "RX")
                    if m["type"] == "handshake_response"])
    m = re.search(r"handshakes (\d+) sent, (\d+) answered", text)
    it.check("--- udp-canary client to 127.0.0.1:%d" % port in text, "the summary's heading: %r" % text[-500:])
    it.check(m and int(m.group(2)) == answered, "answered as in the log (%d): %r" % (answered, m and m.group(0)))
    it.check(re.search(r"round trip min [0-9.]+ / median [0-9.]+ / max [0-9.]+ ms \(%d\)" % answered, text),
             "round trips min/median/max over every answer")
    plain = subprocess.Popen(args[:-len(it.FAST)] + it.FAST, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    time.sleep(1)
    plain.send_signal(signal.SIGINT)
    err = plain.communicate(timeout=10)[1].decode()
    it.check("--- udp-canary" not in err, "no summary when stderr is not a terminal")
    server.stop()


@case
def fingerprint(env):
    """--fingerprint prints the key's short name, the same both ends log at
    start; another key has another; the key itself appears nowhere."""
    fp = subprocess.check_output([it.BIN, "--fingerprint", "--key-file", env.key_file], text=True).strip()
    it.check(re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", fp), "the form xxxx-xxxx-xxxx-xxxx: %r" % fp)
    other = subprocess.check_output([it.BIN, "--generate-key"], text=True).strip()
    fp2 = subprocess.check_output([it.BIN, "--fingerprint", "--key", other], text=True).strip()
    it.check(fp2 != fp, "another key, another fingerprint")
    server = env.server()
    client = env.client(server.port())
    it.wait_for(lambda: it.answered(client), what="an answer")
    for who in (server, client):
        it.check(("Key fingerprint " + fp) in [t for _, t in who.lines()], "%s logs it at start" % who.log)
    client.stop()
    server.stop()


@case
def port_closed(env):
    """A client aimed at a port where nothing listens says so (the ICMP
    answer), once a minute at most, and goes on retrying."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    client = env.client(port, extra=["--handshake-timeout", "0.3"])
    closed = lambda: [t for _, t in client.lines() if t.startswith("The server's port is closed: 127.0.0.1:%d" % port)]
    it.wait_for(closed, what="the closed port told")
    it.wait_for(lambda: len([t for _, t in client.lines() if t.startswith("No answer")]) >= 3, what="retries")
    it.check(len(closed()) == 1, "told once, not at every retry: %d" % len(closed()))
    it.check(client.stop() == 0, "clean exit")


@case
def trace_closed_port(env):
    """Unanswered twice, a client traces its flow: on the loopback the
    first copy (TTL 1) reaches the host, whose kernel answers that the port
    is closed: the path ends there, one hop, one line, one TX line for the
    copy. With --trace-hops 0, none."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    client = env.client(port, extra=["--handshake-timeout", "0.3"])
    off = env.client(port, name="off", extra=["--handshake-timeout", "0.3", "--trace-hops", "0"])
    traced = lambda c: [t for _, t in c.lines() if t.startswith("Trace to ")]  # noqa: E731
    it.wait_for(lambda: traced(client), what="a trace line")
    it.wait_for(lambda: len([t for _, t in off.lines() if t.startswith("No answer")]) >= 4, what="retries")
    it.check(client.stop() == 0 and off.stop() == 0, "clean exits")
    inits = [m["data"][0] for _, _, m in client.packets("TX") if m["type"] == "handshake_init"]
    it.check(traced(client) == ["Trace to 127.0.0.1:%d after handshake %d: 1 127.0.0.1; last hop that answered: "
                                "1 127.0.0.1" % (port, inits[2])], "after the third init: %s" % traced(client))
    copies = [m for _, _, m in client.packets("TX") if m["type"] == "trace"]
    it.check([m["data"] for m in copies] == [[inits[2], 1]], "one copy, TTL 1, logged: %s" % copies)
    it.check(not traced(off) and not [m for _, _, m in off.packets("TX") if m["type"] == "trace"],
             "--trace-hops 0: no trace")


def icmp_unreachable(client_port, server_port, code):
    """Sends, as the kernel would, an ICMP 'destination unreachable' (code:
    1 host, 3 port) about a datagram from client_port to server_port on
    127.0.0.1. Needs a raw socket (root)."""
    import struct

    def csum(b):
        b += b"\0" * (len(b) % 2)
        t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        t = (t >> 16) + (t & 0xFFFF)
        return ~(t + (t >> 16)) & 0xFFFF
    lo = socket.inet_aton("127.0.0.1")
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 36, 1, 0, 64, 17, 0, lo, lo)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    body = struct.pack("!BBHI", 3, code, 0, 0) + ip + struct.pack("!HHHH", client_port, server_port, 16, 0)
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(body, ("127.0.0.1", 0))
    s.close()


@case
def icmp_other_errors(env):
    """An ICMP error other than 'port unreachable' (host unreachable here)
    is read and dropped: the client neither spins on it nor calls the port
    closed; a port unreachable is told."""
    if os.geteuid() != 0:
        raise it.Skip("needs root (a raw socket to send ICMP)")
    server = env.server()
    port = server.port()
    client = env.client(port)
    it.wait_for(lambda: it.answered(client), what="an answer")
    heard = it.wait_for(lambda: server.packets("RX"), what="the server's log of it")  # its log thread may lag
    cport = int(heard[0][1].rsplit(":", 1)[1])  # where the server hears the client from
    ticks = lambda: sum(int(x) for x in open("/proc/%d/stat" % client.proc.pid).read().rsplit(")", 1)[1].split()[11:13])
    t0 = ticks()
    for _ in range(3):
        icmp_unreachable(cport, port, 1)
    time.sleep(2)
    it.check(client.proc.poll() is None, "the client runs on")
    it.check(ticks() - t0 < 50, "no spinning on a queued error: %d ticks of CPU in 2 s" % (ticks() - t0))
    it.check(not [t for _, t in client.lines() if "port is closed" in t], "host unreachable is not a closed port")
    icmp_unreachable(cport, port, 3)
    it.wait_for(lambda: [t for _, t in client.lines() if "port is closed" in t], what="port unreachable told")
    client.stop()
    server.stop()


@case
def key_hint(env):
    """A client with another key: the server logs every datagram as
    invalid, and once a hint naming its own key's fingerprint."""
    fp = subprocess.check_output([it.BIN, "--fingerprint", "--key-file", env.key_file], text=True).strip()
    server = env.server()
    other = subprocess.check_output([it.BIN, "--generate-key"], text=True).strip()
    client = env.client(server.port(), exe=it.WRAP + [it.BIN], extra=["--key", other])
    hints = lambda: [t for _, t in server.lines() if "fail authentication: a different key?" in t]
    it.wait_for(lambda: len([t for _, t in server.lines() if "[InvalidMessage]" in t]) >= 6, what="invalid ones")
    it.check(len(hints()) == 1 and hints()[0].endswith("Ours is " + fp), "one hint with our fingerprint: %s" % hints())
    client.stop()
    server.stop()


@case
def address_family(env):
    """-4 and -6 keep --host to one family: an address of the other is bad
    input (status 2), not a name to retry; both at once are refused."""
    base = [it.BIN, "--client", "--id", "x", "--key-file", env.key_file, "--log", ""]
    for args, says in ((["-6", "--host", "127.0.0.1"], "--host 127.0.0.1"), (["-4", "--host", "::1"], "--host ::1"),
                       (["-4", "-6", "--host", "a"], "not with the other")):
        r = subprocess.run(base + args, capture_output=True, text=True, timeout=10)
        it.check(r.returncode == 2 and says in r.stderr, "%s: status 2: %d %r" % (args, r.returncode, r.stderr))
    server = env.server()
    client = env.client(server.port(), extra=["-4"])
    it.wait_for(lambda: it.answered(client), what="-4 with an IPv4 server answered")
    client.stop()
    server.stop()


@case
def docs_match(env):
    """--help, the README, udp-canary(8) and udp-canary.conf(5) name every
    option the parser has, and the config page every key a file takes."""
    helptext = subprocess.check_output([it.BIN, "--help"], text=True)
    readme = open(os.path.join(SRC, "README.md")).read()
    man8 = open(os.path.join(SRC, "man", "udp-canary.8.scd")).read()
    man5 = open(os.path.join(SRC, "man", "udp-canary.conf.5.scd")).read()
    table = readme[readme.index("### Options"):]
    missing = []
    for name, in_file in options():
        for where, text in (("--help", helptext), ("README", table), ("udp-canary(8)", man8)):
            if "--" + name not in text:
                missing.append("%s lacks --%s" % (where, name))
        if in_file and not re.search(r"(^|, )\*%s\* =" % re.escape(name), man5, re.M):
            missing.append("udp-canary.conf(5) lacks the key %s" % name)
    it.check("udp-canary report" in helptext, "--help names the report command")
    it.check(not missing, "; ".join(missing))


if __name__ == "__main__":
    sys.exit(it.main(case))
