/* SPDX-License-Identifier: MIT */
/* A session's reconciliation with the socket tables of the namespaces it
 * traces (trace/reconcile.h does the table and the decision): which
 * namespaces, when to dump, when to apply. */
#include "trace/session.h"
#include "kernel/netns.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RECON_PERIOD_NS 5000000000ull /* a dump of the open sockets every 5 s */

/* The namespaces reconciled: the traced one, or with --all-netns closer's
 * own, and each `ip netns` one once a record of it is open (mark_needed). */
int trace_recon_init(struct trace_session *s, const char *nspath)
{
    s->rns = calloc(1, sizeof *s->rns);
    if (!s->rns)
        return -1;
    s->nrns = 1;
    s->rns[0].set.ino = s->netns ? s->netns : netns_inode("/proc/self/ns/net");
    if (nspath)
        snprintf(s->rns[0].path, sizeof s->rns[0].path, "%s", nspath);
    s->recon_next = trace_now_ns() + RECON_PERIOD_NS;
    return 0;
}

/* --all-netns: a namespace met in a record, dumped through its `ip netns`
 * name (one without a name is not reconciled). */
static struct recon_ns *rns_add(struct trace_session *s, uint64_t ino)
{
    const char *name = s->names ? nsnames_get(s->names, ino, trace_now_ns()) : NULL;
    if (!name)
        return NULL;
    struct recon_ns *nr = realloc(s->rns, (s->nrns + 1) * sizeof *nr);
    if (!nr)
        return NULL;
    s->rns = nr;
    nr = &s->rns[s->nrns++];
    memset(nr, 0, sizeof *nr);
    nr->set.ino = ino;
    snprintf(nr->path, sizeof nr->path, "/run/netns/%.63s", name);
    return nr;
}

/* Is r's local address one of the traced namespace's own? */
bool trace_own_addr(const struct trace_session *s, const struct trace_rec *r)
{
    for (size_t i = 0; i < s->naddrs; i++)
        if (s->addrs[i][0] == r->family && !memcmp(s->addrs[i] + 1, r->laddr, r->family == AF_INET ? 4 : 16))
            return true;
    return false;
}

/* A record's namespace: its own, or the traced one by its local address. */
uint64_t trace_rec_netns(const struct trace_session *s, const struct trace_rec *r)
{
    return r->netns ? r->netns : s->netns && trace_own_addr(s, r) ? s->netns : 0;
}

const struct recon_set *trace_recon_set(const struct trace_session *s, uint64_t ino)
{
    for (size_t i = 0; ino && i < s->nrns; i++)
        if (s->rns[i].set.ino == ino)
            return s->rns[i].set.ok ? &s->rns[i].set : NULL;
    return NULL;
}

/* Only namespaces with an open record are dumped: each dump walks the
 * host's whole socket table, and --all-netns may name many. */
static void mark_needed(void *ctx, const struct trace_rec *r)
{
    struct trace_session *s = ctx;
    uint64_t ns = trace_rec_netns(s, r);
    if (!ns)
        return;
    for (size_t i = 0; i < s->nrns; i++)
        if (s->rns[i].set.ino == ns) {
            s->rns[i].needed = true;
            return;
        }
    struct recon_ns *nr = rns_add(s, ns);
    if (nr)
        nr->needed = true;
}

void trace_recon_take(struct trace_session *s)
{
    for (size_t i = 0; i < s->nrns; i++)
        s->rns[i].needed = s->netns != 0; /* -N: its table also places CLOSE_WAITs */
    if (!s->netns)
        tracker_each_open(&s->tr, mark_needed, s);
    for (size_t i = 0; i < s->nrns; i++) {
        char err[160];
        if (!s->rns[i].needed) {
            s->rns[i].set.ok = false;
            continue;
        }
        /* a namespace gone or a dump interrupted: that set decides nothing */
        (void)recon_dump(&s->rns[i].set, s->rns[i].path[0] ? s->rns[i].path : NULL, trace_now_ns, err,
                         sizeof err);
    }
    /* applied once the rings are read past the last dump's end: a socket
     * the walk missed because it closed meanwhile has its CLOSE read by then */
    s->recon_at = trace_now_ns();
}

struct gone {
    const struct trace_session *s;
    uint64_t (*sk)[2];
    size_t n, cap;
};

static void find_gone(void *ctx, const struct trace_rec *r)
{
    struct gone *g = ctx;
    uint64_t ns = trace_rec_netns(g->s, r);
    const struct recon_set *set = trace_recon_set(g->s, ns);
    if (!set || !recon_gone(set, r))
        return;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        void *nk = realloc(g->sk, cap * sizeof *g->sk);
        if (!nk)
            return; /* stays open: the next reconciliation tries again */
        g->sk = nk;
        g->cap = cap;
    }
    g->sk[g->n][0] = r->skaddr;
    g->sk[g->n++][1] = ns;
}

/* The rings have been read past the dump: records gone from the table
 * ended unseen. */
void trace_recon_apply(struct trace_session *s)
{
    struct gone g = {s, NULL, 0, 0};
    tracker_each_open(&s->tr, find_gone, &g);
    for (size_t i = 0; i < g.n; i++)
        tracker_end_unseen(&s->tr, g.sk[i][0], trace_recon_set(s, g.sk[i][1])->at_ns, g.sk[i][1]);
    free(g.sk);
    s->recon_at = 0;
}

void trace_recon_step(struct trace_session *s)
{
    if (s->recon_at && s->mg.watermark > s->recon_at) {
        trace_recon_apply(s);
    } else if (!s->recon_at && trace_now_ns() >= s->recon_next) {
        trace_recon_take(s);
        s->recon_next = s->recon_at + RECON_PERIOD_NS;
    }
}
