#!/usr/bin/env python3
"""The committed src/core/unicode-printable.c is exactly what its generator
writes: nobody edited the table by hand, and the generator still describes
it. Skips (77) where this Python's Unicode database is another version than
the one the table was made from (the original runs on Debian 12's 3.11)."""
import os
import re
import subprocess
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

src = sys.argv[1]
table = os.path.join(src, "src", "core", "unicode-printable.c")
gen = os.path.join(src, "src", "core", "gen-unicode-printable.py")
committed = open(table).read()
made_from = re.search(r"\(Unicode ([0-9.]+)\)", committed)
if not made_from:
    print("FAIL: %s does not say which Unicode version it holds" % table)
    sys.exit(it.status(0, 1, 0))
if made_from.group(1) != unicodedata.unidata_version:
    print("SKIP: the table is Unicode %s, this Python has %s" % (made_from.group(1), unicodedata.unidata_version))
    sys.exit(it.status(0, 0, 1))
fresh = subprocess.run([sys.executable, gen], capture_output=True, text=True, check=True).stdout


def body(text):  # all but the line naming the Python release that ran it
    return [l for l in text.splitlines() if not l.startswith(" * Python ")]


if body(fresh) != body(committed):
    print("FAIL: %s differs from what %s writes; regenerate it" % (table, gen))
    sys.exit(it.status(0, 1, 0))
print("ok - the table is the generator's output (Unicode %s, %d lines)" % (made_from.group(1), len(body(fresh))))
sys.exit(it.status(1, 0, 0))
