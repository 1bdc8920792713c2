#!/bin/sh
# SPDX-License-Identifier: MIT
# Rewrites the catalogue section of docs/doctor.md from the binary:
#   sh scripts/doccatalog.sh ./closer docs/doctor.md
# (tests/unit/test_catalog.c fails when the section differs).
set -eu
bin=$1 doc=$2
tmp=$(mktemp)
"$bin" doctor --catalog > "$tmp.cat"
awk -v cat="$tmp.cat" '
  /^<!-- catalog:begin -->$/ { print; while ((getline l < cat) > 0) print l; skip = 1; next }
  /^<!-- catalog:end -->$/ { skip = 0 }
  !skip { print }' "$doc" > "$tmp"
mv "$tmp" "$doc"
rm -f "$tmp.cat"
