# SPDX-License-Identifier: MIT
# Parses closer's `--help` text into tagged lines, the one source that the man
# pages (scripts/mkman.sh) and the shell completions (scripts/mkcomp.sh) are
# generated from, so neither can drift from the help a user sees.
#
# Output, one record per line, fields separated by a tab:
#   U <line>                  a usage (synopsis) line, "usage: " removed
#   D <line>                  description text, indented lines as printed (an
#                             example); an empty D is a paragraph break
#   O <header> <text>         an option: header as printed ("-N, --netns NAME"),
#                             and the first line of its description (may be empty)
#   C <text>                  continuation of the last option's description
#   S <heading>               a heading inside the options ("closing patterns")
#   K <name> <summary>        a command of the top-level help ("commands:" block)
#   F <line>                  text after the options; an empty F is a break
#
# The layout it reads (every closer command prints it): usage line(s), a blank
# line, description paragraphs, option lines that start with "-" after at most
# 8 spaces (two options may share a line when separated by two spaces), deeper
# indented continuation lines, then footer paragraphs (exit status, ids).

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

# Emits one option line; a second option on the same line (after two spaces,
# "--a X (1)  --b Y (2)") becomes a record of its own.
function emit_option(s,    i, head, rest) {
    s = trim(s)
    i = match(s, /  +/)
    if (i == 0) { printf "O\t%s\t\n", s; return }
    head = substr(s, 1, RSTART - 1)
    rest = trim(substr(s, RSTART + RLENGTH))
    if (substr(rest, 1, 1) == "-") {
        printf "O\t%s\t\n", head
        emit_option(rest)
        return
    }
    printf "O\t%s\t%s\n", head, rest
}

BEGIN { phase = "usage"; blank = 0 }

{
    sub(/\r$/, "")
    line = $0
    if (trim(line) == "") {
        if (phase == "usage") phase = "desc"
        blank = 1
        next
    }
    indent = match(line, /[^ ]/) - 1
    is_opt = (indent <= 8 && substr(line, indent + 1, 1) == "-")

    if (phase == "usage") {
        if (NR == 1) sub(/^[Uu]sage: */, "", line)
        printf "U\t%s\n", trim(line)
        next
    }
    if (phase == "commands") {
        if (indent > 0 && match(trim(line), /^[a-z][a-z0-9-]* +/)) {
            t = trim(line)
            name = t; sub(/ .*/, "", name)
            sum = t; sub(/^[^ ]+ +/, "", sum)
            printf "K\t%s\t%s\n", name, sum
            blank = 0
            next
        }
        phase = "footer"
    }
    if (phase == "desc" && trim(line) == "commands:") { phase = "commands"; blank = 0; next }
    if (is_opt && phase != "footer") {
        phase = "opts"
        emit_option(line)
        blank = 0
        next
    }
    if (phase == "opts") {
        t = trim(line)
        if (!blank && indent > 8) { printf "C\t%s\n", t; next }
        if (indent > 0 && indent <= 4 && t ~ /:$/) {
            sub(/:$/, "", t)
            printf "S\t%s\n", t
            blank = 0
            next
        }
        phase = "footer"
        blank = 0
    }
    if (blank && phase == "desc") printf "D\t\n"
    if (blank && phase == "footer") printf "F\t\n"
    blank = 0
    # Description lines keep their indentation (examples, a grammar).
    if (phase == "desc") { sub(/[ \t]+$/, "", line); printf "D\t%s\n", line }
    else printf "F\t%s\n", trim(line)
}
