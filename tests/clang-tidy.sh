#!/bin/sh
# clang-tidy with the repository's .clang-tidy over every C file in src/ and
# the headers they include, compiled as this build compiles them (its
# compile_commands.json): any finding fails. Skips (77) without clang-tidy
# (Debian: clang-tidy).
# Usage: clang-tidy.sh SOURCE_DIR BUILD_DIR
src=$1 build=$2
command -v clang-tidy >/dev/null || { echo "SKIP: clang-tidy is missing (Debian: clang-tidy)"; exit 77; }
[ -f "$build/compile_commands.json" ] || { echo "FAIL: no $build/compile_commands.json"; exit 1; }
files=$(find "$src/src" -name '*.c' | sort)
[ -n "$files" ] || { echo "FAIL: no C file found in $src/src"; exit 1; }
# -Wno-unknown-warning-option: a gcc build's compile commands may carry a
# warning flag that clang does not know, which is no finding of ours.
out=$(printf '%s\n' "$files" | xargs -P "$(nproc)" -n 1 clang-tidy -p "$build" --quiet \
        --config-file="$src/.clang-tidy" --header-filter='/(include|src)/(core|daemon|report)/' \
        --warnings-as-errors='*' --extra-arg=-Wno-unknown-warning-option 2>&1)
status=$?
n=$(printf '%s\n' "$files" | wc -l)
findings=$(printf '%s\n' "$out" | grep -E '(warning|error): ' | sort -u)
if [ $status != 0 ] || [ -n "$findings" ]; then
        printf '%s\n' "$out" | grep -vE '^[0-9]+ (warning|error)s? (generated|treated as errors?)\.$'
        echo "FAIL - clang-tidy: $(printf '%s\n' "$findings" | grep -c .) finding(s) in the $n files of src/ (exit status $status)"
        echo "0 passed, 1 failed"
        exit 1
fi
echo "ok - clang-tidy: the $n C files of src/ and their headers, no finding"
echo "1 passed, 0 failed"
