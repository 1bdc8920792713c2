/* SPDX-License-Identifier: MIT */
#include "trace/reconcile.h"
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel/diag.h"

/* FNV-1a over the bytes that name an end; tag 1: full tuple, 2: local end */
static uint64_t key_of(int tag, int family, const uint8_t *la, uint16_t lp, const uint8_t *ra, uint16_t rp)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t alen = family == AF_INET6 ? 16 : 4;
    uint8_t buf[2 + 2 * 16 + 4];
    size_t n = 0;
    buf[n++] = (uint8_t)tag;
    buf[n++] = (uint8_t)family;
    memcpy(buf + n, la, alen), n += alen;
    buf[n++] = (uint8_t)(lp >> 8), buf[n++] = (uint8_t)lp;
    if (tag == 1) {
        memcpy(buf + n, ra, alen), n += alen;
        buf[n++] = (uint8_t)(rp >> 8), buf[n++] = (uint8_t)rp;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ buf[i]) * 0x100000001b3ull;
    return h;
}

static void push(struct recon_set *set, uint64_t key, uint8_t state)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        struct rkey *nk = realloc(set->k, cap * sizeof *nk);
        if (!nk) {
            set->ok = false; /* incomplete: decides nothing */
            return;
        }
        set->k = nk;
        set->cap = cap;
    }
    set->k[set->n++] = (struct rkey){key, state};
}

void recon_add(struct recon_set *set, const struct tcp_sock *s)
{
    push(set, key_of(1, s->family, s->src, s->sport, s->dst, s->dport), s->state);
    push(set, key_of(2, s->family, s->src, s->sport, NULL, 0), s->state);
}

static int cmp_keys(const void *a, const void *b)
{
    const struct rkey *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

void recon_seal(struct recon_set *set)
{
    if (set->n > 1)
        qsort(set->k, set->n, sizeof *set->k, cmp_keys);
}

static int find(const struct recon_set *set, uint64_t key)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->k[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < set->n && set->k[lo].key == key ? set->k[lo].state : 0;
}

int recon_state(const struct recon_set *set, const struct trace_rec *r)
{
    if (r->rport == 0)
        return find(set, key_of(2, r->family, r->laddr, r->lport, NULL, 0));
    return find(set, key_of(1, r->family, r->laddr, r->lport, r->raddr, r->rport));
}

/* The newest event time of a record. */
static uint64_t recon_last_event(const struct trace_rec *r)
{
    uint64_t t = r->t_open;
    const uint64_t more[] = {r->t_first, r->t_close_wait, r->t_last_ack, r->t_end};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        if (more[i] > t)
            t = more[i];
    return t;
}

bool recon_gone(const struct recon_set *set, const struct trace_rec *r)
{
    if (!set->ok || r->lport == 0)
        return false;
    return recon_last_event(r) < set->at_ns && recon_state(set, r) == 0;
}

static int add_one(const struct tcp_sock *s, const struct tcp_activity *act, void *arg)
{
    (void)act;
    recon_add(arg, s);
    return 0;
}

int recon_dump(struct recon_set *set, const char *nspath, uint64_t (*clock_ns)(void), char *err, size_t errlen)
{
    uint64_t now_ns = clock_ns(), done_ns;
    set->n = 0;
    set->ok = false;
    set->at_ns = now_ns;
    int self = -1, target = -1, rc = -1, intr = 0;
    if (nspath) {
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        target = open(nspath, O_RDONLY | O_CLOEXEC);
        if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0) {
            snprintf(err, errlen, "entering %s for the socket table failed", nspath);
            goto out;
        }
    }
    set->ok = true;
    int drc = diag_dump_tcp(RECON_STATES, false, add_one, set, NULL, &intr);
    done_ns = clock_ns();
    if (nspath && setns(self, CLONE_NEWNET) < 0) {
        /* stuck in the traced namespace: later dumps would read the wrong table */
        snprintf(err, errlen, "returning from %s failed", nspath);
        set->ok = false;
        goto out;
    }
    if (drc < 0 || intr) {
        snprintf(err, errlen, "sock_diag dump %s", intr ? "interrupted" : "failed");
        set->ok = false;
        goto out;
    }
    recon_seal(set);
    set->done_ns = done_ns;
    rc = set->ok ? 0 : -1;
out:
    if (self >= 0)
        close(self);
    if (target >= 0)
        close(target);
    return rc;
}

void recon_free(struct recon_set *set)
{
    free(set->k);
    memset(set, 0, sizeof *set);
}
