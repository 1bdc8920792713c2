/* SPDX-License-Identifier: MIT */
/* A tracing session: tracefs formats, perf rings on the TCP tracepoints,
 * the connection tracker, filters and the summary. trace/live.c prints its
 * records; doctor and exporter read its summary. Error convention: 0 ok,
 * -1 with a message in err. */
#ifndef CLOSER_TRACE_SESSION_H
#define CLOSER_TRACE_SESSION_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trace/bpf.h"
#include "trace/decode.h"
#include "trace/merge.h"
#include "trace/nsnames.h"
#include "trace/pcache.h"
#include "trace/reconcile.h"
#include "trace/perf.h"
#include "trace/summary.h"
#include "trace/track.h"

/* How events leave the kernel: BPF programs that copy each record into
 * the rings (complete), or perf sampling of the tracepoints (no BPF needed;
 * misses events in softirq on an idle CPU on some kernels, counted as
 * lost). auto: BPF when the kernel lets closer load it, else perf. */
enum trace_backend { TRACE_BACKEND_AUTO, TRACE_BACKEND_BPF, TRACE_BACKEND_PERF };

struct trace_opts {
    uint16_t port;          /* local or peer port; 0 any */
    int32_t pid;            /* closing or connecting process; 0 any */
    const char *netns;      /* NAME (/run/netns), a path, or pid:PID; NULL: closer's own */
    bool all_netns;
    const char *tracefs;    /* NULL: find one, or mount a private one */
    unsigned ring_pages;    /* per CPU, power of two */
    size_t max_conns;       /* open connections tracked at once */
    bool no_summary;        /* records go to the sink only (a long-running exporter) */
    int backend;            /* enum trace_backend */
};

struct trace_session;
typedef void (*trace_sink)(void *ctx, const struct trace_rec *r);

struct trace_session {
    struct trace_opts o;
    struct tp_format fmt[TEV_KINDS];
    struct tp_layout layout[TEV_KINDS];
    bool have[TEV_KINDS];
    unsigned entry_size[TEV_KINDS];
    unsigned softirq_ids[2]; /* irq:softirq_entry, irq:softirq_exit; 0 absent */
    int backend;            /* TRACE_BACKEND_BPF or _PERF once open */
    char backend_note[256]; /* auto fell back to perf: why */
    struct bpf_tracer bpf;
    struct perf_set perf;
    /* perf backend: samples received, against the kernel's counts of the
     * same events (perf_counted) */
    uint64_t received;
    uint64_t undelivered;   /* perf: counted by the kernel, never sampled;
                             * bpf: programs skipped (bpf_tracer_misses) */
    uint64_t bpf_failed;    /* bpf: outputs refused, the ring full */
    uint64_t end_unseen;    /* records ended by reconciliation (sock_diag) */
    /* the traced namespaces' socket tables (trace/reconcile.h) */
    struct recon_ns { char path[320]; struct recon_set set; bool needed; } *rns; /* path "": closer's own */
    size_t nrns;
    uint64_t recon_at;      /* the pending dump's time; 0 none */
    uint64_t recon_next;    /* the next periodic dump */
    uint64_t last_count_ns;
    struct pcache pc;
    struct tracker tr;
    struct summary sum;
    uint64_t netns;         /* inode to keep; 0 all */
    struct nsnames *names;  /* /run/netns, read again for inodes met later */
    uint8_t (*addrs)[17];   /* the namespace's own non-loopback addresses: family, 16 bytes */
    size_t naddrs;
    uint64_t mono_to_real_ns, start_ns;
    trace_sink sink;
    void *sink_ctx;
    struct merge mg;        /* the rings' records in time order */
    uint64_t reported_lost;
};

int trace_open(struct trace_session *s, const struct trace_opts *o, trace_sink sink, void *ctx,
               char *err, size_t errlen);
/* trace_open's last step, over formats and rings already open: the
 * process cache, the tracker, the merge, the summary and the clocks.
 * Separate so the unit tests run a session on rings built in memory. */
int trace_start(struct trace_session *s, char *err, size_t errlen);
/* Waits up to timeout_ms, then reads and decodes every ring and hands the
 * connections that ended to the sink. */
void trace_step(struct trace_session *s, int timeout_ms);
/* Events lost in all: rings full, programs skipped (bpf), events the
 * kernel counted but did not sample (perf). */
uint64_t trace_lost(const struct trace_session *s);
/* The same by cause, with the misordered events and the connections whose
 * end was not seen. */
void trace_losses(const struct trace_session *s, struct trace_losses *w);
const char *trace_backend_name(const struct trace_session *s);
/* Emits what is still pending and counts connections left in CLOSE_WAIT. */
void trace_finish(struct trace_session *s);
void trace_close(struct trace_session *s);
uint64_t trace_now_ns(void);
/* "namespace NAME", "all namespaces" ... */
void trace_scope(const struct trace_session *s, char *buf, size_t len);
/* The `ip netns` name of a namespace inode, or NULL. */
const char *trace_netns_name(const struct trace_session *s, uint64_t ino);
/* Is r's local address one of the traced namespace's (session_recon.c)? */
bool trace_own_addr(const struct trace_session *s, const struct trace_rec *r);
/* A record's namespace: its own, or the traced one by its local address; 0 unknown. */
uint64_t trace_rec_netns(const struct trace_session *s, const struct trace_rec *r);
/* The reconciliation (trace/reconcile.h): the namespaces' list, a dump of
 * their tables, its application once the rings are read past it, and the
 * periodic step; trace_recon_set: a namespace's last complete dump or NULL. */
int trace_recon_init(struct trace_session *s, const char *nspath);
void trace_recon_take(struct trace_session *s);
void trace_recon_apply(struct trace_session *s);
void trace_recon_step(struct trace_session *s);
const struct recon_set *trace_recon_set(const struct trace_session *s, uint64_t ino);
/* ISO time of a record's monotonic timestamp. */
void trace_fmt_time(const struct trace_session *s, uint64_t mono_ns, char *buf, size_t len, bool iso);

#endif
