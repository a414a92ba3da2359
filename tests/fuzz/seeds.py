#!/usr/bin/env python3
"""Writes the seed corpus of one fuzz target into a directory, from the
golden packets (tests/data/packets.json) and a few config files.
Usage: seeds.py packet|message|config|logline|aes|http|journal-export PACKETS_JSON OUT_DIR"""
import json
import os
import sys

kind, vectors, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
v = json.load(open(vectors))
seeds = []
if kind in ("packet", "message"):
    texts = [x["plaintext"].encode() for x in v["valid"]]
    texts += [bytes.fromhex(x["plaintext_hex"]) for x in v["authenticated_malformed"] if "plaintext_hex" in x]
    # ours: the NAT timeout probe's two types (replays and delays 0, long, too long)
    texts += [b'{"id": "home", "type": "probe", "data": [%d, %d]}' % (i, d)
              for i, d in ((5, 0), (6, 30), (6, 30), (7, 3600), (8, 3601))]
    texts.append(b'{"id": "home", "type": "probe_response", "data": [5, 0]}')
    if kind == "message":
        seeds = texts
    else:
        seeds = [b"\x01" + t for t in texts]  # sealed mode
        seeds += [b"\x00" + bytes.fromhex(x["packet_hex"]) for x in v["valid"] + v["reject"]]
elif kind == "aes":  # key, IV, blocks: the golden packets' own
    for x in v["valid"]:
        key = __import__("base64").b64decode(x["key"])
        seeds.append(key + bytes.fromhex(x["packet_hex"])[:-32])
elif kind == "http":  # requests a scraper sends, and near misses
    seeds = [b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", b"HEAD /metrics HTTP/1.0\r\n\r\n",
             b"GET /metrics?x=1 HTTP/1.1\n\n", b"POST /metrics HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n",
             b"GET /metrics", b"GET  HTTP/1.1\r\n\r\n"]
elif kind == "logline":
    data = os.path.join(os.path.dirname(vectors))
    for name in sorted(os.listdir(data)):
        if name.endswith(".log"):
            lines = open(os.path.join(data, name), "rb").read().splitlines(True)
            seeds += [b"".join(lines[i:i + 40]) for i in range(0, min(len(lines), 400), 40)]
    seeds.append(b"[2026-11-25 10:00:01.000 udp-canary WARNING] 5123 datagrams dropped here, the receive "
                 b"buffer full: the server did not keep up (not network loss)\n")
elif kind == "journal-export":  # the logs as `journalctl -o export` writes them, some values binary
    import struct
    data = os.path.join(os.path.dirname(vectors))
    for name in sorted(os.listdir(data)):
        if not name.endswith(".log"):
            continue
        lines = open(os.path.join(data, name), "rb").read().splitlines()[:16]
        entries = []
        for n, line in enumerate(lines):
            body = line[line.find(b"] ") + 2:]
            msg = (b"MESSAGE\n" + struct.pack("<Q", len(body)) + body + b"\n" if n % 4 == 3
                   else b"MESSAGE=" + body + b"\n")
            entries.append(b"__CURSOR=s=1;i=%x\n__REALTIME_TIMESTAMP=%d\n" % (n, 1795606969000000 + n * 250000) + msg
                           + b"SYSLOG_IDENTIFIER=udp-canary\n_PID=42\n_SYSTEMD_UNIT=u%d.service\n" % (n % 2))
        seeds.append(b"\n".join(entries) + b"\n")
else:
    seeds = [
        b"host = vps.example.org\nport = 43210\nclient = yes\nid = home\n",
        b"# comment\n\nserver = true\nmax-clients = 10\nstate-dir = /var/lib/x\n",
        b"keepalive-interval = 0.5\nhandshake-timeout = 1\nkeepalive-count = 3\nkey = DP2hvII7udFu0b2DBvmrxw==\n",
        b"log = \nkey-file = /etc/k\n",
    ]
for i, s in enumerate(seeds):
    with open(os.path.join(out, "seed-%03d" % i), "wb") as f:
        f.write(s)
print("%d seeds for %s" % (len(seeds), kind))
