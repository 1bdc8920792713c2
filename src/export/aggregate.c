/* SPDX-License-Identifier: MIT */
/* Grouping a snapshot by port, destination, process and listener. */
#include "export/aggregate.h"

#include <stdlib.h>
#include <string.h>

#include "snapshot/twfold.h"

const double agg_tw_bucket_le[AGG_TW_BUCKETS] = {1, 2, 5, 10, 15, 20, 30, 40, 50, 60};

static int state_ok(int st) { return st > 0 && st < TS_MAX; }

static uint64_t dest_hash(const struct tcp_sock *t)
{
    uint64_t h = 1469598103934665603ull;
    const uint8_t *p = t->dst;
    for (int i = 0; i < 16; i++) h = (h ^ p[i]) * 1099511628211ull;
    h = (h ^ t->dport) * 1099511628211ull;
    return (h ^ t->family) * 1099511628211ull;
}

static int dest_same(const struct agg_dest *d, const struct tcp_sock *t)
{
    return d->family == t->family && d->port == t->dport && !memcmp(d->addr, t->dst, 16);
}

/* Keeps the index at most half full: rebuilds it from dests when it grows. */
static int dest_index_grow(struct agg *a)
{
    size_t cap = a->dest_index_cap ? a->dest_index_cap * 2 : 1024;
    uint32_t *idx = malloc(cap * sizeof *idx);
    if (!idx) return -1;
    memset(idx, 0xff, cap * sizeof *idx);
    for (size_t i = 0; i < a->ndests; i++) {
        struct tcp_sock probe = {.family = a->dests[i].family, .dport = a->dests[i].port};
        memcpy(probe.dst, a->dests[i].addr, 16);
        size_t h = dest_hash(&probe) & (cap - 1);
        while (idx[h] != UINT32_MAX) h = (h + 1) & (cap - 1);
        idx[h] = (uint32_t)i;
    }
    free(a->dest_index);
    a->dest_index = idx;
    a->dest_index_cap = cap;
    return 0;
}

static struct agg_dest *dest_get(struct agg *a, const struct tcp_sock *t)
{
    if ((a->ndests + 1) * 2 > a->dest_index_cap && dest_index_grow(a)) return NULL;
    size_t h = dest_hash(t) & (a->dest_index_cap - 1);
    while (a->dest_index[h] != UINT32_MAX) {
        struct agg_dest *d = &a->dests[a->dest_index[h]];
        if (dest_same(d, t)) return d;
        h = (h + 1) & (a->dest_index_cap - 1);
    }
    if (a->ndests == a->dests_cap) {
        size_t cap = a->dests_cap ? a->dests_cap * 2 : 256;
        struct agg_dest *n = realloc(a->dests, cap * sizeof *n);
        if (!n) return NULL;
        a->dests = n;
        a->dests_cap = cap;
    }
    struct agg_dest *d = &a->dests[a->ndests];
    memset(d, 0, sizeof *d);
    d->family = t->family;
    d->port = t->dport;
    memcpy(d->addr, t->dst, 16);
    a->dest_index[h] = (uint32_t)a->ndests++;
    return d;
}

static void add_age_ms(struct agg *a, uint32_t age_ms)
{
    double age = age_ms / 1000.0;
    a->tw_count++;
    a->tw_age_sum += age;
    for (int b = 0; b < AGG_TW_BUCKETS; b++)
        if (age <= agg_tw_bucket_le[b]) a->tw_buckets[b]++;
}

static void add_tw_age(struct agg *a, const struct tcp_sock *t)
{
    uint32_t left = t->expires_ms > AGG_TW_LEN_MS ? AGG_TW_LEN_MS : t->expires_ms;
    add_age_ms(a, AGG_TW_LEN_MS - left);
}

