#!/usr/bin/env python3
"""Hostile input: files that are not what they should be, a network that
replays, floods and aims at a secondary address, a damaged state file.
Real processes on 127.0.0.1, with the helpers of canary_test.py.

Run one case: UDP_CANARY=build/src/udp-canary tests/hostile.py fifo_key_file
"""
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402
from canary_test import BIN, SLOW, check, wait_for, run_bad  # noqa: E402

case = it.Cases()


def run_status(env, args, timeout=10):
    """Runs udp-canary to its end: (status, stderr lines). A run that does
    not end in time (blocked on a FIFO) fails the test."""
    try:
        r = subprocess.run([BIN] + args, capture_output=True, text=True, cwd=env.tmp, timeout=timeout * SLOW)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s: still running after %d s (blocked?)" % (args, timeout))
    return r.returncode, r.stderr.strip().splitlines()


def fifo(env, name):
    path = os.path.join(env.tmp, name)
    os.mkfifo(path, 0o600)
    return path


@case
def fifo_key_file(env):
    """A FIFO as the key file: refused at once (status 2), not read forever."""
    run_bad(env, ["--server", "--key-file", fifo(env, "key.fifo")], "not a regular file")


@case
def fifo_config(env):
    """A FIFO as the config file (or the optional one): status 2, one line."""
    run_bad(env, ["--server", "--key-file", env.key_file, "--config", fifo(env, "c.fifo")],
            "not a regular file")
    run_bad(env, ["--server", "--key-file", env.key_file, "--optional-config", fifo(env, "o.fifo")],
            "not a regular file")


@case
def fifo_log(env):
    """A FIFO as the log: status 1 and one line; /dev/null and '' are fine."""
    log = fifo(env, "log.fifo")
    status, lines = run_status(env, ["--server", "--port", "0", "--key-file", env.key_file, "--log", log])
    check(status == 1, "status 1, got %d: %s" % (status, lines))
    check(len(lines) == 1 and "cannot open the log file" in lines[0] and "not a regular file" in lines[0],
          "one line: %s" % lines)
    for ok in ("/dev/null", ""):
        p = subprocess.Popen([BIN, "--server", "--host", "127.0.0.1", "--port", "0", "--key-file", env.key_file,
                              "--log", ok], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=env.tmp)
        time.sleep(0.3 * SLOW)
        check(p.poll() is None, "--log %r runs" % ok)
        p.send_signal(signal.SIGTERM)
        check(p.wait(5 * SLOW) == 0, "--log %r: clean exit" % ok)
        p.stderr.close()


@case
def fifo_log_on_reload(env):
    """The log replaced by a FIFO, then SIGHUP: the server goes on, says
    so in the old log, and still stops on SIGTERM."""
    server = env.server()
    server.port()
    os.rename(server.log, server.log + ".1")
    os.mkfifo(server.log, 0o600)
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any("not a regular file" in t for _, t in it.read_log(server.log + ".1")),
             what="the refused log in the old file")
    check(server.proc.poll() is None, "still running")
    check(server.stop() == 0, "SIGTERM still stops it")


@case
def fifo_state_file(env):
    """A FIFO as replay.state, or as its temporary file, blocks nothing."""
    state = os.path.join(env.tmp, "state")
    os.mkdir(state)
    os.mkfifo(os.path.join(state, "replay.state"), 0o600)
    # a state that cannot be read stops the start (serving without it
    # would answer captured inits)
    status, lines = run_status(env, ["--server", "--port", "0", "--key-file", env.key_file, "--state-dir", state,
                                     "--log", ""])
    check(status == 1, "status 1, got %d: %s" % (status, lines))
    check(len(lines) == 1 and "cannot read the state file" in lines[0] and "not a regular file" in lines[0],
          "one line: %s" % lines)

    os.unlink(os.path.join(state, "replay.state"))
    os.mkfifo(os.path.join(state, "replay.state.tmp"), 0o600)
    server = env.server(name="server2", extra=["--state-dir", state])
    init = it.sender(env, server.port())
    check(init("home", 5)[0] is not None, "answered")
    check(server.stop() == 0, "clean exit, the state saved")
    check('5 "home"' in open(os.path.join(state, "replay.state")).read(), "saved")


def state_dir(env, content):
    state = os.path.join(env.tmp, "state")
    os.mkdir(state)
    with open(os.path.join(state, "replay.state"), "wb") as f:
        f.write(content)
    return state


def read(path):
    with open(path, "rb") as f:
        return f.read()


@case
def damaged_state_durable(env):
    """A damaged state file is copied aside, not moved, and what could be
    read is on disk before anything is served: a SIGKILL right after the
    start still finds it."""
    damaged = b'5 "home"\n\xff\xfe garbage\n'
    state = state_dir(env, damaged)
    path = os.path.join(state, "replay.state")
    server = env.server(extra=["--state-dir", state])
    port = server.port()
    check(read(path + ".corrupt") == damaged, "an exact copy aside")
    saved = read(path)
    check(b'5 "home"' in saved and b"garbage" not in saved, "the good lines written back: %r" % saved)
    server.proc.kill()
    server.proc.wait()
    server = env.server(port=port, name="server2", extra=["--state-dir", state])
    init = it.sender(env, server.port())
    check(init("home", 5)[0] is None, "the captured init is still refused after a SIGKILL")
    check(server.stop() == 0, "clean exit")
    check(read(path + ".corrupt") == damaged, "the copy left alone")


