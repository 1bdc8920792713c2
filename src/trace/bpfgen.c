/* SPDX-License-Identifier: MIT */
/* BPF instructions for closer trace's tracepoint programs (trace/bpf.h),
 * written with the insn macros of trace/bpf_insn.h. Pure functions: the
 * unit test runs the programs in a small interpreter, and compares their
 * disassembly with tests/data/trace/bpfgen.golden.
 *
 * Registers: r1-r5 are a helper's arguments (clobbered by each call), r0
 * its result; the programs keep the tracepoint record (ctx) in R_CTX and
 * the record's first 8 bytes in R_HDR, and build the record at the top of
 * the stack (r10 - size), the map key 8 bytes below it. */
#include "trace/bpf.h"
#include "trace/bpf_insn.h"
#include <netinet/in.h>
#include <string.h>

#define R_CTX BPF_REG_6
#define R_HDR BPF_REG_7

struct gen {
    struct bpf_insn *insn;
    unsigned n, cap;
    int fixups[16]; /* jumps to the exit, patched at the end */
    unsigned nfix;
    int bad;
};

static void emit(struct gen *g, struct bpf_insn i)
{
    if (g->n >= g->cap) {
        g->bad = 1;
        return;
    }
    g->insn[g->n++] = i;
}

static void ld_map(struct gen *g, uint8_t dst, int fd)
{
    const struct bpf_insn pair[] = {BPF_LD_MAP_FD(dst, fd)};
    emit(g, pair[0]);
    emit(g, pair[1]);
}

/* A conditional jump (op: BPF_JNE, BPF_JEQ; BPF_JA: always) to the exit,
 * its offset patched by finish(). */
static void jump_out(struct gen *g, uint8_t op, uint8_t reg, int32_t imm)
{
    if (g->nfix == sizeof g->fixups / sizeof g->fixups[0]) {
        g->bad = 1;
        return;
    }
    g->fixups[g->nfix++] = (int)g->n;
    emit(g, op == BPF_JA ? BPF_JMP_A(0) : BPF_JMP_IMM(op, reg, imm, 0));
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

/* r0 = ctx field; the verifier wants the offset aligned to the size, and
 * the first 8 bytes are not the record's (see trace/bpf.h). */
static void load_field(struct gen *g, const struct tp_slot *s)
{
    int sc = size_code(s->size);
    if (sc < 0 || s->offset < 8 || s->offset % s->size) {
        g->bad = 1;
        return;
    }
    emit(g, BPF_LDX_MEM(sc, BPF_REG_0, R_CTX, (int16_t)s->offset));
}

/* The exit every filter jumps to, and the one the program falls into.
 * Returning 1 lets perf users of the same tracepoint still sample it. */
static int finish(struct gen *g)
{
    unsigned out = g->n;
    emit(g, BPF_MOV64_IMM(BPF_REG_0, 1));
    emit(g, BPF_EXIT_INSN());
    for (unsigned i = 0; i < g->nfix && !g->bad; i++)
        g->insn[g->fixups[i]].off = (int16_t)(out - (unsigned)g->fixups[i] - 1);
    return g->bad ? -1 : (int)g->n;
}

/* r0 = lookup(irq_map, &slot): the key is written 8 bytes below the record */
static void lookup_slot(struct gen *g, int irq_map_fd, int16_t key_off, uint32_t slot)
{
    emit(g, BPF_ST_MEM(BPF_W, BPF_REG_10, key_off, (int32_t)slot));
    emit(g, BPF_MOV64_REG(BPF_REG_2, BPF_REG_10));
    emit(g, BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, key_off));
    ld_map(g, BPF_REG_1, irq_map_fd);
    emit(g, BPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));
}

static void state_filter(struct gen *g, const struct tp_layout *l)
{
    if (l->protocol.size) {
        load_field(g, &l->protocol);
        jump_out(g, BPF_JNE, BPF_REG_0, IPPROTO_TCP);
    }
    /* the transitions the records need (backend.c filter_for, perf mode's
     * filter): ESTABLISHED, FIN_WAIT2, CLOSING, LISTEN stay in the kernel */
    static const int32_t keep[] = {TS_SYN_SENT,  TS_SYN_RECV,   TS_FIN_WAIT1,
                                   TS_CLOSE,     TS_CLOSE_WAIT, TS_LAST_ACK};
    const unsigned nkeep = sizeof keep / sizeof keep[0];
    load_field(g, &l->newstate);
    for (unsigned i = 0; i < nkeep; i++) /* a match jumps over the rest and the jump out */
        emit(g, BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, keep[i], (int16_t)(nkeep - i)));
    jump_out(g, BPF_JA, 0, 0);
}

static void port_filter(struct gen *g, const struct tp_layout *l, uint16_t port)
{
    if (!port || !l->sport.size || !l->dport.size)
        return;
    load_field(g, &l->sport);
    emit(g, BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, port, 2)); /* over the dport test */
    load_field(g, &l->dport);
    jump_out(g, BPF_JNE, BPF_REG_0, port);
}

