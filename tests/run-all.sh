#!/bin/bash
# run-all: the whole test suite, as CI runs it. Four passes, each in a fresh
# build directory:
#   1. gcc, warnings as errors: every suite but fuzz (unit, integration,
#      lint, systemd; netns and the root-only systemd tests skip when not root);
#   2. clang with AddressSanitizer and UndefinedBehaviorSanitizer: the same
#      but the soak (whose memory figures mean little under ASan) and lint
#      (clang-tidy reads the same sources as in pass 1);
#   3. the integration suite with every udp-canary process under valgrind
#      memcheck (errors and leaks fail it);
#   4. each libFuzzer target for $FUZZ_SECONDS (default 60) seconds.
# Passes 2-4 are skipped, with a word, when clang or valgrind is missing.
# A failing pass does not stop the others; the exit status is 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SECONDS=${FUZZ_SECONDS:-60}
sanitize=(-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=()
step() { printf '\n=== %s\n' "$*"; current=${1%%.*}; }
fresh() { rm -rf "$1" && meson setup "$@" >/dev/null || { echo "meson setup $1 failed"; return 1; }; }
# run COMMAND...: runs one pass's command, noting the pass if it fails
run() { "$@" || failed+=("$current"); }

step "1. gcc, -Werror: all suites but fuzz"
run fresh build-test -Dwerror=true
run meson test -C build-test --setup full --print-errorlogs --no-suite fuzz

if command -v clang >/dev/null; then
        step "2. clang, AddressSanitizer + UndefinedBehaviorSanitizer: all suites but fuzz, soak and lint"
        CC=clang run fresh build-asan -Dwerror=true "${sanitize[@]}"
        run meson test -C build-asan --setup full --print-errorlogs --no-suite fuzz --no-suite soak --no-suite lint
else
        step "2. SKIP: clang is missing (sanitizer build)"
fi

if command -v valgrind >/dev/null; then
        step "3. integration suite under valgrind memcheck"
        UDP_CANARY_WRAPPER="valgrind -q --error-exitcode=97 --leak-check=full \
--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
--suppressions=$PWD/tests/valgrind.supp" \
                run meson test -C build-test --print-errorlogs --suite integration --timeout-multiplier 4
else
        step "3. SKIP: valgrind is missing"
fi

if command -v clang >/dev/null; then
        step "4. fuzzing, $FUZZ_SECONDS s per target"
        CC=clang run fresh build-fuzz -Dwerror=true -Dfuzzing=true "${sanitize[@]}"
        run meson test -C build-fuzz --setup full --print-errorlogs --suite fuzz
else
        step "4. SKIP: clang is missing (fuzzing)"
fi
if [ ${#failed[@]} != 0 ]; then
        step "FAILED: pass(es) ${failed[*]}"
        exit 1
fi
step "all passes done"
