#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layering of src/ against the order docs/layout.md declares (its
# "layers" block): (a) every #include "dir/file.h" in src/, (b) every call
# (or data reference) from one folder's object into another folder's,
# (c) inside each folder the file-level call graph runs one way, no circles,
# except the edges docs/layout.md's "circles-allowed" block lists with a
# reason. (b) and (c) read the objects' symbol tables with nm: the objects
# are brought up to date with make first (a no-op after `make test` built
# them); where they cannot be built, (b) and (c) say SKIP and why.
set -u
export LC_ALL=C
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
LAYOUT=docs/layout.md
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The lines of one fenced block of $LAYOUT: ```NAME ... ```
fenced() {
    awk -v name="$1" '$0 == "```" name { on = 1; next } on && /^```/ { exit } on' "$LAYOUT"
}

# "layer: may use a b c" -> one "layer used" pair a line; a layer may use itself.
fenced layers | awk -F: 'NF >= 2 && $1 !~ /^ *#/ {
    gsub(/ /, "", $1); print $1, $1; n = split($2, u, " "); for (i = 1; i <= n; i++) print $1, u[i] }' \
    > "$tmp/allowed"
if [ ! -s "$tmp/allowed" ]; then
    echo "FAIL layers: $LAYOUT has no \`\`\`layers block of \"layer: may use ...\" lines"
    exit 0
fi

# (a) the include graph, from the sources themselves
grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"/]+/[^"]+"' src --include='*.c' --include='*.h' \
    | sed -E 's/^([^:]+):([0-9]+):.*"([^"]+)".*/\1 \2 \3/' > "$tmp/includes"
# layer_of as awk: its folder, or "main" for src/main.c
LAYER_OF='function layer_of(p) { if (split(p, d, "/") < 3) return "main"; return d[2] }'
awk "$LAYER_OF"' NR == FNR { ok[$1 " " $2]; next }
    { from = layer_of($1); split($3, d, "/"); to = d[1]
      if (!((from " " to) in ok)) { printf "FAIL layers: %s:%s includes %s (%s may not use %s)\n", $1, $2, $3, from, to; bad++ } }
    END { if (!bad) printf "PASS layers: %d includes across folders follow %s'"'"'s order\n", FNR, layout }' \
    layout="$LAYOUT" "$tmp/allowed" "$tmp/includes"

# (b) and (c) need nm and the objects, current with the sources.
if ! command -v nm > /dev/null; then
    echo "SKIP layers: no nm on this machine (calls and circles unchecked)"
    exit 0
fi
if ! make -s BUILD="$BUILD" "$BUILD/libcloser.a" "$BUILD/src/main.o" > "$tmp/make.log" 2>&1; then
    echo "SKIP layers: objects in $BUILD/src could not be built (calls and circles unchecked):"
    tail -n 5 "$tmp/make.log"
    exit 0
fi
# Only objects whose source is still there: a file moved or removed may
# leave its old object behind in the build directory.
find "$BUILD/src" -name '*.o' | sort | while read -r o; do
    src=${o#"$BUILD"/}; [ -f "${src%.o}.c" ] && echo "$o"
done > "$tmp/objects"
# "build/src/a/b.o: symbol type ..." -> "symbol src/a/b.c"
symbols() {
    xargs nm -P -A "$1" < "$tmp/objects" | awk -v build="$BUILD/" -v kinds="${2-}" '
        { f = $1; sub(/:$/, "", f); sub(/\.o$/, ".c", f); f = substr(f, length(build) + 1) }
        kinds == "" || $3 ~ kinds { print $2, f }' | sort -k1,1
}
symbols --defined-only '^[TDBRVWGCS]$' > "$tmp/defs"
symbols --undefined-only > "$tmp/uses"
# symbol user definer, for every symbol src/ both uses and defines
join "$tmp/uses" "$tmp/defs" > "$tmp/calls"

# The first line of FILE naming SYMBOL, for a report a reader can jump to.
line_of() { grep -nw -m1 -- "$2" "$1" 2>/dev/null | cut -d: -f1; }

awk "$LAYER_OF"' NR == FNR { ok[$1 " " $2]; next }
    { from = layer_of($2); to = layer_of($3)
      if (!((from " " to) in ok)) print $1, $2, $3, from, to }' "$tmp/allowed" "$tmp/calls" > "$tmp/upward"
while read -r sym user definer from to; do
    echo "FAIL layers: $user:$(line_of "$user" "$sym") calls $sym in $definer ($from may not use $to)"
done < "$tmp/upward"
[ -s "$tmp/upward" ] || echo "PASS layers: $(wc -l < "$tmp/calls") calls between files follow $LAYOUT's order"

# (c) file -> file inside one folder, less the edges listed as allowed
fenced circles-allowed | awk '$2 == "->" { print $1, $3 }' | sort -u > "$tmp/excepted"
awk '{ u = $2; d = $3; sub(/^src\//, "", u); sub(/^src\//, "", d)
       fu = u; fd = d; sub(/\/[^\/]*$/, "", fu); sub(/\/[^\/]*$/, "", fd)
       if (u != d && fu == fd && u ~ /\//) print u, d }' "$tmp/calls" \
    | sort -u > "$tmp/all_edges"
comm -23 "$tmp/all_edges" "$tmp/excepted" > "$tmp/edges"
# An excepted edge the code no longer has is a line of docs that is no longer true.
comm -13 "$tmp/all_edges" "$tmp/excepted" | while read -r from to; do
    echo "FAIL layers: $LAYOUT excepts $from -> $to, which no longer calls it: remove the line"
done
# Depth-first search: an edge back onto the path is a circle; print it with
# the symbols of the edge that closes it.
awk '
    FILENAME == ARGV[1] { u = $2; d = $3; sub(/^src\//, "", u); sub(/^src\//, "", d)
                          k = u " " d; if (!(k in syms) || length(syms[k]) < 60) syms[k] = syms[k] " " $1; next }
    { succ[$1] = succ[$1] " " $2; node[$1]; node[$2]; nedges++ }
    function visit(v,    n, i, w, s, k, ring) {
        state[v] = 1; path[++depth] = v
        n = split(succ[v], s, " ")
        for (i = 1; i <= n; i++) {
            w = s[i]
            if (state[w] == 1) {
                ring = ""
                for (k = depth; path[k] != w; k--) ring = " -> " path[k] ring
                print "FAIL layers: circle in src/: " w ring " -> " w " (" v " uses" syms[v " " w] ")"
                found++
            } else if (!state[w]) visit(w)
        }
        depth--; state[v] = 2
    }
    END {
        for (v in node) if (!state[v]) visit(v)
        if (!found) print "PASS layers: calls inside each folder run one way (" nedges + 0 " file edges, no circles)"
    }' "$tmp/calls" "$tmp/edges"
exit 0
