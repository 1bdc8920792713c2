/* SPDX-License-Identifier: MIT */
/* The generated BPF programs, run without root in a small interpreter of
 * the instructions they use, over the recorded tracepoint samples: what
 * they keep, and that what they output decodes as the original record. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "trace/bpf.h"
#include "trace/bpfdump.h"
#include "trace_samples.h"

#define OUT_MAP 7
#define IRQ_MAP 9

struct vm {
    uint64_t r[11];
    uint8_t stack[512];
    uint32_t irq_flag;     /* the per-CPU map's slot 0 */
    uint32_t failed;       /* its slot 1: outputs refused */
    bool irq_map_missing;  /* lookup returns NULL */
    bool output_fails;     /* bpf_perf_event_output returns an error */
    uint8_t out[512];
    size_t out_len;
    int outputs;
    uint64_t out_flags;
};

static uint64_t load(uint64_t addr, int sz)
{
    switch (sz) {
    case BPF_B: return *(uint8_t *)(uintptr_t)addr;
    case BPF_H: { uint16_t v; memcpy(&v, (void *)(uintptr_t)addr, 2); return v; }
    case BPF_W: { uint32_t v; memcpy(&v, (void *)(uintptr_t)addr, 4); return v; }
    default: { uint64_t v; memcpy(&v, (void *)(uintptr_t)addr, 8); return v; }
    }
}

static void store(uint64_t addr, int sz, uint64_t v)
{
    size_t n = sz == BPF_B ? 1 : sz == BPF_H ? 2 : sz == BPF_W ? 4 : 8;
    memcpy((void *)(uintptr_t)addr, &v, n); /* little-endian host */
}

static void call(struct vm *m, int32_t id)
{
    if (id == BPF_FUNC_map_lookup_elem) {
        uint64_t key = load(m->r[2], BPF_W);
        m->r[0] = m->r[1] != IRQ_MAP || m->irq_map_missing ? 0
                  : key == BPFGEN_SLOT_SOFTIRQ           ? (uint64_t)(uintptr_t)&m->irq_flag
                  : key == BPFGEN_SLOT_FAILED            ? (uint64_t)(uintptr_t)&m->failed
                                                         : 0;
    } else if (id == BPF_FUNC_perf_event_output) {
        if (m->output_fails) {
            m->r[0] = (uint64_t)-95; /* EOPNOTSUPP: the ring's event is not on this CPU */
        } else if (m->r[2] == OUT_MAP && m->r[5] <= sizeof m->out) {
            memcpy(m->out, (void *)(uintptr_t)m->r[4], m->r[5]);
            m->out_len = m->r[5];
            m->out_flags = m->r[3];
            m->outputs++;
            m->r[0] = 0;
        }
    }
    for (int i = 1; i <= 5; i++)
        m->r[i] = 0xdeadbeef; /* clobbered by the call, as in the kernel */
}

/* Returns r0 at exit, or -1 on an instruction the interpreter lacks. */
static int64_t run(struct vm *m, const struct bpf_insn *p, int n, void *ctx)
{
    memset(m->r, 0, sizeof m->r);
    m->r[1] = (uint64_t)(uintptr_t)ctx;
    m->r[10] = (uint64_t)(uintptr_t)(m->stack + sizeof m->stack);
    for (int pc = 0; pc >= 0 && pc < n; pc++) {
        const struct bpf_insn *i = &p[pc];
        uint64_t *d = &m->r[i->dst_reg], s = m->r[i->src_reg];
        int cls = BPF_CLASS(i->code), sz = BPF_SIZE(i->code);
        if (i->code == (BPF_LD | BPF_DW | BPF_IMM)) {
            *d = (uint32_t)i->imm; /* a map fd (BPF_PSEUDO_MAP_FD) */
            pc++;
        } else if (cls == BPF_LDX) {
            *d = load(s + (uint64_t)(int64_t)i->off, sz);
        } else if (cls == BPF_STX) {
            store(*d + (uint64_t)(int64_t)i->off, sz, s);
        } else if (cls == BPF_ST) {
            store(*d + (uint64_t)(int64_t)i->off, sz, (uint64_t)(int64_t)i->imm);
        } else if (i->code == (BPF_ALU64 | BPF_MOV | BPF_X)) {
            *d = s;
        } else if (i->code == (BPF_ALU64 | BPF_MOV | BPF_K)) {
            *d = (uint64_t)(int64_t)i->imm;
        } else if (i->code == (BPF_ALU | BPF_MOV | BPF_K)) {
            *d = (uint32_t)i->imm;
        } else if (i->code == (BPF_ALU64 | BPF_ADD | BPF_K)) {
            *d += (uint64_t)(int64_t)i->imm;
        } else if (i->code == (BPF_JMP | BPF_JEQ | BPF_K)) {
            if (*d == (uint64_t)(int64_t)i->imm)
                pc += i->off;
        } else if (i->code == (BPF_JMP | BPF_JNE | BPF_K)) {
            if (*d != (uint64_t)(int64_t)i->imm)
                pc += i->off;
        } else if (i->code == (BPF_JMP | BPF_JA)) {
            pc += i->off;
        } else if (i->code == (BPF_JMP | BPF_CALL)) {
            call(m, i->imm);
        } else if (i->code == (BPF_JMP | BPF_EXIT)) {
            return (int64_t)m->r[0];
        } else {
            return -1;
        }
    }
    return -1;
}

