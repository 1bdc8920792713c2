/* SPDX-License-Identifier: MIT */
/* server-time-wait and tw-bucket-overflow: TIME_WAIT on this host's own
 * server ports means this host sent the first FIN on those accepted
 * connections. The side is decided per socket (tw_side); the rate comes from
 * the TIME_WAIT timers (each socket's age = 60 s - time left); the cause
 * (no keep-alive, request cap, idle timeout) from the ESTABLISHED
 * connections still on the port (tw_cause.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor.h"
#include "doctor/program.h"
#include "doctor/tw_cause.h"
#include "snapshot/twfold.h"

/* Linux TCP_TIMEWAIT_LEN: fixed, not a sysctl. */
#define TW_LEN_MS 60000u
/* A local port still counts as a server's, its listener gone, when this many
 * TIME_WAIT on it look like clients' connections (see client_like): one
 * client shares a local port only between different destinations, never
 * across a pile of one peer's ports. */
#define TW_SHARED_PORT_MIN 16

struct tw_port {
    unsigned n, last10s;
    unsigned oldest_ms, newest_ms;
    unsigned peak_1s, peak_age_ms; /* most closes in one 1 s window, and when */
    bool gone;                     /* no listener on the port now */
};

static unsigned tw_age_ms(const struct tcp_sock *t)
{
    return t->expires_ms >= TW_LEN_MS ? 0 : TW_LEN_MS - t->expires_ms;
}

/* Does the peer's port look like a client's? Inside this host's ephemeral
 * range; or, facing a local port outside it, any unprivileged port (other
 * systems pick from other ranges: Windows and macOS use 49152-65535). */
static bool client_like(const struct snapshot *s, const struct tcp_sock *t)
{
    if (snapshot_port_ephemeral(s, t->dport))
        return true;
    return !snapshot_port_ephemeral(s, t->sport) && t->dport >= 1024;
}

/* Who sent the first FIN of a TIME_WAIT socket, from its ports: a listening
 * local port is a server's; so is a local port outside the ephemeral range
 * whose peer's port is inside it (the listener is gone: a restarted or
 * stopped server), or one that many client-like peers share. */
static enum tw_side tw_side(const struct snapshot *s, const struct tcp_sock *t, const uint32_t *shared)
{
    if (snapshot_is_listen_port(s, t->sport))
        return TW_SERVER;
    bool local_eph = snapshot_port_ephemeral(s, t->sport);
    bool peer_eph = snapshot_port_ephemeral(s, t->dport);
    if (peer_eph && !local_eph)
        return TW_SERVER_GONE;
    if (shared && shared[t->sport] >= TW_SHARED_PORT_MIN && client_like(s, t))
        return TW_SERVER_GONE;
    return local_eph ? TW_CLIENT : TW_OTHER;
}

/* shared[port] = TIME_WAIT on local port whose peer looks like a client. */
static uint32_t *count_shared(const struct snapshot *s)
{
    uint32_t *shared = calloc(65536, sizeof *shared);
    if (!shared)
        return NULL;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state == TS_TIME_WAIT && client_like(s, t))
            shared[t->sport]++;
    }
    return shared;
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* Most closes in any 1 s window, from the ages (ms) of one port's TIME_WAIT
 * sockets, sorted ascending. */
static void peak_window(const uint16_t *ages, size_t n, struct tw_port *p)
{
    size_t lo = 0;
    for (size_t hi = 0; hi < n; hi++) {
        while (ages[hi] - ages[lo] >= 1000)
            lo++;
        if (hi - lo + 1 > p->peak_1s) {
            p->peak_1s = (unsigned)(hi - lo + 1);
            p->peak_age_ms = ages[lo];
        }
    }
}

/* The same for a big pile without sorting it: a histogram of the ages by
 * millisecond (hist has TW_LEN_MS + 1 slots, left zeroed on return). */
