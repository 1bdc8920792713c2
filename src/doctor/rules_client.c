/* client-port-pressure: this host as a client. Every connection to one
 * destination ip:port from one source address needs its own local port;
 * TIME_WAIT holds that port for 60 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/doctor.h"

struct dest {
    uint8_t family, used;
    uint16_t dport;
    uint8_t src[16], dst[16];
    unsigned total, tw, estab;
};

struct dest_table {
    struct dest *slots;
    size_t cap, n;
};

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

static bool same_dest(const struct dest *d, const struct tcp_sock *t)
{
    return d->family == t->family && d->dport == t->dport && !memcmp(d->src, t->src, 16) &&
           !memcmp(d->dst, t->dst, 16);
}

static int grow(struct dest_table *tb);

static struct dest *lookup(struct dest_table *tb, const struct tcp_sock *t)
{
    if ((tb->n + 1) * 2 > tb->cap && grow(tb) < 0)
        return NULL;
    size_t i = hash_dest(t) & (tb->cap - 1);
    while (tb->slots[i].used && !same_dest(&tb->slots[i], t))
        i = (i + 1) & (tb->cap - 1);
    struct dest *d = &tb->slots[i];
    if (!d->used) {
        d->used = 1;
        d->family = t->family;
        d->dport = t->dport;
        memcpy(d->src, t->src, 16);
        memcpy(d->dst, t->dst, 16);
        tb->n++;
    }
    return d;
}

static int grow(struct dest_table *tb)
{
    size_t cap = tb->cap ? tb->cap * 2 : 256;
    struct dest *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    struct dest_table nt = {slots, cap, 0};
    for (size_t i = 0; i < tb->cap; i++) {
        struct dest *o = &tb->slots[i];
        if (!o->used)
            continue;
        struct tcp_sock key = {.family = o->family, .dport = o->dport};
        memcpy(key.src, o->src, 16);
        memcpy(key.dst, o->dst, 16);
        size_t j = hash_dest(&key) & (cap - 1);
        while (slots[j].used)
            j = (j + 1) & (cap - 1);
        slots[j] = *o;
        nt.n++;
    }
    free(tb->slots);
    *tb = nt;
    return 0;
}

static int by_total(const void *a, const void *b)
{
    const struct dest *x = a, *y = b;
    return (x->total < y->total) - (x->total > y->total);
}

static void describe(struct finding *f, const struct dest *d, const struct snapshot *s,
                     uint32_t range)
{
    char addr[64];
    tcp_addr_format(f->dest, d->family, d->dst, d->dport);
    tcp_addr_format(addr, d->family, d->src, 0);
    snprintf(f->source, sizeof f->source, "%.*s", (int)strlen(addr) - 2, addr);
    f->count = d->tw;
    double pct = range ? 100.0 * d->total / range : 0;
    finding_fact(f, "sockets", d->total);
    finding_fact(f, "time_wait", d->tw);
    finding_fact(f, "established", d->estab);
    finding_fact(f, "ephemeral_range", range);
    finding_fact(f, "range_used_pct", pct);
    finding_fact(f, "tcp_tw_reuse", (double)s->sys.tw_reuse);
    finding_fact(f, "tcp_timestamps", (double)s->sys.timestamps);
    snprintf(f->title, sizeof f->title,
             "%s from %s: %u sockets (%u TIME_WAIT, %u ESTAB) use %.1f%% of the %u-port "
             "ephemeral range", f->dest, f->source, d->total, d->tw, d->estab, pct, range);
    snprintf(f->why, sizeof f->why,
             "This host is the client and closed these connections first, so it holds their "
             "TIME_WAIT for 60 s. Each connection to %s from %s needs its own local port from "
             "net.ipv4.ip_local_port_range (%ld-%ld); when they are all in use connect() fails "
             "with EADDRNOTAVAIL.", f->dest, f->source, s->sys.port_lo, s->sys.port_hi);
    const char *reuse =
        s->sys.tw_reuse == 1 ? "tcp_tw_reuse=1 is on: connect() may already reuse a TIME_WAIT "
                               "port after 1 s when timestamps are on"
        : s->sys.tw_reuse == 2 ? "tcp_tw_reuse=2 (the default) reuses TIME_WAIT ports for "
                                 "loopback destinations only"
                               : "tcp_tw_reuse=0: no reuse";
    snprintf(f->fix, sizeof f->fix,
             "The real fix is to stop opening a connection per request: a connection pool with "
             "keep-alive in the client (and keep-alive honoured by the server). %s. "
             "tcp_tw_reuse=1 (needs tcp_timestamps=1, now %ld) lets new OUTGOING connections "
             "take over a TIME_WAIT port safely; it changes nothing for server-side TIME_WAIT "
             "and does not shorten TIME_WAIT. More source addresses or a wider "
             "ip_local_port_range add room; tcp_fin_timeout has no effect on TIME_WAIT.",
             reuse, s->sys.timestamps);
}

int rules_client(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    uint32_t range = snapshot_ephemeral_size(s);
    struct dest_table tb = {0};
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state == TS_LISTEN || snapshot_is_listen_port(s, t->sport) ||
            !snapshot_port_ephemeral(s, t->sport))
            continue;
        struct dest *d = lookup(&tb, t);
        if (!d) {
            free(tb.slots);
            return -1;
        }
        d->total++;
        d->tw += t->state == TS_TIME_WAIT;
        d->estab += t->state == TS_ESTABLISHED;
    }
    size_t n = 0;
    for (size_t i = 0; i < tb.cap; i++)
        if (tb.slots[i].used)
            tb.slots[n++] = tb.slots[i];
    if (n)
        qsort(tb.slots, n, sizeof *tb.slots, by_total);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct dest *d = &tb.slots[i];
        unsigned pct = range ? (unsigned)(100ull * d->total / range) : 0;
        if (d->total < o->client_min_sockets && pct < 10)
            break; /* sorted: the rest are smaller */
        enum severity sev = pct >= o->client_crit_pct   ? SEV_CRITICAL
                            : pct >= o->client_warn_pct ? SEV_WARNING
                                                        : SEV_INFO;
        struct finding *f = doctor_add(r, "client-port-pressure", sev);
        if (!f)
            rc = -1;
        else
            describe(f, d, s, range);
    }
    free(tb.slots);
    return rc;
}
