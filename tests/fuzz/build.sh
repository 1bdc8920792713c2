#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make fuzz: builds every tests/fuzz/fuzz_<name>.c as a libFuzzer binary
# (clang, ASan + UBSan) in build-fuzz/, linked with closer's sources (and
# llhttp's C sources from Debian's node-llhttp for fuzz_llhttp), then runs
# each for FUZZ_SECONDS (default 20) from its seed corpus
# tests/fuzz/corpus_<name> (fuzz_llhttp shares corpus_request). New inputs
# go to build-fuzz/corpus_<name>, never into the repository. Crashes are
# saved as build-fuzz/crash-<name>-*. Exit 1 if any target fails. 
#   bash tests/fuzz/build.sh [name...]
set -u
cd "$(dirname "$0")/../.." || exit 2
SECS=${FUZZ_SECONDS:-20}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
command -v clang >/dev/null || { echo "fuzz: needs clang (and libclang-rt-dev)"; exit 2; }
# closer's sources (all but main.c) with the fuzzer's coverage hooks. Not
# through the Makefile: its -Werror turns clang-only warnings in kernel
# headers' macros (NLMSG_OK sign compare) into a failed build.
mkdir -p build-fuzz/obj
objs=()
for f in $(find src -name '*.c' ! -path src/main.c | sort); do
    o=build-fuzz/obj/$(echo "${f%.c}" | tr / _).o
    objs+=("$o")
    [ "$o" -nt "$f" ] && continue
    clang -O1 -g -std=c11 -D_GNU_SOURCE -Isrc -Wall -Wextra -Wno-sign-compare \
        -fsanitize=fuzzer-no-link $SAN -DCLOSER_VERSION='"fuzz"' -c -o "$o" "$f" || exit 2
done
rm -f build-fuzz/libcloser.a && ar rcs build-fuzz/libcloser.a "${objs[@]}" || exit 2
LLHTTP=/usr/share/llhttp LLHTTP_INC=/usr/share/include/llhttp
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do n=${f##*/fuzz_}; names+=("${n%.c}"); done
fi
rc=0
for name in "${names[@]}"; do
    src=tests/fuzz/fuzz_$name.c bin=build-fuzz/fuzz_$name extra=()
    if [ "$name" = llhttp ]; then
        [ -f "$LLHTTP/llhttp.c" ] || { echo "fuzz: $name skipped: no $LLHTTP (apt install node-llhttp)"; continue; }
        extra=(-I"$LLHTTP_INC" "$LLHTTP/llhttp.c" "$LLHTTP/api.c" "$LLHTTP/http.c")
    fi
    clang -O1 -g -std=c11 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer $SAN -o "$bin" "$src" "${extra[@]}" \
        build-fuzz/libcloser.a -lssl -lcrypto -lnghttp2 -lm -lpthread || { echo "fuzz: $name does not build"; rc=1; continue; }
    seeds=tests/fuzz/corpus_$name
    [ -d "$seeds" ] || seeds=tests/fuzz/corpus_request
    work=build-fuzz/corpus_$name
    mkdir -p "$work"
    echo "== fuzz $name: ${SECS}s from $seeds"
    if "$bin" -max_total_time="$SECS" -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="build-fuzz/crash-$name-" "$work" "$seeds" 2>"build-fuzz/fuzz_$name.log"; then
        grep -E '^stat::number_of_executed_units|^Done' "build-fuzz/fuzz_$name.log" | tr '\n' ' '; echo
    else
        echo "fuzz: $name FAILED (build-fuzz/fuzz_$name.log)"; tail -30 "build-fuzz/fuzz_$name.log"; rc=1
    fi
done
exit $rc
