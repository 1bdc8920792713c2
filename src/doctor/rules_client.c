/* SPDX-License-Identifier: MIT */
/* client-port-pressure: this host as a client. Every connection to one
 * destination ip:port from one source address needs its own local port;
 * TIME_WAIT holds that port for 60 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/doctor.h"
#include "doctor/program.h"
#include "snapshot/twfold.h"

/* Owners kept per destination; a pool is usually one process. */
#define DEST_OWNERS 4

struct dest {
    uint8_t family, used;
    uint16_t dport;
    uint8_t src[16], dst[16];
    unsigned total, tw, estab, syn_sent;
    /* Processes holding full sockets to this destination (TIME_WAIT has no
     * owner): the most sockets first once sorted. */
    uint32_t owner_proc[DEST_OWNERS];
    unsigned owner_socks[DEST_OWNERS];
    uint8_t nowners;
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

/* The most sockets first; ties in address order, so the order does not
 * depend on the hash table's (folded TIME_WAIT arrive in another order). */
static int by_total(const void *a, const void *b)
{
    const struct dest *x = a, *y = b;
    if (x->total != y->total)
        return (x->total < y->total) - (x->total > y->total);
    if (x->family != y->family)
        return x->family - y->family;
    int c = memcmp(x->dst, y->dst, 16);
    if (!c)
        c = x->dport - y->dport;
    return c ? c : memcmp(x->src, y->src, 16);
}

/* The client TIME_WAIT folded while the table was read (snapshot/twfold.h). */
static int add_folded(struct dest_table *tb, const struct tw_fold *f)
{
    for (size_t i = 0; f && i < f->cap_dests; i++) {
        const struct tw_dest *fd = &f->dests[i];
        if (!fd->used)
            continue;
        struct tcp_sock t = {.family = fd->family, .state = TS_TIME_WAIT, .dport = fd->dport};
        memcpy(t.src, fd->src, 16);
        memcpy(t.dst, fd->dst, 16);
        struct dest *d = lookup(tb, &t);
        if (!d)
            return -1;
        d->total += fd->n;
        d->tw += fd->n;
    }
    return 0;
}

/* Counts the owner of a full socket towards its destination. Only
 * connections being opened or in use name it: a process that merely holds
 * CLOSE_WAIT to the same server (a pool the server closed) did not make
 * the TIME_WAIT of a program that closed first. */
static void count_owner(const struct snapshot *s, const struct tcp_sock *t, struct dest *d)
{
    const struct fd_ref *ref;
    if (!snapshot_owners(s, t->inode, &ref))
        return;
    for (uint8_t i = 0; i < d->nowners; i++)
        if (d->owner_proc[i] == ref->proc) {
            d->owner_socks[i]++;
            return;
        }
    if (d->nowners < DEST_OWNERS) {
        d->owner_proc[d->nowners] = ref->proc;
        d->owner_socks[d->nowners++] = 1;
    }
}

static void sort_owners(struct dest *d)
{
    for (uint8_t i = 1; i < d->nowners; i++)
        for (uint8_t j = i; j > 0 && d->owner_socks[j] > d->owner_socks[j - 1]; j--) {
            unsigned n = d->owner_socks[j];
            uint32_t p = d->owner_proc[j];
            d->owner_socks[j] = d->owner_socks[j - 1];
            d->owner_proc[j] = d->owner_proc[j - 1];
            d->owner_socks[j - 1] = n;
            d->owner_proc[j - 1] = p;
        }
}

/* "nginx (pid 12, 4 sockets), curl (pid 20, 1 socket)" */
static void owners_text(const struct snapshot *s, const struct dest *d, enum cat_proto proto,
                        char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = 0;
    for (uint8_t i = 0; i < d->nowners && off < len; i++) {
        const struct proc_info *p = &s->procs[d->owner_proc[i]];
        int n = snprintf(buf + off, len - off, "%s%s (pid %d, %s, %u open socket%s)",
                         i ? ", " : "", p->comm, (int)p->pid,
                         doc_client(s, d->owner_proc[i], proto)->name, d->owner_socks[i],
                         d->owner_socks[i] == 1 ? "" : "s");
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

static bool reuse_applies(const struct snapshot *s, const struct dest *d)
{
    if (s->sys.timestamps == 0)
        return false;
    return s->sys.tw_reuse == 1 || (s->sys.tw_reuse == 2 && tcp_addr_is_loopback(d->family, d->dst));
}

/* The program's knob for the protocol; when only the port named the
 * protocol, its any-protocol knob too (port 9000 is FastCGI's usual port,
 * and many others'). */
static int reuse_fix(char *buf, size_t len, const struct cat_program *prog,
                     const struct doc_proto *pr, uint16_t port)
{
    const char *own = catalog_knob(prog, pr->proto, K_CLIENT_REUSE);
    const char *any = catalog_knob(prog, P_NONE, K_CLIENT_REUSE);
    if (pr->from && !strcmp(pr->from, "port") && any != own)
        return snprintf(buf, len, "%s (The protocol is a guess from port %u, %s's usual port; "
                        "if the server speaks another:) %s ", own, port,
                        catalog_proto_name(pr->proto), any);
    return snprintf(buf, len, "%s ", own);
}

static void describe(struct finding *f, const struct dest *d, const struct snapshot *s,
                     uint32_t range)
{
    char addr[64], owners[300];
    tcp_addr_format(f->dest, d->family, d->dst, d->dport);
    tcp_addr_format(addr, d->family, d->src, 0);
    snprintf(f->source, sizeof f->source, "%.*s", (int)strlen(addr) - 2, addr);
    finding_endpoint_set(&f->dest_ep, d->family, d->dst, d->dport);
    finding_endpoint_set(&f->source_ep, d->family, d->src, 0);
    f->count = d->tw;
    double pct = range ? 100.0 * d->total / range : 0;
    bool full = range && d->total >= range, reuse = reuse_applies(s, d);
    struct doc_proto pr;
    doc_proto_of_dest(s, d->family, d->dst, d->dport, &pr);
    finding_protocol(f, &pr);
    if (pr.server)
        f->peer_program = pr.server->name;
    const struct cat_program *prog = catalog_runtime_program(CR_NATIVE);
    const struct dest_owner *later =
        d->nowners ? NULL : snapshot_dest_owner(s, d->family, d->dst, d->dport);
    char found[240] = "";
    if (later) {
        const struct proc_info *p = &s->procs[later->proc];
        f->pid = p->pid;
        snprintf(f->comm, sizeof f->comm, "%s", p->comm);
        prog = doc_client(s, later->proc, pr.proto);
        finding_program(f, prog);
        finding_fact(f, "owner_connections_seen", later->sockets);
        finding_fact(f, "looks", later->looks);
        snprintf(found, sizeof found,
                 "No connection to it was open at the first look (they live milliseconds); "
                 "reading the table and this namespace's processes again (%u passes) found %s "
                 "(pid %d, %s) holding %u of the connections seen there.", later->looks, p->comm,
                 (int)p->pid, prog->name, later->sockets);
    }
    if (d->nowners) {
        const struct proc_info *p = &s->procs[d->owner_proc[0]];
        f->pid = p->pid;
        snprintf(f->comm, sizeof f->comm, "%s", p->comm);
        prog = doc_client(s, d->owner_proc[0], pr.proto);
        finding_program(f, prog);
        finding_fact(f, "owner_sockets", d->owner_socks[0]);
        finding_fact(f, "owner_processes", d->nowners);
    }
    /* Open connections, not churn: a pool or a benchmark's persistent
     * connections hold their ports while in use and make no TIME_WAIT. */
    bool held = d->tw * 4 < d->total;
    finding_fact(f, "sockets", d->total);
    finding_fact(f, "time_wait", d->tw);
    finding_fact(f, "established", d->estab);
    finding_fact(f, "syn_sent", d->syn_sent);
    finding_fact(f, "ephemeral_range", range);
    finding_fact(f, "range_used_pct", pct);
    finding_fact(f, "tcp_tw_reuse", (double)s->sys.tw_reuse);
    finding_fact(f, "tcp_timestamps", (double)s->sys.timestamps);
    owners_text(s, d, pr.proto, owners, sizeof owners);
    snprintf(f->title, sizeof f->title,
             "%s from %s: %u socket%s (%u TIME_WAIT, %u ESTAB) use%s %.1f%% of the %u-port "
             "ephemeral range%s%s%s", f->dest, f->source, d->total, plural_s(d->total), d->tw,
             d->estab, d->total == 1 ? "s" : "", pct, range,
             full ? (reuse ? "; the range is full" : "; connect() fails now (EADDRNOTAVAIL)") : "",
             d->nowners ? "; held by " : "", d->nowners ? s->procs[d->owner_proc[0]].comm : "");
    int off = held
        ? snprintf(f->why, sizeof f->why,
                   "These are open connections (%u ESTABLISHED, only %u in TIME_WAIT): a pool or "
                   "a program's concurrency, not a connection per request. Each holds its own "
                   "local port from net.ipv4.ip_local_port_range (%ld-%ld) while it is open; "
                   "when they are all in use connect() fails with EADDRNOTAVAIL. ", d->estab,
                   d->tw, s->sys.port_lo, s->sys.port_hi)
        : snprintf(f->why, sizeof f->why,
             "This host is the client and closed these connections first, so it holds their "
             "TIME_WAIT for 60 s. Each connection to %s from %s needs its own local port from "
             "net.ipv4.ip_local_port_range (%ld-%ld); when they are all in use connect() fails "
             "with EADDRNOTAVAIL (\"Cannot assign requested address\"; nginx logs \"connect() "
             "failed (99: ...)\" and answers 502). ", f->dest, f->source, s->sys.port_lo,
             s->sys.port_hi);
    if (off > 0 && (size_t)off < sizeof f->why) {
        if (full)
            off += snprintf(f->why + off, sizeof f->why - (size_t)off, "%s ",
                            reuse ? "All the ports are taken: new connections live only by "
                                    "taking over TIME_WAIT ports older than 1 s "
                                    "(tcp_tw_reuse)."
                                  : "All the ports are taken and tcp_tw_reuse does not apply "
                                    "here: connect() to this destination fails now.");
    }
    if (off > 0 && (size_t)off < sizeof f->why)
        snprintf(f->why + off, sizeof f->why - (size_t)off, "%s%s",
                 d->nowners ? "The open sockets to this destination belong to: "
                 : later ? found
                 : d->estab + d->syn_sent
                     ? "Its open sockets have no owner closer could read (another user's "
                       "process: run doctor as root), and TIME_WAIT has no owner."
                     : "No open socket to this destination is left to name the program "
                       "(TIME_WAIT has no owner; connections that live milliseconds are gone "
                       "before the /proc walk): run doctor while the traffic flows, or with "
                       "--trace DUR to see who calls connect().",
                 d->nowners ? owners : "");
    const char *reuse_text =
        s->sys.tw_reuse == 1 ? "tcp_tw_reuse=1 is on: connect() may already reuse a TIME_WAIT "
                               "port after 1 s when timestamps are on"
        : s->sys.tw_reuse == 2 ? "tcp_tw_reuse=2 (the default) reuses TIME_WAIT ports for "
                                 "loopback destinations only"
                               : "tcp_tw_reuse=0: no reuse";
    off = held ? snprintf(f->fix, sizeof f->fix, "Nothing to change while the range has room: "
                          "these connections are reused, not churned. If it fills, fewer "
                          "connections at once, more source addresses or a wider range. ")
               : reuse_fix(f->fix, sizeof f->fix, prog, &pr, d->dport);
    if (off > 0 && (size_t)off < sizeof f->fix)
        snprintf(f->fix + off, sizeof f->fix - (size_t)off,
                 "%s. tcp_tw_reuse=1 (needs tcp_timestamps=1, now %ld) lets new OUTGOING "
                 "connections take over a TIME_WAIT port safely; it changes nothing for "
                 "server-side TIME_WAIT and does not shorten TIME_WAIT. More source addresses or "
                 "a wider ip_local_port_range add room; tcp_fin_timeout has no effect on "
                 "TIME_WAIT.", reuse_text, s->sys.timestamps);
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
        d->syn_sent += t->state == TS_SYN_SENT;
        if (t->inode && (t->state == TS_ESTABLISHED || t->state == TS_SYN_SENT))
            count_owner(s, t, d);
    }
    if (add_folded(&tb, s->twf) < 0) {
        free(tb.slots);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < tb.cap; i++)
        if (tb.slots[i].used)
            tb.slots[n++] = tb.slots[i];
    if (n)
        qsort(tb.slots, n, sizeof *tb.slots, by_total);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        struct dest *d = &tb.slots[i];
        unsigned pct = range ? (unsigned)(100ull * d->total / range) : 0;
        if (d->total < o->client_min_sockets && pct < 10)
            break; /* sorted: the rest are smaller */
        enum severity sev = pct >= o->client_crit_pct   ? SEV_CRITICAL
                            : pct >= o->client_warn_pct ? SEV_WARNING
                                                        : SEV_INFO;
        struct finding *f = doctor_add(r, F_CLIENT_PORT_PRESSURE, sev);
        if (!f) {
            rc = -1;
        } else {
            sort_owners(d);
            describe(f, d, s, range);
        }
    }
    free(tb.slots);
    return rc;
}