static int setup(struct tp_format f[3], struct tp_layout l[3], unsigned size[3])
{
    char err[256];
    const char *texts[3] = {fmt_set_state, fmt_send_reset, fmt_receive_reset};
    for (int k = 0; k < 3; k++) {
        if (tp_format_parse(texts[k], strlen(texts[k]), &f[k], err, sizeof err) ||
            tev_layout(&f[k], k, &l[k], err, sizeof err))
            return -1;
        size[k] = 0;
        for (unsigned i = 0; i < f[k].nfields; i++)
            if (f[k].fields[i].offset + f[k].fields[i].size > size[k])
                size[k] = f[k].fields[i].offset + f[k].fields[i].size;
    }
    return 0;
}

/* Runs kind k's program (port filter) over recorded sample i, the way the
 * kernel calls it: common fields overwritten, the softirq flag from the
 * sample's own common_flags. Returns outputs (0/1), -1 on error. */
static int run_sample(const struct tp_layout l[3], const unsigned size[3], int k, uint16_t port, size_t i,
                      struct vm *m, struct tev *want, struct tev *got)
{
    uint8_t raw[512] = {0}, ctx[512] = {0};
    size_t n = unhex(rec_samples[i].hex, raw, sizeof raw);
    if (tev_decode(&l[k], raw, n, want) < 0)
        return -2; /* another tracepoint's sample */
    memcpy(ctx, raw, n);
    memset(ctx, 0xa5, 8); /* the kernel puts its pt_regs pointer there */
    struct bpf_insn p[BPFGEN_MAX_INSNS];
    struct tp_prog_spec sp = {&l[k], size[k], port, OUT_MAP, IRQ_MAP};
    int np = bpfgen_tcp(&sp, p, BPFGEN_MAX_INSNS);
    if (np <= 0)
        return -1;
    memset(m, 0, sizeof *m);
    m->irq_flag = (raw[2] & TRACE_FLAG_SOFTIRQ) != 0;
    if (run(m, p, np, ctx) != 1)
        return -1;
    if (m->outputs && tev_decode(&l[k], m->out, m->out_len, got) < 0)
        return -1;
    return m->outputs;
}

static bool same(const struct tev *a, const struct tev *b)
{
    return a->kind == b->kind && a->skaddr == b->skaddr && a->oldstate == b->oldstate &&
           a->newstate == b->newstate && a->family == b->family && a->in_irq == b->in_irq &&
           a->lport == b->lport && a->rport == b->rport && !memcmp(a->laddr, b->laddr, 16) &&
           !memcmp(a->raddr, b->raddr, 16) && a->reason == b->reason && a->state == b->state;
}

/* The state program (no port filter) and recorded sample 1 (a SYN_SENT,
 * kept) as the kernel would hand it over. */
struct state_case {
    struct tp_format f[3];
    struct tp_layout l[3];
    unsigned size[3];
    uint8_t raw[512];
    struct bpf_insn p[BPFGEN_MAX_INSNS];
    int np;
};

static int state_case(struct state_case *c)
{
    memset(c->raw, 0, sizeof c->raw);
    if (setup(c->f, c->l, c->size) < 0)
        return -1;
    unhex(rec_samples[1].hex, c->raw, sizeof c->raw);
    struct tp_prog_spec sp = {&c->l[TEV_STATE], c->size[TEV_STATE], 0, OUT_MAP, IRQ_MAP};
    c->np = bpfgen_tcp(&sp, c->p, BPFGEN_MAX_INSNS);
    return c->np > 0 ? 0 : -1;
}