/* The record from byte 8 on, onto the stack at r10 - size. */
static void copy_record(struct gen *g, unsigned size)
{
    for (unsigned off = 8; off < size; off += 8) {
        emit(g, BPF_LDX_MEM(BPF_DW, BPF_REG_0, R_CTX, (int16_t)off));
        emit(g, BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_0, (int16_t)((int)off - (int)size)));
    }
}

/* The first 8 bytes, which the kernel overwrote: common_type, and
 * common_flags with TRACE_FLAG_SOFTIRQ when the per-CPU flag is set.
 * Little-endian: byte k of the record is bits 8k.. of the u64. */
static int write_header(struct gen *g, const struct tp_prog_spec *sp, int16_t rec, int16_t key)
{
    const struct tp_layout *l = sp->l;
    if (l->common_type.offset + l->common_type.size > 4 || l->common_flags.size != 1 ||
        l->common_flags.offset > 3 || l->id > 0xffff)
        return -1;
    int32_t plain = (int32_t)(l->id << (8 * l->common_type.offset));
    int32_t softirq = plain | (int32_t)(TRACE_FLAG_SOFTIRQ << (8 * l->common_flags.offset));
    lookup_slot(g, sp->irq_map_fd, key, BPFGEN_SLOT_SOFTIRQ);
    emit(g, BPF_MOV64_IMM(R_HDR, plain));
    emit(g, BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 3)); /* no map value: plain */
    emit(g, BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_0, 0));
    emit(g, BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 1));
    emit(g, BPF_MOV64_IMM(R_HDR, softirq));
    emit(g, BPF_STX_MEM(BPF_DW, BPF_REG_10, R_HDR, rec));
    return 0;
}

/* bpf_perf_event_output(ctx, out_map, BPF_F_CURRENT_CPU, r10 - size, size);
 * an output refused (the ring's event not active on this CPU: no
 * PERF_RECORD_LOST then) is counted in the map's slot, read as lost. */
static void output(struct gen *g, const struct tp_prog_spec *sp, int16_t rec, int16_t key, unsigned size)
{
    emit(g, BPF_MOV64_REG(BPF_REG_1, R_CTX));
    ld_map(g, BPF_REG_2, sp->out_map_fd);
    emit(g, BPF_MOV32_IMM(BPF_REG_3, (int32_t)BPF_F_CURRENT_CPU)); /* 32-bit: 0xffffffff */
    emit(g, BPF_MOV64_REG(BPF_REG_4, BPF_REG_10));
    emit(g, BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, rec));
    emit(g, BPF_MOV64_IMM(BPF_REG_5, (int32_t)size));
    emit(g, BPF_CALL_HELPER(BPF_FUNC_perf_event_output));
    jump_out(g, BPF_JEQ, BPF_REG_0, 0);
    lookup_slot(g, sp->irq_map_fd, key, BPFGEN_SLOT_FAILED);
    jump_out(g, BPF_JEQ, BPF_REG_0, 0);
    emit(g, BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, 0));
    emit(g, BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1));
    emit(g, BPF_STX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, 0));
}

int bpfgen_tcp(const struct tp_prog_spec *sp, struct bpf_insn *out, unsigned cap)
{
    struct gen g = {.insn = out, .cap = cap};
    unsigned size = (sp->entry_size + 7) & ~7u;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return -1; /* the header is built little-endian: perf mode there */
#endif
    if (size <= 8 || size + 8 > 512) /* the record and the map key on the stack */
        return -1;
    int16_t rec = (int16_t)-(int)size, key = (int16_t)(-(int)size - 8);
    emit(&g, BPF_MOV64_REG(R_CTX, BPF_REG_1));
    if (sp->l->kind == TEV_STATE)
        state_filter(&g, sp->l);
    port_filter(&g, sp->l, sp->port);
    copy_record(&g, size);
    if (write_header(&g, sp, rec, key) < 0)
        return -1;
    output(&g, sp, rec, key, size);
    return finish(&g);
}

int bpfgen_irq_flag(int irq_map_fd, uint32_t value, struct bpf_insn *out, unsigned cap)
{
    struct gen g = {.insn = out, .cap = cap};
    lookup_slot(&g, irq_map_fd, -4, BPFGEN_SLOT_SOFTIRQ);
    jump_out(&g, BPF_JEQ, BPF_REG_0, 0);
    emit(&g, BPF_ST_MEM(BPF_W, BPF_REG_0, 0, (int32_t)value));
    return finish(&g);
}

const char *bpfgen_prog_name(int kind)
{
    switch (kind) {
    case TEV_STATE: return "closer_state";
    case TEV_SEND_RST: return "closer_rst_sent";
    case TEV_RECV_RST: return "closer_rst_recv";
    }
    return "closer_tcp";
}
