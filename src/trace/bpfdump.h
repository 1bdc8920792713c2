/* SPDX-License-Identifier: MIT */
/* A text rendering of closer's generated BPF programs: one line per
 * instruction in the verifier's own notation ("r0 = *(u32 *)(r6 +20)",
 * "if r0 == 0x2 goto 9"), with the raw encoding after it, so the golden
 * test (tests/data/trace/bpfgen.golden) shows any change to the programs
 * as a readable diff and proves a rewrite byte-identical. Knows the
 * opcodes bpfgen.c emits; anything else is printed raw. Pure function. */
#ifndef CLOSER_TRACE_BPFDUMP_H
#define CLOSER_TRACE_BPFDUMP_H
#include <linux/bpf.h>
#include <stdio.h>

void bpf_dump(const struct bpf_insn *p, int n, FILE *out);

#endif