static void peak_window_hist(const uint16_t *ages, size_t n, uint32_t *hist, struct tw_port *p)
{
    for (size_t i = 0; i < n; i++)
        hist[ages[i] <= TW_LEN_MS ? ages[i] : TW_LEN_MS]++;
    unsigned in_window = 0;
    for (uint32_t hi = 0; hi <= TW_LEN_MS; hi++) {
        in_window += hist[hi];
        if (hi >= 1000)
            in_window -= hist[hi - 1000];
        /* The window [hi - 999, hi]: its newest close is its first age. */
        if (in_window > p->peak_1s) {
            uint32_t lo = hi >= 999 ? hi - 999 : 0;
            while (!hist[lo])
                lo++;
            p->peak_1s = in_window;
            p->peak_age_ms = lo;
        }
    }
    memset(hist, 0, (TW_LEN_MS + 1) * sizeof *hist);
}

/* Below this many TIME_WAIT on a port, sorting the ages is cheaper than a
 * 60,001-slot histogram. */
#define TW_HIST_MIN 8192

/* Who serves the port (the listener's program), its protocol, and who
 * connects to it from this host. */
static const struct cat_program *identify(const struct snapshot *s, const struct doc_ports *x,
                                          struct finding *f, uint16_t port,
                                          const struct tw_port *p, struct doc_proto *pr)
{
    const struct tcp_sock *l = x->listener[port] ? &s->socks[x->listener[port] - 1] : NULL;
    const struct fd_ref *r;
    doc_proto_of_listener(s, l, port, pr);
    finding_protocol(f, pr);
    size_t nowners;
    if (!p->gone && pr->server && l && (nowners = snapshot_owners(s, l->inode, &r))) {
        finding_program(f, pr->server);
        f->pid = pr->server_pid;
        snprintf(f->comm, sizeof f->comm, "%s", s->procs[r->proc].comm);
        /* pre-fork servers: the master and its workers hold the listener */
        for (size_t i = 0; i < nowners; i++)
            f->processes += i == 0 || r[i].pid != r[i - 1].pid;
    }
    if (x->client[port] && snapshot_owners(s, s->socks[x->client[port] - 1].inode, &r))
        f->peer_program = doc_client(s, r->proc, pr->proto)->name;
    return pr->server && !p->gone ? pr->server : catalog_runtime_program(CR_NATIVE);
}

static void describe_server_tw(const struct snapshot *s, const struct doc_ports *x,
                               struct finding *f, uint16_t port, const struct tw_port *p,
                               const struct tw_evidence *ev, const struct doctor_opts *o)
{
    struct doc_proto pr;
    const struct cat_program *prog = identify(s, x, f, port, p, &pr);
    double rate60 = p->n / 60.0, rate10 = p->last10s / 10.0;
    f->port = port;
    f->count = p->n;
    if (rate60 >= o->server_tw_warn)
        f->severity = SEV_WARNING;
    finding_fact(f, "closes_per_s_60s", rate60);
    finding_fact(f, "closes_per_s_10s", rate10);
    finding_fact(f, "peak_closes_per_s_1s", p->peak_1s);
    finding_fact(f, "peak_age_s", p->peak_age_ms / 1000.0);
    finding_fact(f, "closes_span_s", (p->oldest_ms - p->newest_ms) / 1000.0);
    finding_fact(f, "oldest_age_s", p->oldest_ms / 1000.0);
    finding_fact(f, "listener", !p->gone);
    finding_fact(f, "established_on_port", ev->estab);
    char span[64] = "";
    if (p->n > 1)
        snprintf(span, sizeof span, ", all %u within %.2f s", p->n,
                 (p->oldest_ms - p->newest_ms) / 1000.0);
    char who[64] = "";
    if (f->program)
        snprintf(who, sizeof who, " (%s%s%s)", f->program, f->variant ? " " : "",
                 f->variant ? f->variant : "");
    snprintf(f->title, sizeof f->title,
             "port %u%s%s: %u TIME_WAIT — this host closed those accepted connections first "
             "(peak %u close%s in 1 s%s; %.1f/s over 60 s, %.1f/s over 10 s); cause: %s",
             port, who, p->gone ? " (no listener now)" : "", p->n, p->peak_1s, plural_s(p->peak_1s),
             p->n > 1 && p->oldest_ms - p->newest_ms < 1000 ? span : "", rate60, rate10,
             tw_cause_name(ev->cause));
    int off = snprintf(f->why, sizeof f->why,
                       "Only the side that sends the first FIN enters TIME_WAIT, for 60 s fixed "
                       "on Linux. %s %u TIME_WAIT mean %.1f closes/s on average over 60 s; the "
                       "timers put the busiest second %.1f s ago with %u close%s. ",
                       p->gone ? "Nothing listens on this port now, but the peers' ports are "
                                 "clients' (ephemeral) while this one is a server's: a server "
                                 "that stopped or restarted closed these connections first, and "
                                 "TIME_WAIT outlives it by up to 60 s."
                               : "These sockets sit on a listening port, so the server closed "
                                 "first.",
                       p->n, rate60, p->peak_age_ms / 1000.0, p->peak_1s, plural_s(p->peak_1s));
    if (off > 0 && (size_t)off < sizeof f->why)
        tw_cause_why(ev, f->why + off, sizeof f->why - (size_t)off);
    off = 0;
    if (p->gone)
        off = snprintf(f->fix, sizeof f->fix,
                       "The pile expires by itself within %.0f s. A new server on port %u "
                       "needs SO_REUSEADDR to bind() while it lasts (without it bind() fails "
                       "with EADDRINUSE). ", (TW_LEN_MS - p->newest_ms) / 1000.0, port);
    if (off >= 0 && (size_t)off < sizeof f->fix)
        tw_cause_fix(ev, prog, pr.proto, f->fix + off, sizeof f->fix - (size_t)off);
    tw_cause_facts(ev, f);
}

