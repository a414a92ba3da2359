#!/usr/bin/env python3
"""Every MESSAGE_ID the daemon logs has an entry in the journal catalog, and
the catalog has no entry for an id the daemon never logs.
Usage: catalog.py SOURCE_DIR"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

src = sys.argv[1]
code = "".join(open(os.path.join(src, d, f)).read() for d, f in (("src", "daemon/log.c"), ("include", "daemon/log.h")))
ids = set(re.findall(r'"([0-9a-f]{32})"', code))
catalog = set(re.findall(r"^-- ([0-9a-f]{32})$", open(os.path.join(src, "systemd", "udp-canary.catalog")).read(), re.M))
missing, extra = ids - catalog, catalog - ids
for i in sorted(missing):
    print("FAIL: MESSAGE_ID %s has no catalog entry" % i)
for i in sorted(extra):
    print("FAIL: catalog entry %s is never logged" % i)
sys.exit(it.status(len(ids & catalog), len(missing | extra), 0))
