#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installing closer: `make install DESTDIR=` puts every file in place and
# `make uninstall` removes them all; each man page renders under `man -l`
# without a warning; the options in each command's man page are exactly the
# options its parser accepts (the option tables in src/cmd/CMD.c), so a flag
# added to the code but not to --help (the pages' one source) fails here;
# the bash and zsh completions parse and complete commands, flags, state
# names and values; the Makefile passes a packager's CPPFLAGS / CFLAGS /
# LDFLAGS to the compiler and drops -Werror on WERROR=; `closer --version`
# follows `git describe`.
. "$(dirname "$0")/../lib/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap '__cleanup; rm -rf "$tmp"' EXIT
# A clean packager environment: `make asan` exports its CFLAGS and LDFLAGS.
unset MAKEFLAGS MAKELEVEL MFLAGS CC CFLAGS CPPFLAGS LDFLAGS
commands=$("$CLOSER" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}' | grep -vx help)
[ -n "$commands" ] || fail commands_listed "closer --help lists no command"

# --- make install / uninstall into a staging directory -------------------
dest=$tmp/dest
make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr/local >"$tmp/install.log" 2>&1
check_eq install_exit $? 0
want="usr/local/bin/closer
usr/local/lib/systemd/system/closer-exporter.service
usr/local/share/bash-completion/completions/closer
usr/local/share/closer/closer-alerts.yml
usr/local/share/closer/closer-grafana.json
usr/local/share/doc/closer/README.md
usr/local/share/doc/closer/CHANGELOG.md
usr/local/share/man/man1/closer.1
usr/local/share/zsh/site-functions/_closer"
for c in $commands; do want="$want
usr/local/share/man/man1/closer-$c.1"; done
missing=$(printf '%s\n' "$want" | while read -r f; do [ -f "$dest/$f" ] || echo "$f"; done)
check_eq install_files_present "$missing" ""
check_eq install_binary_runs "$("$dest/usr/local/bin/closer" --version)" "$("$CLOSER" --version)"
check_eq unit_execstart_is_bindir "$(grep '^ExecStart=' "$dest/usr/local/lib/systemd/system/closer-exporter.service" | cut -d' ' -f1)" \
    "ExecStart=/usr/local/bin/closer"

# Every page renders, with no warning from groff, and has its sections.
for page in "$dest"/usr/local/share/man/man1/*.1; do
    name=$(basename "$page" .1)
    MANWIDTH=80 man --warnings -l "$page" >"$tmp/page.txt" 2>"$tmp/page.err"
    rc=$?
    if [ $rc -ne 0 ] || [ -s "$tmp/page.err" ]; then
        fail "man_renders_$name" "rc $rc: $(head -3 "$tmp/page.err")"
    elif ! grep -q '^SYNOPSIS' "$tmp/page.txt" || ! grep -q '^NAME' "$tmp/page.txt"; then
        fail "man_renders_$name" "no NAME or SYNOPSIS"
    else
        pass "man_renders_$name"
    fi
done

# No control byte slipped into a page (an echo that read "\f" in "\fB").
check_eq man_sources_plain_text "$(cat "$dest"/usr/local/share/man/man1/*.1 | tr -d '\n\t' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
MANWIDTH=200 man -l "$dest/usr/local/share/man/man1/closer.1" 2>/dev/null | grep -A3 '^SEE ALSO' >"$tmp/seealso"
missing=$(for c in $commands; do grep -q "closer-$c(1)" "$tmp/seealso" || echo "$c"; done | tr '\n' ' ')
check_eq man_closer_see_also_every_command "$missing" ""


# --- the man pages against the option parsers -----------------------------
# Long options: the names in the `struct option` or `struct optab` tables of
# src/cmd/CMD*.c; short ones: the optstring of its getopt_long() calls, or
# the letters in its optab rows ({"name", 'c', ...} and {NULL, 'c', ...}).
src_long() {
    awk '/struct opt(ion|ab)[^;]*\[\][ ]*=/ {on = 1}
         on { s = $0; while (match(s, /\{ *"[^"]+"/)) { n = substr(s, RSTART, RLENGTH); sub(/^\{ *"/, "", n); sub(/"$/, "", n)
              print "--" n; s = substr(s, RSTART + RLENGTH) } }
         on && /\};/ {on = 0}' "$@" | sort -u
}
src_short() {
    { cat "$@" | tr '\n' ' ' | grep -o 'getopt_long([^"]*"[^"]*"' | sed 's/.*"\(.*\)"/\1/' |
        tr -d ':+-' | fold -w1 | sed 's/^/-/'
      awk '/struct optab[^;]*\[\][ ]*=/ {on = 1}
           on { s = $0; while (match(s, /\{ *(NULL|"[^"]*") *, *\047.\047/)) { c = substr(s, RSTART + RLENGTH - 2, 1)
                print "-" c; s = substr(s, RSTART + RLENGTH) } }
           on && /\};/ {on = 0}' "$@"; } | sort -u
}
# Flags in the OPTIONS entries (.TP headers) of a page.
man_flags() {
    sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$1" | awk 'prev == ".TP" {print} {prev = $0}' |
        sed -e 's/\\f[BIR]//g' -e 's/\\-/-/g' | tr ' ' '\n' | sed 's/,$//' | grep '^-' | sed 's/=.*//' | sort -u
}
# The pages and completions that make install shipped.
man=$dest/usr/local/share/man/man1
for c in $commands; do
    srcs=$(ls "$ROOT"/src/cmd/"$c".c "$ROOT"/src/cmd/"$c"_*.c 2>/dev/null)
    if [ -z "$srcs" ] || [ ! -f "$man/closer-$c.1" ]; then
        fail "man_flags_$c" "no src/cmd/$c.c or no closer-$c.1 installed"
        continue
    fi
    # shellcheck disable=SC2086
    code=$( (src_long $srcs; src_short $srcs) | sort -u)
    page=$(man_flags "$man/closer-$c.1")
    if [ -z "$code" ]; then fail "man_flags_$c" "no option table found in $srcs"; continue; fi
    only_code=$(comm -23 <(echo "$code") <(echo "$page") | tr '\n' ' ')
    only_page=$(comm -13 <(echo "$code") <(echo "$page") | tr '\n' ' ')
    if [ -n "$only_code$only_page" ]; then
        fail "man_flags_$c" "accepted but not in closer-$c(1) / --help: [$only_code]; in the page but not accepted: [$only_page]"
    else
        pass "man_flags_$c"
    fi
