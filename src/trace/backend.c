/* SPDX-License-Identifier: MIT */
/* How events leave the kernel (trace/backend.h): BPF programs, or perf
 * sampling with the kernel's own counts to find what it skipped. */
#include "trace/backend.h"
#include <string.h>

const struct trace_tp trace_tps[TEV_KINDS] = {
    [TEV_STATE] = {"sock", "inet_sock_set_state", true},
    [TEV_SEND_RST] = {"tcp", "tcp_send_reset", false},
    [TEV_RECV_RST] = {"tcp", "tcp_receive_reset", false},
};

static char *filter_for(int kind, uint16_t port, char *buf, size_t len)
{
    char portf[64] = "";
    if (port)
        snprintf(portf, sizeof portf, " && (sport == %u || dport == %u)", port, port);
    if (kind == TEV_STATE) {
        /* Only the transitions the records need: ESTABLISHED, FIN_WAIT2,
         * CLOSING and LISTEN stay in the kernel (a third of the events). */
        snprintf(buf, len, "protocol == 6 && (newstate == 2 || newstate == 3 || newstate == 4 || "
                           "newstate == 7 || newstate == 8 || newstate == 9)%s", portf);
        return buf;
    }
    if (kind == TEV_RECV_RST && port) {
        snprintf(buf, len, "%s", portf + 4);
        return buf;
    }
    return NULL;
}

static int open_bpf(struct trace_session *s, char *err, size_t errlen)
{
    if (!s->softirq_ids[0] || !s->softirq_ids[1]) {
        snprintf(err, errlen, "this kernel has no irq:softirq_entry/exit tracepoints");
        return -1;
    }
    struct bpf_tp tps[TEV_KINDS];
    unsigned n = 0;
    for (int k = 0; k < TEV_KINDS; k++)
        if (s->have[k])
            tps[n++] = (struct bpf_tp){s->fmt[k].id, &s->layout[k], s->entry_size[k], trace_tps[k].event};
    return bpf_tracer_open(&s->bpf, &s->perf, tps, n, s->softirq_ids, s->o.port, s->o.ring_pages, err, errlen);
}

static int open_perf(struct trace_session *s, char *err, size_t errlen)
{
    struct perf_tp tps[TEV_KINDS];
    char filters[TEV_KINDS][256];
    unsigned n = 0;
    for (int k = 0; k < TEV_KINDS; k++)
        if (s->have[k])
            tps[n++] = (struct perf_tp){s->fmt[k].id, filter_for(k, s->o.port, filters[k], sizeof filters[k]),
                                        trace_tps[k].event};
    return perf_open(&s->perf, tps, n, s->o.ring_pages, err, errlen);
}

int trace_backend_open(struct trace_session *s, char *err, size_t errlen)
{
    if (s->o.backend != TRACE_BACKEND_PERF) {
        char why[256];
        if (open_bpf(s, why, sizeof why) == 0) {
            s->backend = TRACE_BACKEND_BPF;
            return 0;
        }
        if (s->o.backend == TRACE_BACKEND_BPF) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        snprintf(s->backend_note, sizeof s->backend_note, "%s", why);
    }
    s->backend = TRACE_BACKEND_PERF;
    return open_perf(s, err, errlen);
}

void trace_losses(const struct trace_session *s, struct trace_losses *w)
{
    memset(w, 0, sizeof *w);
    /* a refused output is also in the ring's PERF_RECORD_LOST count, once
     * the kernel gets to write it: the larger of the two, never both */
    w->ring_full = s->perf.lost > s->bpf_failed ? s->perf.lost : s->bpf_failed;
    if (s->backend == TRACE_BACKEND_BPF)
        w->skipped = s->undelivered;
    else
        w->not_sampled = s->undelivered;
    w->misordered = s->mg.late;
    w->end_unseen = s->end_unseen;
}

uint64_t trace_lost(const struct trace_session *s)
{
    struct trace_losses w;
    trace_losses(s, &w);
    return w.ring_full + w.skipped + w.not_sampled;
}

const char *trace_backend_name(const struct trace_session *s)
{
    return s->backend == TRACE_BACKEND_BPF ? "bpf" : "perf";
}