@case
def state_save_failure_said(env):
    """A save that fails is said once, without waiting for more traffic,
    and its recovery too; what was saved late is on disk at the end, and a
    replay of it is refused after a restart."""
    state = state_dir(env, b'1 "home"\n')
    path = os.path.join(state, "replay.state")
    server = env.server(extra=["--state-dir", state])
    port = server.port()
    os.rename(path, path + ".away")
    os.mkdir(path)  # in the append's way, once the file is loaded
    init = it.sender(env, port)
    check(init("home", 5)[0] is not None, "answered")
    said = lambda text: any(text in t for _, t in server.lines())
    it.wait_for(lambda: said("Cannot write the state file"), timeout=4, what="the failure said")
    os.rmdir(path)
    os.rename(path + ".away", path)
    check(init("home", 6)[0] is not None, "answered again")
    it.wait_for(lambda: said("written again"), timeout=4, what="the recovery said")
    check(sum("Cannot write the state file" in t for _, t in server.lines()) == 1, "said once")
    check(server.stop() == 0, "clean exit")
    check(b'6 "home"' in read(path), "the last id saved: %r" % read(path))
    server = env.server(port=server.port(), name="server2", extra=["--state-dir", state])
    check(init("home", 6)[0] is None, "its replay refused after a restart")
    check(server.stop() == 0, "clean exit")


@case
def damaged_state_without_copy(env):
    """When no copy of a damaged state file can be made (here every name
    for one is taken), the file is not replaced at the start: it stays
    whole until a change is saved."""
    damaged = b'5 "home"\n\xff\xfe garbage\n'
    state = state_dir(env, damaged)
    path = os.path.join(state, "replay.state")
    for n in range(100):
        with open(path + (".corrupt" if n == 0 else ".corrupt.%d" % n), "w") as f:
            f.write("older\n")
    server = env.server(extra=["--state-dir", state])
    server.port()
    check(any("no copy could be kept aside" in t for _, t in server.lines()), "said: %s" % server.lines())
    check(read(path) == damaged, "the file left whole")
    check(server.stop() == 0, "clean exit")
    check(read(path + ".corrupt") == b"older\n", "older copies left alone")


def prober(env, port):
    """A socket that sends probes sealed with the env's key, from a port of
    its own (a spoofed source, as far as the server can tell): probe(cid,
    pid) -> the probe_response, or None when none came."""
    key = base64.b64decode(env.key)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def probe(cid, pid):
        s.sendto(it.seal(key, {"id": cid, "type": "probe", "data": [pid, 0]}), ("127.0.0.1", port))
        s.settimeout(0.5 * SLOW)
        try:
            return it.open_(key, s.recvfrom(4096)[0])
        except socket.timeout:
            return None
    return probe


@case
def probe_replayed_after_restart(env):
    """A probe id accepted is refused after a restart, from any source, as
    a replayed init is: after a SIGKILL once it is in probes.state (within
    the handover), and after a SIGTERM. The probe ids stay out of
    replay.state, which an older release reads alone."""
    state = state_dir(env, b'1 "home"\n')
    probes = os.path.join(state, "probes.state")
    server = env.server(extra=["--state-dir", state])
    port = server.port()
    check(prober(env, port)("home", 7) is not None, "a fresh probe answered")
    check(prober(env, port)("home", 7) is None, "its replay refused while running")
    wait_for(lambda: os.path.exists(probes) and b'7 "home"' in read(probes), timeout=3 * SLOW,
             what="probe 7 in probes.state")
    server.proc.kill()
    server.proc.wait()
    server = env.server(port=port, name="server2", extra=["--state-dir", state])
    check(prober(env, port)("home", 7) is None, "replayed after a SIGKILL: refused")
    check(prober(env, port)("home", 8) is not None, "a new probe answered")
    check(server.stop() == 0, "clean exit")
    server = env.server(port=port, name="server3", extra=["--state-dir", state])
    check(prober(env, port)("home", 8) is None, "replayed after a SIGTERM: refused")
    check(server.stop() == 0, "clean exit")
    replay = read(os.path.join(state, "replay.state"))
    check(b'1 "home"' in replay and b"7" not in replay and b"8" not in replay,
          "replay.state holds handshake ids only: %r" % replay)


@case
def damaged_probe_state(env):
    """A damaged probes.state is handled as a damaged replay.state: said,
    copied aside whole, what could be read written back before anything is
    served, and its ids still refused."""
    damaged = b'5 "home"\n\xff\xfe garbage\n'
    state = state_dir(env, b'1 "home"\n')
    path = os.path.join(state, "probes.state")
    with open(path, "wb") as f:
        f.write(damaged)
    server = env.server(extra=["--state-dir", state])
    port = server.port()
    check(any("probes.state: 1 bad lines skipped; the file is kept as .corrupt" in t for _, t in server.lines()),
          "said: %s" % server.lines())
    check(read(path + ".corrupt") == damaged, "an exact copy aside")
    saved = read(path)
    check(b'5 "home"' in saved and b"garbage" not in saved, "the good lines written back: %r" % saved)
    check(prober(env, port)("home", 5) is None, "its probe id refused")
    check(prober(env, port)("home", 6) is not None, "a new one answered")
    check(server.stop() == 0, "clean exit")


