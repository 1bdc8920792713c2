/* SPDX-License-Identifier: MIT */
/* Aggregates of finished connections: per service port (with role) and per
 * closing process: closes by side, TIME_WAIT side, RSTs by reason, and the
 * close-after-FIN latency (CLOSE_WAIT -> LAST_ACK) with exact percentiles. */
#ifndef CLOSER_TRACE_SUMMARY_H
#define CLOSER_TRACE_SUMMARY_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trace/track.h"
#include "trace/tracefs.h"

#define SUM_REASONS 64 /* sk_rst_reason values kept by number; more go to the last */
#define SUM_MAX_GROUPS 4096

/* Close-after-FIN times in microseconds: every value up to LAT_KEEP, then a
 * uniform reservoir of LAT_KEEP (Vitter's algorithm R), so a trace of hours
 * stays within 4 MiB per group; count and max stay exact. */
#define LAT_KEEP (1u << 20)
struct lat {
    uint32_t *us;
    size_t n, cap;
    uint64_t seen, rng;
    uint32_t max;
};

struct sgroup {
    uint64_t key;
    int32_t pid;      /* process groups */
    char comm[16];
    uint16_t port;    /* port groups */
    uint8_t role;
    uint64_t closes, by_first[5], tw_local, tw_peer, rst_sent, rst_received;
    uint64_t reasons[SUM_REASONS];
    struct lat close_after_fin;
};

struct sgroups {
    struct sgroup *g;
    size_t n, cap;
    uint32_t *index; /* open addressing over keys, 2 * SUM_MAX_GROUPS slots */
    uint64_t overflow;
};

struct summary {
    struct sgroups ports, procs, port_procs; /* port_procs: (role, port, process) */
    uint64_t closes, by_first[5], rst_nosock, nosock_reasons[SUM_REASONS];
    /* resets a minisock sent after its connection's CLOSE (tracker's
     * after_close_rst), also in their groups' rst_sent */
    uint64_t rst_after_close, after_close_reasons[SUM_REASONS];
    uint64_t unattributed; /* filtered out: no namespace known */
    uint64_t close_wait_open, close_wait_oldest_ns;
    const struct tp_format *rst_format; /* reason names; may be NULL */
};

void summary_init(struct summary *s, const struct tp_format *rst_format);
void summary_add(struct summary *s, const struct trace_rec *r);
void summary_nosock_rst(struct summary *s, int32_t reason);
void summary_after_close_rst(struct summary *s, const struct trace_rec *r);
void summary_free(struct summary *s);
/* Sorts the groups by closes and the latencies (before reading them). */
void summary_sort(struct summary *s);
/* Nearest-rank percentile (0..100] of sorted close-after-FIN times, us. */
uint32_t summary_pct(const struct lat *l, double p);

const char *trace_first_name(int first);
const char *trace_role_name(int role);
/* "NAME" from the kernel's table, or "reason N". buf for the latter. */
const char *trace_reason_name(const struct tp_format *f, int32_t reason, char *buf, size_t len);
/* 123us, 12.3ms, 1.23s */
void trace_fmt_dur(char *buf, size_t len, uint64_t ns);

/* What a trace missed, by cause: a summary never undercounts silently. */
struct trace_losses {
    uint64_t ring_full;   /* records a full ring had no room for (--buffer) */
    uint64_t skipped;     /* bpf: programs the kernel did not run, another BPF
                           * program (any tool's) being active on the CPU */
    uint64_t not_sampled; /* perf: events the kernel counted, never sampled */
    uint64_t misordered;  /* emitted behind a later event (trace/merge.h) */
    uint64_t end_unseen;  /* connections gone from the socket table whose end
                           * no event showed (reconciled, sock_diag) */
};

struct summary_meta {
    double seconds;
    uint64_t lost, events, dropped_full, rst_unmatched;
    const char *scope; /* "namespace X", "all namespaces" */
    const char *backend; /* "bpf", "perf"; NULL: not said */
    struct trace_losses why; /* lost = ring_full + skipped + not_sampled */
};
void summary_print_text(struct summary *s, const struct summary_meta *m, FILE *out);
void summary_print_json(struct summary *s, const struct summary_meta *m, FILE *out);

#endif
