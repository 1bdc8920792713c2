/* server-time-wait and tw-bucket-overflow: TIME_WAIT on this host's own
 * listening ports means this host sent the first FIN on those accepted
 * connections. */
#include <stdio.h>
#include <stdlib.h>

#include "doctor/doctor.h"

/* Linux TCP_TIMEWAIT_LEN: fixed, not a sysctl. */
#define TW_LEN_MS 60000u

struct tw_port {
    unsigned n, last10s, estab;
    unsigned oldest_ms;
};

static unsigned tw_age_ms(const struct tcp_sock *t)
{
    return t->expires_ms >= TW_LEN_MS ? 0 : TW_LEN_MS - t->expires_ms;
}

static void describe_server_tw(struct finding *f, uint16_t port, const struct tw_port *p,
                               const struct doctor_opts *o)
{
    double rate60 = p->n / 60.0, rate10 = p->last10s / 10.0;
    f->port = port;
    f->count = p->n;
    if (rate60 >= o->server_tw_warn)
        f->severity = SEV_WARNING;
    finding_fact(f, "closes_per_s_60s", rate60);
    finding_fact(f, "closes_per_s_10s", rate10);
    finding_fact(f, "oldest_age_s", p->oldest_ms / 1000.0);
    finding_fact(f, "established_on_port", p->estab);
    snprintf(f->title, sizeof f->title,
             "port %u: %u TIME_WAIT — this host closed those accepted connections first "
             "(%.1f closes/s over 60 s, %.1f/s over the last 10 s)",
             port, p->n, rate60, rate10);
    snprintf(f->why, sizeof f->why,
             "Only the side that sends the first FIN enters TIME_WAIT, for 60 s fixed on Linux. "
             "These sockets sit on listening port %u, so the server closed first. Each one "
             "stays 60 s; %u of them mean about %.1f server-side closes per second.",
             port, p->n, rate60);
    snprintf(f->fix, sizeof f->fix,
             "Find which of the three usual causes it is: (1) keep-alive off or `Connection: "
             "close` from either side, or HTTP/1.0 without keep-alive: one request per "
             "connection, the close rate equals the request rate and few connections (%u now) "
             "stay ESTABLISHED; (2) the keep-alive idle timeout (nginx keepalive_timeout): "
             "closes follow idle periods, rate far below the request rate, clients reconnect "
             "after pauses; (3) the keep-alive request cap (keepalive_requests): the close rate "
             "is the request rate / cap. `closer probe URL` measures the cap and the idle "
             "timeout. Fix: keep-alive on both sides, a higher request cap, and "
             "`Keep-Alive: timeout=N` a little below the server's idle timeout so clients close "
             "first. Server-side TIME_WAIT costs no ephemeral ports; tcp_tw_reuse does not "
             "apply to it and tcp_fin_timeout does not shorten it.",
             p->estab);
}

static const struct tw_port *sort_ctx;
static int by_count(const void *a, const void *b)
{
    unsigned x = sort_ctx[*(const uint16_t *)a].n, y = sort_ctx[*(const uint16_t *)b].n;
    if (x != y)
        return x > y ? -1 : 1;
    return (*(const uint16_t *)a > *(const uint16_t *)b) - (*(const uint16_t *)a < *(const uint16_t *)b);
}

static int server_tw(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    struct tw_port *ports = calloc(65536, sizeof *ports);
    if (!ports)
        return -1;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (!snapshot_is_listen_port(s, t->sport))
            continue;
        struct tw_port *p = &ports[t->sport];
        if (t->state == TS_ESTABLISHED) {
            p->estab++;
        } else if (t->state == TS_TIME_WAIT) {
            unsigned age = tw_age_ms(t);
            p->n++;
            p->last10s += age <= 10000;
            if (age > p->oldest_ms)
                p->oldest_ms = age;
        }
    }
    /* Biggest piles first. */
    int rc = 0, nports = 0;
    uint16_t *order = malloc(65536 * sizeof *order);
    if (!order) {
        free(ports);
        return -1;
    }
    for (int p = 1; p < 65536; p++)
        if (ports[p].n)
            order[nports++] = (uint16_t)p;
    sort_ctx = ports;
    qsort(order, (size_t)nports, sizeof *order, by_count);
    for (int i = 0; i < nports && !rc; i++) {
        struct finding *f = doctor_add(r, "server-time-wait", SEV_INFO);
        if (!f)
            rc = -1;
        else
            describe_server_tw(f, order[i], &ports[order[i]], o);
    }
    free(order);
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
    struct finding *f = doctor_add(r, "tw-bucket-overflow", near ? SEV_CRITICAL : SEV_WARNING);
    if (!f)
        return -1;
    f->count = overflow > 0 ? (unsigned long long)overflow : 0;
    finding_fact(f, "time_wait", (double)tw);
    finding_fact(f, "tcp_max_tw_buckets", (double)cap);
    finding_fact(f, "TCPTimeWaitOverflow", (double)overflow);
    snprintf(f->title, sizeof f->title,
             "TIME_WAIT table %s: %zu of tcp_max_tw_buckets=%ld; TCPTimeWaitOverflow=%lld",
             near ? "at its cap" : "overflowed since boot", tw, cap, overflow);
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
