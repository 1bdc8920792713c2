/* SPDX-License-Identifier: MIT */
/* BPF instructions for closer trace's tracepoint programs (trace/bpf.h).
 * Pure functions: the unit test runs the programs in a small interpreter. */
#include "trace/bpf.h"
#include <string.h>

struct gen {
    struct bpf_insn *insn;
    unsigned n, cap;
    int fixups[16]; /* jumps to the exit, patched at the end */
    unsigned nfix;
    int bad;
};

static void emit(struct gen *g, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    if (g->n >= g->cap) {
        g->bad = 1;
        return;
    }
    struct bpf_insn *i = &g->insn[g->n++];
    memset(i, 0, sizeof *i);
    i->code = code;
    i->dst_reg = dst & 0xf;
    i->src_reg = src & 0xf;
    i->off = off;
    i->imm = imm;
}

static void ld_map(struct gen *g, uint8_t dst, int fd)
{
    emit(g, BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
    emit(g, 0, 0, 0, 0, 0); /* the upper half of the 64-bit immediate */
}

/* A conditional jump (op: BPF_JNE, BPF_JEQ) to the exit. */
static void jump_out(struct gen *g, uint8_t op, uint8_t reg, int32_t imm)
{
    if (g->nfix == sizeof g->fixups / sizeof g->fixups[0]) {
        g->bad = 1;
        return;
    }
    g->fixups[g->nfix++] = (int)g->n;
    emit(g, BPF_JMP | op | BPF_K, reg, 0, 0, imm);
}

static int size_code(unsigned size)
{
    switch (size) {
    case 1: return BPF_B;
    case 2: return BPF_H;
    case 4: return BPF_W;
    case 8: return BPF_DW;
    }
    return -1;
}

/* r0 = ctx field; the verifier wants the offset aligned to the size. */
static void load_field(struct gen *g, const struct tp_slot *s)
{
    int sc = size_code(s->size);
    if (sc < 0 || s->offset < 8 || s->offset % s->size) {
        g->bad = 1;
        return;
    }
    emit(g, BPF_LDX | BPF_MEM | (uint8_t)sc, BPF_REG_0, BPF_REG_6, 0, 0);
    g->insn[g->n - 1].off = (int16_t)s->offset;
}

/* The exit every filter jumps to, and the one the program falls into.
 * Returning 1 lets perf users of the same tracepoint still sample it. */
static int finish(struct gen *g)
{
    unsigned out = g->n;
    emit(g, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
    emit(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (unsigned i = 0; i < g->nfix && !g->bad; i++)
        g->insn[g->fixups[i]].off = (int16_t)(out - (unsigned)g->fixups[i] - 1);
    return g->bad ? -1 : (int)g->n;
}

static void state_filter(struct gen *g, const struct tp_layout *l)
{
    if (l->protocol.size) {
        load_field(g, &l->protocol);
        jump_out(g, BPF_JNE, BPF_REG_0, 6); /* IPPROTO_TCP */
    }
    /* the transitions the records need (session.c filter_for) */
    static const int32_t keep[] = {2, 3, 4, 7, 8, 9};
    const unsigned nkeep = sizeof keep / sizeof keep[0];
    load_field(g, &l->newstate);
    for (unsigned i = 0; i < nkeep; i++)
        /* jump over the rest of the list and the final jump-out */
        emit(g, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, (int16_t)(nkeep - i), keep[i]);
    jump_out(g, BPF_JA, 0, 0);
}

static void port_filter(struct gen *g, const struct tp_layout *l, uint16_t port)
{
    if (!port || !l->sport.size || !l->dport.size)
        return;
    load_field(g, &l->sport);
    emit(g, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, port); /* over the dport test */
    load_field(g, &l->dport);
    jump_out(g, BPF_JNE, BPF_REG_0, port);
}

int bpfgen_tcp(const struct tp_prog_spec *sp, struct bpf_insn *out, unsigned cap)
{
    struct gen g = {.insn = out, .cap = cap};
    const struct tp_layout *l = sp->l;
    unsigned size = (sp->entry_size + 7) & ~7u;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return -1; /* the header below is built little-endian: perf mode there */
#endif
    if (size <= 8 || size + 8 > 512) /* the record and the map key on the stack */
        return -1;
    emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0); /* r6 = ctx */
    if (l->kind == TEV_STATE)
        state_filter(&g, l);
    port_filter(&g, l, sp->port);
    /* the record from byte 8 on, onto the stack at r10 - size */
    for (unsigned off = 8; off < size; off += 8) {
        emit(&g, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_6, (int16_t)off, 0);
        emit(&g, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_0, (int16_t)((int)off - (int)size), 0);
    }
    /* r7 = the first 8 bytes: common_type, and common_flags from the
     * softirq flag (r0 = lookup(irq_map, &key 0)) */
    emit(&g, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, (int16_t)(-(int)size - 8), 0);
    emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
    emit(&g, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -(int)size - 8);
    ld_map(&g, BPF_REG_1, sp->irq_map_fd);
    emit(&g, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
    /* little-endian: byte k of the record is bits 8k.. of the u64 */
    if (l->common_type.offset + l->common_type.size > 4 || l->common_flags.size != 1 ||
        l->common_flags.offset > 3 || l->id > 0xffff)
        return -1;
    int32_t plain = (int32_t)(l->id << (8 * l->common_type.offset));
    int32_t softirq = plain | (int32_t)(TRACE_FLAG_SOFTIRQ << (8 * l->common_flags.offset));
    emit(&g, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_7, 0, 0, plain);
    emit(&g, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 3, 0);
    emit(&g, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_0, 0, 0);
    emit(&g, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 1, 0);
    emit(&g, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_7, 0, 0, softirq);
    emit(&g, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_7, (int16_t)-(int)size, 0);
    /* bpf_perf_event_output(ctx, out_map, BPF_F_CURRENT_CPU, r10 - size, size) */
    emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0);
    ld_map(&g, BPF_REG_2, sp->out_map_fd);
    emit(&g, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, -1); /* 32-bit: 0xffffffff */
    emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_10, 0, 0);
    emit(&g, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, -(int)size);
    emit(&g, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_5, 0, 0, (int32_t)size);
    emit(&g, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_perf_event_output);
    /* The output can fail without a PERF_RECORD_LOST (ring's event not
     * active on this CPU): count it in the map's slot 1, read as lost. */
    jump_out(&g, BPF_JEQ, BPF_REG_0, 0);
    emit(&g, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, (int16_t)(-(int)size - 8), BPFGEN_SLOT_FAILED);
    emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
    emit(&g, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -(int)size - 8);
    ld_map(&g, BPF_REG_1, sp->irq_map_fd);
    emit(&g, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
    jump_out(&g, BPF_JEQ, BPF_REG_0, 0);
    emit(&g, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_0, 0, 0);
    emit(&g, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 1);
    emit(&g, BPF_STX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_1, 0, 0);
    return finish(&g);
}

int bpfgen_irq_flag(int irq_map_fd, uint32_t value, struct bpf_insn *out, unsigned cap)
{
    struct gen g = {.insn = out, .cap = cap};
    emit(&g, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0);
    emit(&g, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
    emit(&g, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4);
    ld_map(&g, BPF_REG_1, irq_map_fd);
    emit(&g, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
    jump_out(&g, BPF_JEQ, BPF_REG_0, 0);
    emit(&g, BPF_ST | BPF_MEM | BPF_W, BPF_REG_0, 0, 0, (int32_t)value);
    return finish(&g);
}
