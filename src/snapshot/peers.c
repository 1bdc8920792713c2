/* SPDX-License-Identifier: MIT */
#include "snapshot/peers.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* An address as 16 bytes with v4 spelled v4-mapped, so a v6 socket and a
 * v4 one of the same connection compare equal. */
static void canon(uint8_t out[16], int family, const uint8_t a[16])
{
    if (family == AF_INET) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, a, 4);
    } else {
        memcpy(out, a, 16);
    }
}

static uint64_t hash_tuple(const uint8_t la[16], uint16_t lp, const uint8_t ra[16], uint16_t rp)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ la[i]) * 1099511628211ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ ra[i]) * 1099511628211ull;
    h = (h ^ lp) * 1099511628211ull;
    return (h ^ rp) * 1099511628211ull;
}

static uint64_t hash_local(const struct tcp_sock *t)
{
    uint8_t l[16], r[16];
    canon(l, t->family, t->src);
    canon(r, t->family, t->dst);
    return hash_tuple(l, t->sport, r, t->dport);
}

/* A state byte from a mutated replay may be past the mask's width. */
static bool in_states(uint32_t states, uint8_t state)
{
    return state < 32 && (states >> state & 1);
}

int peers_build(struct peer_index *ix, const struct snapshot *s, uint32_t states)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nsocks; i++)
        n += in_states(states, s->socks[i].state);
    size_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    ix->slots = calloc(cap, sizeof *ix->slots);
    ix->mask = cap - 1;
    if (!ix->slots)
        return -1;
    for (size_t i = 0; i < s->nsocks; i++) {
        if (!in_states(states, s->socks[i].state))
            continue;
        size_t h = (size_t)hash_local(&s->socks[i]) & ix->mask;
        while (ix->slots[h])
            h = (h + 1) & ix->mask;
        ix->slots[h] = (uint32_t)i + 1;
    }
    return 0;
}

const struct tcp_sock *peers_find(const struct peer_index *ix, const struct snapshot *s,
                                  const struct tcp_sock *t)
{
    if (!ix->slots)
        return NULL;
    uint8_t l[16], r[16];
    canon(l, t->family, t->dst); /* the peer's local end is our remote one */
    canon(r, t->family, t->src);
    size_t h = (size_t)hash_tuple(l, t->dport, r, t->sport) & ix->mask;
    for (; ix->slots[h]; h = (h + 1) & ix->mask) {
        const struct tcp_sock *p = &s->socks[ix->slots[h] - 1];
        uint8_t pl[16], pr[16];
        canon(pl, p->family, p->src);
        canon(pr, p->family, p->dst);
        if (p != t && p->sport == t->dport && p->dport == t->sport && !memcmp(pl, l, 16) &&
            !memcmp(pr, r, 16))
            return p;
    }
    return NULL;
}

void peers_free(struct peer_index *ix)
{
    free(ix->slots);
    ix->slots = NULL;
}
