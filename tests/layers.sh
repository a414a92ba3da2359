#!/bin/sh
# The layers, read from the static libraries' symbols:
# - the core does no I/O and needs neither libevent nor libsystemd: none of
#   its undefined symbols may be theirs, or a call that touches a socket, a
#   file, the clock or the OS's randomness outside libsodium;
# - the report's reconstruction (its timeline*.o objects) is held to the
#   same rule: lines in, results out;
# - no layer calls one above or beside it: the core nothing the daemon or
#   the report defines, the report nothing the daemon defines.
# Usage: layers.sh LIBCANARY_CORE_A LIBCANARY_REPORT_A LIBCANARY_DAEMON_A
core=$1 report=$2 daemon=$3
command -v nm >/dev/null || { echo "SKIP: nm is missing (Debian: binutils)"; exit 77; }
io='^(event_|evutil_|evhttp_|evbuffer_|sd_)|^(socket|bind|connect|send|sendto|sendmsg|sendmmsg|recv|recvfrom|recvmsg|recvmmsg|open|open64|openat|read|write|writev|fopen|fopen64|close|getrandom|clock_gettime|gettimeofday|time|getaddrinfo|syslog)$'
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# undefined LIB [MEMBER_PATTERN]: the undefined symbols of the library's
# objects whose name matches
undefined() {
        nm -A --undefined-only "$1" |
                awk -v m="${2:-.}" '$(NF - 1) == "U" { n = split($1, f, "/"); if (f[n] ~ m) print $NF }' | sort -u
}
defined() { nm --defined-only "$1" | awk 'NF == 3 && $2 ~ /^[TDBR]$/ { print $3 }' | sort -u; }

check() { # check WHAT FILE_OF_SYMBOLS FILE_OF_FORBIDDEN | or with -E REGEX
        n=$(wc -l < "$2")
        if [ "$n" -eq 0 ]; then
                echo "FAIL: $1: no symbols read"
                failed=$((failed + 1))
                return
        fi
        if [ "$3" = -E ]; then
                bad=$(grep -E "$4" "$2")
        else
                bad=$(comm -12 "$2" "$3")
        fi
        if [ -n "$bad" ]; then
                echo "FAIL: $1:"
                printf '  %s\n' $bad
                failed=$((failed + 1))
        else
                echo "ok - $1: none of its $n undefined symbols"
                passed=$((passed + 1))
        fi
}

undefined "$core" > "$tmp/core"
undefined "$report" '^report_timeline.*\.o:?$' > "$tmp/timeline"
undefined "$report" > "$tmp/report"
defined "$daemon" > "$tmp/daemon"
sort -u "$tmp/daemon" - > "$tmp/above" <<EOF2
$(defined "$report")
EOF2

check "the core calls no libevent, libsystemd or I/O" "$tmp/core" -E "$io"
check "the report's timeline calls no libevent, libsystemd or I/O" "$tmp/timeline" -E "$io"
check "the core calls nothing of the daemon's or the report's" "$tmp/core" "$tmp/above"
check "the report calls nothing of the daemon's" "$tmp/report" "$tmp/daemon"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
