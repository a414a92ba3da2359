"""canary_test: what the Python tests share. Starting udp-canary (the
binary from $UDP_CANARY, under $UDP_CANARY_WRAPPER when set, e.g. valgrind)
with its log in a temporary directory; reading the log back and waiting for
a line; sealing and opening packets as the protocol does (Python's
cryptography module; a case needing it skips without it); three network
namespaces with a NAT between, set up and torn down, and the one rule for
when they cannot be had here; and the runner with its exit status: 1 if any
case failed, 77 if every case skipped, else 0, after a closing line
'N passed, N failed, N skipped'.
"""
import ast
import base64
import hashlib
import hmac
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

BIN = os.path.abspath(os.environ.get("UDP_CANARY", "build/src/udp-canary"))
WRAP = shlex.split(os.environ.get("UDP_CANARY_WRAPPER", ""))
SLOW = 6.0 if WRAP else 1.0  # valgrind starts and runs slower
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
# A cycle: answer, 5 keepalives 0.1 s apart, so a handshake every ~0.4 s.
FAST = ["--keepalive-interval", "0.1", "--handshake-timeout", "0.3"]
LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) udp-canary (INFO|WARNING|ERROR)\] (.*)$")
PACKET = re.compile(r"^(TX|RX) (\S+) (\{.*\})$")


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_for(pred, timeout=5.0, what="condition"):
    end = time.monotonic() + timeout * SLOW
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def settled(count, quiet=0.5, timeout=20.0, what="a count to settle"):
    """Waits until count() is above 0 and has not changed for quiet seconds."""
    end = time.monotonic() + timeout * SLOW
    prev = count()
    while time.monotonic() < end:
        time.sleep(quiet)
        now = count()
        if now > 0 and now == prev:
            return now
        prev = now
    raise AssertionError("timed out waiting for " + what)


# --- logs ---


def read_log(path):
    """The log's lines as (level, text); every line must have the format."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            check(m, "log line in the original's format: %r" % line)
            out.append((m.group(2), m.group(3)))
    return out


def packets(path, direction=None):
    """(direction, peer, message dict) for every TX/RX line with a message."""
    out = []
    for _, text in read_log(path):
        m = PACKET.match(text)
        if m and (direction is None or m.group(1) == direction):
            out.append((m.group(1), m.group(2), ast.literal_eval(m.group(3))))
    return out


def stamped(path):
    """(Unix time read in the local zone, text) of every line in the log's
    format; others (and a missing file) are passed over."""
    out = []
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = LINE.match(line.rstrip("\n"))
                if m:
                    s = m.group(1)
                    t = time.mktime(time.strptime(s[:19], "%Y-%m-%d %H:%M:%S")) + int(s[20:]) / 1000
                    out.append((t, m.group(3)))
    return out


def answered(client):
    return [m for _, _, m in client.packets("RX") if m["type"] == "handshake_response"]


# --- processes ---


def write_key(path):
    """A fresh key from the binary, in a file only its owner reads; the key."""
    key = subprocess.check_output([BIN, "--generate-key"], text=True).strip()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, (key + "\n").encode())
    os.close(fd)
    return key


def free_port(kind=socket.SOCK_DGRAM):
    """A UDP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_port():
    """A TCP port free now (a free UDP port may be some TCP connection's
    local end), for --metrics-listen."""
    return free_port(socket.SOCK_STREAM)