static int add_close_wait_owner(struct agg *a, const struct snapshot *s, const struct tcp_sock *t,
                                uint32_t *proc_slot)
{
    const struct fd_ref *first = NULL;
    size_t n = t->inode ? snapshot_owners(s, t->inode, &first) : 0;
    if (!n) {
        a->close_wait_unowned++;
        return 0;
    }
    /* A socket shared by several processes (fork) counts once, for the first. */
    uint32_t pi = first->proc;
    if (pi >= s->nprocs) {
        a->close_wait_unowned++;
        return 0;
    }
    if (proc_slot[pi] == UINT32_MAX) {
        proc_slot[pi] = (uint32_t)a->nprocs;
        struct agg_proc *p = &a->procs[a->nprocs++];
        p->pid = s->procs[pi].pid;
        memcpy(p->comm, s->procs[pi].comm, sizeof p->comm);
        p->comm[sizeof p->comm - 1] = 0;
        p->close_wait = 0;
    }
    a->procs[proc_slot[pi]].close_wait++;
    return 0;
}

static int add_listen(struct agg *a, const struct tcp_sock *t, size_t *cap)
{
    if (a->nlistens == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        struct agg_listen *n = realloc(a->listens, *cap * sizeof *n);
        if (!n) return -1;
        a->listens = n;
    }
    struct agg_listen *l = &a->listens[a->nlistens++];
    l->family = t->family;
    memcpy(l->addr, t->src, 16);
    l->port = t->sport;
    l->queue = t->rqueue;
    l->backlog = t->wqueue;
    return 0;
}

/* Server side even though nothing listens there any more: a local port
 * outside the ephemeral range that several sockets share. A client gets an
 * ephemeral port per connection; one that binds a fixed port rarely holds
 * two connections from it. This is the shape of a server restarted on
 * another port (or stopped) while its TIME_WAIT runs out: as many distinct
 * peers as connections, which must not become one destination each. */
static void mark_gone_listeners(const struct snapshot *s, uint8_t *gone)
{
    if (s->sys.port_lo < 0 || s->sys.port_hi < s->sys.port_lo)
        return; /* the range is unknown: no way to tell */
    for (size_t i = 0; i < s->nsocks; i++) {
        uint16_t p = s->socks[i].sport;
        if (s->socks[i].state == TS_LISTEN || snapshot_is_listen_port(s, p) ||
            snapshot_port_ephemeral(s, p) || gone[p] == 2)
            continue;
        gone[p]++;
    }
    for (uint32_t p = 0; s->twf && p < 65536; p++) {
        uint32_t n = tw_fold_port(s->twf, (uint16_t)p);
        if (n && !snapshot_is_listen_port(s, (uint16_t)p) && !snapshot_port_ephemeral(s, (uint16_t)p))
            gone[p] = gone[p] + n >= 2 ? 2 : 1;
    }
}

static struct agg_port *port_of(struct agg *a, uint32_t *port_slot, uint16_t port)
{
    if (port_slot[port] == UINT32_MAX) {
        port_slot[port] = (uint32_t)a->nports;
        memset(&a->ports[a->nports], 0, sizeof a->ports[0]);
        a->ports[a->nports++].port = port;
    }
    return &a->ports[port_slot[port]];
}

static int add_sock(struct agg *a, const struct snapshot *s, const struct tcp_sock *sk,
                    uint32_t *port_slot, uint32_t *proc_slot, size_t *listen_cap,
                    const uint8_t *gone)
{
    /* A request minisocket (NEW_SYN_RECV) is what ss and users call SYN_RECV. */
    struct tcp_sock mapped;
    const struct tcp_sock *t = sk;
    if (sk->state == TS_NEW_SYN_RECV) {
        mapped = *sk;
        mapped.state = TS_SYN_RECV;
        t = &mapped;
    }
    a->states[t->state]++;
    if (t->state == TS_LISTEN) return add_listen(a, t, listen_cap);
    if (t->state == TS_TIME_WAIT) add_tw_age(a, t);
    if (t->state == TS_CLOSE_WAIT && add_close_wait_owner(a, s, t, proc_slot)) return -1;
    if (snapshot_is_listen_port(s, t->sport) || gone[t->sport] == 2) {
        struct agg_port *p = port_of(a, port_slot, t->sport);
        p->n[t->state]++;
        p->total++;
        return 0;
    }
    struct agg_dest *d = dest_get(a, t);
    if (!d) return -1;
    d->n[t->state]++;
    d->total++;
    if (snapshot_port_ephemeral(s, t->sport)) d->ephemeral_used++;
    return 0;
}

