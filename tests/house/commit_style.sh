#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Commit messages in git's own style (shared/STYLE.md): a subject of at most
# 72 characters saying what changed, then a blank line before any body.
# Checked for every commit after the one that introduced this check (older
# history is left as it was); outside a git checkout there is nothing to
# check, said as a PASS with the reason.
set -u
cd "$(dirname "$0")/../.."
since=$(git log --format=%H --diff-filter=A -- tests/house/commit_style.sh 2>/dev/null | tail -n 1)
if [ -z "$since" ]; then
    echo "PASS commit_style: not a git checkout with this file's history (nothing to check)"
    exit 0
fi
bad=0 n=0
while IFS= read -r c; do
    n=$((n + 1))
    subject=$(git log -1 --format=%s "$c")
    second=$(git log -1 --format=%B "$c" | sed -n 2p)
    if [ "${#subject}" -gt 72 ]; then
        echo "FAIL commit_style: $(git rev-parse --short "$c") subject is ${#subject} characters (at most 72): $subject"
        bad=$((bad + 1))
    elif [ -n "$second" ]; then
        echo "FAIL commit_style: $(git rev-parse --short "$c") has no blank line after its subject: $subject"
        bad=$((bad + 1))
    fi
done < <(git rev-list HEAD --not $(git rev-parse "$since^@" 2>/dev/null))
[ "$bad" -eq 0 ] && echo "PASS commit_style: $n commits since $(git rev-parse --short "$since"), subjects <= 72 characters, blank line after"
exit 0
