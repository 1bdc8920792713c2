#!/bin/sh
# SPDX-License-Identifier: MIT
# Generates the man pages from the binary's own --help (like help2man):
# closer.1 from `closer --help`, closer-CMD.1 from `closer CMD --help` for
# every command the top-level help lists. The help text is the one source;
# tests/integration/install.sh checks that every option the parser accepts
# is in the page.
#   scripts/mkman.sh CLOSER OUTDIR VERSION [DOCDIR [DATE]]
# DOCDIR: where README.md and docs/CMD.md (the full reference, with examples)
# are installed; named in SEE ALSO when the source has them. DATE defaults to SOURCE_DATE_EPOCH (reproducible builds), then the last
# commit's date, then today.
set -eu
closer=$1 out=$2 version=$3 docdir=${4:-} date=${5:-}
here=$(dirname "$0")
if [ -z "$date" ]; then
    if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
        date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
    else
        date=$(git -C "$here/.." log -1 --format=%cd --date=short 2>/dev/null || true)
        [ -n "$date" ] || date=$(date -u +%Y-%m-%d)
    fi
fi
mkdir -p "$out"
top=$("$closer" --help | awk -f "$here/helpparse.awk")
commands=$(printf '%s\n' "$top" | awk -F '\t' '$1 == "K" && $2 != "help" { print $2 }')

# One page from parsed help on stdin: page NAME SUMMARY SEEALSO LABEL
page() {
    MAN_NAME=$1 MAN_SUMMARY=$2 MAN_SEEALSO=$3 MAN_LABEL=$4 MAN_VERSION=$version MAN_DATE=$date \
        awk -F '\t' -f "$here/help2roff.awk"
}

# docs_line NAME: a SEE ALSO sentence naming the installed docs/NAME.md
# (README: README.md), when the source has it.
docs_line() {
    src=$here/../docs/$1.md file=$1.md
    [ "$1" = README ] && src=$here/../README.md file=README.md
    [ -n "$docdir" ] && [ -f "$src" ] || return 0
    printf '\n.PP\nThe full reference, with examples: \\fI%s/%s\\fR.' "$(printf '%s' "$docdir" | sed 's/-/\\-/g')" "$file"
}

all_pages=""
for c in $commands; do all_pages="$all_pages \\fBcloser\\-$c\\fR(1),"; done
all_pages=${all_pages%,}

printf '%s\n' "$top" | page closer \
    "explain who closes TCP connections behind HTTP, and what to change" \
    "${all_pages# }, \\fBss\\fR(8), \\fBtcp\\fR(7)$(docs_line README)" closer >"$out/closer.1.tmp"
mv "$out/closer.1.tmp" "$out/closer.1"
for c in $commands; do
    summary=$(printf '%s\n' "$top" | awk -F '\t' -v c="$c" '$1 == "K" && $2 == c { print $3 }')
    "$closer" "$c" --help | awk -f "$here/helpparse.awk" |
        page "closer-$c" "$summary" "\\fBcloser\\fR(1), \\fBss\\fR(8), \\fBtcp\\fR(7)$(docs_line "$c")" "closer $c" >"$out/closer-$c.1.tmp"
    mv "$out/closer-$c.1.tmp" "$out/closer-$c.1"
done
