/* SPDX-License-Identifier: MIT */
/* client-port-pressure: this host as a client. Every connection to one
 * destination ip:port from one source address needs its own local port;
 * TIME_WAIT holds that port for 60 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/doctor.h"
#include "kernel/proctask.h"

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

/* The program behind a destination's sockets decides which knob to name:
 * the runtime from the process model (exe, cmdline, maps), else comm. */
enum program { PROG_GENERIC, PROG_NGINX, PROG_HAPROXY, PROG_GO, PROG_NODE, PROG_PYTHON, PROG_JVM };

static enum program client_program(const struct snapshot *s, uint32_t proc)
{
    const struct proc_model *m = snapshot_model(s, proc);
    enum runtime rt = m ? (enum runtime)m->runtime
                        : proctask_runtime_from_names(s->procs[proc].comm, "");
    switch (rt) {
    case RT_NGINX: return PROG_NGINX;
    case RT_HAPROXY: return PROG_HAPROXY;
    case RT_GO: return PROG_GO;
    case RT_NODE: return PROG_NODE;
    case RT_PYTHON: return PROG_PYTHON;
    case RT_JVM: return PROG_JVM;
    default: return PROG_GENERIC;
    }
}

static const char *program_name(enum program p)
{
    static const char *const n[] = {"generic", "nginx", "haproxy", "go", "node", "python", "jvm"};
    return n[p];
}

static const char *program_fix(enum program p)
{
    switch (p) {
    case PROG_NGINX:
        return "nginx opens one upstream connection per request unless the upstream block keeps "
               "them: `upstream NAME { server ADDR; keepalive 32; }` (idle connections kept per "
               "worker) and, in the location that proxies, `proxy_http_version 1.1;` and "
               "`proxy_set_header Connection \"\";` (by default nginx speaks HTTP/1.0 with "
               "`Connection: close` upstream).";
    case PROG_HAPROXY:
        return "HAProxy: reuse idle server connections (`http-reuse safe`, the default since "
               "2.0; `aggressive` or `always` share more) and drop `option httpclose` / `option "
               "http-server-close`, which end the server connection after every response. When "
               "HAProxy ends it itself it sends RST (no TIME_WAIT here: TcpExt TCPAbortOnData "
               "counts them), so a full range means many connections at once: more source "
               "addresses (`source ADDR` per server) or more servers.";
    case PROG_GO:
        return "Go net/http keeps only Transport.MaxIdleConnsPerHost idle connections per host "
               "(2 by default) and closes the rest after use: raise MaxIdleConnsPerHost (and "
               "MaxIdleConns) to the concurrency, and read every response body to EOF and "
               "Close() it so the connection goes back to the pool.";
    case PROG_NODE:
        return "Node: send requests through one http.Agent with keepAlive: true (the global "
               "agent keeps alive since Node 19) and maxSockets / maxFreeSockets at the "
               "concurrency; undici's Pool does the same.";
    case PROG_PYTHON:
        return "Python: one requests.Session (not requests.get per call) with "
               "HTTPAdapter(pool_maxsize=N) at the concurrency, or one urllib3.PoolManager / "
               "httpx.Client shared by the callers.";
    case PROG_JVM:
        return "JVM: share one pooled client (Apache HttpClient "
               "PoolingHttpClientConnectionManager with setDefaultMaxPerRoute, OkHttp's "
               "ConnectionPool, java.net.http.HttpClient reused) instead of one per request.";
    case PROG_GENERIC:
        break;
    }
    return "The real fix is to stop opening a connection per request: a connection pool with "
           "keep-alive in the client (and keep-alive honoured by the server).";
}

static int by_total(const void *a, const void *b)
{
    const struct dest *x = a, *y = b;
    return (x->total < y->total) - (x->total > y->total);
}

/* Counts the owner of a full socket towards its destination. */
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
static void owners_text(const struct snapshot *s, const struct dest *d, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = 0;
    for (uint8_t i = 0; i < d->nowners && off < len; i++) {
        const struct proc_info *p = &s->procs[d->owner_proc[i]];
        int n = snprintf(buf + off, len - off, "%s%s (pid %d, runtime %s, %u open socket%s)",
                         i ? ", " : "", p->comm, (int)p->pid,
                         program_name(client_program(s, d->owner_proc[i])), d->owner_socks[i],
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
    enum program prog = PROG_GENERIC;
    if (d->nowners) {
        const struct proc_info *p = &s->procs[d->owner_proc[0]];
        f->pid = p->pid;
        snprintf(f->comm, sizeof f->comm, "%s", p->comm);
        prog = client_program(s, d->owner_proc[0]);
        f->runtime = program_name(prog);
        finding_fact(f, "owner_sockets", d->owner_socks[0]);
        finding_fact(f, "owner_processes", d->nowners);
    }
    finding_fact(f, "sockets", d->total);
    finding_fact(f, "time_wait", d->tw);
    finding_fact(f, "established", d->estab);
    finding_fact(f, "syn_sent", d->syn_sent);
    finding_fact(f, "ephemeral_range", range);
    finding_fact(f, "range_used_pct", pct);
    finding_fact(f, "tcp_tw_reuse", (double)s->sys.tw_reuse);
    finding_fact(f, "tcp_timestamps", (double)s->sys.timestamps);
    owners_text(s, d, owners, sizeof owners);
    snprintf(f->title, sizeof f->title,
             "%s from %s: %u sockets (%u TIME_WAIT, %u ESTAB) use %.1f%% of the %u-port "
             "ephemeral range%s%s%s", f->dest, f->source, d->total, d->tw, d->estab, pct, range,
             full ? (reuse ? "; the range is full" : "; connect() fails now (EADDRNOTAVAIL)") : "",
             d->nowners ? "; held by " : "", d->nowners ? s->procs[d->owner_proc[0]].comm : "");
    int off = snprintf(f->why, sizeof f->why,
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
                            : "No open socket to this destination is left to name the program "
                              "(TIME_WAIT has no owner): run doctor while the traffic flows.",
                 d->nowners ? owners : "");
    const char *reuse_text =
        s->sys.tw_reuse == 1 ? "tcp_tw_reuse=1 is on: connect() may already reuse a TIME_WAIT "
                               "port after 1 s when timestamps are on"
        : s->sys.tw_reuse == 2 ? "tcp_tw_reuse=2 (the default) reuses TIME_WAIT ports for "
                                 "loopback destinations only"
                               : "tcp_tw_reuse=0: no reuse";
    off = snprintf(f->fix, sizeof f->fix, "%s ", program_fix(prog));
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
        if (t->inode)
            count_owner(s, t, d);
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