done
# The page is what the binary says today (make install remade it with it).
check_eq man_version_is_binary_version "$(sed -n 's/^\.TH [^ ]* 1 "[^"]*" "\(closer [^"]*\)".*/\1/p' "$man/closer.1")" \
    "$("$CLOSER" --version)"

# --- completion -----------------------------------------------------------
bashc=$dest/usr/local/share/bash-completion/completions/closer zshc=$dest/usr/local/share/zsh/site-functions/_closer
check completion_bash_syntax bash -n "$bashc"
if command -v zsh >/dev/null; then check completion_zsh_syntax zsh -n "$zshc"; else fail completion_zsh_syntax "no zsh (scripts/deps.sh installs it)"; fi
# complete WORD...: what bash completion offers for the last word.
complete_words() {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _closer; printf "%s\n" "${COMPREPLY[@]}"' _ "$bashc" "$@" |
        sort
}
check_eq complete_command "$(complete_words "$CLOSER" do)" "doctor"
check_eq complete_all_commands "$(complete_words "$CLOSER" '' | grep -v '^-' | tr '\n' ' ')" \
    "$(printf '%s\n' $commands help | sort | tr '\n' ' ')"
for c in $commands; do
    srcs=$(ls "$ROOT"/src/cmd/"$c".c "$ROOT"/src/cmd/"$c"_*.c 2>/dev/null)
    [ -n "$srcs" ] || continue
    # shellcheck disable=SC2086
    check_eq "complete_flags_$c" "$(complete_words "$CLOSER" "$c" -- | tr '\n' ' ')" "$(src_long $srcs | tr '\n' ' ')"
done
# zsh: _closer run with the completion system's functions stubbed to print
# what they are given (the commands offered; each command's option specs).
zsh_complete() {
    zsh -c '_arguments() { print -rl -- "$@" }; _describe() { print -rl -- "${(@P)${@[-1]}}" }
        source "$1"; shift; words=("$@"); CURRENT=$#; _closer' _ "$zshc" "$@" 2>&1
}
if command -v zsh >/dev/null; then
    check_eq complete_zsh_commands "$(zsh_complete closer '' | grep -v '^-' | cut -d: -f1 | sort | tr '\n' ' ')" \
        "$(printf '%s\n' $commands | sort | tr '\n' ' ')"
    for c in $commands; do
        srcs=$(ls "$ROOT"/src/cmd/"$c".c "$ROOT"/src/cmd/"$c"_*.c 2>/dev/null)
        [ -n "$srcs" ] || continue
        # shellcheck disable=SC2086
        check_eq "complete_zsh_options_$c" "$(zsh_complete closer "$c" -- | grep '^-.*\[' | sed 's/[=+]*\[.*//' | sort -u | tr '\n' ' ')" \
            "$( (src_long $srcs; src_short $srcs) | sort -u | tr '\n' ' ')"
    done
fi
check_eq complete_state_names "$(complete_words "$CLOSER" states --state time | tr '\n' ' ')" "time-wait "
check_eq complete_state_filter_word "$(complete_words "$CLOSER" states -p state close | tr '\n' ' ')" "close-wait "
check_eq complete_filter_keywords "$(complete_words "$CLOSER" states -p '' | tr '\n' ' ')" "exclude state "
check_eq complete_state_list "$(complete_words "$CLOSER" states --state established,fin-wait | tr '\n' ' ')" \
    "established,fin-wait-1 established,fin-wait-2 "
