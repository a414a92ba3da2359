#!/usr/bin/env python3
"""Hostile input: files that are not what they should be, a network that
replays, floods and aims at a secondary address, a damaged state file.
Real processes on 127.0.0.1, with the helpers of integration.py.

Run one case: UDP_CANARY=build/src/udp-canary tests/hostile.py fifo_key_file
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import integration as it  # noqa: E402
from integration import BIN, SLOW, check, wait_for, run_bad  # noqa: E402

TESTS = []


def case(fn):
    TESTS.append(fn)
    return fn


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
def start_failure_leaves_state(env):
    """A start that fails (log, metrics listener, port) leaves the state
    file as it was: every check comes before the load."""
    damaged = b'5 "home"\n\xff\xfe garbage\n'
    state = state_dir(env, damaged)
    path = os.path.join(state, "replay.state")
    busy = it.free_port()
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


def main():
    it.TESTS[:] = TESTS
    return it.main()


if __name__ == "__main__":
    sys.exit(main())