@case
def start_failure_leaves_state(env):
    """A start that fails (log, metrics listener, port) leaves the state
    file as it was: every check comes before the load."""
    damaged = b'5 "home"\n\xff\xfe garbage\n'
    state = state_dir(env, damaged)
    path = os.path.join(state, "replay.state")
    busy = it.tcp_port()
    import socket
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", busy))
    holder.listen()
    base = ["--server", "--host", "127.0.0.1", "--port", "0", "--key-file", env.key_file, "--state-dir", state]
    for extra in (["--log", state], ["--log", "", "--metrics-listen", "127.0.0.1:%d" % busy]):
        status, lines = run_status(env, base + extra)
        check(status == 1, "%s: status 1, got %d %s" % (extra, status, lines))
        check(read(path) == damaged, "%s: the state file untouched" % extra)
        check(not os.path.exists(path + ".corrupt"), "%s: nothing made aside" % extra)
    holder.close()
    server = env.server(extra=["--state-dir", state])
    init = it.sender(env, server.port())
    check(init("home", 5)[0] is None, "the state still protects")
    server.stop()


@case
def state_last_line_without_newline(env):
    """A whole last line without its newline is read; one cut short is a
    bad line, kept aside."""
    state = state_dir(env, b'5 "home"\n7 "other"')
    server = env.server(extra=["--state-dir", state])
    init = it.sender(env, server.port())
    lines = [t for _, t in server.lines()]
    check(any("2 clients loaded" in t for t in lines) and not any("bad lines" in t for t in lines),
          "both loaded: %s" % lines)
    check(init("other", 7)[0] is None, "the last line protects")
    server.stop()


def proc_stat(pid):
    """(RSS kB, open fds, CPU seconds) of a process."""
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, len(os.listdir("/proc/%d/fd" % pid)), cpu


def scrape(port, timeout=5):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=timeout) as r:
        return r.read().decode()


def slow_scrape(port, pause, timeout):
    """A scrape that waits `pause` seconds between its connect and its
    request: whether it was answered."""
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            time.sleep(pause)
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            reply = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
    except OSError as e:
        print("# a slow scrape failed: %s" % e)
        return False
    return b"udp_canary_metrics_connections" in reply


def probe_rtts(init, n, start_hid):
    """Round trips (ms) of n handshakes; None for one unanswered."""
    out = []
    for k in range(n):
        t = time.monotonic()
        answer = init("probe", start_hid + k, timeout=1)[0]
        out.append((time.monotonic() - t) * 1000 if answer is not None else None)
    return out


@case
def hostile_scrapers(env):
    """Scrapers that never finish their request, never read the reply, or
    send headers without end: connections stay capped, memory flat, the
    UDP side answers at once, and they are closed after the timeout."""
    import socket
    mport = it.tcp_port()
    server = env.server(extra=["--metrics-listen", "127.0.0.1:%d" % mport])
    init = it.sender(env, server.port())
    pid = server.proc.pid
    scrape(mport)
    rss0, fds0, _ = proc_stat(pid)
    endless = socket.create_connection(("127.0.0.1", mport))
    endless.settimeout(5)
    endless.sendall(b"GET /metrics HTTP/1.1\r\n")
    sent, line = 0, b"X-Junk: " + b"a" * 1000 + b"\r\n"
    try:
        while sent < 50 << 20:
            endless.sendall(line * 64)
            sent += len(line) * 64
    except OSError:
        pass
    socks = []
    for i in range(40):  # idle: half a request line, then nothing
        s = socket.create_connection(("127.0.0.1", mport))
        s.sendall(b"GET /metr")
        socks.append(s)
    for i in range(20):  # whole requests, replies never read
        s = socket.create_connection(("127.0.0.1", mport))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
        socks.append(s)
    rtts = probe_rtts(init, 20, 1000)
    rss1, fds1, _ = proc_stat(pid)
    print("# scrapers: %d kB of headers taken before the close; RSS %d -> %d kB, fds %d -> %d; "
          "handshake round trips %s ms" % (sent >> 10, rss0, rss1, fds0, fds1,
                                           ", ".join("%.1f" % r if r is not None else "-" for r in rtts)))
    check(sent < 8 << 20, "endless headers cut off early (%d bytes taken)" % sent)
    check(rss1 - rss0 < 4096, "memory flat: %d kB then %d kB" % (rss0, rss1))
    check(fds1 - fds0 <= 16, "connections capped: %d fds then %d" % (fds0, fds1))
    check(all(r is not None and r < 100 for r in rtts), "handshakes answered at once: %s" % rtts)
    # the idle and unread ones are closed after the timeout; scraping works again
    wait_for(lambda: proc_stat(pid)[1] <= fds0, timeout=15, what="idle connections closed")
    check("udp_canary_metrics_connections_refused_total" in scrape(mport), "scrape works after")
    for s in socks + [endless]:
        s.close()
    check(server.stop() == 0, "clean exit")


def header_constant(path, name):
    """A #define's number (such as 10 or (8u << 20)) from one of our
    headers (include/PATH): the test's bounds follow the code's."""
    import re
    with open(os.path.join(os.path.dirname(it.HERE), "include", path)) as f:
        m = re.search(r"^#define %s ([0-9u <()]+)$" % name, f.read(), re.M)
    check(m, "%s in include/%s" % (name, path))
    return eval(m.group(1).replace("u", ""), {"__builtins__": {}})  # digits, shifts, brackets only


