/* SPDX-License-Identifier: MIT */
#include "trace/bpfdump.h"
#include <stdint.h>

static const char *size_name(int code)
{
    switch (BPF_SIZE(code)) {
    case BPF_B: return "u8";
    case BPF_H: return "u16";
    case BPF_W: return "u32";
    default: return "u64";
    }
}

static const char *jmp_op(int code)
{
    switch (BPF_OP(code)) {
    case BPF_JEQ: return "==";
    case BPF_JNE: return "!=";
    case BPF_JGT: return ">";
    case BPF_JGE: return ">=";
    case BPF_JLT: return "<";
    case BPF_JLE: return "<=";
    default: return NULL;
    }
}

static const char *alu_op(int code)
{
    switch (BPF_OP(code)) {
    case BPF_ADD: return "+=";
    case BPF_SUB: return "-=";
    case BPF_AND: return "&=";
    case BPF_OR: return "|=";
    case BPF_LSH: return "<<=";
    case BPF_RSH: return ">>=";
    case BPF_MOV: return "=";
    default: return NULL;
    }
}

static const char *helper_name(int32_t id)
{
    switch (id) {
    case BPF_FUNC_map_lookup_elem: return "bpf_map_lookup_elem";
    case BPF_FUNC_perf_event_output: return "bpf_perf_event_output";
    default: return "helper";
    }
}

/* The text of one instruction; returns how many slots it takes (2 for a
 * 64-bit immediate load). */
static int render(const struct bpf_insn *i, int pc, char *t, size_t len)
{
    int c = i->code, d = i->dst_reg, s = i->src_reg, cls = BPF_CLASS(c);
    const char *op;
    if (c == (BPF_LD | BPF_DW | BPF_IMM)) {
        snprintf(t, len, "r%d = %s %d ll", d, s == BPF_PSEUDO_MAP_FD ? "map_fd" : "imm", i->imm);
        return 2;
    }
    if (cls == BPF_LDX && BPF_MODE(c) == BPF_MEM)
        snprintf(t, len, "r%d = *(%s *)(r%d %+d)", d, size_name(c), s, i->off);
    else if (cls == BPF_STX && BPF_MODE(c) == BPF_MEM)
        snprintf(t, len, "*(%s *)(r%d %+d) = r%d", size_name(c), d, i->off, s);
    else if (cls == BPF_ST && BPF_MODE(c) == BPF_MEM)
        snprintf(t, len, "*(%s *)(r%d %+d) = %d", size_name(c), d, i->off, i->imm);
    else if ((cls == BPF_ALU64 || cls == BPF_ALU) && (op = alu_op(c)) != NULL) {
        char w = cls == BPF_ALU64 ? 'r' : 'w';
        if (BPF_SRC(c) == BPF_X)
            snprintf(t, len, "%c%d %s %c%d", w, d, op, w, s);
        else if (i->imm >= 4096) /* a composed value (a record header): its bytes */
            snprintf(t, len, "%c%d %s %#x", w, d, op, (unsigned)i->imm);
        else
            snprintf(t, len, "%c%d %s %d", w, d, op, i->imm);
    } else if (c == (BPF_JMP | BPF_JA))
        snprintf(t, len, "goto %d", pc + 1 + i->off);
    else if (c == (BPF_JMP | BPF_CALL))
        snprintf(t, len, "call %s#%d", helper_name(i->imm), i->imm);
    else if (c == (BPF_JMP | BPF_EXIT))
        snprintf(t, len, "exit");
    else if (cls == BPF_JMP && BPF_SRC(c) == BPF_K && (op = jmp_op(c)) != NULL)
        snprintf(t, len, "if r%d %s %d goto %d", d, op, i->imm, pc + 1 + i->off);
    else
        snprintf(t, len, "(unknown)");
    return 1;
}

void bpf_dump(const struct bpf_insn *p, int n, FILE *out)
{
    for (int pc = 0; pc < n;) {
        char text[96];
        int w = render(&p[pc], pc, text, sizeof text);
        fprintf(out, "%4d: %-40s ; %02x %x%x %+d %d", pc, text, p[pc].code, p[pc].src_reg, p[pc].dst_reg,
                p[pc].off, p[pc].imm);
        if (w == 2 && pc + 1 < n)
            fprintf(out, " | %02x %x%x %+d %d", p[pc + 1].code, p[pc + 1].src_reg, p[pc + 1].dst_reg,
                    p[pc + 1].off, p[pc + 1].imm);
        fputc('\n', out);
        pc += w;
    }
}
