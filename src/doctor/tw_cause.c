/* SPDX-License-Identifier: MIT */
/* The cause of a server-side TIME_WAIT pile, from the connections still
 * open on the port (see tw_cause.h). Each verdict needs evidence that only
 * that cause explains:
 *   no keep-alive  every open connection carried at most one request while
 *                  the port keeps closing connections;
 *   idle timeout   most open connections sit idle after a response: the
 *                  server closes connections that wait, at about the longest
 *                  idle time seen;
 *   request cap    busy connections carry several requests each and the
 *                  server closed more connections in the last minute than are
 *                  open: it closes busy ones, at the cap (the most requests
 *                  seen on one connection is its lower bound).
 * Anything else, or fewer than TW_CAUSE_MIN_SAMPLES connections, is
 * "undecided", with what is missing. */
#include "doctor/tw_cause.h"
#include "catalog/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct conn_act {
    uint32_t segs_in, segs_out, idle_recv_ms, idle_sent_ms, since_ack_ms;
};

/* tcp_info of socket i, false when the snapshot has none for it. */
static bool conn_activity(const struct snapshot *s, size_t i, struct conn_act *a)
{
    const struct tcp_activity *act = snapshot_activity(s, &s->socks[i]);
    if (!act)
        return false;
    *a = (struct conn_act){act->data_segs_in, act->data_segs_out, act->last_data_recv_ms,
                           act->last_data_sent_ms, act->last_ack_recv_ms};
    return true;
}