check_eq complete_color "$(complete_words "$CLOSER" doctor --color '' | tr '\n' ' ')" "always auto never "
check_eq complete_flag_equals "$(complete_words "$CLOSER" doctor --color = | tr '\n' ' ')" "always auto never "
check_eq complete_flag_equals_prefix "$(complete_words "$CLOSER" doctor --color = al | tr '\n' ' ')" "always "
check_eq complete_lingering "$(complete_words "$CLOSER" serve --lingering-close '' | tr '\n' ' ')" "always off on "
check_eq complete_lab_action "$(complete_words "$CLOSER" lab '' | tr '\n' ' ')" "list run "
first=$("$CLOSER" lab list | awk 'NR == 1 {print $1}')
complete_words "$CLOSER" lab run "${first%?}" | grep -qx -- "$first"
check_eq complete_lab_scenario_name $? 0
if [ "$(id -u)" = 0 ]; then
    netns_new NS
    check_eq complete_netns "$(complete_words "$CLOSER" doctor --netns "${NS%???}" | grep -cx -- "$NS")" 1
fi

# --- the Makefile and a packager's flags ----------------------------------
dry() { make -n -B -C "$ROOT" BUILD="$tmp/b" "$@" "$tmp/b/closer" 2>/dev/null | grep -- ' -c -o .*src/main\.o\| -o .*b/closer '; }
out=$(dry)
check_eq dev_build_has_werror "$(echo "$out" | grep -c -- '-Werror')" 2
out=$(dry WERROR=)
check_eq packager_build_no_werror "$(echo "$out" | grep -c -- '-Werror')" 0
out=$(CPPFLAGS=-D_FORTIFY_SOURCE=2 CFLAGS='-O2 -fstack-protector-strong' LDFLAGS=-Wl,-z,now dry)
check_eq env_cppflags_reach_compiler "$(echo "$out" | grep -c -- '-D_FORTIFY_SOURCE=2 .* -c ')" 1
check_eq env_cflags_reach_compiler "$(echo "$out" | grep -c -- '-fstack-protector-strong.*-std=c11')" 2
check_eq env_ldflags_reach_linker "$(echo "$out" | grep -c -- '-Wl,-z,now .*-o .*closer ')" 1
out=$(dry CPPFLAGS=-DX_FROM_CMDLINE CFLAGS=-O1)
check_eq cmdline_flags_kept "$(echo "$out" | grep -c -- '-DX_FROM_CMDLINE .*-O1 .*-Wall')" 1

# --- the version ------------------------------------------------------------
check_eq version_is_makefile_version "$("$CLOSER" --version)" "closer $(make -s -C "$ROOT" version)"
# git describe in a scratch repository holding the Makefile alone.
v=$tmp/v
mkdir -p "$v" && cp "$ROOT/Makefile" "$v/"
base=$(sed -n 's/^VERSION *:= *//p' "$v/Makefile")
g() { git -C "$v" -c user.name=t -c user.email=t@localhost "$@" >/dev/null 2>&1; }
mver() { make -s -C "$v" version 2>/dev/null; }
g init -q && g add Makefile && g commit -qm one
check_eq version_untagged "$(mver)" "$base+g$(git -C "$v" rev-parse --short HEAD)"
g tag -a v9.8.7 -m "closer 9.8.7"
check_eq version_on_tag "$(mver)" "9.8.7"
g commit -q --allow-empty -m two
check_eq version_after_tag "$(mver)" "9.8.7-1-g$(git -C "$v" rev-parse --short HEAD)"
echo "# local change" >>"$v/Makefile"
check_eq version_dirty "$(mver)" "9.8.7-1-g$(git -C "$v" rev-parse --short HEAD)-dirty"
rm -rf "$v/.git"
check_eq version_without_git "$(mver)" "$base"

# --- the docs: README is a door; every relative link in it and in docs/ resolves
broken=$(cd "$ROOT" && for f in README.md docs/*.md bench/README.md; do
    grep -o '](\([^)#:]*\)' "$f" | sed 's/^](//' | while read -r l; do
        [ -e "$(dirname "$f")/$l" ] || echo "$f -> $l"
    done
done | tr '\n' ' ')
check_eq docs_links_resolve "$broken" ""
missing=$(for c in $commands; do [ -f "$ROOT/docs/$c.md" ] && grep -q "(docs/$c.md)" "$ROOT/README.md" || echo "$c"; done | tr '\n' ' ')
check_eq readme_links_every_command_doc "$missing" ""

# --- uninstall ---------------------------------------------------------------
make -s -C "$ROOT" uninstall DESTDIR="$dest" PREFIX=/usr/local >/dev/null 2>&1
check_eq uninstall_leaves_no_file "$(find "$dest" -type f | sed "s|$dest/||")" ""
