/* SPDX-License-Identifier: MIT */
#include "snapshot/twfold.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/vec.h"

/* Linux TCP_TIMEWAIT_LEN: fixed, not a sysctl. */
#define TW_LEN_MS 60000u

static bool ephemeral(long lo, long hi, uint16_t port)
{
    return lo >= 0 && port >= lo && port <= hi;
}

enum tw_peer_class tw_peer_class(long port_lo, long port_hi, uint16_t dport)
{
    if (ephemeral(port_lo, port_hi, dport))
        return TWP_EPHEMERAL;
    return dport >= 1024 ? TWP_HIGH : TWP_LOW;
}

static bool listening(const uint8_t *bits, uint16_t port)
{
    return bits[port >> 3] & (1u << (port & 7));
}

static uint64_t hash_dest(const struct tcp_sock *t)
{
    uint64_t h = 1469598103934665603ull ^ t->family ^ ((uint64_t)t->dport << 8);
    size_t alen = t->family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < alen; i++) {
        h = (h ^ t->src[i]) * 1099511628211ull;
        h = (h ^ t->dst[i]) * 1099511628211ull;
    }
    return h;
}

static bool same_dest(const struct tw_dest *d, const struct tcp_sock *t)
{
    return d->family == t->family && d->dport == t->dport && !memcmp(d->src, t->src, 16) &&
           !memcmp(d->dst, t->dst, 16);
}