def idle_connections(port, n, stop_fd):
    """In a child process (the attacker is not the scraper's thread, whose
    lock it would hold): n connections that sent half a request line, each
    reopened as soon as it is closed, until stop_fd reads its end. Returns
    how many were reopened (from the child's exit)."""
    import select
    import socket

    def idle():
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /metr")
        return s
    socks, reopened = [idle() for _ in range(n)], 0
    while True:
        ready = select.select(socks + [stop_fd], [], [])[0]
        if stop_fd in ready:
            break
        for s in ready:
            try:
                gone = s.recv(4096) == b""
            except OSError:
                gone = True
            if gone:
                s.close()
                socks[socks.index(s)] = idle()
                reopened += 1
    return reopened


@case
def scrapes_past_idle_connections(env):
    """A connection that sends half its request line is closed at the
    line's deadline; and 32 such, each reopened as soon as it is closed
    (more than the table holds), do not keep a scraper out: it gets its
    answer at least 19 times of 20, as the idle ones make room."""
    line_s = header_constant("daemon/httpd.h", "HTTPD_LINE_TIMEOUT_S")
    life_s = header_constant("daemon/httpd.h", "HTTPD_TIMEOUT_S")
    evict_s = header_constant("daemon/httpd.h", "HTTPD_EVICT_AGE_MS") / 1000
    mport = it.tcp_port()
    server = env.server(extra=["--metrics-listen", "127.0.0.1:%d" % mport])
    server.port()
    # alone, an idle one is closed at the line's deadline, well before the
    # connection's whole life is up
    import socket
    s = socket.create_connection(("127.0.0.1", mport))
    s.sendall(b"GET /metr")
    t0 = time.monotonic()
    s.settimeout((line_s + (life_s - line_s) / 2) * SLOW)
    try:
        closed = s.recv(1) == b""
    except OSError as e:
        closed = not isinstance(e, socket.timeout)
    s.close()
    check(closed, "an idle connection closed within %d s: after %.1f s"
          % ((line_s + (life_s - line_s) / 2) * SLOW, time.monotonic() - t0))
    stop_r, stop_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(stop_w)
            os.write(out_w, b"%d" % idle_connections(mport, 32, stop_r))
            status = 0
        finally:
            os._exit(status)
    os.close(stop_r)
    os.close(out_w)
    answered = slow_answered = 0
    try:
        time.sleep(0.5 * SLOW)  # the table full of idle ones
        for _ in range(20):
            try:  # the server ends any connection within HTTPD_TIMEOUT_S
                answered += "udp_canary_metrics_connections" in scrape(mport, timeout=life_s * SLOW)
            except OSError as e:
                print("# a scrape failed: %s" % e)
            time.sleep(0.1)
        # a scraper slow to send its request (a tenth of the time it is
        # given) is not pushed out by the connections reopened meanwhile
        for _ in range(10):
            slow_answered += slow_scrape(mport, evict_s / 10, life_s * SLOW)
        # the attack goes on for longer than the line's deadline
        time.sleep(max(0, line_s * SLOW - 2))
    finally:
        os.close(stop_w)
        reopened = int(os.read(out_r, 32) or b"0")
        os.close(out_r)
        attacker = os.waitpid(pid, 0)[1]
    print("# %d of 20 scrapes answered, %d of 10 slow ones; idle connections reopened %d times"
          % (answered, slow_answered, reopened))
    check(attacker == 0, "the attacker ran to its end")
    check(answered >= 19, "scrapes answered under the attack: %d of 20" % answered)
    check(slow_answered >= 9, "slow scrapes answered under the attack: %d of 10" % slow_answered)
    check(reopened >= 1, "the idle connections were closed: %d" % reopened)
    check(server.stop() == 0, "clean exit")


def stalled_stderr_server(env, mport):
    """A server whose stderr is a pipe that nobody reads (yet): (process,
    the pipe's read end, its log file)."""
    r, w = os.pipe()
    log = os.path.join(env.tmp, "stalled.log")
    args = ["--server", "--host", "127.0.0.1", "--port", "0", "--key-file", env.key_file, "--log", log,
            "--metrics-listen", "127.0.0.1:%d" % mport]
    p = subprocess.Popen(it.WRAP + [BIN] + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w)
    os.close(w)
    return p, r, log


def listening_port(log):
    import re
    for _, text in it.read_log(log):
        m = re.match(r"Listening on .*:(\d+)$", text)
        if m:
            return int(m.group(1))
    return None


def log_dropped(mport, sink):
    text = scrape(mport, timeout=10 * SLOW)
    for line in text.splitlines():
        if line.startswith('udp_canary_log_lines_dropped_total{sink="%s"} ' % sink):
            return int(line.split()[-1])
    return None


def flood_until_stderr_drops(env, port, mport, log, cid, limit):
    """Handshakes in bursts (each answered: the loop goes on) until the
    server says stderr dropped lines, or its log file holds more than limit
    bytes (then the test fails). Returns the handshake ids answered."""
    import socket
    sys.path.insert(0, it.HERE)
    import base64
    import refpeer as ref
    key = base64.b64decode(env.key)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2 * SLOW)
    answered, hid = [], 0
    while not log_dropped(mport, "stderr"):
        check(os.path.getsize(log) < limit, "no stderr drops after %d bytes of log" % os.path.getsize(log))
        for _ in range(64):
            hid += 1
            s.sendto(ref.seal(key, {"id": cid, "type": "handshake_init", "data": [hid, 0]}), ("127.0.0.1", port))
        got = 0
        try:
            while got < 64:
                answered.append(ref.open_(key, s.recvfrom(4096)[0])["data"][0])
                got += 1
        except socket.timeout:
            pass
        check(got > 0, "handshakes answered with stderr stalled (none of 64 after %d)" % hid)
    s.close()
    return answered


