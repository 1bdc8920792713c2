/* SPDX-License-Identifier: MIT */
/* The cause of server TIME_WAIT when few connections are open at a time:
 * a saturated server's queue, and the clients' ends on this host of the
 * connections the server closed. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/rules_trace.h"
#include "doctor/tw_cause.h"
#include "test.h"

static struct snapshot snap;
static struct tcp_sock socks[64];
static struct sock_activity acts[64];

static void reset(void)
{
    memset(&snap, 0, sizeof snap);
    snap.socks = socks;
    snap.acts = acts;
    snap.sys.port_lo = 32768, snap.sys.port_hi = 60999;
}

static struct tcp_sock *add(int state, uint16_t sport, uint16_t dport, uint32_t rq,
                            struct tcp_activity a)
{
    struct tcp_sock *t = &socks[snap.nsocks];
    memset(t, 0, sizeof *t);
    t->family = AF_INET, t->state = (uint8_t)state, t->sport = sport, t->dport = dport;
    t->rqueue = rq;
    t->src[0] = t->dst[0] = 127, t->src[3] = t->dst[3] = 1;
    acts[snap.nacts++] = (struct sock_activity){(uint32_t)snap.nsocks, a};
    snap.nsocks++;
    return t;
}

static enum tw_cause cause(struct tw_evidence *ev)
{
    snapshot_reindex(&snap);
    struct tw_estab_index x = {0};
    if (tw_estab_index_build(&snap, &x) < 0)
        abort();
    tw_cause_gather(&snap, &x, 8000, 500, 2000, ev);
    tw_estab_index_free(&x);
    return ev->cause;
}

static void listener(void)
{
    struct tcp_sock *l = add(TS_LISTEN, 8000, 0, 0, (struct tcp_activity){0});
    l->wqueue = 511;
}

/* gunicorn sync under wrk: every open server end waits with its first
 * request unread (no evidence), but the ends wrk closed after the
 * `Connection: close` answer carried one request each. */
TEST(queue_is_no_evidence_the_ended_connections_are)
{
    reset();
    listener();
    for (int i = 0; i < 8; i++)
        add(TS_ESTABLISHED, 8000, (uint16_t)(36000 + i), 40, (struct tcp_activity){.data_segs_in = 1});
    struct tw_evidence ev;
    CHECK_EQ_INT(cause(&ev), TW_CAUSE_UNDECIDED);
    CHECK_EQ_INT(ev.queued, 8);
    for (int i = 0; i < 3; i++)
        add(TS_CLOSE_WAIT, 8000, (uint16_t)(36100 + i), 1,
            (struct tcp_activity){.data_segs_in = 1, .data_segs_out = 2});
    CHECK_EQ_INT(cause(&ev), TW_CAUSE_NO_KEEPALIVE);
    CHECK(ev.from_closing);
}

/* puma saturated at its cap: the same queue, and whether or not the one
 * connection in service is seen, no verdict rather than a wrong one. */
TEST(queue_with_a_busy_connection_is_undecided)
{
    reset();
    listener();
    for (int i = 0; i < 6; i++)
        add(TS_ESTABLISHED, 8000, (uint16_t)(36000 + i), 40, (struct tcp_activity){.data_segs_in = 1});
    struct tw_evidence ev;
    CHECK_EQ_INT(cause(&ev), TW_CAUSE_UNDECIDED);
    add(TS_ESTABLISHED, 8000, 36100, 0,
        (struct tcp_activity){.data_segs_in = 5, .data_segs_out = 4});
    CHECK_EQ_INT(cause(&ev), TW_CAUSE_UNDECIDED);
}

/* Apache prefork with KeepAlive Off: the clients' ends on this host of
 * the connections it closed (CLOSE_WAIT) each sent one request and got
 * the FIN right after the answer. */
TEST(local_clients_of_closed_connections_decide)
{
    reset();
    listener();
    for (int i = 0; i < 5; i++)
        add(TS_CLOSE_WAIT, (uint16_t)(47000 + i), 8000, 248,
            (struct tcp_activity){.data_segs_in = 1, .data_segs_out = 1, .last_data_recv_ms = 4,
                                  .last_data_sent_ms = 4, .last_ack_recv_ms = 4});
    struct tw_evidence ev;
    CHECK_EQ_INT(cause(&ev), TW_CAUSE_NO_KEEPALIVE);
    CHECK(ev.from_closing);
    CHECK_EQ_INT(ev.closing, 5);
    /* the same clients idle 1.2 s before the FIN: an idle timeout */
    for (size_t i = 1; i < snap.nacts; i++)
        acts[i].a.last_data_recv_ms = 1300, acts[i].a.last_ack_recv_ms = 100;
    CHECK_EQ_INT(cause(&ev), TW_CAUSE_IDLE_TIMEOUT);
    CHECK(ev.max_idle_ms == 1200);
}

/* doctor --trace (issue 23): nginx answering `Connection: close` leaves
 * nothing open on the port; the trace saw it close 200 connections first,
 * each ~0.3 ms after the SYN: no keep-alive. The same closes at ~5 s each:
 * an idle timeout. Clients closing first: still undecided. */
static enum tw_cause traced(struct life_sample *v, size_t n, unsigned long long here,
                            unsigned long long peer, struct tw_evidence *ev)
{
    reset();
    listener();
    struct measured_close row = {.port = 8000, .accepted = true, .closes = here + peer,
                                 .local_first = here, .peer_first = peer};
    struct measured_closes m = {.seconds = 3, .rows = &row, .n = 1};
    struct measured_life *lives = measured_lives_build(v, n, &m.nlives);
    m.lives = lives;
    cause(ev);
    tw_cause_from_trace(&m, 8000, ev);
    free(lives);
    return ev->cause;
}

TEST(trace_lifetimes_decide_what_the_snapshot_cannot)
{
    struct life_sample v[200];
    for (int i = 0; i < 200; i++)
        v[i] = (struct life_sample){8000, (uint64_t)(250 + i % 7 * 20)};
    struct tw_evidence ev;
    reset();
    listener();
    CHECK_EQ_INT(cause(&ev), TW_CAUSE_UNDECIDED);
    CHECK_EQ_INT(traced(v, 200, 200, 0, &ev), TW_CAUSE_NO_KEEPALIVE);
    CHECK(ev.from_trace);
    CHECK(ev.lived_p50_ms > 0.2 && ev.lived_p50_ms < 0.4);
    char why[1024];
    tw_cause_why(&ev, why, sizeof why);
    CHECK(strstr(why, "measured by the trace: no keep-alive") != NULL);
    for (int i = 0; i < 200; i++)
        v[i].us = 5000000 + (uint64_t)(i % 10) * 1000;
    CHECK_EQ_INT(traced(v, 200, 200, 0, &ev), TW_CAUSE_IDLE_TIMEOUT);
    /* the clients closed most: TIME_WAIT is theirs, not a server cause */
    CHECK_EQ_INT(traced(v, 20, 20, 180, &ev), TW_CAUSE_UNDECIDED);
    CHECK(!ev.from_trace);
}