static int add_dest_n(struct agg *a, const struct tcp_sock *key, uint32_t n, bool ephemeral)
{
    struct agg_dest *d = dest_get(a, key);
    if (!d) return -1;
    d->n[TS_TIME_WAIT] += n;
    d->total += n;
    d->ephemeral_used += ephemeral ? n : 0;
    return 0;
}

/* TIME_WAIT folded while the table was read (snapshot/twfold.h), grouped
 * as add_sock groups them one by one. */
static int add_folded(struct agg *a, const struct snapshot *s, uint32_t *port_slot,
                      const uint8_t *gone)
{
    const struct tw_fold *f = s->twf;
    a->states[TS_TIME_WAIT] += (uint32_t)f->n;
    a->dests_other_tw = f->dests_other;
    for (int k = 0; k < TWP_NCLASSES; k++)
        for (size_t i = 0; i < f->nages[k]; i++)
            add_age_ms(a, f->ages[k][i] & 0xffff);
    for (uint32_t p = 0; p < 65536; p++) {
        uint32_t n = tw_fold_port(f, (uint16_t)p);
        const struct tw_single *one;
        if (!n) continue;
        if (snapshot_is_listen_port(s, (uint16_t)p) || gone[p] == 2) {
            struct agg_port *ap = port_of(a, port_slot, (uint16_t)p);
            ap->n[TS_TIME_WAIT] += n;
            ap->total += n;
        } else if ((one = tw_fold_single(f, (uint16_t)p))) {
            struct tcp_sock key = {.family = one->family, .dport = one->dport};
            memcpy(key.dst, one->dst, 16);
            if (add_dest_n(a, &key, n, false)) return -1;
        }
    }
    for (size_t i = 0; i < f->cap_dests; i++) {
        const struct tw_dest *d = &f->dests[i];
        if (!d->used) continue;
        struct tcp_sock key = {.family = d->family, .dport = d->dport};
        memcpy(key.dst, d->dst, 16);
        if (add_dest_n(a, &key, d->n, true)) return -1;
    }
    return 0;
}

int agg_build(struct agg *a, const struct snapshot *s)
{
    memset(a, 0, sizeof *a);
    uint32_t *port_slot = malloc(65536 * sizeof *port_slot);
    uint8_t *gone = calloc(65536, 1);
    uint32_t *proc_slot = malloc((s->nprocs + 1) * sizeof *proc_slot);
    a->ports = malloc(65536 * sizeof *a->ports);
    a->procs = malloc((s->nprocs + 1) * sizeof *a->procs);
    int rc = -1;
    if (!port_slot || !gone || !proc_slot || !a->ports || !a->procs) goto out;
    mark_gone_listeners(s, gone);
    memset(port_slot, 0xff, 65536 * sizeof *port_slot);
    memset(proc_slot, 0xff, (s->nprocs + 1) * sizeof *proc_slot);
    size_t listen_cap = 0;
    for (size_t i = 0; i < s->nsocks; i++) {
        if (!state_ok(s->socks[i].state)) continue;
        if (add_sock(a, s, &s->socks[i], port_slot, proc_slot, &listen_cap, gone)) goto out;
    }
    if (s->twf && add_folded(a, s, port_slot, gone)) goto out;
    rc = 0;
out:
    free(port_slot);
    free(gone);
    free(proc_slot);
    if (rc) agg_free(a);
    return rc;
}

void agg_free(struct agg *a)
{
    free(a->ports);
    free(a->dests);
    free(a->procs);
    free(a->listens);
    free(a->dest_index);
    memset(a, 0, sizeof *a);
}

/* The sort key: the count in one state, or the total when state is 0. */
static uint32_t key_of(const uint32_t *n, uint32_t total, int state)
{
    return state ? n[state] : total;
}

/* qsort_r comparator; arg points at the state to sort by (no file-scope
 * sort state: the exporter's threads sort their own aggregates). */
static int cmp_port(const void *x, const void *y, void *arg)
{
    const struct agg_port *a = x, *b = y;
    int state = *(const int *)arg;
    uint32_t ka = key_of(a->n, a->total, state), kb = key_of(b->n, b->total, state);
    if (ka != kb) return ka > kb ? -1 : 1;
    return (int)a->port - (int)b->port;
}