TEST(bpf_programs_keep_the_transitions_perf_mode_keeps)
{
    struct tp_format f[3];
    struct tp_layout l[3];
    unsigned size[3];
    CHECK_EQ_INT(setup(f, l, size), 0);
    int kept = 0, dropped = 0, resets = 0;
    for (size_t i = 0; i < N_REC_SAMPLES; i++)
        for (int k = 0; k < 3; k++) {
            struct vm m;
            struct tev want, got;
            int rc = run_sample(l, size, k, 0, i, &m, &want, &got);
            if (rc == -2)
                continue;
            CHECK(rc >= 0);
            bool wanted = k != TEV_STATE || want.newstate == TS_SYN_SENT || want.newstate == TS_SYN_RECV ||
                          want.newstate == TS_FIN_WAIT1 || want.newstate == TS_CLOSE ||
                          want.newstate == TS_CLOSE_WAIT || want.newstate == TS_LAST_ACK;
            CHECK_EQ_INT(rc, wanted);
            if (rc == 1) {
                /* the output decodes as the recorded sample: fields, and the
                 * softirq flag rebuilt from the per-CPU map */
                CHECK(same(&want, &got));
                CHECK_EQ_INT(m.out_len % 8, 0);
                CHECK(m.out_flags == 0xffffffffull); /* BPF_F_CURRENT_CPU */
            }
            kept += rc == 1 && k == TEV_STATE;
            dropped += rc == 0;
            resets += rc == 1 && k != TEV_STATE;
        }
    CHECK(kept >= 10);
    CHECK(dropped >= 5); /* ESTABLISHED, FIN_WAIT2 ... stay in the kernel */
    CHECK(resets >= 1);
}

TEST(bpf_port_filter_matches_either_port)
{
    struct tp_format f[3];
    struct tp_layout l[3];
    unsigned size[3];
    CHECK_EQ_INT(setup(f, l, size), 0);
    int on_port = 0, other = 0;
    for (size_t i = 0; i < N_REC_SAMPLES; i++) {
        struct vm m;
        struct tev want, got;
        if (run_sample(l, size, TEV_STATE, 7777, i, &m, &want, &got) == 1)
            on_port++;
        if (run_sample(l, size, TEV_STATE, 7778, i, &m, &want, &got) == 1)
            other++;
    }
    CHECK(on_port >= 10); /* every recorded connection is on 7777, as lport or rport */
    CHECK_EQ_INT(other, 0);
}

TEST(bpf_protocol_filter_drops_non_tcp)
{
    static struct state_case c;
    CHECK_EQ_INT(state_case(&c), 0);
    struct vm m = {0};
    CHECK_EQ_INT((int)run(&m, c.p, c.np, c.raw), 1);
    CHECK_EQ_INT(m.outputs, 1);
    c.raw[c.l[TEV_STATE].protocol.offset] = 132; /* SCTP */
    memset(&m, 0, sizeof m);
    CHECK_EQ_INT((int)run(&m, c.p, c.np, c.raw), 1);
    CHECK_EQ_INT(m.outputs, 0);
}

TEST(bpf_softirq_flag_and_missing_map_value)
{
    static struct state_case c;
    CHECK_EQ_INT(state_case(&c), 0);
    struct tev ev;
    for (int flag = 0; flag < 3; flag++) {
        struct vm m = {0};
        m.irq_flag = flag == 1;
        m.irq_map_missing = flag == 2;
        CHECK_EQ_INT((int)run(&m, c.p, c.np, c.raw), 1);
        CHECK_EQ_INT(m.outputs, 1);
        CHECK_EQ_INT(tev_decode(&c.l[TEV_STATE], m.out, m.out_len, &ev), 0);
        CHECK_EQ_INT(ev.in_irq, flag == 1);
    }
    /* the softirq programs set and clear the flag */
    for (uint32_t v = 0; v < 2; v++) {
        c.np = bpfgen_irq_flag(IRQ_MAP, v, c.p, BPFGEN_MAX_INSNS);
        CHECK(c.np > 0);
        struct vm m = {0};
        m.irq_flag = !v;
        CHECK_EQ_INT((int)run(&m, c.p, c.np, c.raw), 1);
        CHECK_EQ_INT((int)m.irq_flag, (int)v);
    }
}

