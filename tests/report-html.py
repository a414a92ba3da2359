#!/usr/bin/env python3
"""udp-canary report --html in a real browser: Debian's chromium --headless
loads the page of tests/data's netns logs (three clients, outages to the
server, NAT rebindings) from a file, logs no console message, and its
screenshot is not blank and shows the outages in their colour. Both checks
are first shown to fail: a page with a console error is caught, a blank page
is called blank. (That the page is well-formed and fetches nothing is
tests/report.py's.) Skips (77) without chromium."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canary_test as it  # noqa: E402

BIN = os.path.abspath(os.environ.get("UDP_CANARY", "build/src/udp-canary"))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
ENV = dict(os.environ, TZ="UTC")
TMP = tempfile.mkdtemp(prefix="report-html-")
C2S = (0xd5, 0x5e, 0x00)  # the SVG's colour of an outage to the server (report-svg.c)
tally = it.Tally()
check = tally.check


def png_pixels(path):
    """Width, height and the rows of an 8-bit RGB(A) PNG, unfiltered."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, head = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = head
    assert depth == 8 and ctype in (2, 6) and interlace == 0, "PNG form %s" % (head,)
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def colours(path):
    """Pixels that are not white, and those near the outage colour."""
    w, h, bpp, rows = png_pixels(path)
    ink = near = 0
    for line in rows:
        for x in range(0, w * bpp, bpp):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if r < 245 or g < 245 or b < 245:
                ink += 1
            if abs(r - C2S[0]) + abs(g - C2S[1]) + abs(b - C2S[2]) < 40:
                near += 1
    return w * h, ink, near


def browse(page, png):
    """Loads a page from its file; returns the console lines, whether a
    screenshot was written, and chromium's last words."""
    args = ["chromium", "--headless", "--disable-gpu", "--enable-logging=stderr", "--v=0",
            "--force-device-scale-factor=0.5", "--window-size=1140,2400", "--screenshot=" + png,
            "--no-first-run", "--user-data-dir=" + os.path.join(TMP, "profile"), "file://" + page]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")
    if os.path.exists(png):
        os.unlink(png)
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    console = [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
    return console, r.returncode == 0 and os.path.exists(png), r.stderr.strip()[-300:]


def main():
    if not shutil.which("chromium"):
        tally.skip("no chromium (Debian: apt-get install chromium)")
        return tally.finish()
    began = time.monotonic()
    # the checks themselves, shown to fail
    bad = os.path.join(TMP, "bad.html")
    with open(bad, "w") as f:
        f.write("<!DOCTYPE html><html><body><script>console.error('x'); no_such();</script></body></html>\n")
    console, shot, said = browse(bad, os.path.join(TMP, "bad.png"))
    if not shot:
        tally.skip("chromium does not run here (no screenshot of a plain page): %s" % said)
        return tally.finish()
    check(shot and len(console) >= 1, "control: a page with a console error is caught: %s" % console)
    total, ink, near = colours(os.path.join(TMP, "bad.png")) if shot else (0, 0, 0)
    check(shot and ink == 0 and near == 0, "control: a blank page is called blank (%d of %d px ink)" % (ink, total))

    page = os.path.join(TMP, "report.html")
    logs = [os.path.join(DATA, "netns-%s.log" % n) for n in ("server", "home", "office", "phone")]
    r = subprocess.run([BIN, "report", "--html", page] + logs, capture_output=True, text=True, env=ENV)
    check(r.returncode == 0 and os.path.getsize(page) > 0, "report --html exits 0 %s" % r.stderr.strip())
    with open(page) as f:
        html = f.read()
    check("<script" not in html, "the page holds no script")
    console, shot, said = browse(page, os.path.join(TMP, "report.png"))
    check(shot, "chromium takes a screenshot of the page %s" % ("" if shot else said))
    check(not console, "no console message: %s" % console[:5])
    if shot:
        total, ink, near = colours(os.path.join(TMP, "report.png"))
        check(ink > total // 50, "the screenshot is not blank: %d of %d px ink" % (ink, total))
        check(near > 50, "outages to the server drawn in their colour: %d px" % near)
    print("# %.1f s in all" % (time.monotonic() - began))
    return tally.finish()


if __name__ == "__main__":
    try:
        status = main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(status)