@case
def stderr_nobody_reads(env):
    """stderr a pipe that nobody reads: past the bound it alone loses
    lines, counted (udp_canary_log_lines_dropped_total{sink="stderr"}),
    while handshakes are answered and the file keeps every line; once it is
    read again it gets one line that says how many it lost. A stuck write
    does not hold SIGTERM up beyond the outputs' time at exit."""
    import re
    import threading
    bound = header_constant("daemon/log.h", "LOG_OUTPUT_MAX_PENDING")
    wait_s = header_constant("daemon/log.h", "LOG_CLOSE_WAIT_MS") / 1000
    mport = it.tcp_port()
    p, r, log = stalled_stderr_server(env, mport)
    try:
        port = wait_for(lambda: listening_port(log), what="Listening on")
        cid = "\x01" * 256  # the longest id, written 4 bytes a byte: long lines
        # stuck in one write of up to the bound, the bound waiting, the pipe full
        answered = flood_until_stderr_drops(env, port, mport, log, cid, 3 * bound)
        check(log_dropped(mport, "file") == 0, "the file lost no line")
        lines = [t for _, t in it.read_log(log)]
        rx = {m["data"][0] for _, _, m in it.packets(log, "RX")}
        check(all(h in rx for h in answered), "every answered handshake in the file")
        # read stderr again: the lines it kept, then one that says how many it
        # lost, before the next line logged once it took all that waited
        got = []
        reader = threading.Thread(target=lambda: got.extend(iter(lambda: os.read(r, 1 << 16), b"")))
        reader.start()
        init = it.sender(env, port)
        hid = [0]

        def told():
            hid[0] += 1
            check(init("after", hid[0])[0] is not None, "answered once stderr is read")
            return b" log lines lost before this one: " in b"".join(got)
        wait_for(told, timeout=10, what="the line that says what stderr lost")
        dropped = log_dropped(mport, "stderr")
        p.send_signal(signal.SIGTERM)
        check(p.wait(timeout=(wait_s + 10) * SLOW) == 0, "clean exit")
        reader.join()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(r)
    text = b"".join(got).decode("utf-8", "replace").splitlines()
    notes = [l for l in text if re.search(r"\] \d+ log lines lost before this one: stderr did not take them in time$", l)]
    print("# stderr stalled: %d lines dropped there after %d handshakes answered, %d kB of log in the file"
          % (dropped, len(answered), os.path.getsize(log) >> 10))
    check(len(notes) == 1, "one line says what stderr lost: %s" % notes)
    lost = int(re.search(r"\] (\d+) log lines lost", notes[0]).group(1))
    kept = [l for l in text if l not in notes]
    file_lines = open(log, encoding="utf-8").read().splitlines()
    check(lost == dropped, "the line says %d lost, the metric %d" % (lost, dropped))
    check(len(kept) + lost == len(file_lines), "stderr kept %d, lost %d: the file has %d"
          % (len(kept), lost, len(file_lines)))
    check(set(kept) <= set(file_lines), "stderr's lines are the file's")
    check(lines and file_lines[-1].endswith("] Exit"), "the file ends with Exit")
    # the report reads that line: what it finds over the gap in stderr's
    # copy is marked unknown (a log lost lines), and nothing in the file's
    import json
    copy = os.path.join(env.tmp, "stderr.log")
    with open(copy, "w", encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")
    marks = []
    for path in (copy, log):
        r = subprocess.run([BIN, "report", "--json", "--id", cid, path], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "report %s: %s" % (path, r.stderr))
        marks.append([o["log_lost"] for c in json.loads(r.stdout)["clients"] for o in c["outages"]])
    check(any(marks[0]) and not any(marks[1]), "the gap marked in stderr's copy only: %s" % marks)


@case
def stderr_stuck_at_exit(env):
    """SIGTERM while the thread that writes stderr is stuck in a write to a
    full pipe: the daemon exits after the outputs' time at exit at most, and
    the file has every line, Exit the last."""
    import fcntl
    import termios
    import struct
    wait_s = header_constant("daemon/log.h", "LOG_CLOSE_WAIT_MS") / 1000
    mport = it.tcp_port()
    p, r, log = stalled_stderr_server(env, mport)
    try:
        port = wait_for(lambda: listening_port(log), what="Listening on")
        init = it.sender(env, port)
        held = []  # bytes in the pipe after each answered handshake

        flush_s = header_constant("daemon/log.h", "LOG_FLUSH_MS") / 1000
        changed = [time.monotonic()]

        def full():
            check(init("\x01" * 256, len(held) + 1)[0] is not None, "answered with stderr stalled")
            held.append(struct.unpack("i", fcntl.ioctl(r, termios.FIONREAD, b"\0\0\0\0"))[0])
            if len(held) < 2 or held[-1] != held[-2]:
                changed[0] = time.monotonic()
            # ten batches handed over that did not get in, over ten of the
            # writer's turns: it is stuck (a paced writer takes what waits
            # only every LOG_FLUSH_MS)
            return (len(held) > 10 and held[-1] > 0 and len(set(held[-10:])) == 1
                    and time.monotonic() - changed[0] > 10 * flush_s)
        wait_for(full, timeout=30, what="the pipe to fill")
        hid = len(held)
        t = time.monotonic()
        p.send_signal(signal.SIGTERM)
        try:
            status = p.wait(timeout=(wait_s + 1) * SLOW)
        except subprocess.TimeoutExpired:
            status = None
        print("# SIGTERM with stderr stuck: exit after %.2f s" % (time.monotonic() - t))
        check(status == 0, "exit within %.0f s of SIGTERM: %s" % ((wait_s + 1) * SLOW, status))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(r)
    lines = [t for _, t in it.read_log(log)]
    check(lines[-1] == "Exit", "the file ends with Exit: %s" % lines[-1:])
    tx = {m["data"][0] for _, _, m in it.packets(log, "TX")}
    check(set(range(1, hid + 1)) <= tx, "every answer in the file")


@case
def log_line_within_flush_interval(env):
    """Under steady traffic (a handshake every 10 ms), each answered
    handshake's RX line is in the log file within LOG_FLUSH_MS of its
    answer, plus an allowance for a busy host (1 s, times SLOW): the log's
    threads take what waits on their own, every LOG_FLUSH_MS, with no more
    traffic needed to push the last lines out, and the first line after a
    quiet spell wakes them."""
    import re
    import threading
    flush_s = header_constant("daemon/log.h", "LOG_FLUSH_MS") / 1000
    bound = flush_s + 1.0 * SLOW
    server = env.server()
    init = it.sender(env, server.port())
    seen, answers, done = {}, {}, threading.Event()
    rx = re.compile(r"\] RX \S+ \{'id': 'steady', 'type': 'handshake_init', 'data': \[(\d+), 0\]\}$")

    def watch():  # when each line is first in the file (whole lines only)
        while not done.is_set():
            now = time.monotonic()
            with open(server.log, "rb") as f:
                text = f.read().decode(errors="replace")
            for line in text[:text.rfind("\n") + 1].splitlines():
                m = rx.search(line)
                if m:
                    seen.setdefault(int(m.group(1)), now)
            time.sleep(0.005)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for hid in range(1, 101):
            if hid in (1, 51):  # after a quiet spell: the writer asleep
                time.sleep(3 * flush_s)
            if init("steady", hid)[0] is not None:
                answers[hid] = time.monotonic()
            time.sleep(0.01)
        wait_for(lambda: set(answers) <= set(seen), timeout=bound + 1, what="every answered line in the file")
    finally:
        done.set()
        watcher.join()
    check(len(answers) > 50, "most handshakes answered: %d of 100" % len(answers))
    late = max(seen[h] - answers[h] for h in answers)
    print("# the latest line in the file %.3f s after its answer (bound %.3f s)" % (late, bound))
    check(late <= bound, "every line within %.3f s of its answer; the latest took %.3f s" % (bound, late))
    check(server.stop() == 0, "clean exit")


@case
def metrics_at_fd_limit(env):
    """Out of file descriptors, the metrics listener does not spin: the
    waiting connections are shed, and the CPU stays idle."""
    import resource
    import socket
    mport = it.tcp_port()
    args = [BIN, "--server", "--host", "127.0.0.1", "--port", "0", "--key-file", env.key_file, "--log", "",
            "--metrics-listen", "127.0.0.1:%d" % mport]
    probe = subprocess.Popen(args, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3 * SLOW)
    base = proc_stat(probe.pid)[1]
    probe.terminate()
    probe.wait()
    limit = base + 3

    def few_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=few_fds)
    try:
        time.sleep(0.3 * SLOW)
        socks = [socket.create_connection(("127.0.0.1", mport)) for _ in range(30)]
        time.sleep(0.5)
        cpu0 = proc_stat(p.pid)[2]
        time.sleep(2)
        cpu1 = proc_stat(p.pid)[2]
        print("# at the fd limit (%d): %.2f s of CPU in 2 s" % (limit, cpu1 - cpu0))
        check(cpu1 - cpu0 < 0.5, "no spinning: %.2f s of CPU in 2 s" % (cpu1 - cpu0))
        for s in socks:
            s.close()
        check(p.poll() is None, "still running")
    finally:
        p.terminate()
        check(p.wait(5) == 0, "clean exit")