const char *tw_cause_name(enum tw_cause c)
{
    static const char *const names[] = {"undecided", "no keep-alive", "request cap",
                                        "idle timeout"};
    return names[c];
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

#define MAX_IDLE_SAMPLES 4096

static void decide(struct tw_evidence *ev)
{
    unsigned multi = ev->sampled - ev->single;
    if (ev->sampled < TW_CAUSE_MIN_SAMPLES)
        ev->cause = TW_CAUSE_UNDECIDED;
    else if (ev->idle >= TW_CAUSE_MIN_SAMPLES && ev->idle * 2 >= ev->sampled)
        ev->cause = TW_CAUSE_IDLE_TIMEOUT;
    /* Without keep-alive an answered connection is closed at once: open
     * ones that answered and wait say keep-alive is on, whatever they
     * carried. */
    else if (multi == 0 && ev->idle * 4 < ev->sampled)
        ev->cause = TW_CAUSE_NO_KEEPALIVE;
    /* Busy keep-alive connections are closed by the server only at a cap
     * (or a maximum age): more closes in the last minute than connections
     * open now, while the open ones carry several requests each. */
    else if (multi >= TW_CAUSE_MIN_SAMPLES && ev->busy * 2 >= ev->sampled &&
             ev->single * 4 <= ev->sampled && ev->tw >= ev->sampled)
        ev->cause = TW_CAUSE_REQUEST_CAP;
    else
        ev->cause = TW_CAUSE_UNDECIDED;
    if (ev->cause != TW_CAUSE_UNDECIDED || ev->closing < TW_CAUSE_MIN_SAMPLES ||
        (ev->sampled >= TW_CAUSE_MIN_SAMPLES && multi && !ev->idle))
        return;
    /* Too few open connections to tell, or none carried several: the ones
     * being closed now decide. */
    unsigned closing_multi = ev->closing - ev->closing_single; /* incl. idle closes */
    ev->from_closing = true;
    if (ev->closing_idle * 2 >= ev->closing)
        ev->cause = TW_CAUSE_IDLE_TIMEOUT;
    else if (closing_multi == ev->closing_idle && multi == 0 && !ev->idle)
        ev->cause = TW_CAUSE_NO_KEEPALIVE;
    else if (closing_multi >= TW_CAUSE_MIN_SAMPLES && ev->closing_single * 4 <= ev->closing)
        ev->cause = TW_CAUSE_REQUEST_CAP;
    else
        ev->from_closing = false;
}

static bool closing_state(int st)
{
    return st == TS_FIN_WAIT1 || st == TS_FIN_WAIT2 || st == TS_CLOSING;
}

/* A connection the server is closing: what it carried and how long it had
 * been idle when the FIN went out. The peer acknowledges the FIN at once,
 * so the last ACK in marks the FIN: last_data_sent - last_ack_recv is the
 * silence between the last response and the close (0 when the server
 * closed right after answering, the timeout when it closed an idle one;
 * a timeout of 1 s or less shows too). */
static void add_closing(struct tw_evidence *ev, const struct conn_act *a)
{
    uint32_t gap = a->idle_sent_ms > a->since_ack_ms ? a->idle_sent_ms - a->since_ack_ms : 0;
    bool idle_close = a->segs_out > 0 && gap >= TW_CLOSE_IDLE_MS;
    ev->closing++;
    ev->closing_single += !idle_close && a->segs_in <= 1;
    ev->closing_idle += idle_close;
    if (a->segs_in > ev->closing_max_segs_in)
        ev->closing_max_segs_in = a->segs_in;
    if (idle_close && gap > ev->max_idle_ms)
        ev->max_idle_ms = gap;
}

/* A client end on this host of a connection the server closed: CLOSE_WAIT
 * towards a local address (loopback, or this host's own address). */
static bool local_client_closed(const struct snapshot *s, const struct tcp_sock *t)
{
    size_t alen = t->family == AF_INET ? 4 : 16;
    return t->state == TS_CLOSE_WAIT && snapshot_conn_direction(s, t) == CONN_OUTGOING &&
           (tcp_addr_is_loopback(t->family, t->dst) || !memcmp(t->src, t->dst, alen));
}

/* The port a socket is evidence for: a server end's local port (open,
 * closing, or ended by its client: CLOSE_WAIT), a local client end's
 * destination port; -1 none. */
static int evidence_port(const struct snapshot *s, const struct tcp_sock *t)
{
    if (t->state == TS_ESTABLISHED || closing_state(t->state))
        return t->sport;
    if (t->state == TS_CLOSE_WAIT && snapshot_conn_direction(s, t) == CONN_ACCEPTED)
        return t->sport;
    return local_client_closed(s, t) ? t->dport : -1;
}

int tw_estab_index_build(const struct snapshot *s, struct tw_estab_index *x)
{
    x->start = calloc(65537, sizeof *x->start);
    if (!x->start)
        return -1;
    for (size_t i = 0; i < s->nsocks; i++) {
        int p = evidence_port(s, &s->socks[i]);
        if (p >= 0)
            x->start[p + 1]++;
    }
    for (int p = 1; p <= 65536; p++)
        x->start[p] += x->start[p - 1];
    x->idx = malloc((x->start[65536] + 1) * sizeof *x->idx);
    uint32_t *fill = malloc(65536 * sizeof *fill);
    if (!x->idx || !fill) {
        free(fill);
        tw_estab_index_free(x);
        return -1;
    }
    memcpy(fill, x->start, 65536 * sizeof *fill);
    for (size_t i = 0; i < s->nsocks; i++) {
        int p = evidence_port(s, &s->socks[i]);
        if (p >= 0)
            x->idx[fill[p]++] = (uint32_t)i;
    }
    free(fill);
    return 0;
}

void tw_estab_index_free(struct tw_estab_index *x)
{
    free(x->start);
    free(x->idx);
    x->start = x->idx = NULL;
}

void tw_cause_gather(const struct snapshot *s, const struct tw_estab_index *x, uint16_t port,
                     unsigned peak_1s, unsigned tw, struct tw_evidence *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->tw = tw;
    ev->peak_1s = peak_1s;
    ev->min_multi_segs_in = UINT32_MAX;
    uint32_t *idle = malloc(MAX_IDLE_SAMPLES * sizeof *idle);
    uint32_t *segs = malloc(MAX_IDLE_SAMPLES * sizeof *segs);
    size_t nidle = 0, nsegs = 0;
    for (uint32_t k = x->start[port]; k < x->start[port + 1]; k++) {
        size_t i = x->idx[k];
        struct conn_act a;
        if (s->socks[i].state == TS_CLOSE_WAIT && s->socks[i].sport == port) {
            /* the client ended it (after a `Connection: close` answer, say):
             * what it carried and the silence before the client's FIN */
            if (conn_activity(s, i, &a))
                add_closing(ev, &a);
            continue;
        }
        if (s->socks[i].state == TS_CLOSE_WAIT) {
            /* the client's end of a connection the server closed, seen
             * from the server: its requests are the client's data out,
             * the silence before the FIN the client's last data in */
            if (conn_activity(s, i, &a))
                add_closing(ev, &(struct conn_act){a.segs_out, a.segs_in, a.idle_sent_ms,
                                                   a.idle_recv_ms, a.since_ack_ms});
            continue;
        }
        if (closing_state(s->socks[i].state)) {
            if (conn_activity(s, i, &a))
                add_closing(ev, &a);
            continue;
        }
        ev->estab++;
        if (!conn_activity(s, i, &a))
            continue;
        /* Its first request still unread by the server (a saturated
         * server's queue): it tells nothing of how the server closes. */
        if (a.segs_out == 0 && s->socks[i].rqueue > 0) {
            ev->queued++;
            continue;
        }
        ev->sampled++;
        ev->single += a.segs_in <= 1;
        ev->busy += a.idle_recv_ms < TW_IDLE_MS;
        bool answered_idle = a.segs_out > 0 && a.idle_recv_ms >= TW_IDLE_MS &&
                             a.idle_sent_ms >= TW_IDLE_MS;
        ev->idle += answered_idle;
        if (a.segs_in > ev->max_segs_in)
            ev->max_segs_in = a.segs_in;
        if (a.segs_in > 1 && a.segs_in < ev->min_multi_segs_in)
            ev->min_multi_segs_in = a.segs_in;
        if (answered_idle && a.idle_recv_ms > ev->max_idle_ms)
            ev->max_idle_ms = a.idle_recv_ms;
        if (answered_idle && idle && nidle < MAX_IDLE_SAMPLES)
            idle[nidle++] = a.idle_recv_ms;
        if (a.segs_in > 1 && segs && nsegs < MAX_IDLE_SAMPLES)
            segs[nsegs++] = a.segs_in;
    }
    if (nidle) {
        qsort(idle, nidle, sizeof *idle, cmp_u32);
        ev->median_idle_ms = idle[nidle / 2];
    }
    for (size_t i = 0; i < nsegs; i++)
        ev->near_ceiling += segs[i] * 4 >= ev->max_segs_in * 3;
    if (ev->min_multi_segs_in == UINT32_MAX)
        ev->min_multi_segs_in = 0;
    free(idle);
    free(segs);
    decide(ev);
}

/* The verdict from the connections being closed now. */
static void closing_why(const struct tw_evidence *ev, char *buf, size_t len)
{
    unsigned multi = ev->closing - ev->closing_single;
    switch (ev->cause) {
    case TW_CAUSE_NO_KEEPALIVE:
        snprintf(buf, len,
                 "Cause, from the evidence: no keep-alive. %u connection%s %s being closed by "
                 "the server right now (FIN_WAIT) and none carried more than one request "
                 "(tcp_info data_segs_in <= 1), while %u closed in the last 60 s (%u in the "
                 "busiest second; %u still ESTABLISHED): each connection serves one request.",
                 ev->closing, plural_s(ev->closing), ev->closing == 1 ? "is" : "are", ev->tw,
                 ev->peak_1s, ev->estab);
        break;
    case TW_CAUSE_IDLE_TIMEOUT:
        snprintf(buf, len,
                 "Cause, from the evidence: the keep-alive idle timeout. %u of the %u connections "
                 "the server is closing right now (FIN_WAIT) carried several requests and had "
                 "been idle for up to %.1f s when the server closed them.",
                 ev->closing_idle, ev->closing, ev->max_idle_ms / 1000.0);
        break;
    default:
        snprintf(buf, len,
                 "Cause, from the evidence: the keep-alive request cap. %u of the %u connections "
                 "the server is closing right now (FIN_WAIT) carried several requests (up to "
                 "%u) and were busy: the server closes busy connections at a cap of about %u "
                 "request%s.",
                 multi, ev->closing, ev->closing_max_segs_in, ev->closing_max_segs_in,
                 plural_s(ev->closing_max_segs_in));
        break;
    }
}

void tw_cause_why(const struct tw_evidence *ev, char *buf, size_t len)
{
    unsigned multi = ev->sampled - ev->single;
    if (ev->from_trace) {
        tw_cause_trace_why(ev, buf, len);
        return;
    }
    if (ev->from_closing) {
        closing_why(ev, buf, len);
        return;
    }
    switch (ev->cause) {
    case TW_CAUSE_NO_KEEPALIVE:
        snprintf(buf, len,
                 "Cause, from the evidence: no keep-alive. None of the %u ESTABLISHED "
                 "connections on the port has carried more than one request (tcp_info "
                 "data_segs_in <= 1), while %u connection%s closed in the last 60 s (%u in the "
                 "busiest second): each connection serves one request and is closed by the "
                 "server, so the close rate is the connection rate.",
                 ev->sampled, ev->tw, plural_s(ev->tw), ev->peak_1s);
        break;
    case TW_CAUSE_IDLE_TIMEOUT:
        snprintf(buf, len,
                 "Cause, from the evidence: the keep-alive idle timeout. %u of the %u "
                 "ESTABLISHED connections on the port sit idle after a response (nothing sent "
                 "or received for %.1f s at most, %.1f s the median): keep-alive works and "
                 "clients keep connections open between requests, and the server closes those "
                 "that wait longer than its idle timeout (at least %.1f s here).",
                 ev->idle, ev->sampled, ev->max_idle_ms / 1000.0, ev->median_idle_ms / 1000.0,
                 ev->max_idle_ms / 1000.0);
        break;
    case TW_CAUSE_REQUEST_CAP:
        snprintf(buf, len,
                 "Cause, from the evidence: the keep-alive request cap. %u of the %u "
                 "ESTABLISHED connections on the port carried several requests (tcp_info "
                 "data_segs_in from %u up to %u, %u of them in the top quarter) and %u are "
                 "busy (data in the last second), yet %u connection%s closed in the last 60 s: "
                 "the server closes busy connections, at a cap of about %u request%s (the "
                 "most seen on one connection).",
                 multi, ev->sampled, ev->min_multi_segs_in, ev->max_segs_in, ev->near_ceiling,
                 ev->busy, ev->tw, plural_s(ev->tw), ev->max_segs_in, plural_s(ev->max_segs_in));
        break;
    case TW_CAUSE_UNDECIDED:
        if (ev->estab == 0)
            snprintf(buf, len,
                     "Cause undecided: no ESTABLISHED connection is left on the port, and only "
                     "open connections (their tcp_info) tell no keep-alive from a request cap "
                     "or an idle timeout: look while the traffic flows.");
        else if (ev->sampled < TW_CAUSE_MIN_SAMPLES)
            snprintf(buf, len,
                     "Cause undecided: of %u ESTABLISHED connection%s on the port %u can tell "
                     "(%u wait for their first answer, the request unread: a busy server), and "
                     "%u ended or closing ones: too few to tell no keep-alive from a request cap "
                     "or an idle timeout; look while more traffic flows.",
                     ev->estab, ev->estab == 1 ? "" : "s", ev->sampled, ev->queued, ev->closing);
        else
            snprintf(buf, len,
                     "Cause undecided: of %u ESTABLISHED connections on the port %u carried "
                     "more than one request (up to %u), %u are busy and %u idle after a "
                     "response; no single cause explains them all.",
                     ev->sampled, multi, ev->max_segs_in, ev->busy, ev->idle);
        size_t n = strlen(buf);
        tw_cause_trace_note(ev, buf + n, len - n);
        break;
    }
}

void tw_cause_fix(const struct tw_evidence *ev, const struct cat_program *prog, int proto,
                  char *buf, size_t len)
{
    static const enum cat_situation sit[] = {
        [TW_CAUSE_UNDECIDED] = K_TW_UNDECIDED, [TW_CAUSE_NO_KEEPALIVE] = K_TW_NO_KEEPALIVE,
        [TW_CAUSE_REQUEST_CAP] = K_TW_REQUEST_CAP, [TW_CAUSE_IDLE_TIMEOUT] = K_TW_IDLE_TIMEOUT,
    };
    const char *own = catalog_knob(prog, (enum cat_proto)proto, sit[ev->cause]);
    /* Undecided: the generic causes, then the program's own knobs; no
     * keep-alive: the server's knob, then the clients' part (either side
     * can turn it off). */
    /* No keep-alive: the server's knob, then the clients' part (either
     * side can turn it off); the generic words are HTTP's, not for
     * FastCGI or a database. Undecided: a known program's own knobs
     * alone (not nginx's as examples), else the generic causes. */
    bool http = proto == P_HTTP || proto == P_NONE;
    const char *generic = http && ev->cause == TW_CAUSE_NO_KEEPALIVE
                              ? catalog_knob(catalog_runtime_program(CR_NATIVE), P_NONE,
                                             sit[ev->cause]) : NULL;
    bool both = generic && generic != own;
    bool generic_first = false;
    snprintf(buf, len, "%s%s%s Server-side TIME_WAIT costs no ephemeral ports; tcp_tw_reuse "
             "does not apply to it and tcp_fin_timeout does not shorten it.",
             both && generic_first ? generic : own ? own : "", both ? " " : "",
             both ? (generic_first ? (own ? own : "") : generic) : "");
}

void tw_cause_facts(const struct tw_evidence *ev, struct finding *f)
{
    f->cause = tw_cause_name(ev->cause);
    finding_fact(f, "closing_connections", ev->closing);
    finding_fact(f, "queued_connections", ev->queued);
    finding_fact(f, "sampled_connections", ev->sampled);
    finding_fact(f, "single_request_connections", ev->single);
    finding_fact(f, "max_requests_per_connection", ev->max_segs_in);
    finding_fact(f, "idle_connections", ev->idle);
    finding_fact(f, "max_idle_s", ev->max_idle_ms / 1000.0);
    if (!ev->traced)
        return;
    finding_fact(f, "cause_from_trace", ev->from_trace);
    finding_fact(f, "traced_server_first", (double)ev->traced_here);
    finding_fact(f, "traced_client_first", (double)ev->traced_peer);
    if (ev->lived_n) {
        finding_fact(f, "lifetime_p50_ms", ev->lived_p50_ms);
        finding_fact(f, "lifetime_p90_ms", ev->lived_p90_ms);
    }
}