TEST(bpf_refused_outputs_are_counted)
{
    static struct state_case c;
    CHECK_EQ_INT(state_case(&c), 0);
    struct vm m = {0};
    m.output_fails = true;
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT((int)run(&m, c.p, c.np, c.raw), 1);
    CHECK_EQ_INT((int)m.failed, 3);
    m.output_fails = false;
    CHECK_EQ_INT((int)run(&m, c.p, c.np, c.raw), 1);
    CHECK_EQ_INT((int)m.failed, 3); /* a delivered record is no failure */
    CHECK_EQ_INT(m.outputs, 1);
}

TEST(bpf_generator_refuses_what_the_verifier_would)
{
    struct tp_format f[3];
    struct tp_layout l[3];
    unsigned size[3];
    CHECK_EQ_INT(setup(f, l, size), 0);
    struct bpf_insn p[BPFGEN_MAX_INSNS];
    struct tp_prog_spec sp = {&l[TEV_STATE], size[TEV_STATE], 0, OUT_MAP, IRQ_MAP};
    CHECK_EQ_INT(bpfgen_tcp(&sp, p, 10), -1); /* too small a buffer */
    sp.entry_size = 600;                      /* more than the stack holds */
    CHECK_EQ_INT(bpfgen_tcp(&sp, p, BPFGEN_MAX_INSNS), -1);
    struct tp_layout odd = l[TEV_STATE];
    odd.newstate.offset = 22; /* misaligned for a 4-byte load */
    sp = (struct tp_prog_spec){&odd, size[TEV_STATE], 0, OUT_MAP, IRQ_MAP};
    CHECK_EQ_INT(bpfgen_tcp(&sp, p, BPFGEN_MAX_INSNS), -1);
}

/* Every generated program, disassembled, against tests/data/trace/bpfgen.golden:
 * a change to the generator shows as a diff of readable instructions (with
 * their raw encoding, so a rewrite is proven byte-identical). When the
 * change is meant: the test writes bpfgen.golden.new beside it; review
 * `diff -u tests/data/trace/bpfgen.golden{,.new}` and move it over. */
#define GOLDEN "tests/data/trace/bpfgen.golden"

static void dump_prog(FILE *out, const char *title, const struct bpf_insn *p, int n)
{
    fprintf(out, "== %s (%d instructions)\n", title, n);
    if (n > 0)
        bpf_dump(p, n, out);
}

static char *render_all(size_t *len)
{
    struct tp_format f[3];
    struct tp_layout l[3];
    unsigned size[3];
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    if (!out || setup(f, l, size) < 0)
        return NULL;
    static const char *const names[3] = {"sock:inet_sock_set_state", "tcp:tcp_send_reset",
                                         "tcp:tcp_receive_reset"};
    struct bpf_insn p[BPFGEN_MAX_INSNS];
    for (int k = 0; k < 3; k++)
        for (int port = 0; port <= 8080; port += 8080) {
            struct tp_prog_spec sp = {&l[k], size[k], (uint16_t)port, OUT_MAP, IRQ_MAP};
            char title[128];
            snprintf(title, sizeof title, "%s, port %d, out map fd %d, irq map fd %d", names[k], port, OUT_MAP,
                     IRQ_MAP);
            dump_prog(out, title, p, bpfgen_tcp(&sp, p, BPFGEN_MAX_INSNS));
        }
    for (uint32_t v = 1; v <= 1; v--) {
        char title[64];
        snprintf(title, sizeof title, "irq:softirq_%s, irq map fd %d", v ? "entry" : "exit", IRQ_MAP);
        dump_prog(out, title, p, bpfgen_irq_flag(IRQ_MAP, v, p, BPFGEN_MAX_INSNS));
    }
    fclose(out);
    return buf;
}

TEST(bpf_programs_match_the_golden_disassembly)
{
    size_t len = 0;
    char *got = render_all(&len);
    CHECK(got != NULL);
    char want[65536];
    FILE *f = fopen(GOLDEN, "r");
    size_t n = f ? fread(want, 1, sizeof want - 1, f) : 0;
    if (f)
        fclose(f);
    want[n] = 0;
    bool same_text = n == len && !memcmp(want, got, len);
    if (!same_text) {
        FILE *o = fopen(GOLDEN ".new", "w");
        if (o) {
            fwrite(got, 1, len, o);
            fclose(o);
        }
        fprintf(stderr, "the generated BPF programs changed: diff -u %s %s.new\n", GOLDEN, GOLDEN);
    }
    free(got);
    CHECK(same_text);
}