static int cmp_dest_by(const struct agg_dest *a, const struct agg_dest *b, int state)
{
    uint32_t ka = key_of(a->n, a->total, state), kb = key_of(b->n, b->total, state);
    if (ka != kb) return ka > kb ? -1 : 1;
    if (a->family != b->family) return a->family - b->family;
    int c = memcmp(a->addr, b->addr, 16);
    return c ? c : (int)a->port - (int)b->port;
}

static int cmp_dest(const void *x, const void *y, void *arg)
{
    return cmp_dest_by(x, y, *(const int *)arg);
}

static int cmp_proc(const void *x, const void *y)
{
    const struct agg_proc *a = x, *b = y;
    if (a->close_wait != b->close_wait) return a->close_wait > b->close_wait ? -1 : 1;
    return a->pid - b->pid;
}

void agg_sort_ports(struct agg *a, int state)
{
    if (a->nports) qsort_r(a->ports, a->nports, sizeof *a->ports, cmp_port, &state);
}

void agg_sort_dests(struct agg *a, int state)
{
    if (a->ndests) qsort_r(a->dests, a->ndests, sizeof *a->dests, cmp_dest, &state);
    /* The hash index points at old positions: it is of no use after a sort. */
    free(a->dest_index);
    a->dest_index = NULL;
    a->dest_index_cap = 0;
}

/* Heap of indices into a->dests whose root is the worst of the best k. */
static void heap_down(const struct agg *a, int state, size_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && cmp_dest_by(&a->dests[h[l]], &a->dests[h[w]], state) > 0) w = l;
        if (r < n && cmp_dest_by(&a->dests[h[r]], &a->dests[h[w]], state) > 0) w = r;
        if (w == i) return;
        size_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

struct index_order {
    const struct agg *a;
    int state;
};

static int cmp_index(const void *x, const void *y, void *arg)
{
    const struct index_order *o = arg;
    const struct agg_dest *d = o->a->dests;
    return cmp_dest_by(&d[*(const size_t *)x], &d[*(const size_t *)y], o->state);
}

void agg_top_dests(struct agg *a, int state, size_t k)
{
    size_t n = a->ndests;
    if (k * 4 >= n) {
        agg_sort_dests(a, state);
        return;
    }
    size_t *h = malloc((k ? k : 1) * sizeof *h);
    struct agg_dest *top = malloc((k ? k : 1) * sizeof *top);
    uint8_t *chosen = calloc(n, 1);
    if (!h || !top || !chosen) { /* out of memory: the slow way still works */
        free(h), free(top), free(chosen);
        agg_sort_dests(a, state);
        return;
    }
    for (size_t i = 0; i < k; i++) h[i] = i;
    for (size_t i = k / 2; i-- > 0;) heap_down(a, state, h, k, i);
    for (size_t i = k; i < n && k; i++)
        if (cmp_dest_by(&a->dests[i], &a->dests[h[0]], state) < 0) {
            h[0] = i;
            heap_down(a, state, h, k, 0);
        }
    qsort_r(h, k, sizeof *h, cmp_index, &(struct index_order){a, state});
    for (size_t i = 0; i < k; i++) {
        top[i] = a->dests[h[i]];
        chosen[h[i]] = 1;
    }
    /* The rest slide to the back in their order, the chosen go in front. */
    size_t w = n;
    for (size_t i = n; i-- > 0;)
        if (!chosen[i]) a->dests[--w] = a->dests[i];
    memcpy(a->dests, top, k * sizeof *top);
    free(h), free(top), free(chosen);
    free(a->dest_index);
    a->dest_index = NULL;
    a->dest_index_cap = 0;
}

void agg_sort_procs(struct agg *a)
{
    if (a->nprocs) qsort(a->procs, a->nprocs, sizeof *a->procs, cmp_proc);
}

char *agg_dest_name(const struct agg_dest *d, char *buf)
{
    return tcp_addr_format(buf, d->family, d->addr, d->port);
}

char *agg_listen_name(const struct agg_listen *l, char *buf)
{
    return tcp_addr_format(buf, l->family, l->addr, l->port);
}