class Canary:
    """One process of ours (or the reference peer's) with its own log file."""

    def __init__(self, tmp, name, args, exe=None):
        self.log = os.path.join(tmp, name + ".log")
        self.stderr = open(os.path.join(tmp, name + ".stderr"), "w+")
        cmd = (exe or WRAP + [BIN]) + args + ["--log", self.log]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, cwd=tmp)

    def lines(self):
        return read_log(self.log)

    def packets(self, direction=None):
        return packets(self.log, direction)

    def port(self):
        def listening():
            for _, text in self.lines():
                m = re.match(r"Listening on .*:(\d+)$", text)
                if m:
                    return int(m.group(1))
            check(self.proc.poll() is None, "server exited: " + self.errors())
            return None
        return wait_for(listening, what="Listening on")

    def errors(self):
        """What the process wrote to stderr (its file may be closed already)."""
        with open(self.stderr.name, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            status = self.proc.wait(timeout=5 * SLOW)
            check(not (WRAP and status == 97), "the wrapper (valgrind) reported errors or leaks: "
                  + self.errors()[-2000:])
            return status
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.stderr.close()


def kill_all(procs):
    for p in procs:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()


def tell_failure(env):
    """The ends of a failed case's logs and stderr."""
    for p in getattr(env, "procs", []):
        log = open(p.log, errors="replace").read()[-3000:] if os.path.exists(p.log) else ""
        print("  --- %s\n%s  --- (stderr)\n%s" % (p.log, log, p.errors()[-2000:]))


class Env:
    """A temporary directory with a key file, and the processes to stop."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="udp-canary-it-")
        self.key_file = os.path.join(self.tmp, "key")
        self.key = write_key(self.key_file)
        self.procs = []

    def server(self, port=0, host="127.0.0.1", name="server", extra=(), exe=None):
        args = ["--server", "--host", host, "--port", str(port), "--key-file", self.key_file]
        if exe:
            args = ["--server", "--host", host, "--port", str(port), "--key", self.key]
        p = Canary(self.tmp, name, args + list(extra), exe)
        self.procs.append(p)
        return p

    def client(self, port, host="127.0.0.1", name="client", cid="home", extra=(), exe=None):
        key = ["--key", self.key] if exe else ["--key-file", self.key_file]
        args = ["--client", "--id", cid, "--host", host, "--port", str(port)] + key + FAST
        p = Canary(self.tmp, name, args + list(extra), exe)
        self.procs.append(p)
        return p

    def key_leaks(self):
        """The files (logs, stderr) in which the key text appears."""
        leaks = []
        for name in os.listdir(self.tmp):
            path = os.path.join(self.tmp, name)
            if name.endswith((".log", ".stderr")) and os.path.isfile(path):
                with open(path, "rb") as f:
                    if self.key.encode() in f.read():
                        leaks.append(name)
        return leaks

    def after(self):
        """Checked after every case that passed."""
        check(not self.key_leaks(), "the key appears in %s" % self.key_leaks())

    def close(self):
        kill_all(self.procs)
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_bad(env, args, says):
    """udp-canary with bad input: status 2, one line on stderr saying it."""
    r = subprocess.run(WRAP + [BIN] + args, capture_output=True, text=True, cwd=env.tmp, timeout=30 * SLOW)
    lines = [l for l in r.stderr.strip().splitlines() if not l.startswith("==")]  # valgrind's own
    check(r.returncode == 2, "%s: exit status 2, got %d (%s)" % (args, r.returncode, r.stderr))
    check(len(lines) == 1, "%s: one line on stderr, got %r" % (args, r.stderr))
    check(says in lines[0], "%s: %r in %r" % (args, says, lines[0]))
    check(not os.path.exists(os.path.join(env.tmp, "udp-canary.log")), "no log file for bad input")


def rss_kib(pid, field="VmRSS"):
    """A process's resident memory (VmRSS, or RssAnon: the heap and stacks
    without the library pages it faults in), in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def metric(port, name):
    """One unlabelled series of the metrics served on 127.0.0.1:port."""
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5 * SLOW).read().decode()
    m = re.search(r"^udp_canary_%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


# --- sealing: AES-128-CBC, PKCS#7 padding, HMAC-SHA256 over IV and text ---


def refpeer():
    """The reference peer's command (tests/refpeer.py, the original's
    behaviour); skips the case without Python's cryptography module."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise Skip("Python's cryptography module is missing (Debian: python3-cryptography)")
    return [sys.executable, os.path.join(HERE, "refpeer.py")]


def _aes(key, iv):
    refpeer()
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def seal_raw(key, text, pad=True):
    """Seals bytes as the protocol does, optionally without valid padding."""
    if pad:
        n = 16 - len(text) % 16
        text += bytes([n]) * n
    iv = os.urandom(16)
    enc = _aes(key, iv).encryptor()
    body = iv + enc.update(text) + enc.finalize()
    return body + hmac.new(key, body, hashlib.sha256).digest()


def seal(key, msg):
    """A message dict sealed as the original seals it (its JSON text)."""
    return seal_raw(key, json.dumps(msg).encode())


def open_(key, data):
    """The message dict in an authentic datagram; ValueError otherwise."""
    body, tag = data[:-32], data[-32:]
    if len(data) < 64 or not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), tag):
        raise ValueError("InvalidMessage")
    dec = _aes(key, body[:16]).decryptor()
    text = dec.update(body[16:]) + dec.finalize()
    if not 1 <= text[-1] <= 16 or text[-text[-1]:] != bytes([text[-1]]) * text[-1]:
        raise ValueError("InvalidMessage: padding")
    return json.loads(text[:-text[-1]])


def sender(env, port, host="127.0.0.1"):
    """A socket that sends inits sealed with the env's key and says
    whether an answer came: init(cid, hid) -> (answer or None, packet)."""
    key = base64.b64decode(env.key)
    refpeer()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def init(cid, hid, packet=None, timeout=None):
        packet = packet or seal(key, {"id": cid, "type": "handshake_init", "data": [hid, 0]})
        s.settimeout(timeout or 0.5 * SLOW)
        s.sendto(packet, (host, port))
        try:
            return open_(key, s.recvfrom(4096)[0]), packet
        except socket.timeout:
            return None, packet
    return init


# --- network namespaces: a client behind a NAT, and a server ---
#
#     client ns            nat ns                      server ns
#     198.51.100.2 --- 198.51.100.1 | 203.0.113.1 --- 203.0.113.2:43210
#
# Only documentation addresses (RFC 5737), only inside these namespaces.

SERVER_IP, NAT_OUT_IP, CLIENT_IP = "203.0.113.2", "203.0.113.1", "198.51.100.2"
PORT = 43210
# put before every namespace's name, so that whoever runs the tests can tell
# (and remove) theirs among others' on a shared machine
NETNS_PREFIX = os.environ.get("UDP_CANARY_NETNS_PREFIX", "")


def sh(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout


def netns_unavailable():
    """Why the namespace tests cannot run here, or None (they then exit 77
    saying so). Root is not enough: a container may withhold CAP_NET_ADMIN
    or CAP_SYS_ADMIN, or give a read-only /proc/sys (systemd-nspawn's
    default), so one namespace is made and given all that Net does to its
    NAT as a trial."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "nft", "conntrack", "sysctl"):
        if not shutil.which(tool):
            return "%s is missing (Debian: iproute2, nftables, conntrack, procps)" % tool
    trial = NETNS_PREFIX + "uc-trial%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", trial], capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot make a network namespace (CAP_NET_ADMIN and CAP_SYS_ADMIN needed): %s" % r.stderr.strip()
    try:
        for what, cmd in (
                ("sysctl", ["sysctl", "-qw", "net.ipv4.ip_forward=1"]),
                ("nftables", ["nft", "add table ip trial"]),
                ("nftables NAT", ["nft", "add chain ip trial post { type nat hook postrouting priority 100 ; }"]),
                ("nftables NAT", ["nft", "add rule ip trial post masquerade fully-random"]),
                ("conntrack", ["conntrack", "-F"])):
            r = subprocess.run(["ip", "netns", "exec", trial] + cmd, capture_output=True, text=True)
            if r.returncode != 0:
                return "%s fails in a namespace: %s" % (what, (r.stderr or r.stdout).strip())
    finally:
        subprocess.run(["ip", "netns", "del", trial], capture_output=True)
    return None


