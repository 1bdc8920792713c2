/* SPDX-License-Identifier: MIT */
/* A server-side TIME_WAIT cause from doctor --trace's measurements, when
 * the snapshot leaves it undecided: under `Connection: close` or with
 * keep-alive off, connections live a few hundred microseconds, so none is
 * ESTABLISHED when the snapshot looks and their tcp_info is gone. The trace
 * saw each one: who sent the first FIN and how long after the SYN. */
#include <stdio.h>

#include "doctor/rules_trace.h"
#include "doctor/tw_cause.h"

/* Of the closes traced on the port, the server's share before a verdict. */
#define TRACE_HERE_PCT 90

static void take(const struct measured_closes *m, uint16_t port, struct tw_evidence *ev)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct measured_close *c = &m->rows[i];
        if (!c->accepted || c->port != port)
            continue;
        ev->traced_here += c->local_first;
        ev->traced_peer += c->peer_first;
    }
    const struct measured_life *l = measured_life_of(m, port);
    if (l) {
        ev->lived_n = l->n;
        ev->lived_p10_ms = l->p10_ms;
        ev->lived_p50_ms = l->p50_ms;
        ev->lived_p90_ms = l->p90_ms;
        ev->lived_max_ms = l->max_ms;
    }
}

void tw_cause_from_trace(const struct measured_closes *m, uint16_t port, struct tw_evidence *ev)
{
    if (!m)
        return;
    ev->traced = true;
    take(m, port, ev);
    unsigned long long all = ev->traced_here + ev->traced_peer;
    if (ev->cause != TW_CAUSE_UNDECIDED || ev->lived_n < TW_CAUSE_MIN_SAMPLES ||
        ev->traced_here * 100 < all * TRACE_HERE_PCT)
        return;
    unsigned multi = ev->sampled - ev->single;
    /* Closed once answered: no connection lived long enough to carry a
     * second request after a pause, and none open now carried two. */
    if (ev->lived_p90_ms < TW_IDLE_MS && multi == 0)
        ev->cause = TW_CAUSE_NO_KEEPALIVE;
    /* Closed at one age, long after any answer: the idle timeout. */
    else if (ev->lived_p10_ms >= TW_CLOSE_IDLE_MS && ev->lived_p10_ms * 4 >= ev->lived_p90_ms * 3 &&
             ev->busy * 2 < ev->sampled + 1)
        ev->cause = TW_CAUSE_IDLE_TIMEOUT;
    ev->from_trace = ev->cause != TW_CAUSE_UNDECIDED;
}

void tw_cause_trace_why(const struct tw_evidence *ev, char *buf, size_t len)
{
    if (ev->cause == TW_CAUSE_NO_KEEPALIVE)
        snprintf(buf, len,
                 "Cause, measured by the trace: no keep-alive. The server sent the first FIN on "
                 "%llu of the %llu connections traced, each %.2f ms after its SYN (median; 90%% "
                 "within %.2f ms, the longest %.2f ms): closed as soon as it answered, one request "
                 "per connection (keep-alive off at the server, or clients asking `Connection: "
                 "close`). No connection lives long enough to be seen open.",
                 ev->traced_here, ev->traced_here + ev->traced_peer, ev->lived_p50_ms,
                 ev->lived_p90_ms, ev->lived_max_ms);
    else
        snprintf(buf, len,
                 "Cause, measured by the trace: the keep-alive idle timeout. The server sent the "
                 "first FIN on %llu of the %llu connections traced, all at about the same age "
                 "(%.1f s median, %.1f..%.1f s for 80%% of them): it closes connections that "
                 "wait, at an idle timeout of about %.1f s.",
                 ev->traced_here, ev->traced_here + ev->traced_peer, ev->lived_p50_ms / 1000.0,
                 ev->lived_p10_ms / 1000.0, ev->lived_p90_ms / 1000.0, ev->lived_p50_ms / 1000.0);
}

/* What the trace saw when it could not decide either. */
void tw_cause_trace_note(const struct tw_evidence *ev, char *buf, size_t len)
{
    if (!ev->traced || len < 2)
        return;
    if (!ev->traced_here && !ev->traced_peer)
        snprintf(buf, len, " The trace saw no connection on the port end.");
    else
        snprintf(buf, len,
                 " The trace saw the server close %llu and the clients %llu first; lifetimes of "
                 "the server's: %.2f ms median, %.2f ms at 90%% (%llu measured), neither all "
                 "short nor all alike.",
                 ev->traced_here, ev->traced_peer, ev->lived_p50_ms, ev->lived_p90_ms, ev->lived_n);
}