static int by_count(const void *a, const void *b, void *ctx)
{
    const struct tw_port *ports = ctx;
    uint16_t pa = *(const uint16_t *)a, pb = *(const uint16_t *)b;
    if (ports[pa].n != ports[pb].n)
        return ports[pa].n > ports[pb].n ? -1 : 1;
    return (pa > pb) - (pa < pb);
}

/* Ages of the server-side TIME_WAIT, grouped by port (counting sort), each
 * group sorted. */
struct tw_ages {
    uint16_t *ages;  /* ms, at most 60,000: 2 bytes a socket, 2 MB at 1M */
    uint32_t *start; /* 65537 offsets */
};

static int collect_ages(const struct snapshot *s, const uint32_t *shared, struct tw_port *ports,
                        struct doctor_report *r, struct tw_ages *a)
{
    a->start = calloc(65537, sizeof *a->start);
    if (!a->start)
        return -1;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state != TS_TIME_WAIT)
            continue;
        enum tw_side side = tw_side(s, t, shared);
        r->tw_server += side == TW_SERVER || side == TW_SERVER_GONE;
        r->tw_server_gone += side == TW_SERVER_GONE;
        r->tw_client += side == TW_CLIENT;
        r->tw_other += side == TW_OTHER;
        if (side != TW_SERVER && side != TW_SERVER_GONE)
            continue;
        struct tw_port *p = &ports[t->sport];
        unsigned age = tw_age_ms(t);
        if (!p->n || age < p->newest_ms)
            p->newest_ms = age;
        if (age > p->oldest_ms)
            p->oldest_ms = age;
        p->n++;
        p->last10s += age <= 10000;
        p->gone = side == TW_SERVER_GONE;
        a->start[t->sport + 1]++;
    }
    for (int p = 1; p <= 65536; p++)
        a->start[p] += a->start[p - 1];
    a->ages = malloc((a->start[65536] + 1) * sizeof *a->ages);
    uint32_t *fill = malloc(65536 * sizeof *fill);
    if (!a->ages || !fill) {
        free(fill);
        return -1;
    }
    memcpy(fill, a->start, 65536 * sizeof *fill);
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state == TS_TIME_WAIT && ports[t->sport].n &&
            (tw_side(s, t, shared) == TW_SERVER || tw_side(s, t, shared) == TW_SERVER_GONE))
            a->ages[fill[t->sport]++] = (uint16_t)tw_age_ms(t);
    }
    free(fill);
    return 0;
}

