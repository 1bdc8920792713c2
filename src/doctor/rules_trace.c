/* SPDX-License-Identifier: MIT */
/* trace-who-closes, trace-slow-close, trace-resets, trace-lost-events:
 * verdicts over measured transitions, not inferred from what is left. */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "doctor/rules_trace.h"
#include "doctor/program.h"

#define MAX_ROWS 20

static const char *role_text(const struct measured_close *c)
{
    return c->accepted ? "accepted" : c->outgoing ? "outgoing" : "opened before tracing";
}

static void who(char *buf, size_t len, const struct measured_close *c)
{
    if (c->pid)
        snprintf(buf, len, "%s (pid %d)", c->comm[0] ? c->comm : "?", c->pid);
    else
        snprintf(buf, len, "no process (the kernel closed them: resets, timeouts)");
}

static void base(struct finding *f, const struct measured_close *c, double secs)
{
    f->port = c->port;
    f->pid = c->pid;
    memcpy(f->comm, c->comm, sizeof f->comm);
    f->count = c->closes;
    finding_fact(f, "seconds_traced", secs);
    finding_fact(f, "local_first", (double)c->local_first);
    finding_fact(f, "peer_first", (double)c->peer_first);
    finding_fact(f, "reset", (double)c->reset);
    finding_fact(f, "time_wait_here", (double)c->tw_here);
    finding_fact(f, "time_wait_peer", (double)c->tw_peer);
    finding_fact(f, "rst_sent", (double)c->rst_sent);
    finding_fact(f, "rst_received", (double)c->rst_received);
    if (c->fin_to_close_n) {
        finding_fact(f, "close_after_fin_p50_ms", c->fin_to_close_p50_ms);
        finding_fact(f, "close_after_fin_p99_ms", c->fin_to_close_p99_ms);
        finding_fact(f, "close_after_fin_max_ms", c->fin_to_close_max_ms);
    }
}

static int who_closes(const struct measured_closes *m, const struct measured_close *c, struct doctor_report *r)
{
    struct finding *f = doctor_add(r, F_TRACE_WHO_CLOSES, SEV_INFO);
    if (!f)
        return -1;
    base(f, c, m->seconds);
    char w[64];
    who(w, sizeof w, c);
    snprintf(f->title, sizeof f->title,
             "port %u (%s), %.40s: %llu connection%s ended in %.1f s — %llu closed first here, %llu by "
             "the peer, %llu reset",
             c->port, role_text(c), w, c->closes, plural_s(c->closes), m->seconds, c->local_first,
             c->peer_first, c->reset);
    snprintf(f->why, sizeof f->why,
             "Measured by closer trace: ESTABLISHED->FIN_WAIT1 in this process's context is a close "
             "here first (TIME_WAIT stays here: %llu); ESTABLISHED->CLOSE_WAIT is the peer's FIN "
             "first (TIME_WAIT at the peer: %llu), then CLOSE_WAIT->LAST_ACK when this process "
             "called close(). Only the side that sends the first FIN keeps TIME_WAIT, 60 s on Linux.",
             c->tw_here, c->tw_peer);
    if (c->local_first > c->peer_first && c->accepted)
        snprintf(f->fix, sizeof f->fix,
                 "This server closes first, so TIME_WAIT piles up here. If clients can keep "
                 "connections, turn keep-alive on, raise the request cap, and send `Keep-Alive: "
                 "timeout=N` a little below the idle timeout so clients close first.");
    else if (c->local_first > c->peer_first && c->outgoing)
        snprintf(f->fix, sizeof f->fix,
                 "This client closes first: its TIME_WAIT holds ephemeral ports toward port %u. "
                 "Reuse connections (a pool with keep-alive); tcp_tw_reuse helps outgoing "
                 "connections only and needs timestamps.", c->port);
    else
        snprintf(f->fix, sizeof f->fix, "Nothing to change for who closes; see the close latency "
                 "and resets findings for this port if any.");
    return 0;
}

static int slow_close(const struct measured_closes *m, const struct measured_close *c, struct doctor_report *r)
{
    struct finding *f = doctor_add(r, F_TRACE_SLOW_CLOSE, SEV_WARNING);
    if (!f)
        return -1;
    base(f, c, m->seconds);
    f->count = c->fin_to_close_n;
    char w[64];
    who(w, sizeof w, c);
    snprintf(f->title, sizeof f->title,
             "port %u (%s): %.40s called close() %.0f ms (p50) / %.0f ms (p99) / %.0f ms (max) after "
             "the peer's FIN, over %llu connection%s",
             c->port, role_text(c), w, c->fin_to_close_p50_ms, c->fin_to_close_p99_ms,
             c->fin_to_close_max_ms, c->fin_to_close_n, plural_s(c->fin_to_close_n));
    snprintf(f->why, sizeof f->why,
             "Each of these sockets sat in CLOSE_WAIT from the peer's FIN until the program's "
             "close(): the kernel is done, the program is not. Under load that time becomes a "
             "CLOSE_WAIT pile and held file descriptors.");
    if (c->outgoing)
        snprintf(f->fix, sizeof f->fix,
                 "An outgoing connection idle in a client pool: the server closed it and the pool "
                 "noticed only on next use. Give the pool an idle timeout below the server's "
                 "keep-alive timeout (port %u), or validate idle connections sooner.", c->port);
    else
        snprintf(f->fix, sizeof f->fix,
                 "Read to EOF and close at once: a read returning 0 (or EPOLLRDHUP) must lead to "
                 "close() on that path; look for work done between the EOF and the close (a "
                 "sleep, a queue, a handler that ignores EOF).");
    return 0;
}

