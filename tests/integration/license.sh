#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The license: LICENSE is MIT, debian/copyright says the same, and every
# source file of the repository (.c .h .sh .awk .py .js) names it in an SPDX
# header within its first three lines (scripts/spdx.sh adds a missing one).
# scripts/spdx.sh itself: adds the header (after a "#!" line, keeping the
# mode), leaves a file that has one alone, and runs twice to the same tree.
. "$(dirname "$0")/../lib/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap '__cleanup; rm -rf "$tmp"' EXIT

check_eq license_is_mit "$(head -1 "$ROOT/LICENSE")" "MIT License"
check_eq debian_copyright_mit "$(grep -c '^License: MIT$' "$ROOT/debian/copyright")" 2
missing=$(cd "$ROOT" && sh scripts/spdx.sh --check | head -10 | tr "\n" " ")
check_eq every_source_has_spdx "$missing" ""
other=$(cd "$ROOT" && git ls-files -- '*.c' '*.h' '*.sh' '*.awk' '*.py' '*.js' |
    while read -r f; do head -n 3 "$f" | grep -o 'SPDX-License-Identifier: [^ *]*' ; done | sort -u)
check_eq spdx_ids_all_mit "$other" "SPDX-License-Identifier: MIT"

# The script on a scratch repository.
s=$tmp/s
mkdir -p "$s/scripts" "$s/src"
cp "$ROOT/scripts/spdx.sh" "$s/scripts/"
printf '#!/bin/sh\necho hi\n' >"$s/run.sh" && chmod 755 "$s/run.sh"
printf '/* a file */\nint x;\n' >"$s/src/a.c"
printf '/* SPDX-License-Identifier: MIT */\nint y;\n' >"$s/src/b.h"
printf 'print(1)\n' >"$s/t.py"
git -C "$s" init -q && git -C "$s" add -A
(cd "$s" && sh scripts/spdx.sh --check >/dev/null)
check_eq spdx_check_fails_when_missing $? 1
(cd "$s" && sh scripts/spdx.sh)
check_eq spdx_shebang_kept "$(head -2 "$s/run.sh" | tr '\n' '|')" "#!/bin/sh|# SPDX-License-Identifier: MIT|"
check_eq spdx_mode_kept "$(stat -c %a "$s/run.sh")" 755
check_eq spdx_c_header "$(head -2 "$s/src/a.c" | tr '\n' '|')" "/* SPDX-License-Identifier: MIT */|/* a file */|"
check_eq spdx_present_untouched "$(cat "$s/src/b.h" | tr '\n' '|')" "/* SPDX-License-Identifier: MIT */|int y;|"
check_eq spdx_py_header "$(head -1 "$s/t.py")" "# SPDX-License-Identifier: MIT"
sum1=$(cd "$s" && cat run.sh src/a.c src/b.h t.py scripts/spdx.sh | md5sum)
(cd "$s" && sh scripts/spdx.sh)
check_eq spdx_idempotent "$(cd "$s" && cat run.sh src/a.c src/b.h t.py scripts/spdx.sh | md5sum)" "$sum1"
(cd "$s" && sh scripts/spdx.sh --check)
check_eq spdx_check_passes_after $? 0