static struct tw_dest *dest_slot(struct tw_dest *slots, size_t cap, const struct tcp_sock *t)
{
    size_t i = hash_dest(t) & (cap - 1);
    while (slots[i].used && !same_dest(&slots[i], t))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static void dests_rehash(struct tw_fold *f, struct tw_dest *slots, size_t cap, const struct tw_dest *from,
                         size_t nfrom)
{
    for (size_t i = 0; i < nfrom; i++) {
        const struct tw_dest *o = &from[i];
        if (!o->used)
            continue;
        struct tcp_sock k = {.family = o->family, .dport = o->dport};
        memcpy(k.src, o->src, 16);
        memcpy(k.dst, o->dst, 16);
        *dest_slot(slots, cap, &k) = *o;
    }
    free(f->dests);
    f->dests = slots;
    f->cap_dests = cap;
}

static int dests_grow(struct tw_fold *f)
{
    size_t cap = f->cap_dests ? f->cap_dests * 2 : 256;
    struct tw_dest *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    dests_rehash(f, slots, cap, f->dests, f->cap_dests);
    return 0;
}

/* The k-th largest of n counts (1-based), by quickselect with a three-way
 * partition: the table is halved every TW_DEST_MAX / 2 new destinations,
 * and a sort each time would cost n log n where this costs n, also when
 * every count is the same (one socket per peer). */
static uint32_t kth_largest(uint32_t *v, long n, long k)
{
    long lo = 0, hi = n - 1, want = k - 1;
    for (;;) {
        uint32_t pivot = v[lo + (hi - lo) / 2], t;
        long gt = lo, i = lo, lt = hi; /* [lo,gt) > pivot, [gt,i) == pivot, (lt,hi] < pivot */
        while (i <= lt) {
            if (v[i] > pivot) {
                t = v[gt], v[gt++] = v[i], v[i++] = t;
            } else if (v[i] < pivot) {
                t = v[lt], v[lt--] = v[i], v[i] = t;
            } else {
                i++;
            }
        }
        if (want < gt)
            hi = gt - 1;
        else if (want > lt)
            lo = lt + 1;
        else
            return pivot;
    }
}

/* Keeps the TW_DEST_MAX / 2 destinations with the most sockets (ties: the
 * first in slot order) and sums the rest into dests_other. */
static int dests_halve(struct tw_fold *f)
{
    size_t keep = TW_DEST_MAX / 2, n = 0;
    uint32_t *counts = malloc(f->ndests * sizeof *counts);
    struct tw_dest *slots = calloc(f->cap_dests, sizeof *slots);
    if (!counts || !slots) {
        free(counts);
        free(slots);
        return -ENOMEM;
    }
    for (size_t i = 0; i < f->cap_dests; i++)
        if (f->dests[i].used)
            counts[n++] = f->dests[i].n;
    uint32_t floor = kth_largest(counts, (long)n, (long)keep);
    free(counts);
    size_t above = 0, kept = 0;
    for (size_t i = 0; i < f->cap_dests; i++)
        above += f->dests[i].used && f->dests[i].n > floor;
    for (size_t i = 0; i < f->cap_dests; i++) {
        struct tw_dest *d = &f->dests[i];
        if (!d->used)
            continue;
        bool stays = d->n > floor || (d->n == floor && above + kept < keep);
        kept += stays && d->n == floor;
        if (stays)
            continue;
        f->dests_other += d->n;
        f->dests_evicted++;
        if (d->n > f->dests_evicted_max)
            f->dests_evicted_max = d->n;
        d->used = 0;
    }
    f->ndests = above + kept;
    dests_rehash(f, slots, f->cap_dests, f->dests, f->cap_dests);
    return 0;
}

static int add_dest(struct tw_fold *f, const struct tcp_sock *t, uint32_t n)
{
    if ((f->ndests + 1) * 2 > f->cap_dests && f->ndests < TW_DEST_MAX && dests_grow(f) < 0)
        return -ENOMEM;
    struct tw_dest *d = dest_slot(f->dests, f->cap_dests, t);
    if (!d->used && f->ndests >= TW_DEST_MAX) {
        if (dests_halve(f) < 0)
            return -ENOMEM;
        d = dest_slot(f->dests, f->cap_dests, t);
    }
    if (!d->used) {
        *d = (struct tw_dest){.family = t->family, .used = 1, .dport = t->dport};
        memcpy(d->src, t->src, 16);
        memcpy(d->dst, t->dst, 16);
        f->ndests++;
    }
    d->n += n;
    return 0;
}

/* The local address of a TIME_WAIT on a listening port (rules_listen
 * counts SYN_SENT towards this host's own addresses). */
static int add_local(struct tw_fold *f, const struct tcp_sock *t)
{
    if (!f->local_ix && !(f->local_ix = calloc(65536, sizeof *f->local_ix)))
        return -ENOMEM;
    uint32_t ix = f->local_ix[t->sport];
    if (!ix) {
        int rc = vec_reserve((void **)&f->locals, &f->cap_locals, f->nlocals + 1,
                             sizeof *f->locals, 4);
        if (rc)
            return rc;
        memset(&f->locals[f->nlocals], 0, sizeof *f->locals);
        ix = f->local_ix[t->sport] = (uint32_t)++f->nlocals;
    }
    struct tw_local *l = &f->locals[ix - 1];
    for (size_t k = 0; k < l->n; k++)
        if (!memcmp(l->addr[k], t->src, 16))
            return 0;
    if (l->n < TW_LOCAL_MAX)
        memcpy(l->addr[l->n++], t->src, 16);
    return 0;
}

static int add_single(struct tw_fold *f, const struct tcp_sock *t)
{
    if (!f->single_ix && !(f->single_ix = calloc(65536, sizeof *f->single_ix)))
        return -ENOMEM;
    if (f->single_ix[t->sport])
        return 0;
    int rc = vec_reserve((void **)&f->singles, &f->cap_singles, f->nsingles + 1,
                         sizeof *f->singles, 16);
    if (rc)
        return rc;
    struct tw_single *x = &f->singles[f->nsingles];
    *x = (struct tw_single){.family = t->family, .dport = t->dport};
    memcpy(x->dst, t->dst, 16);
    f->single_ix[t->sport] = (uint32_t)++f->nsingles;
    return 0;
}

int tw_fold_add(struct tw_fold *f, const struct tw_fold_ctx *c, const struct tcp_sock *t)
{
    if (!f->count && !(f->count = calloc(65536 * TWP_NCLASSES, sizeof *f->count)))
        return -ENOMEM;
    enum tw_peer_class k = tw_peer_class(c->port_lo, c->port_hi, t->dport);
    int rc = vec_reserve((void **)&f->ages[k], &f->cap_ages[k], f->nages[k] + 1,
                         sizeof *f->ages[k], 4096);
    if (rc)
        return rc;
    unsigned age = t->expires_ms >= TW_LEN_MS ? 0 : TW_LEN_MS - t->expires_ms;
    f->ages[k][f->nages[k]++] = (uint32_t)t->sport << 16 | age;
    f->count[t->sport * TWP_NCLASSES + k]++;
    f->n++;
    if (listening(c->listen_bits, t->sport))
        return add_local(f, t);
    f->unlisted[t->sport >> 3] |= (uint8_t)(1u << (t->sport & 7));
    if (ephemeral(c->port_lo, c->port_hi, t->sport))
        return add_dest(f, t, 1);
    return add_single(f, t);
}

static int merge_dests(struct tw_fold *to, const struct tw_fold *from)
{
    for (size_t i = 0; i < from->cap_dests; i++) {
        const struct tw_dest *d = &from->dests[i];
        if (!d->used)
            continue;
        struct tcp_sock k = {.family = d->family, .dport = d->dport};
        memcpy(k.src, d->src, 16);
        memcpy(k.dst, d->dst, 16);
        int rc = add_dest(to, &k, d->n);
        if (rc)
            return rc;
    }
    to->dests_other += from->dests_other;
    to->dests_evicted += from->dests_evicted;
    if (from->dests_evicted_max > to->dests_evicted_max)
        to->dests_evicted_max = from->dests_evicted_max;
    return 0;
}

static int merge_ports(struct tw_fold *to, const struct tw_fold *from)
{
    for (uint32_t p = 0; p < 65536; p++) {
        struct tcp_sock k = {.sport = (uint16_t)p};
        const struct tw_local *l = tw_fold_local(from, (uint16_t)p);
        for (size_t a = 0; l && a < l->n; a++) {
            memcpy(k.src, l->addr[a], 16);
            int rc = add_local(to, &k);
            if (rc)
                return rc;
        }
        const struct tw_single *one = tw_fold_single(from, (uint16_t)p);
        if (one) {
            k.family = one->family;
            k.dport = one->dport;
            memcpy(k.dst, one->dst, 16);
            int rc = add_single(to, &k);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int tw_fold_merge(struct tw_fold *to, const struct tw_fold *from)
{
    if (!from->count)
        return 0;
    if (!to->count && !(to->count = calloc(65536 * TWP_NCLASSES, sizeof *to->count)))
        return -ENOMEM;
    for (size_t i = 0; i < 65536 * TWP_NCLASSES; i++)
        to->count[i] += from->count[i];
    for (int k = 0; k < TWP_NCLASSES; k++) {
        int rc = vec_reserve((void **)&to->ages[k], &to->cap_ages[k], to->nages[k] + from->nages[k],
                             sizeof *to->ages[k], 4096);
        if (rc)
            return rc;
        if (from->nages[k])
            memcpy(to->ages[k] + to->nages[k], from->ages[k], from->nages[k] * sizeof *from->ages[k]);
        to->nages[k] += from->nages[k];
    }
    for (size_t i = 0; i < sizeof to->unlisted; i++)
        to->unlisted[i] |= from->unlisted[i];
    to->n += from->n;
    to->inexact |= from->inexact;
    int rc = merge_dests(to, from);
    return rc ? rc : merge_ports(to, from);
}

void tw_fold_check(struct tw_fold *f, const uint8_t *listen_bits)
{
    for (size_t i = 0; i < sizeof f->unlisted; i++)
        if (f->unlisted[i] & listen_bits[i])
            f->inexact = true;
}

const struct tw_local *tw_fold_local(const struct tw_fold *f, uint16_t port)
{
    return f && f->local_ix && f->local_ix[port] ? &f->locals[f->local_ix[port] - 1] : NULL;
}

const struct tw_single *tw_fold_single(const struct tw_fold *f, uint16_t port)
{
    return f && f->single_ix && f->single_ix[port] ? &f->singles[f->single_ix[port] - 1] : NULL;
}

uint32_t tw_fold_port(const struct tw_fold *f, uint16_t port)
{
    uint32_t n = 0;
    for (int k = 0; f && f->count && k < TWP_NCLASSES; k++)
        n += f->count[port * TWP_NCLASSES + k];
    return n;
}

void tw_fold_free(struct tw_fold *f)
{
    free(f->single_ix);
    free(f->singles);
    free(f->count);
    for (int k = 0; k < TWP_NCLASSES; k++)
        free(f->ages[k]);
    free(f->dests);
    free(f->local_ix);
    free(f->locals);
    memset(f, 0, sizeof *f);
}
