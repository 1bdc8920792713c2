/* SPDX-License-Identifier: MIT */
/* Loading and attaching closer trace's BPF programs (trace/bpf.h) with the
 * bpf() system call alone. */
#include "trace/bpf.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/* Names (bpftool prog list / map list): at most BPF_OBJ_NAME_LEN - 1
 * characters of [A-Za-z0-9_.]. Kernels before 4.15 have no names; this
 * backend needs 4.16 (sock:inet_sock_set_state) anyway. */
static void set_name(char *dst, const char *name)
{
    snprintf(dst, BPF_OBJ_NAME_LEN, "%s", name);
}

static int map_create(unsigned type, unsigned value_size, unsigned entries, const char *name)
{
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    set_name(a.map_name, name);
    a.map_type = type;
    a.key_size = 4;
    a.value_size = value_size;
    a.max_entries = entries;
    return sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_set(int map, uint32_t key, uint32_t value)
{
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_fd = (uint32_t)map;
    a.key = (uint64_t)(uintptr_t)&key;
    a.value = (uint64_t)(uintptr_t)&value;
    return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

/* The verifier's last complaint: the line before its summary. */
static void verifier_reason(const char *log, char *out, size_t len)
{
    const char *end = log + strlen(log), *line = log;
    while (end > log && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    for (const char *p = log; p < end; p++)
        if (*p == '\n' && strncmp(p + 1, "processed ", 10) && strncmp(p + 1, "verification time", 17))
            line = p + 1;
    int n = (int)(end - line);
    const char *nl = memchr(line, '\n', (size_t)n);
    if (nl)
        n = (int)(nl - line);
    snprintf(out, len, "%.*s", n > 200 ? 200 : n, line);
}

/* prog_name: the kernel's name of the program; name: the tracepoint's,
 * for messages. */
static int prog_load(const struct bpf_insn *insns, int n, const char *prog_name, const char *name, char *err,
                     size_t errlen)
{
    static const char license[] = "Dual MIT/GPL"; /* bpf_perf_event_output is GPL-only */
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    set_name(a.prog_name, prog_name);
    a.prog_type = BPF_PROG_TYPE_TRACEPOINT;
    a.insns = (uint64_t)(uintptr_t)insns;
    a.insn_cnt = (uint32_t)n;
    a.license = (uint64_t)(uintptr_t)license;
    int fd = sys_bpf(BPF_PROG_LOAD, &a);
    if (fd >= 0)
        return fd;
    int e = errno;
    char log[8192] = "";
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = sizeof log;
    a.log_level = 1;
    fd = sys_bpf(BPF_PROG_LOAD, &a);
    if (fd >= 0)
        return fd; /* loaded the second time: keep it */
    char why[220] = "";
    verifier_reason(log, why, sizeof why);
    snprintf(err, errlen, "loading the BPF program of %s: %s%s%s", name, strerror(e), why[0] ? ": " : "",
             why);
    return -1;
}

static int add_prog(struct bpf_tracer *bt, const struct bpf_insn *insns, int n, const char *prog_name,
                    const char *name, char *err, size_t errlen)
{
    if (n < 0) {
        snprintf(err, errlen, "%s: its record cannot be read by a BPF program", name);
        return -1;
    }
    if (bt->nprogs == sizeof bt->progs / sizeof bt->progs[0]) {
        snprintf(err, errlen, "too many BPF programs");
        return -1;
    }
    int fd = prog_load(insns, n, prog_name, name, err, errlen);
    if (fd < 0)
        return -1;
    bt->progs[bt->nprogs++] = fd;
    return fd;
}

static int open_maps(struct bpf_tracer *bt, struct perf_set *ps, char *err, size_t errlen)
{
    bt->out_map = map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, (unsigned)ps->ncpu, "closer_rings");
    bt->irq_map = map_create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 2, "closer_percpu");
    if (bt->out_map < 0 || bt->irq_map < 0) {
        snprintf(err, errlen, "bpf(BPF_MAP_CREATE): %s%s", strerror(errno),
                 errno == EPERM ? " (needs root, or CAP_BPF with CAP_PERFMON)" : "");
        return -1;
    }
    for (int cpu = 0; cpu < ps->ncpu; cpu++)
        if (ps->rings[cpu].base && map_set(bt->out_map, (uint32_t)cpu, (uint32_t)ps->rings[cpu].fd) < 0) {
            snprintf(err, errlen, "bpf(BPF_MAP_UPDATE_ELEM, cpu %d): %s", cpu, strerror(errno));
            return -1;
        }
    return 0;
}

static int load_and_attach(struct bpf_tracer *bt, struct perf_set *ps, const struct bpf_tp *tps,
                           unsigned ntps, const unsigned softirq_ids[2], uint16_t port, char *err,
                           size_t errlen)
{
    struct bpf_insn insns[BPFGEN_MAX_INSNS];
    static const char *const irq_names[2] = {"irq:softirq_entry", "irq:softirq_exit"};
    static const char *const irq_progs[2] = {"closer_irq_in", "closer_irq_out"};
    /* the softirq flag first, so no TCP event sees it unset mid-softirq
     * once tracing starts (perf_enable turns everything on together) */
    for (int k = 0; k < 2; k++) {
        int n = bpfgen_irq_flag(bt->irq_map, k == 0, insns, BPFGEN_MAX_INSNS);
        int fd = add_prog(bt, insns, n, irq_progs[k], irq_names[k], err, errlen);
        if (fd < 0 || perf_attach_bpf(ps, softirq_ids[k], fd, irq_names[k], err, errlen) < 0)
            return -1;
    }
    bt->first_tcp = bt->nprogs;
    for (unsigned i = 0; i < ntps; i++) {
        struct tp_prog_spec sp = {tps[i].l, tps[i].entry_size, port, bt->out_map, bt->irq_map};
        int n = bpfgen_tcp(&sp, insns, BPFGEN_MAX_INSNS);
        int fd = add_prog(bt, insns, n, bpfgen_prog_name(tps[i].l->kind), tps[i].name, err, errlen);
        if (fd < 0 || perf_attach_bpf(ps, tps[i].id, fd, tps[i].name, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int bpf_tracer_open(struct bpf_tracer *bt, struct perf_set *ps, const struct bpf_tp *tps, unsigned ntps,
                    const unsigned softirq_ids[2], uint16_t port, unsigned ring_pages, char *err,
                    size_t errlen)
{
    memset(bt, 0, sizeof *bt);
    bt->out_map = bt->irq_map = -1;
    if (perf_open_output(ps, ring_pages, err, errlen) < 0)
        return -1;
    if (open_maps(bt, ps, err, errlen) < 0 ||
        load_and_attach(bt, ps, tps, ntps, softirq_ids, port, err, errlen) < 0) {
        perf_close(ps);
        bpf_tracer_close(bt);
        return -1;
    }
    perf_enable(ps);
    return 0;
}

/* A per-CPU map's lookup fills one slot per possible CPU (the kernel's
 * cpu_possible_mask, "0-N" in sysfs), which can exceed the configured. */
static long possible_cpus(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
    long last = -1;
    char line[256];
    if (f && fgets(line, sizeof line, f)) {
        char *p = strrchr(line, '-'), *q = strrchr(line, ',');
        const char *tail = p && (!q || p > q) ? p + 1 : q ? q + 1 : line;
        last = strtol(tail, NULL, 10);
    }
    if (f)
        fclose(f);
    long conf = sysconf(_SC_NPROCESSORS_CONF);
    return last + 1 > conf ? last + 1 : conf;
}

void bpf_tracer_misses(const struct bpf_tracer *bt, uint64_t *skipped, uint64_t *failed)
{
    uint64_t n = 0, f = 0;
    for (unsigned i = bt->first_tcp; i < bt->nprogs; i++) {
        struct bpf_prog_info info;
        union bpf_attr a;
        memset(&info, 0, sizeof info);
        memset(&a, 0, sizeof a);
        a.info.bpf_fd = (uint32_t)bt->progs[i];
        a.info.info_len = sizeof info;
        a.info.info = (uint64_t)(uintptr_t)&info;
        if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0)
            n += info.recursion_misses;
    }
    /* outputs that failed: one u32 per CPU, each in an 8-byte slot */
    long ncpu = possible_cpus();
    uint64_t *per = ncpu > 0 ? calloc((size_t)ncpu, 8) : NULL;
    uint32_t key = BPFGEN_SLOT_FAILED;
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_fd = (uint32_t)bt->irq_map;
    a.key = (uint64_t)(uintptr_t)&key;
    a.value = (uint64_t)(uintptr_t)per;
    if (per && sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) == 0)
        for (long c = 0; c < ncpu; c++)
            f += (uint32_t)per[c];
    free(per);
    *skipped = n;
    *failed = f;
}

void bpf_tracer_close(struct bpf_tracer *bt)
{
    for (unsigned i = 0; i < bt->nprogs; i++)
        close(bt->progs[i]);
    if (bt->out_map >= 0)
        close(bt->out_map);
    if (bt->irq_map >= 0)
        close(bt->irq_map);
    memset(bt, 0, sizeof *bt);
    bt->out_map = bt->irq_map = -1;
}
