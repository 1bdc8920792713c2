/* SPDX-License-Identifier: MIT */
/* perf_event_open on tracepoints: one event per (tracepoint, CPU), kernel
 * side filters, all of a CPU's events redirected into one ring buffer
 * (PERF_EVENT_IOC_SET_OUTPUT). Samples carry TID, TIME (CLOCK_MONOTONIC),
 * CPU and RAW; the CPU's first event also reports task records (comm, fork,
 * exit, namespaces on fork/setns/unshare) so pids get names and network
 * namespaces without racing /proc. Error convention: 0 ok, -1
 * with a message in err. */
#ifndef CLOSER_TRACE_PERF_H
#define CLOSER_TRACE_PERF_H
#include <stddef.h>
#include <stdint.h>

enum prec_kind { PREC_SAMPLE, PREC_COMM, PREC_FORK, PREC_EXIT, PREC_NETNS };

/* One record out of a ring, copied (raw points into a scratch buffer valid
 * until the next perf_read_ring call). */
struct prec {
    int kind;
    uint64_t time_ns;
    int32_t pid, tid, ppid, ptid;
    uint32_t cpu;
    const uint8_t *raw;
    uint32_t raw_len;
    char comm[16];
    uint64_t netns; /* PREC_NETNS: the task's network namespace inode */
};

struct perf_ring {
    int fd;
    uint8_t *base; /* metadata page, then data pages */
    size_t data_size;
};

struct perf_set {
    int ncpu;
    struct perf_ring *rings; /* one per CPU */
    int *fds;
    unsigned nfds;
    uint64_t lost; /* samples the kernel dropped (PERF_RECORD_LOST) */
    uint8_t *scratch; /* a record that wraps the ring end is copied here */
};

struct perf_tp {
    unsigned id;
    const char *filter; /* NULL: none */
    const char *name;   /* for messages */
};

/* ring_pages: data pages per CPU ring, a power of two. */
int perf_open(struct perf_set *ps, const struct perf_tp *tps, unsigned ntps, unsigned ring_pages,
              char *err, size_t errlen);
/* The BPF backend's rings: one PERF_COUNT_SW_BPF_OUTPUT event per CPU,
 * with the task records; perf_enable starts them. */
int perf_open_output(struct perf_set *ps, unsigned ring_pages, char *err, size_t errlen);
/* Attaches a BPF program to a tracepoint (a counting event kept in ps). */
int perf_attach_bpf(struct perf_set *ps, unsigned tp_id, int prog_fd, const char *name, char *err,
                    size_t errlen);
void perf_enable(struct perf_set *ps);
void perf_disable(struct perf_set *ps);
/* A perf_open set: how many events passed the kernel filters, summed over
 * its events (all sampling ones), counted even when the kernel then fails
 * to sample them. */
uint64_t perf_counted(const struct perf_set *ps);
/* Calls fn for every record waiting in CPU cpu's ring (none for a CPU
 * without one); returns the count. */
size_t perf_read_ring(struct perf_set *ps, int cpu, void (*fn)(void *ctx, const struct prec *r), void *ctx);
/* Waits up to timeout_ms for a ring to pass its watermark. -1 on EINTR. */
int perf_wait(struct perf_set *ps, int timeout_ms);
void perf_close(struct perf_set *ps);

#endif