class Net:
    """Three namespaces, named $UDP_CANARY_NETNS_PREFIX + prefix + c, n, s
    + a tag of this process,
    wired and NATed (nftables masquerade with random ports, like a CG-NAT),
    with sysctls set in the NAT's; removed by close(), and by __init__
    when it fails."""

    made = 0

    def __init__(self, prefix="uc", sysctls=()):
        Net.made += 1
        tag = "%d-%d" % (os.getpid(), Net.made)
        prefix = NETNS_PREFIX + prefix
        self.c, self.n, self.s = prefix + "c" + tag, prefix + "n" + tag, prefix + "s" + tag
        try:
            self._build()
            for setting in sysctls:
                self.ns(self.n, "sysctl", "-qw", setting)
        except Exception:
            self.close()
            raise

    def _build(self):
        for ns in (self.c, self.n, self.s):
            sh("ip", "netns", "add", ns)
            self.ns(ns, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", "c0", "netns", self.c, "type", "veth", "peer", "name", "n1", "netns", self.n)
        sh("ip", "link", "add", "n2", "netns", self.n, "type", "veth", "peer", "name", "s0", "netns", self.s)
        for ns, dev, addr in ((self.c, "c0", CLIENT_IP + "/24"), (self.n, "n1", "198.51.100.1/24"),
                              (self.n, "n2", NAT_OUT_IP + "/24"), (self.s, "s0", SERVER_IP + "/24")):
            self.ns(ns, "ip", "addr", "add", addr, "dev", dev)
            self.ns(ns, "ip", "link", "set", dev, "up")
        self.ns(self.c, "ip", "route", "add", "default", "via", "198.51.100.1")
        self.ns(self.n, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.nft("add table ip canary")
        self.nft("add chain ip canary post { type nat hook postrouting priority 100 ; }")
        self.nft('add rule ip canary post oifname "n2" masquerade fully-random')
        self.nft("add chain ip canary gate { type filter hook forward priority 0 ; }")

    def ns(self, ns, *cmd):
        return sh("ip", "netns", "exec", ns, *cmd)

    def nft(self, rule):
        self.ns(self.n, "nft", rule)

    def exe(self, ns):
        return ["ip", "netns", "exec", ns] + WRAP + [BIN]

    def close(self):
        for ns in (self.c, self.n, self.s):
            sh("ip", "netns", "del", ns, check=False)


class NetEnv:
    """A Net (or net, a class built like it), a key file, and our server
    and client in it. The temporary directory is removed by close() unless
    given (the caller's then)."""

    def __init__(self, prefix="uc", sysctls=(), tmp=None, net=Net):
        self.procs = []
        self.own_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="udp-canary-netns-")
        self.key_file = os.path.join(self.tmp, "key")
        try:
            write_key(self.key_file)
            self.net = net(prefix, sysctls)
        except Exception:
            self.net = None
            self.close()
            raise

    def start(self, name, ns, args):
        p = Canary(self.tmp, name, args, exe=self.net.exe(ns))
        self.procs.append(p)
        return p

    def server(self, name="server", extra=(), wait=True):
        p = self.start(name, self.net.s, ["--server", "--port", str(PORT), "--key-file", self.key_file]
                       + list(extra))
        if wait:
            p.port()
        return p

    def client(self, timers, cid="home", name="client"):
        return self.start(name, self.net.c, ["--client", "--id", cid, "--host", SERVER_IP, "--port", str(PORT),
                                             "--key-file", self.key_file] + list(timers))

    def close(self):
        kill_all(self.procs)
        if self.net:
            self.net.close()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


# --- the runner ---


class Cases(list):
    """The cases of a test file, in order: `case = Cases()`, then `@case`."""

    def __call__(self, fn):
        self.append(fn)
        return fn


def status(passed, failed, skipped):
    """Prints the closing line; the exit status: 1 if any failed (or none
    ran), 77 if every one skipped, else 0."""
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed or not (passed or skipped):
        return 1
    return 77 if not passed else 0


def main(cases, make_env=Env, unavailable=None, argv=None):
    """Runs the cases named in argv (all by default), each given a fresh
    make_env() and closing it after; a case raising Skip skips. With
    unavailable() saying why, nothing runs and every case skips."""
    names = sys.argv[1:] if argv is None else argv
    chosen = [fn for fn in cases if not names or fn.__name__ in names]
    if names and len(chosen) != len(set(names)):
        print("no such case among %s: %s" % ([fn.__name__ for fn in cases], names))
        return 2
    why = unavailable() if unavailable else None
    if why:
        print("SKIP: " + why)
        return status(0, 0, len(chosen))
    passed = failed = skipped = 0
    for fn in chosen:
        env = None
        try:
            env = make_env()
            fn(env)
            if hasattr(env, "after"):
                env.after()
            passed += 1
            print("ok - %s" % fn.__name__, flush=True)
        except Skip as e:
            skipped += 1
            print("skip - %s: %s" % (fn.__name__, e), flush=True)
        except Exception:
            failed += 1
            print("FAIL - %s" % fn.__name__)
            traceback.print_exc(file=sys.stdout)
            tell_failure(env)
            sys.stdout.flush()
        finally:
            if env:
                env.close()
    return status(passed, failed, skipped)


class Tally:
    """For a test that is one list of checks: each printed, counted, and
    the closing line and exit status of the runner at the end."""

    def __init__(self):
        self.passed, self.failed, self.skipped = [], [], []

    def check(self, cond, what):
        print(("ok - " if cond else "FAIL - ") + what, flush=True)
        (self.passed if cond else self.failed).append(what)
        return cond

    def skip(self, why):
        print("skip - " + why, flush=True)
        self.skipped.append(why)

    def finish(self):
        return status(len(self.passed), len(self.failed), len(self.skipped))
