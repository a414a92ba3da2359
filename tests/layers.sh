#!/bin/sh
# The core's library does no I/O and needs neither libevent nor libsystemd:
# none of its undefined symbols may be theirs, or a call that touches a
# socket, a file, the clock or the OS's randomness outside libsodium.
# Usage: layers.sh LIBCANARY_CORE_A
lib=$1
command -v nm >/dev/null || { echo "SKIP: nm is missing (Debian: binutils)"; exit 77; }
syms=$(nm --undefined-only "$lib" | awk 'NF == 2 { print $2 }' | sort -u)
[ -n "$syms" ] || { echo "FAIL: no symbols read from $lib"; exit 1; }
bad=$(printf '%s\n' "$syms" | grep -E '^(event_|evutil_|evhttp_|evbuffer_|sd_)|^(socket|bind|connect|send|sendto|sendmsg|sendmmsg|recv|recvfrom|recvmsg|recvmmsg|open|open64|openat|read|write|writev|fopen|fopen64|close|getrandom|clock_gettime|gettimeofday|time|getaddrinfo|syslog)$')
if [ -n "$bad" ]; then
        echo "FAIL: the core calls out of its layer:"
        printf '  %s\n' $bad
        echo "0 passed, 1 failed"
        exit 1
fi
echo "ok - the core's $(printf '%s\n' "$syms" | wc -l) undefined symbols: no libevent, libsystemd or I/O"
echo "1 passed, 0 failed"
