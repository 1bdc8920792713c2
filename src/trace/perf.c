/* SPDX-License-Identifier: MIT */
#include "trace/perf.h"
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SCRATCH_SIZE 65536 /* a perf record's size field is 16 bits */

static int sys_perf_event_open(struct perf_event_attr *a, int cpu, int group)
{
    return (int)syscall(SYS_perf_event_open, a, -1, cpu, group, PERF_FLAG_FD_CLOEXEC);
}

static int paranoid_level(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
    int v = 2;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = 2;
        fclose(f);
    }
    return v;
}

static void open_error(const struct perf_tp *tp, int cpu, int e, char *err, size_t errlen)
{
    if (e == EACCES || e == EPERM)
        snprintf(err, errlen,
                 "perf_event_open(%s): %s: closer trace needs root or CAP_PERFMON "
                 "(kernel.perf_event_paranoid is %d)", tp->name, strerror(e), paranoid_level());
    else if (e == ENOENT || e == EINVAL)
        snprintf(err, errlen, "perf_event_open(%s): %s: this kernel cannot sample the tracepoint",
                 tp->name, strerror(e));
    else if (e == EMFILE || e == ENFILE)
        snprintf(err, errlen, "perf_event_open(%s, cpu %d): out of file descriptors (%s)", tp->name,
                 cpu, strerror(e));
    else
        snprintf(err, errlen, "perf_event_open(%s, cpu %d): %s", tp->name, cpu, strerror(e));
}

static int add_fd(struct perf_set *ps, int fd)
{
    int *nf = realloc(ps->fds, (ps->nfds + 1) * sizeof *nf);
    if (!nf)
        return -1;
    ps->fds = nf;
    ps->fds[ps->nfds++] = fd;
    return 0;
}

/* The attributes every event that owns a ring shares: TID, TIME
 * (CLOCK_MONOTONIC), CPU and RAW, the task records, an early wake-up. */
static void ring_attr(struct perf_event_attr *a, unsigned pages)
{
    long pagesz = sysconf(_SC_PAGESIZE);
    a->sample_period = 1;
    a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_RAW;
    a->use_clockid = 1;
    a->clockid = CLOCK_MONOTONIC;
    a->disabled = 1;
    a->watermark = 1;
    /* wake early: a reader starved on a busy machine still has 7/8 left */
    a->wakeup_watermark = (uint32_t)(pages * (size_t)pagesz / 8);
    a->comm = 1;
    a->task = 1;
    a->namespaces = 1;
    a->sample_id_all = 1;
}

static int map_ring(struct perf_set *ps, int cpu, int fd, unsigned pages, char *err, size_t errlen)
{
    long pagesz = sysconf(_SC_PAGESIZE);
    struct perf_ring *ring = &ps->rings[cpu];
    size_t len = (size_t)(pages + 1) * (size_t)pagesz;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "mmap of the perf ring (%zu KiB, cpu %d): %s%s", len / 1024, cpu,
                 strerror(errno), errno == EPERM ? " (kernel.perf_event_mlock_kb?)" : "");
        return -1;
    }
    ring->fd = fd;
    ring->base = m;
    ring->data_size = (size_t)pages * (size_t)pagesz;
    return 0;
}

struct tp_list {
    const struct perf_tp *tps;
    unsigned n;
};

/* The tracepoints sampled on one CPU, into its ring. 0, 1 for an offline
 * CPU, -1 with err. */
