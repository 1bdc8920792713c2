#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Exported functions and variables earn their export: every global that an
# object of src/ defines is referenced by another object (nm), or called by
# a test (its name in tests/unit, tests/helpers or tests/fuzz). One that only
# its own file uses should be static (and leave its header); one that
# nothing uses should go. A FAIL line names the symbol and its file.
# Reads the objects of the build directory ($BUILD, default build): without
# them (a fresh checkout, before make) there is nothing to read, said as a
# PASS with the reason.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
if [ ! -f "$build/src/main.o" ] || ! command -v nm >/dev/null; then
    echo "PASS exports: no objects in $build/src (or no nm): nothing to check"
    exit 0
fi
# Waiting for another part of issue 26 to restructure their file; remove a
# name once its file is done.
known=" snapshot_sock_key "
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
find "$build/src" -name '*.o' | sort > "$tmp/objs"
# nm -A: "build/src/x/y.o:0000 T name" (undefined ones: "build/src/x/y.o: U name")
xargs nm -A -g --defined-only < "$tmp/objs" |
    awk -v b="$build/" '$(NF-1) ~ /^[TDRBCV]$/ {f = $1; sub(/:.*/, "", f); sub(b, "", f);
                                              sub(/\.o$/, ".c", f); print $NF, f}' > "$tmp/defs"
xargs nm -A -u < "$tmp/objs" | awk '{print $NF}' | sort -u > "$tmp/used"
cat tests/unit/*.c tests/helpers/*.c tests/fuzz/*.c 2>/dev/null |
    grep -oE '[A-Za-z_][A-Za-z0-9_]*' | sort -u > "$tmp/tests"
n=$(wc -l < "$tmp/defs")
# Unused by other objects and by tests (main is the program's entry).
awk -v known="$known" 'FILENAME != ARGV[3] {seen[$1] = 1; next}
    $1 != "main" && !($1 in seen) && index(known, " " $1 " ") == 0' \
    "$tmp/used" "$tmp/tests" "$tmp/defs" > "$tmp/unused"
bad=0
while read -r sym file; do
    # a use is indented (in a body or a table); the definition is not
    if grep -w -- "$sym" "$file" | grep -q '^[[:space:]]'; then
        echo "FAIL exports: $sym ($file) is used only in its own file: make it static, drop it from the header"
    else
        echo "FAIL exports: $sym ($file) is used by nothing: remove it"
    fi
    bad=$((bad + 1))
done < "$tmp/unused"
[ "$bad" -eq 0 ] && echo "PASS exports: $n globals of $build/src, each used by another file or a test"
exit 0
