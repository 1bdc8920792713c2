/* SPDX-License-Identifier: MIT */
/* closer doctor --trace: a trace session of fixed length, summed per
 * (port, role, process) into the doctor's measured closes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/rules_trace.h"
#include "trace/measure.h"
#include "trace/session.h"

/* Lifetimes of accepted connections closed here first, for the doctor. */
#define MAX_LIFE_SAMPLES 262144
struct life_acc {
    struct life_sample *v;
    size_t n;
};

static void collect_life(void *ctx, const struct trace_rec *r)
{
    struct life_acc *a = ctx;
    if (!a->v || a->n >= MAX_LIFE_SAMPLES || r->role != ROLE_ACCEPTED || r->first != FIRST_LOCAL ||
        !r->t_open || r->t_first < r->t_open)
        return;
    a->v[a->n++] = (struct life_sample){r->lport, (r->t_first - r->t_open) / 1000};
}

/* "TCP_ABORT_ON_CLOSE 3, ..." from a group's reset reasons. */
static void reasons_text(const struct summary *sum, const struct sgroup *x, char *buf, size_t len)
{
    size_t off = 0;
    for (int k = 0; k < SUM_REASONS && off < len; k++)
        if (x->reasons[k]) {
            char rb[32];
            off += (size_t)snprintf(buf + off, len - off, "%s%s %llu", off ? ", " : "",
                                    trace_reason_name(sum->rst_format, k, rb, sizeof rb),
                                    (unsigned long long)x->reasons[k]);
        }
}

static void fill_row(const struct summary *sum, const struct sgroup *x, struct measured_close *c)
{
    c->port = x->port;
    c->accepted = x->role == ROLE_ACCEPTED;
    c->outgoing = x->role == ROLE_OUTGOING;
    c->pid = x->pid;
    memcpy(c->comm, x->comm, sizeof c->comm);
    c->closes = x->closes;
    c->local_first = x->by_first[FIRST_LOCAL];
    c->peer_first = x->by_first[FIRST_PEER];
    c->reset = x->by_first[FIRST_RESET];
    c->abort = x->by_first[FIRST_ABORT];
    c->rst_sent = x->rst_sent;
    c->rst_received = x->rst_received;
    c->tw_here = x->tw_local;
    c->tw_peer = x->tw_peer;
    reasons_text(sum, x, c->rst_reasons, sizeof c->rst_reasons);
    const struct lat *l = &x->close_after_fin;
    c->fin_to_close_n = l->seen;
    if (l->n) {
        c->fin_to_close_p50_ms = summary_pct(l, 50) / 1000.0;
        c->fin_to_close_p99_ms = summary_pct(l, 99) / 1000.0;
        c->fin_to_close_max_ms = l->max / 1000.0;
    }
}

int trace_measure(const char *netns, uint64_t ms, struct measured_closes *m, char *err, size_t errlen)
{
    struct trace_opts o = {.netns = netns};
    struct trace_session *s = malloc(sizeof *s);
    struct life_acc life = {malloc(MAX_LIFE_SAMPLES * sizeof *life.v), 0};
    memset(m, 0, sizeof *m);
    if (!s || trace_open(s, &o, collect_life, &life, err, errlen) < 0) {
        free(life.v);
        if (s)
            trace_close(s);
        else
            snprintf(err, errlen, "out of memory");
        free(s);
        return -1;
    }
    uint64_t end = s->start_ns + ms * 1000000ull;
    for (uint64_t now; (now = trace_now_ns()) < end;)
        trace_step(s, (int)((end - now) / 1000000 < 100 ? (end - now) / 1000000 + 1 : 100));
    trace_finish(s);
    summary_sort(&s->sum);
    struct sgroups *g = &s->sum.port_procs;
    struct measured_close *rows = calloc(g->n ? g->n : 1, sizeof *rows);
    if (!rows) {
        free(life.v);
        trace_close(s);
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < g->n; i++)
        fill_row(&s->sum, &g->g[i], &rows[i]);
    m->seconds = (double)(trace_now_ns() - s->start_ns) / 1e9;
    m->lost_events = trace_lost(s);
    m->unattributed = s->sum.unattributed;
    m->close_wait_open = s->sum.close_wait_open;
    m->rows = rows;
    m->n = g->n;
    m->lives = life.v ? measured_lives_build(life.v, life.n, &m->nlives) : NULL;
    free(life.v);
    trace_close(s);
    free(s);
    return 0;
}