static int open_cpu_tracepoints(struct perf_set *ps, int cpu, const void *arg, unsigned pages, char *err,
                                size_t errlen)
{
    const struct perf_tp *tps = ((const struct tp_list *)arg)->tps;
    unsigned ntps = ((const struct tp_list *)arg)->n;
    struct perf_ring *ring = &ps->rings[cpu];
    for (unsigned i = 0; i < ntps; i++) {
        struct perf_event_attr a = {0};
        a.size = sizeof a;
        a.type = PERF_TYPE_TRACEPOINT;
        a.config = tps[i].id;
        ring_attr(&a, pages);
        if (i > 0)
            a.comm = a.task = a.namespaces = 0; /* once per CPU */
        int fd = sys_perf_event_open(&a, cpu, -1);
        if (fd < 0) {
            int e = errno;
            if (e == ENODEV && i == 0)
                return 1; /* offline CPU */
            open_error(&tps[i], cpu, e, err, errlen);
            return -1;
        }
        if (add_fd(ps, fd) < 0) {
            close(fd);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (tps[i].filter && ioctl(fd, PERF_EVENT_IOC_SET_FILTER, tps[i].filter) < 0) {
            snprintf(err, errlen, "kernel rejected the filter of %s (%s): \"%s\"", tps[i].name,
                     strerror(errno), tps[i].filter);
            return -1;
        }
        if (i == 0) {
            if (map_ring(ps, cpu, fd, pages, err, errlen) < 0)
                return -1;
        } else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring->fd) < 0) {
            snprintf(err, errlen, "PERF_EVENT_IOC_SET_OUTPUT (%s, cpu %d): %s", tps[i].name, cpu,
                     strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int alloc_set(struct perf_set *ps, char *err, size_t errlen)
{
    memset(ps, 0, sizeof *ps);
    long n = sysconf(_SC_NPROCESSORS_CONF);
    ps->ncpu = n > 0 ? (int)n : 1;
    ps->rings = calloc((size_t)ps->ncpu, sizeof *ps->rings);
    ps->scratch = malloc(SCRATCH_SIZE);
    if (!ps->rings || !ps->scratch) {
        snprintf(err, errlen, "out of memory");
        perf_close(ps);
        return -1;
    }
    for (int cpu = 0; cpu < ps->ncpu; cpu++)
        ps->rings[cpu].fd = -1;
    return 0;
}

/* One CPU's BPF output event and its ring. 0, 1 offline, -1 with err. */
static int open_cpu_output(struct perf_set *ps, int cpu, const void *arg, unsigned pages, char *err,
                           size_t errlen)
{
    (void)arg;
    struct perf_event_attr a = {0};
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_BPF_OUTPUT;
    ring_attr(&a, pages);
    int fd = sys_perf_event_open(&a, cpu, -1);
    if (fd < 0 && errno == ENODEV)
        return 1;
    if (fd < 0) {
        snprintf(err, errlen, "perf_event_open(bpf-output, cpu %d): %s", cpu, strerror(errno));
        return -1;
    }
    if (add_fd(ps, fd) < 0) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return map_ring(ps, cpu, fd, pages, err, errlen);
}

/* A ring per online CPU, opened by fn; on failure ps is left empty. */
typedef int (*cpu_opener)(struct perf_set *ps, int cpu, const void *arg, unsigned pages, char *err,
                          size_t errlen);

static int open_each_cpu(struct perf_set *ps, cpu_opener fn, const void *arg, unsigned pages, char *err,
                         size_t errlen)
{
    if (alloc_set(ps, err, errlen) < 0)
        return -1;
    int opened = 0;
    for (int cpu = 0; cpu < ps->ncpu; cpu++) {
        int rc = fn(ps, cpu, arg, pages, err, errlen);
        if (rc < 0) {
            perf_close(ps);
            return -1;
        }
        opened += rc == 0;
    }
    if (!opened) {
        snprintf(err, errlen, "perf_event_open: no online CPU accepted the events");
        perf_close(ps);
        return -1;
    }
    return 0;
}

int perf_open_output(struct perf_set *ps, unsigned ring_pages, char *err, size_t errlen)
{
    return open_each_cpu(ps, open_cpu_output, NULL, ring_pages, err, errlen);
}

int perf_attach_bpf(struct perf_set *ps, unsigned tp_id, int prog_fd, const char *name, char *err,
                    size_t errlen)
{
    int cpu = 0;
    while (cpu < ps->ncpu && !ps->rings[cpu].base)
        cpu++;
    /* A counting event on one CPU: the program runs wherever the
     * tracepoint fires (it hangs off the tracepoint, not the event). */
    struct perf_event_attr a = {0};
    a.size = sizeof a;
    a.type = PERF_TYPE_TRACEPOINT;
    a.config = tp_id;
    a.disabled = 1;
    int fd = sys_perf_event_open(&a, cpu < ps->ncpu ? cpu : 0, -1);
    if (fd < 0) {
        struct perf_tp tp = {tp_id, NULL, name};
        open_error(&tp, cpu, errno, err, errlen);
        return -1;
    }
    if (add_fd(ps, fd) < 0) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0) {
        snprintf(err, errlen, "attaching the BPF program to %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

void perf_enable(struct perf_set *ps)
{
    for (unsigned i = 0; i < ps->nfds; i++)
        ioctl(ps->fds[i], PERF_EVENT_IOC_ENABLE, 0);
}

void perf_disable(struct perf_set *ps)
{
    for (unsigned i = 0; i < ps->nfds; i++)
        ioctl(ps->fds[i], PERF_EVENT_IOC_DISABLE, 0);
}

uint64_t perf_counted(const struct perf_set *ps)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < ps->nfds; i++) {
        uint64_t v;
        if (read(ps->fds[i], &v, sizeof v) == (ssize_t)sizeof v)
            n += v;
    }
    return n;
}

int perf_open(struct perf_set *ps, const struct perf_tp *tps, unsigned ntps, unsigned ring_pages,
              char *err, size_t errlen)
{
    struct tp_list list = {tps, ntps};
    if (open_each_cpu(ps, open_cpu_tracepoints, &list, ring_pages, err, errlen) < 0)
        return -1;
    perf_enable(ps);
    return 0;
}

/* sample_id trailer of non-sample records: {pid,tid} {time} {cpu,res}. */
static void trailer(const uint8_t *rec, uint16_t size, struct prec *r)
{
    if (size < sizeof(struct perf_event_header) + 24)
        return;
    const uint8_t *t = rec + size - 24;
    memcpy(&r->time_ns, t + 8, 8);
    memcpy(&r->cpu, t + 16, 4);
}

static void dispatch(struct perf_set *ps, const uint8_t *rec, uint16_t size,
                     void (*fn)(void *, const struct prec *), void *ctx)
{
    struct perf_event_header h;
    memcpy(&h, rec, sizeof h);
    const uint8_t *p = rec + sizeof h;
    size_t body = size - sizeof h;
    struct prec r = {0};
    switch (h.type) {
    case PERF_RECORD_SAMPLE:
        if (body < 28)
            return;
        r.kind = PREC_SAMPLE;
        memcpy(&r.pid, p, 4);
        memcpy(&r.tid, p + 4, 4);
        memcpy(&r.time_ns, p + 8, 8);
        memcpy(&r.cpu, p + 16, 4);
        memcpy(&r.raw_len, p + 24, 4);
        if (r.raw_len > body - 28)
            return;
        r.raw = p + 28;
        fn(ctx, &r);
        return;
    case PERF_RECORD_LOST: {
        uint64_t lost;
        if (body < 16)
            return;
        memcpy(&lost, p + 8, 8);
        ps->lost += lost;
        return;
    }
    case PERF_RECORD_COMM:
        if (body < 8 + 24)
            return;
        r.kind = PREC_COMM;
        memcpy(&r.pid, p, 4);
        memcpy(&r.tid, p + 4, 4);
        size_t n = body - 8 - 24;
        if (n > sizeof r.comm - 1)
            n = sizeof r.comm - 1;
        memcpy(r.comm, p + 8, n);
        r.comm[n] = 0;
        trailer(rec, size, &r);
        fn(ctx, &r);
        return;
    case PERF_RECORD_NAMESPACES: {
        uint64_t nr;
        /* {pid, tid, nr, {dev, inode}[nr]}: index 0 is NET_NS_INDEX */
        if (body < 16 + 16 + 24)
            return;
        memcpy(&nr, p + 8, 8);
        if (nr < 1 || 16 + nr * 16 > body)
            return;
        r.kind = PREC_NETNS;
        memcpy(&r.pid, p, 4);
        memcpy(&r.tid, p + 4, 4);
        memcpy(&r.netns, p + 16 + 8, 8);
        trailer(rec, size, &r);
        fn(ctx, &r);
        return;
    }
    case PERF_RECORD_FORK:
    case PERF_RECORD_EXIT:
        if (body < 24)
            return;
        r.kind = h.type == PERF_RECORD_FORK ? PREC_FORK : PREC_EXIT;
        memcpy(&r.pid, p, 4);
        memcpy(&r.ppid, p + 4, 4);
        memcpy(&r.tid, p + 8, 4);
        memcpy(&r.ptid, p + 12, 4);
        trailer(rec, size, &r);
        fn(ctx, &r);
        return;
    }
}

size_t perf_read_ring(struct perf_set *ps, int cpu, void (*fn)(void *ctx, const struct prec *r), void *ctx)
{
    long pagesz = sysconf(_SC_PAGESIZE);
    size_t count = 0;
    if (cpu < 0 || cpu >= ps->ncpu || !ps->rings[cpu].base)
        return 0;
    struct perf_ring *ring = &ps->rings[cpu];
    struct perf_event_mmap_page *meta = (void *)ring->base;
    uint8_t *data = ring->base + pagesz;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    while (tail + sizeof(struct perf_event_header) <= head) {
        size_t off = (size_t)(tail % ring->data_size);
        struct perf_event_header h;
        if (off + sizeof h <= ring->data_size) {
            memcpy(&h, data + off, sizeof h);
        } else {
            size_t first = ring->data_size - off;
            memcpy(&h, data + off, first);
            memcpy((uint8_t *)&h + first, data, sizeof h - first);
        }
        if (h.size < sizeof h || tail + h.size > head)
            break;
        const uint8_t *rec = data + off;
        if (off + h.size > ring->data_size) {
            size_t first = ring->data_size - off;
            memcpy(ps->scratch, data + off, first);
            memcpy(ps->scratch + first, data, h.size - first);
            rec = ps->scratch;
        }
        dispatch(ps, rec, h.size, fn, ctx);
        tail += h.size;
        count++;
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
    return count;
}

int perf_wait(struct perf_set *ps, int timeout_ms)
{
    struct pollfd pfd[256];
    int n = 0;
    for (int cpu = 0; cpu < ps->ncpu && n < 256; cpu++)
        if (ps->rings[cpu].base)
            pfd[n++] = (struct pollfd){.fd = ps->rings[cpu].fd, .events = POLLIN};
    return poll(pfd, (nfds_t)n, timeout_ms) < 0 ? -1 : 0;
}

void perf_close(struct perf_set *ps)
{
    long pagesz = sysconf(_SC_PAGESIZE);
    for (int cpu = 0; ps->rings && cpu < ps->ncpu; cpu++)
        if (ps->rings[cpu].base)
            munmap(ps->rings[cpu].base, ps->rings[cpu].data_size + (size_t)pagesz);
    for (unsigned i = 0; i < ps->nfds; i++)
        close(ps->fds[i]);
    free(ps->fds);
    free(ps->rings);
    free(ps->scratch);
    memset(ps, 0, sizeof *ps);
}