@case
def secondary_address(env):
    """A server on the wildcard answers from the address the client aimed
    at (127.0.0.2; all of 127/8 is local), not from the kernel's choice,
    which the client would drop as not from the server's address. On 0.0.0.0
    and on :: (IPv4 mapped)."""
    import socket
    hosts = ["0.0.0.0"]
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::", 0))
        hosts.append("::")
    except OSError:
        pass
    for n, host in enumerate(hosts):
        server = env.server(host=host, name="server%d" % n)
        client = env.client(server.port(), host="127.0.0.2", name="client%d" % n)
        wait_for(lambda: len(it.answered(client)) >= 2, what="answers from 127.0.0.2 (server on %s)" % host)
        lines = [t for _, t in client.lines()]
        check(not any("not from the server's address" in t for t in lines), "no answer dropped: %s" % lines[:6])
        client.stop()
        server.stop()


@case
def secondary_address_netns(env):
    """The same across a real link: a server namespace with two addresses
    on one interface, the client aiming at the second (root only)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        raise it.Skip("needs root and ip(8)")
    tag = "sec%d" % os.getpid()
    srv, cli = tag + "s", tag + "c"

    def sh(*cmd):
        subprocess.run(cmd, check=True, capture_output=True)
    try:
        sh("ip", "netns", "add", srv)
        sh("ip", "netns", "add", cli)
        sh("ip", "link", "add", tag + "a", "netns", srv, "type", "veth", "peer", "name", tag + "b", "netns", cli)
        for ns, dev, addrs in ((srv, tag + "a", ["192.0.2.1/24", "192.0.2.2/24"]), (cli, tag + "b", ["192.0.2.10/24"])):
            for a in addrs:
                sh("ip", "-n", ns, "addr", "add", a, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        server = env.server(host="0.0.0.0", exe=["ip", "netns", "exec", srv, BIN])
        port = server.port()
        client = env.client(port, host="192.0.2.2", exe=["ip", "netns", "exec", cli, BIN])
        wait_for(lambda: len(it.answered(client)) >= 2, what="answers from 192.0.2.2")
        peers = {peer for _, peer, _ in client.packets("RX")}
        check(peers == {"192.0.2.2:%d" % port}, "answers come from 192.0.2.2: %s" % peers)
        lines = [t for _, t in client.lines()]
        check(not any("not from the server's address" in t for t in lines), "none dropped: %s" % lines[:6])
        client.stop()
        server.stop()
    finally:
        subprocess.run(["ip", "netns", "del", cli], capture_output=True)
        subprocess.run(["ip", "netns", "del", srv], capture_output=True)


@case
def log_full(env):
    """A log file that cannot grow (RLIMIT_FSIZE: a full disk without
    root): the failure is said once on stderr; once it can grow again,
    no line is glued onto the one cut short, and that is said too."""
    import resource
    log = os.path.join(env.tmp, "full.log")

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.RLIM_INFINITY))
    # stderr a pipe: the limit is on files
    p = subprocess.Popen([BIN, "--server", "--host", "127.0.0.1", "--port", "0", "--key-file", env.key_file,
                          "--log", log], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         preexec_fn=small_files, cwd=env.tmp)
    try:
        def port():
            if not os.path.exists(log):
                return None
            for line in open(log, errors="replace"):
                if "Listening on" in line:
                    return int(line.rsplit(":", 1)[1])
            return None
        init = it.sender(env, wait_for(port, what="Listening"))
        for hid in range(1, 30):  # well past 1000 bytes
            init("client-%d" % hid, hid, timeout=0.05)
        wait_for(lambda: os.path.getsize(log) >= 1000, what="the limit reached")
        resource.prlimit(p.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        for hid in range(100, 105):
            init("after", hid, timeout=0.05)
        wait_for(lambda: "'after'" in open(log, errors="replace").read(), what="lines after the limit")
    finally:
        p.terminate()
        said = p.communicate(timeout=5)[1]
    import re
    stamp = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} udp-canary ")
    glued = [l for l in open(log, errors="replace") if len(stamp.findall(l)) > 1]
    check(not glued, "no line glued onto another: %s" % glued)
    lines = it.read_log(log)  # every line in the format
    packets = [t for _, t in lines if t.startswith(("RX ", "TX "))]
    whole = [t for t in packets if it.PACKET.match(t)]
    check(len(packets) - len(whole) <= 1, "at most the one line cut short: %s" % packets)
    check(any("'after'" in t for t in whole), "lines after the limit whole")
    check(said.count("cannot write the log file") == 1, "said once on stderr: %r" % said[-500:])
    check("is written again" in said, "the recovery said")


@case
def key_in_readable_config(env):
    """'key = ...' in a config file that group or others can read is refused
    as --key-file would be (status 2, one line), whether or not the command
    line's key wins; a private one is fine."""
    conf = os.path.join(env.tmp, "key.conf")
    with open(conf, "w") as f:
        f.write("key = %s\n" % env.key)
    for mode in (0o644, 0o640, 0o602):
        os.chmod(conf, mode)
        run_bad(env, ["--server", "--config", conf], "readable by group or others")
        run_bad(env, ["--server", "--config", conf, "--key-file", env.key_file], "readable by group or others")
    os.chmod(conf, 0o600)
    server = it.Canary(env.tmp, "server", ["--server", "--host", "127.0.0.1", "--port", "0", "--config", conf])
    env.procs.append(server)
    server.port()
    check(server.stop() == 0, "a private config with the key works")


