#!/bin/sh
# Runs test-ct under valgrind memcheck: the AES paths must draw no report,
# and the control (a secret-indexed lookup) must draw one.
# Usage: ct.sh TEST_CT_BINARY (none: it was not built, valgrind/memcheck.h missing)
bin=${1:-}
[ -n "$bin" ] || { echo "SKIP: test-ct not built: valgrind/memcheck.h is missing (Debian: valgrind)"; exit 77; }
command -v valgrind >/dev/null || { echo "SKIP: valgrind is missing"; exit 77; }
vg="valgrind -q --error-exitcode=3 --exit-on-first-error=no"
if ! $vg "$bin"; then
        echo "FAIL: memcheck reports a key- or data-dependent branch or index in AES"
        exit 1
fi
echo "ok - AES: no key- or data-dependent branch or memory index"
if $vg "$bin" --control >/dev/null 2>&1; then
        echo "FAIL: the control's secret-indexed lookup went unreported: the method is blind"
        exit 1
fi
echo "ok - control: a secret-indexed table lookup is reported"
echo "2 passed, 0 failed"