/* tw_side for the folded TIME_WAIT of one local port and peer-port class. */
static enum tw_side fold_side(const struct snapshot *s, uint16_t sport, int k,
                              const uint32_t *shared)
{
    if (snapshot_is_listen_port(s, sport))
        return TW_SERVER;
    bool local_eph = snapshot_port_ephemeral(s, sport), peer_eph = k == TWP_EPHEMERAL;
    if (peer_eph && !local_eph)
        return TW_SERVER_GONE;
    bool client = peer_eph || (!local_eph && k == TWP_HIGH);
    if (shared[sport] >= TW_SHARED_PORT_MIN && client)
        return TW_SERVER_GONE;
    return local_eph ? TW_CLIENT : TW_OTHER;
}

static uint32_t *count_shared_fold(const struct snapshot *s)
{
    uint32_t *shared = calloc(65536, sizeof *shared);
    const uint32_t *c = s->twf->count;
    for (int p = 0; shared && c && p < 65536; p++)
        shared[p] = c[p * TWP_NCLASSES + TWP_EPHEMERAL] +
                    (snapshot_port_ephemeral(s, (uint16_t)p) ? 0 : c[p * TWP_NCLASSES + TWP_HIGH]);
    return shared;
}

/* collect_ages from the fold: the sides per port and class, then the ages. */
static int collect_ages_fold(const struct snapshot *s, const uint32_t *shared,
                             struct tw_port *ports, struct doctor_report *r, struct tw_ages *a)
{
    const struct tw_fold *f = s->twf;
    uint8_t *server = calloc(65536 * TWP_NCLASSES, 1);
    a->start = calloc(65537, sizeof *a->start);
    if (!server || !a->start) {
        free(server);
        return -1;
    }
    for (int p = 0; f->count && p < 65536; p++)
        for (int k = 0; k < TWP_NCLASSES; k++) {
            uint32_t n = f->count[p * TWP_NCLASSES + k];
            if (!n)
                continue;
            enum tw_side side = fold_side(s, (uint16_t)p, k, shared);
            r->tw_server += side == TW_SERVER || side == TW_SERVER_GONE ? n : 0;
            r->tw_server_gone += side == TW_SERVER_GONE ? n : 0;
            r->tw_client += side == TW_CLIENT ? n : 0;
            r->tw_other += side == TW_OTHER ? n : 0;
            if (side != TW_SERVER && side != TW_SERVER_GONE)
                continue;
            server[p * TWP_NCLASSES + k] = 1;
            if (!ports[p].n)
                ports[p].newest_ms = TW_LEN_MS + 1;
            ports[p].n += n;
            ports[p].gone = side == TW_SERVER_GONE;
            a->start[p + 1] += n;
        }
    for (int p = 1; p <= 65536; p++)
        a->start[p] += a->start[p - 1];
    a->ages = malloc((a->start[65536] + 1) * sizeof *a->ages);
    uint32_t *fill = malloc(65536 * sizeof *fill);
    if (!a->ages || !fill) {
        free(fill);
        free(server);
        return -1;
    }
    memcpy(fill, a->start, 65536 * sizeof *fill);
    for (int k = 0; k < TWP_NCLASSES; k++)
        for (size_t i = 0; i < f->nages[k]; i++) {
            uint16_t port = (uint16_t)(f->ages[k][i] >> 16);
            unsigned age = f->ages[k][i] & 0xffff;
            if (!server[port * TWP_NCLASSES + k])
                continue;
            struct tw_port *p = &ports[port];
            if (age < p->newest_ms)
                p->newest_ms = age;
            if (age > p->oldest_ms)
                p->oldest_ms = age;
            p->last10s += age <= 10000;
            a->ages[fill[port]++] = (uint16_t)age;
        }
    free(fill);
    free(server);
    return 0;
}

