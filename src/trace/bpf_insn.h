/* SPDX-License-Identifier: MIT */
/* BPF instructions as values, in the style of the kernel's own
 * (include/linux/filter.h, samples/bpf) and systemd's bpf-firewall, so
 * the generated programs read as a list of instructions. Written here from
 * the documented encoding (Documentation/bpf/standardization/
 * instruction-set.rst): an 8-bit opcode (class | size/op | mode/source), a
 * destination and a source register of 4 bits each, a signed 16-bit offset
 * and a signed 32-bit immediate. */
#ifndef CLOSER_TRACE_BPF_INSN_H
#define CLOSER_TRACE_BPF_INSN_H
#include <linux/bpf.h>

#define BPF_INSN(CODE, DST, SRC, OFF, IMM)                                                       \
    ((struct bpf_insn){.code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF), .imm = (IMM)})

/* dst = src; dst = imm (sign-extended to 64 bits); 32-bit: the upper half zeroed */
#define BPF_MOV64_REG(DST, SRC) BPF_INSN(BPF_ALU64 | BPF_MOV | BPF_X, DST, SRC, 0, 0)
#define BPF_MOV64_IMM(DST, IMM) BPF_INSN(BPF_ALU64 | BPF_MOV | BPF_K, DST, 0, 0, IMM)
#define BPF_MOV32_IMM(DST, IMM) BPF_INSN(BPF_ALU | BPF_MOV | BPF_K, DST, 0, 0, IMM)
/* dst OP= imm (BPF_ADD, BPF_AND ...), 64-bit */
#define BPF_ALU64_IMM(OP, DST, IMM) BPF_INSN(BPF_ALU64 | (OP) | BPF_K, DST, 0, 0, IMM)

/* dst = *(SIZE *)(src + off); *(SIZE *)(dst + off) = src / imm.
 * SIZE: BPF_B, BPF_H, BPF_W, BPF_DW */
#define BPF_LDX_MEM(SIZE, DST, SRC, OFF) BPF_INSN(BPF_LDX | (SIZE) | BPF_MEM, DST, SRC, OFF, 0)
#define BPF_STX_MEM(SIZE, DST, SRC, OFF) BPF_INSN(BPF_STX | (SIZE) | BPF_MEM, DST, SRC, OFF, 0)
#define BPF_ST_MEM(SIZE, DST, OFF, IMM) BPF_INSN(BPF_ST | (SIZE) | BPF_MEM, DST, 0, OFF, IMM)

/* A map's fd as a 64-bit immediate: two instruction slots, the second
 * holding the upper 32 bits; the kernel swaps the fd for the map. Use in
 * an array initializer. */
#define BPF_LD_MAP_FD(DST, FD)                                                                   \
    BPF_INSN(BPF_LD | BPF_DW | BPF_IMM, DST, BPF_PSEUDO_MAP_FD, 0, FD), BPF_INSN(0, 0, 0, 0, 0)

/* if (dst OP imm) goto pc + 1 + off (BPF_JEQ, BPF_JNE ...); goto pc + 1 + off */
#define BPF_JMP_IMM(OP, DST, IMM, OFF) BPF_INSN(BPF_JMP | (OP) | BPF_K, DST, 0, OFF, IMM)
#define BPF_JMP_A(OFF) BPF_INSN(BPF_JMP | BPF_JA, 0, 0, OFF, 0)

/* r0 = helper(r1..r5), BPF_FUNC_* ids; r1-r5 are clobbered */
#define BPF_CALL_HELPER(FUNC) BPF_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, FUNC)
#define BPF_EXIT_INSN() BPF_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#endif
