# SPDX-License-Identifier: MIT
# Reads the tagged lines of scripts/helpparse.awk and prints one line per
# option entry, fields separated by a tab:
#   flags      the option's names, space-separated ("-N --netns")
#   kind       what its value is: none, words, list, file, dir, netns, any
#   values     for words and list: the accepted words, space-separated
#   metavar    as printed ("NAME"), or empty
#   text       its description on one line
# kind and values are read from the help itself: "on|off" metavars, a
# comma-separated list of words ("auto (default: on a TTY), always, never";
# "...: listener-not-polled, no-accept"), a LIST of names after "names:",
# FILE/PATH, DIR, and a network namespace (the text names /run/netns/).

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

# Comma-separated single words, or "" when the text is not such a list.
function word_list(s,    n, i, t, w, out) {
    gsub(/\([^()]*\)/, "", s)
    if (index(s, ":")) s = substr(s, match(s, /:[^:]*$/) + 1)
    n = split(s, t, /,/)
    if (n < 2) return ""
    out = ""
    for (i = 1; i <= n; i++) {
        w = trim(t[i])
        if (w !~ /^[a-z][a-z0-9-]*$/) return ""
        out = out (out == "" ? "" : " ") w
    }
    return out
}

function flush(    n, i, t, w, flags, meta, kind, vals, s) {
    if (head == "") return
    n = split(head, t, / /)
    flags = ""; meta = ""
    for (i = 1; i <= n; i++) {
        w = t[i]; sub(/,$/, "", w)
        if (w ~ /^-/) flags = flags (flags == "" ? "" : " ") w
        else if (w !~ /^\(/) meta = meta (meta == "" ? "" : " ") w
    }
    kind = "none"; vals = ""
    if (meta != "") {
        kind = "any"
        if (meta ~ /^[a-z0-9-]+(\|[a-z0-9-]+)+$/) { kind = "words"; vals = meta; gsub(/\|/, " ", vals) }
        else if (meta == "LIST" && index(text, "names:")) {
            s = substr(text, index(text, "names:") + 6)
            gsub(/groups:/, " ", s); gsub(/[;,.]/, " ", s); gsub(/  +/, " ", s)
            kind = "list"; vals = trim(s)
        } else if (index(text, "/run/netns/")) kind = "netns"
        else if ((vals = word_list(text)) != "") kind = "words"
        else if (meta == "FILE" || meta == "PATH") kind = "file"
        else if (meta == "DIR") kind = "dir"
    }
    printf "%s\t%s\t%s\t%s\t%s\n", flags, kind, vals, meta, text
    head = ""; text = ""
}

BEGIN { FS = "\t"; head = "" }
$1 == "O" { flush(); head = $2; text = trim($3); next }
$1 == "C" { if (head != "") text = trim(text " " $2); next }
{ flush() }
END { flush() }
