#!/usr/bin/env python3
"""refpeer: an independent implementation of the udp-canary protocol,
written in Python from PROTOCOL.md (its sealing is canary_test.py's) with
the same command line as the original udp-canary.py. The integration tests
swap it in for either end, so that our binary is shown to interoperate with
a peer that shares none of its code. It follows the original's behaviour,
weaknesses included (the client accepts any authentic message carrying its
handshake id), except that it takes the test's shorter timers as extra
options.
"""
import argparse
import base64
import logging
import os
import select
import socket
import sys
import time

from canary_test import open_, seal  # the sealing, in Python's cryptography


def setup_log(path):
    log = logging.getLogger("udp-canary")
    log.setLevel(logging.INFO)
    fmt = logging.Formatter("[%(asctime)s.%(msecs)03d %(name)s %(levelname)s] %(message)s",
                            "%Y-%m-%d %H:%M:%S")
    for h in (logging.StreamHandler(), logging.FileHandler(path)):
        h.setFormatter(fmt)
        log.addHandler(h)
    return log


def run_server(a, key, log):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((a.host, a.port))
    log.info("Listening on %s:%d", *sock.getsockname())
    highest = {}
    while True:
        data, addr = sock.recvfrom(4096)
        peer = "%s:%d" % addr
        try:
            msg = open_(key, data)
        except Exception:
            log.info("RX %s [InvalidMessage]", peer)
            continue
        log.info("RX %s %s", peer, msg)
        if msg["type"] == "handshake_init":
            if msg["data"][0] > highest.get(msg["id"], 0):
                highest[msg["id"]] = msg["data"][0]
                reply = dict(msg, type="handshake_response")
                sock.sendto(seal(key, reply), addr)
                log.info("TX %s %s", peer, reply)
            else:
                log.info("Replay %s", msg)


def run_client(a, key, log):
    server = (socket.gethostbyname(a.host), a.port)
    name = "%s:%d" % server  # the original names its server so in its log
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hsid, connected, counter, due = int(time.time()), False, 0, time.monotonic()

    def send(kind, d1):
        msg = {"id": a.id, "type": kind, "data": [hsid, d1]}
        sock.sendto(seal(key, msg), server)
        log.info("TX %s %s", name, msg)

    while True:
        now = time.monotonic()
        if now >= due:
            if connected:
                counter += 1
                send("keepalive", counter)
                due += a.keepalive_interval
                if counter >= 5:
                    connected = False
            if not connected:
                hsid += 1
                send("handshake_init", 0)
                due = now + a.handshake_timeout
        ready, _, _ = select.select([sock], [], [], max(0.0, due - time.monotonic()))
        if not ready:
            continue
        data, peer = sock.recvfrom(4096)
        try:
            msg = open_(key, data)
        except Exception:
            log.info("RX %s:%d [InvalidMessage]", *peer)
            continue
        log.info("RX %s:%d %s", *peer, msg)
        if msg["data"][0] == hsid and not connected:
            connected, counter = True, 1
            send("keepalive", 1)
            due = time.monotonic() + a.keepalive_interval


def main():
    p = argparse.ArgumentParser(prog="udp-canary")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--client", action="store_true")
    mode.add_argument("--server", action="store_true")
    mode.add_argument("--generate-key", action="store_true")
    p.add_argument("--id")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=43210)
    p.add_argument("--key")
    p.add_argument("--log", default="udp-canary.log")
    p.add_argument("--keepalive-interval", type=float, default=26.625)
    p.add_argument("--handshake-timeout", type=float, default=5.0)
    a = p.parse_args()
    if a.generate_key:
        print(base64.b64encode(os.urandom(16)).decode())
        return
    key = base64.b64decode(a.key)
    log = setup_log(a.log)
    try:
        (run_client if a.client else run_server)(a, key, log)
    except KeyboardInterrupt:
        log.info("Exit")


if __name__ == "__main__":
    sys.exit(main())