static int report_ports(const struct snapshot *s, const struct doctor_opts *o,
                        struct doctor_report *r, struct tw_port *ports, const struct tw_ages *a)
{
    uint16_t *order = malloc(65536 * sizeof *order);
    if (!order)
        return -1;
    uint32_t *hist = NULL;
    int nports = 0, rc = 0;
    for (int p = 1; p < 65536 && !rc; p++) {
        if (!ports[p].n)
            continue;
        order[nports++] = (uint16_t)p;
        uint16_t *ages = a->ages + a->start[p];
        if (ports[p].n < TW_HIST_MIN) {
            qsort(ages, ports[p].n, sizeof *ages, cmp_u16);
            peak_window(ages, ports[p].n, &ports[p]);
        } else if (hist || (hist = calloc(TW_LEN_MS + 1, sizeof *hist))) {
            peak_window_hist(ages, ports[p].n, hist, &ports[p]);
        } else {
            rc = -1;
        }
    }
    free(hist);
    qsort_r(order, (size_t)nports, sizeof *order, by_count, ports);
    struct tw_estab_index x = {0};
    struct doc_ports *px = nports ? doc_ports_build(s) : NULL;
    if (nports && (!px || tw_estab_index_build(s, &x) < 0))
        rc = -1;
    for (int i = 0; i < nports && !rc; i++) {
        struct tw_evidence ev;
        tw_cause_gather(s, &x, order[i], ports[order[i]].peak_1s, ports[order[i]].n, &ev);
        tw_cause_from_trace(o->measured, order[i], &ev);
        struct finding *f = doctor_add(r, F_SERVER_TIME_WAIT, SEV_INFO);
        if (!f)
            rc = -1;
        else
            describe_server_tw(s, px, f, order[i], &ports[order[i]], &ev, o);
    }
    tw_estab_index_free(&x);
    free(px);
    free(order);
    return rc;
}

static int server_tw(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    struct tw_port *ports = calloc(65536, sizeof *ports);
    uint32_t *shared = s->twf ? count_shared_fold(s) : count_shared(s);
    struct tw_ages a = {0};
    int rc = -1;
    if (ports && shared &&
        (s->twf ? collect_ages_fold(s, shared, ports, r, &a) : collect_ages(s, shared, ports, r, &a)) == 0)
        rc = report_ports(s, o, r, ports, &a);
    free(a.ages);
    free(a.start);
    free(shared);
    free(ports);
    return rc;
}

static int tw_buckets(const struct snapshot *s, struct doctor_report *r)
{
    size_t tw = r->counts[TS_TIME_WAIT];
    long cap = s->sys.max_tw_buckets;
    long long overflow = s->ctr.tw_overflow;
    bool near = cap > 0 && tw * 10 >= (size_t)cap * 9;
    if (overflow <= 0 && !near)
        return 0;
    struct finding *f = doctor_add(r, F_TW_BUCKET_OVERFLOW, near ? SEV_CRITICAL : SEV_WARNING);
    if (!f)
        return -1;
    f->count = overflow > 0 ? (unsigned long long)overflow : 0;
    finding_fact(f, "time_wait", (double)tw);
    finding_fact(f, "tcp_max_tw_buckets", (double)cap);
    finding_fact(f, "TCPTimeWaitOverflow", (double)overflow);
    snprintf(f->title, sizeof f->title,
             "TIME_WAIT table %s: %zu of tcp_max_tw_buckets=%ld; TCPTimeWaitOverflow=%lld",
             near ? "at its cap" : "overflowed (counted in this network namespace)", tw, cap,
             overflow);
    snprintf(f->why, sizeof f->why,
             "Beyond net.ipv4.tcp_max_tw_buckets the kernel does not create the TIME_WAIT "
             "socket at all (the connection is destroyed at once) and counts "
             "TCPTimeWaitOverflow. Those connections lose TIME_WAIT's protection: a lost last "
             "ACK gets a RST back, and old duplicate segments can reach a new connection on the "
             "same 4-tuple.");
    snprintf(f->fix, sizeof f->fix,
             "Remove the cause of the TIME_WAIT pile (keep-alive, connection pools: see the "
             "server-time-wait / client-port-pressure findings). Raising tcp_max_tw_buckets "
             "is safe memory-wise (a TIME_WAIT socket is a few hundred bytes) if the pile is "
             "legitimate.");
    return 0;
}

int rules_time_wait(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    if (server_tw(s, o, r) < 0)
        return -1;
    return tw_buckets(s, r);
}