@case
def restored_clients(env):
    """Clients restored from the state file are not heard yet: no
    'Silent ... last at (unknown)' for them, no last-seen time in the
    metrics, until they speak."""
    state = state_dir(env, b'5 "restored"\n')
    mport = it.tcp_port()
    server = env.server(extra=["--state-dir", state, "--keepalive-interval", "0.1",
                               "--metrics-listen", "127.0.0.1:%d" % mport])
    init = it.sender(env, server.port())
    time.sleep(0.6 * SLOW)  # three silence periods
    text = scrape(mport)
    check(not any(t.startswith("Silent") for _, t in server.lines()), "no silence: %s" % server.lines())
    check('udp_canary_client_packets_received_total{client="restored"} 0' in text, "the client is listed")
    check('client_last_seen_timestamp_seconds{client="restored"}' not in text, "no last-seen time")
    check(init("restored", 6)[0] is not None, "answered")
    check('client_last_seen_timestamp_seconds{client="restored"}' in scrape(mport), "last seen once heard")
    wait_for(lambda: any(t.startswith("Silent: nothing from 'restored'") for _, t in server.lines()),
             what="silence counted from when heard")
    check(not any(t.startswith("Back") for _, t in server.lines()[:4]), "its first message not a return")
    server.stop()


@case
def reload_probe_every_too_short(env):
    """SIGHUP with a config file whose probe-every is under the minimum: the
    reload is refused and logged naming the minimum, the old settings stay,
    and the client goes on."""
    server = env.server()
    conf = os.path.join(env.tmp, "home.conf")

    def write_conf(every):
        with open(conf, "w") as f:
            f.write("host = 127.0.0.1\nport = %d\nkey-file = %s\nprobe-every = %s\n"
                    % (server.port(), env.key_file, every))
    write_conf("600")
    client = it.Canary(env.tmp, "client", ["--client", "--id", "home", "--config", conf] + it.FAST)
    env.procs.append(client)
    wait_for(lambda: it.answered(client), what="an answer")
    write_conf("3")
    client.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any("Reload failed, keeping the old settings: --probe-every: at least" in t
                         for _, t in client.lines()), what="the refused reload logged")
    check(not any(t == "Reloaded" for _, t in client.lines()), "not reloaded")
    n = len(it.answered(client))
    wait_for(lambda: len(it.answered(client)) > n, what="the client goes on")
    check(client.stop() == 0 and server.stop() == 0, "clean exits")