static int resets(const struct measured_closes *m, const struct measured_close *c, struct doctor_report *r)
{
    struct finding *f = doctor_add(r, F_TRACE_RESETS, SEV_WARNING);
    if (!f)
        return -1;
    base(f, c, m->seconds);
    f->count = c->rst_sent + c->rst_received;
    char w[64];
    who(w, sizeof w, c);
    snprintf(f->title, sizeof f->title,
             "port %u (%s), %.40s: %llu of %llu connection%s ended with a reset (%llu sent, %llu received)",
             c->port, role_text(c), w, f->count, c->closes, plural_s(c->closes), c->rst_sent,
             c->rst_received);
    snprintf(f->why, sizeof f->why,
             "Reasons the kernel gave for the resets sent: %s. A reset ends a connection without FIN: no TIME_WAIT, but data in flight can be lost "
             "(a close() with unread input sends RST and can erase the response in the peer's "
             "buffers). SO_LINGER {1,0} sends one on purpose.", c->rst_reasons[0] ? c->rst_reasons : "none recorded");
    snprintf(f->fix, sizeof f->fix,
             "Sent with TCP_ABORT_ON_CLOSE: read the request fully (or shutdown(SHUT_WR) and drain, "
             "as nginx's lingering close does) before close(). TCP_STATE after SO_LINGER {1,0}: "
             "keep it for timed-out peers only (nginx reset_timedout_connection). Received: the peer "
             "aborts; look at its timeouts.");
    return 0;
}

static int rules_trace_add(const struct measured_closes *m, struct doctor_report *r);

/* doctor_analyze's order (worst first, then the rules' order), with these
 * findings, added after it, ahead of the sysctl audit's info lines. */
static int by_severity(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    int xs = !strncmp(x->id, "sysctl-", 7), ys = !strncmp(y->id, "sysctl-", 7);
    if (xs != ys)
        return xs - ys;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* A client TIME_WAIT pile whose program the snapshot could not name: the
 * trace saw who closed connections to that port first (outgoing, local
 * first, in process context: the one that called close()). */
static void name_closers(const struct measured_closes *m, struct doctor_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct finding *f = &r->items[i];
        if (f->kind != F_CLIENT_PORT_PRESSURE || f->pid || !f->dest_ep.family)
            continue;
        const struct measured_close *best = NULL;
        for (size_t k = 0; k < m->n; k++) {
            const struct measured_close *c = &m->rows[k];
            if (c->outgoing && c->port == f->dest_ep.port && c->pid && c->local_first &&
                (!best || c->local_first > best->local_first))
                best = c;
        }
        if (!best)
            continue;
        f->pid = best->pid;
        snprintf(f->comm, sizeof f->comm, "%s", best->comm);
        struct cat_evidence ev = {best->comm, "", "", "", false, 0};
        enum cat_proto proto = catalog_proto_by_name(f->protocol);
        const struct cat_program *p = catalog_client(&ev, proto);
        finding_program(f, p);
        /* the fix named nobody's knob: now the program's own */
        const char *was = catalog_knob(catalog_runtime_program(CR_NATIVE), proto, K_CLIENT_REUSE);
        const char *own = catalog_knob(p, proto, K_CLIENT_REUSE);
        size_t wl = strlen(was);
        if (own != was && !strncmp(f->fix, was, wl)) {
            char rest[sizeof f->fix];
            snprintf(rest, sizeof rest, "%s", f->fix + wl);
            snprintf(f->fix, sizeof f->fix, "%s%s", own, rest);
        }
        size_t n = strlen(f->why);
        snprintf(f->why + n, sizeof f->why - n,
                 " The trace saw pid %d (%s) close %llu connection%s to port %u first in %.1f s.",
                 best->pid, best->comm, best->local_first, plural_s(best->local_first), best->port,
                 m->seconds);
    }
}

int rules_trace(const struct measured_closes *m, struct doctor_report *r)
{
    name_closers(m, r);
    int rc = rules_trace_add(m, r);
    if (r->n)
        qsort(r->items, r->n, sizeof *r->items, by_severity);
    return rc;
}

static int rules_trace_add(const struct measured_closes *m, struct doctor_report *r)
{
    if (m->lost_events) {
        struct finding *f = doctor_add(r, F_TRACE_LOST_EVENTS, SEV_WARNING);
        if (!f)
            return -1;
        f->port = -1;
        f->count = m->lost_events;
        snprintf(f->title, sizeof f->title, "the kernel dropped %llu trace event%s: the counts "
                 "below are short", m->lost_events, plural_s(m->lost_events));
        snprintf(f->why, sizeof f->why, "The per-CPU ring buffers filled faster than closer read them.");
        snprintf(f->fix, sizeof f->fix, "Trace a single port (closer trace -p PORT), or use closer "
                 "trace --buffer 16m.");
    }
    for (size_t i = 0; i < m->n && i < MAX_ROWS; i++) {
        const struct measured_close *c = &m->rows[i];
        if (who_closes(m, c, r) < 0)
            return -1;
        if (c->fin_to_close_n && c->fin_to_close_p99_ms >= TRACE_SLOW_CLOSE_MS && slow_close(m, c, r) < 0)
            return -1;
        unsigned long long rst = c->rst_sent + c->rst_received;
        if (rst && rst * 10 >= c->closes && resets(m, c, r) < 0)
            return -1;
    }
    return 0;
}
