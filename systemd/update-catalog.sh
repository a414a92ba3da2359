#!/bin/sh
# Run by `meson install`: journalctl -x explains our entries only once the
# catalog database is rebuilt. Not for staged installs (DESTDIR): packaging
# does that on the target.
[ -z "${DESTDIR:-}" ] || exit 0
command -v journalctl >/dev/null || exit 0
journalctl --update-catalog || echo "udp-canary: journalctl --update-catalog failed; run it by hand for journalctl -x" >&2
exit 0