@case
def reload_says_what_is_not_applied(env):
    """SIGHUP with a new metrics-listen and state-dir: a warning names them
    (they take a restart), and a lower max-clients forgets the clients
    heard from least recently, and says so."""
    state = os.path.join(env.tmp, "state")
    os.mkdir(state)
    mport = it.tcp_port()
    conf = os.path.join(env.tmp, "server.conf")

    def write_conf(text):
        with open(conf, "w") as f:
            f.write(text)
    write_conf("metrics-listen = 127.0.0.1:%d\nstate-dir = %s\n" % (mport, state))
    server = env.server(extra=["--config", conf])
    init = it.sender(env, server.port())
    for n, cid in enumerate(["a", "b", "c"]):
        check(init(cid, 10 + n)[0] is not None, "answered")
    write_conf("metrics-listen = 127.0.0.1:%d\nstate-dir = %s\nmax-clients = 1\n" % (it.tcp_port(), env.tmp))
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any(t == "Reloaded" for _, t in server.lines()), what="Reloaded")
    lines = [t for _, t in server.lines()]
    check("Reload: a new metrics-listen and state-dir take a restart; still the old ones" in lines,
          "the unapplied named: %s" % lines)
    check("Reload: max-clients 1: forgot the 2 clients heard from least recently" in lines,
          "the forgotten said: %s" % lines)
    check("udp_canary_clients 1" in scrape(mport), "the old listener serves, one client left")
    # a second reload with the same file: still named, as still not applied
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: sum(t == "Reloaded" for _, t in server.lines()) == 2, what="Reloaded again")
    check(sum("take a restart" in t for _, t in server.lines()) == 2, "named again")
    check(server.stop() == 0, "clean exit")
    check('"c"' in open(os.path.join(state, "replay.state")).read(), "state kept in the old directory")


@case
def invalid_flood_summed_up(env):
    """200,000 junk datagrams: every one counted (log lines and summaries
    add up to the counter, and with the kernel's drops to what was sent),
    but the log stays small."""
    import re
    import socket
    mport = it.tcp_port()
    server = env.server(extra=["--metrics-listen", "127.0.0.1:%d" % mport])
    port = server.port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent, start = 200000, time.monotonic()
    for _ in range(sent):
        s.sendto(b"x" * 100, ("127.0.0.1", port))
    more = re.compile(r"(\d+) more invalid datagrams from .* in the last second$")

    def logged():
        return sum(1 if t.endswith("[InvalidMessage]") else int(m.group(1)) if m else 0
                   for _, t in server.lines() for m in [more.match(t)])

    def counter():
        return int(re.search(r"^udp_canary_invalid_packets_total (\d+)$", scrape(mport), re.M).group(1))

    def drops():
        return int(re.search(r"^udp_canary_socket_drops_total (\d+)$", scrape(mport), re.M).group(1))
    wait_for(lambda: counter() + drops() == sent, timeout=20, what="every datagram read or dropped")
    wait_for(lambda: logged() == counter(), timeout=5, what="the log's lines and summaries add up")
    size = os.path.getsize(server.log)
    print("# invalid flood: %d sent in %.1f s, %d read, %d dropped by the kernel; log %d bytes, %d lines"
          % (sent, time.monotonic() - start, counter(), drops(), size, len(server.lines())))
    check(size < 200000, "the log stays small: %d bytes" % size)
    check(server.stop() == 0, "clean exit")


@case
def key_file_with_nul(env):
    """A key file with a NUL after the key ('KEY\\0garbage') is refused,
    not read up to the NUL."""
    path = os.path.join(env.tmp, "nul.key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, env.key.encode() + b"\0garbage\n")
    os.close(fd)
    run_bad(env, ["--server", "--key-file", path], "not base64")


if __name__ == "__main__":
    sys.exit(it.main(case))
