#!/bin/sh
# Adds an SPDX license header to every source file of the repository that
# lacks one: .c and .h get "/* SPDX-License-Identifier: MIT */" as their first
# line; .sh, .awk and .py get "# SPDX-License-Identifier: MIT" (after the
# "#!" line when there is one); .js gets "// ...". Idempotent: a file whose
# first three lines already name an SPDX identifier is left alone.
#   scripts/spdx.sh           add the missing headers (git-tracked files)
#   scripts/spdx.sh --check   list the files without one; exit 1 if any
set -eu
cd "$(dirname "$0")/.."
LICENSE_ID=MIT
mode=${1:-add}
missing=0

files() {
    if git rev-parse --git-dir >/dev/null 2>&1; then
        git ls-files -- '*.c' '*.h' '*.sh' '*.awk' '*.py' '*.js'
    else
        find . -type f \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.awk' \
            -o -name '*.py' -o -name '*.js' \) ! -path './build*' | sed 's|^\./||'
    fi
}

for f in $(files); do
    [ -f "$f" ] || continue
    head -n 3 "$f" | grep -q 'SPDX-License-Identifier:' && continue
    if [ "$mode" = --check ]; then
        echo "$f"
        missing=1
        continue
    fi
    case $f in
    *.c | *.h) line="/* SPDX-License-Identifier: $LICENSE_ID */" ;;
    *.js) line="// SPDX-License-Identifier: $LICENSE_ID" ;;
    *) line="# SPDX-License-Identifier: $LICENSE_ID" ;;
    esac
    tmp="$f.spdx.$$"
    if head -n 1 "$f" | grep -q '^#!'; then
        { head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } >"$tmp"
    else
        { echo "$line"; cat "$f"; } >"$tmp"
    fi
    # Keep the mode (executable scripts stay executable).
    chmod --reference="$f" "$tmp" && mv "$tmp" "$f"
done
exit $missing
