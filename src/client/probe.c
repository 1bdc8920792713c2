/* SPDX-License-Identifier: MIT */
#include "client/probe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/h2conn.h"
#include "client/hconn.h"
#include "client/load_report.h"
#include "client/probe_conn.h"
#include "loop/loop.h"



static void finish(struct pconn *c)
{
    c->st = P_DONE;
    loop_timer_cancel(c->p->loop, &c->timer);
    if (c->hc.x.fd >= 0) {
        if (c->hc.connect_ns)
            c->end_age_s = probe_secs(loop_clock_ns() - c->hc.connect_ns);
        if (hconn_server_fin_pending(&c->hc))
            c->p->r->server_closed_first++;
        else
            c->p->r->client_closed_first++;
        hconn_close(&c->hc);
    }
    loop_stop(c->p->loop);
}

/* Was the server's FIN already queued when the response completed (what a
 * client that closes at once meets)? poll(), not a MSG_PEEK recv: a peek
 * would consume a pending RST's error, and the close would then read as a
 * FIN. */
static bool fin_queued(const struct hconn *h)
{
    struct pollfd pf = {.fd = h->x.fd, .events = POLLIN | POLLRDHUP};
    if (h->x.fd < 0 || poll(&pf, 1, 0) != 1)
        return false;
    return (pf.revents & POLLRDHUP) && !(pf.revents & (POLLERR | POLLHUP));
}

static void send_one(struct pconn *c)
{
    c->sent_ns = loop_clock_ns();
    c->st = P_SENDING;
    c->p->r->requests_sent++;
    hconn_send(&c->hc, c->req, c->req_len, false);
}

/* Waits for the server to end the connection: FIN, RST, or nothing within
 * bound_ms (0: until the deadline). */
static void wait_close(struct pconn *c, uint64_t bound_ms)
{
    c->st = P_WAIT;
    c->wait_start_ns = loop_clock_ns();
    c->obs.how = PC_NONE;
    if (bound_ms)
        loop_timer_arm(c->p->loop, &c->timer, bound_ms);
}

static void on_response(struct hconn *h, const struct http_response *resp, uint64_t bytes)
{
    (void)bytes;
    struct pconn *c = h->user;
    struct probe_result *r = c->p->r;
    const struct probe_opts *o = c->p->o;
    c->responses++;
    c->keeps = http_response_keeps_alive(resp);
    if (c->role == R_KA11 && c->responses == 1) {
        r->status = resp->status;
        snprintf(r->connection_11, sizeof r->connection_11, "%s", h->hdr_connection);
        snprintf(r->keep_alive_11, sizeof r->keep_alive_11, "%s", h->hdr_keep_alive);
        snprintf(r->server, sizeof r->server, "%s", h->hdr_server);
        snprintf(r->via, sizeof r->via, "%s", h->hdr_via);
        snprintf(r->header_names, sizeof r->header_names, "%s", h->hdr_names);
    }
    if (c->role == R_KA10 && c->responses == 1) {
        snprintf(r->connection_10, sizeof r->connection_10, "%s", h->hdr_connection);
        snprintf(r->keep_alive_10, sizeof r->keep_alive_10, "%s", h->hdr_keep_alive);
    }
    /* The hint as announced: HTTP/1.1 first, else what an HTTP/1.0 reply said. */
    if ((c->role == R_KA11 || (c->role == R_KA10 && r->hint_timeout_s < 0 && r->hint_max < 0)) &&
        c->responses == 1) {
        r->hint_timeout_s = h->keep_alive_timeout;
        r->hint_max = h->keep_alive_max;
    }
    switch (c->role) {
    case R_KA11:
    case R_KA10:
        if (c->responses == 1 && c->keeps)
            send_one(c);
        else
            finish(c); /* honoured when the second one was answered */
        break;
    case R_CLOSE:
        wait_close(c, o->close_wait_ms);
        c->obs.with_response = fin_queued(h);
        c->obs.rtt_s = probe_secs(c->wait_start_ns - c->sent_ns);
        break;
    case R_IDLE:
        if (c->keeps)
            wait_close(c, o->max_wait_ms);
        else
            finish(c);
        break;
    case R_FAST:
    case R_PACED:
        if (!c->keeps) {
            wait_close(c, o->close_wait_ms); /* the announced close: how late is its FIN? */
            c->obs.with_response = fin_queued(h);
        } else if (c->responses >= o->max_requests) {
            finish(c);
        } else if (c->role == R_FAST) {
            send_one(c);
        } else {
            c->st = P_WAIT; /* not a close wait: the pace */
            c->wait_start_ns = 0;
            loop_timer_arm(c->p->loop, &c->timer, PACE_MS);
        }
        break;
    case R_SECOND:
        /* Only the count matters here: an announced close ends it at once. */
        if (!c->keeps || c->responses >= c->p->second_max)
            finish(c);
        else
            send_one(c);
        break;
    }
}

/* The handshake's facts, and how the server's close looked in TLS. */
static void note_tls(struct pconn *c, enum hconn_end how)
{
    const struct tls_info *i = xport_tls(&c->hc.x);
    if (!i || !i->done)
        return;
    if (how == HC_END_SERVER_FIN || how == HC_END_EARLY_CLOSE)
        c->obs.tls = !i->peer_close_notify ? PT_TRUNCATED
                     : c->hc.x.fin_with_notify ? PT_NOTIFY_FIN : PT_NOTIFY_ONLY;
    else if (how == HC_END_RESET)
        c->obs.tls = i->peer_close_notify ? PT_NOTIFY_RST : PT_RST;
}

static void on_connect(struct hconn *h)
{
    struct pconn *c = h->user;
    struct probe_result *r = c->p->r;
    const struct tls_info *i = xport_tls(&h->x);
    if (i && c->role == R_KA11) {
        r->tls_first = *i;
        r->tls_handshake_ms = (h->ready_ns - h->connect_ns) / 1e6;
    }
    if (i) {
        r->tls_offered += i->offered;
        r->tls_resumed += i->offered && i->resumed;
    }
}

static void on_end(struct hconn *h, enum hconn_end how, int err)
{
    struct pconn *c = h->user;
    struct probe_result *r = c->p->r;
    uint64_t now = loop_clock_ns();
    c->end_how = how;
    c->end_err = err;
    if (how == HC_END_EXTRA_BYTES)
        r->unsolicited_bytes += h->extra_bytes;
    c->ended_by_server = how == HC_END_SERVER_FIN || how == HC_END_RESET || how == HC_END_EARLY_CLOSE;
    note_tls(c, how);
    if (c->ended_by_server) {
        r->server_closed_first++;
        c->obs.how = how == HC_END_RESET ? PC_RST : PC_FIN;
        c->obs.after_s = c->wait_start_ns ? probe_secs(now - c->wait_start_ns) : 0;
        c->obs.age_s = h->connect_ns ? probe_secs(now - h->connect_ns) : 0;
    } else if (how != HC_END_REFUSED) {
        r->client_closed_first++;
    }
    c->end_age_s = h->connect_ns ? probe_secs(now - h->connect_ns) : 0;
    c->st = P_DONE;
    loop_timer_cancel(c->p->loop, &c->timer);
    loop_stop(c->p->loop);
}

static int connect_and_send(struct pconn *c);

static void on_timer(struct loop *l, struct timer *t)
{
    (void)l;
    struct pconn *c = (struct pconn *)((char *)t - offsetof(struct pconn, timer));
    if (c->st == P_PENDING) {
        connect_and_send(c);
        return;
    }
    if (c->st != P_WAIT)
        return;
    if (c->wait_start_ns == 0) {
        send_one(c); /* the pace */
        return;
    }
    /* The wait is over without a close: the client ends it. */
    c->waited_out = true;
    c->obs.how = PC_NONE;
    c->obs.after_s = probe_secs(loop_clock_ns() - c->wait_start_ns);
    finish(c);
}

static const struct hconn_ops ops = {on_response, on_end, on_connect};

static void prepare(struct probe *p, struct pconn *c, enum role role, int minor, const char *conn_hdr)
{
    const struct probe_opts *o = p->o;
    memset(&c->obs, 0, sizeof c->obs);
    c->p = p;
    c->role = role;
    c->minor = minor;
    c->responses = 0;
    c->keeps = c->ended_by_server = false;
    c->wait_start_ns = 0;
    c->end_how = HC_END_ERROR;
    c->waited_out = false;
    c->st = P_PENDING;
    timer_init(&c->timer, on_timer);
    free(c->req);
    c->req = target_request(&o->t, "GET", minor, conn_hdr, o->headers, o->nheaders, NULL, &c->req_len);
}

static int connect_and_send(struct pconn *c)
{
    struct probe *p = c->p;
    const struct probe_opts *o = p->o;
    if (!c->req) {
        c->st = P_DONE;
        c->end_how = HC_END_ERROR;
        return -ENOMEM;
    }
    c->hc.timeout_ms = o->request_timeout_ms;
    c->hc.tls_ctx = p->tls;
    c->hc.tls_host = o->t.name;
    int rc = hconn_connect(&c->hc, p->loop, &ops, c, (const struct sockaddr *)&o->t.addr, o->t.len,
                           NULL, 0);
    if (rc < 0) {
        c->st = P_DONE;
        c->end_how = HC_END_ERROR;
        loop_stop(p->loop);
        return rc;
    }
    p->r->connections++;
    send_one(c);
    return 0;
}

static int start(struct probe *p, struct pconn *c, enum role role, int minor, const char *conn_hdr)
{
    prepare(p, c, role, minor, conn_hdr);
    return connect_and_send(c);
}

static void start_later(struct probe *p, struct pconn *c, enum role role, uint64_t delay_ms)
{
    prepare(p, c, role, 1, NULL);
    if (delay_ms)
        loop_timer_arm(p->loop, &c->timer, delay_ms);
    else
        connect_and_send(c);
}

static const char *phase_name(const struct probe *p)
{
    for (unsigned i = 0; i < p->npc; i++)
        if (p->pc[i].st != P_DONE &&
            (p->pc[i].role == R_FAST || p->pc[i].role == R_PACED || p->pc[i].role == R_SECOND))
            return "limit search";
    for (unsigned i = 0; i < p->npc; i++)
        if (p->pc[i].st != P_DONE && p->pc[i].role == R_IDLE)
            return "idle timeout";
    return "keep-alive checks";
}

static void on_tick(struct loop *l, struct timer *t)
{
    struct probe *p = (struct probe *)((char *)t - offsetof(struct probe, tick));
    uint64_t now = loop_clock_ns();
    if (now >= p->deadline_ns) {
        p->stop = true;
        p->r->deadline_hit = true;
        loop_stop(l);
        return;
    }
    if (p->o->progress) {
        unsigned idle = 0, closed = 0;
        for (unsigned i = 0; i < p->npc; i++)
            if (p->pc[i].role == R_IDLE) {
                idle++;
                closed += p->pc[i].st == P_DONE;
            }
        fprintf(stderr, "\r  probe %3.0f s of %.0f: %s; %llu requests; idle %u/%u closed   ",
                probe_secs(now - p->t0_ns), p->o->deadline_ms / 1000.0, phase_name(p),
                (unsigned long long)p->r->requests_sent, closed, idle);
    }
    loop_stop(l); /* let the driver re-check its conditions */
    loop_timer_arm(l, t, 250);
}

static bool all_done(const struct probe *p, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++)
        if (p->pc[i].st != P_DONE)
            return false;
    return true;
}

/* The paced connection only tells a lifetime limit from a request cap:
 * once the fast one was closed at age A, the paced one surviving well past
 * A is the answer; it is also stopped when nothing else runs. */
static void maybe_stop_paced(struct probe *p, struct pconn *fast, struct pconn *paced)
{
    if (paced->st == P_DONE || fast->st != P_DONE || !paced->hc.connect_ns)
        return;
    double age = probe_secs(loop_clock_ns() - paced->hc.connect_ns);
    bool others = false;
    for (unsigned i = 0; i < p->npc; i++)
        if (&p->pc[i] != paced && p->pc[i].st != P_DONE)
            others = true;
    if ((fast->ended_by_server && age > 2 * fast->obs.age_s + 1) || !others)
        finish(paced);
}

/* Once the back-to-back connection was closed by the server after N
 * requests, a second one goes back to back too: closed at N again is a
 * per-connection cap; at another count, or not by 2N + 10, the server
 * closes at random (a server-wide 1-in-50 close read as a cap that
 * changed every run). Started once; a second count costs N requests. */
static void maybe_start_second(struct probe *p, struct pconn *fast, struct pconn *second)
{
    bool closed = !fast->keeps || (fast->st == P_DONE && fast->ended_by_server);
    if (second->role == R_SECOND || !fast->responses || !closed)
        return;
    p->second_max = 2 * fast->responses + 10;
    if (p->second_max > p->o->max_requests)
        p->second_max = p->o->max_requests;
    start_later(p, second, R_SECOND, 0);
}

static void run_until_done(struct probe *p, unsigned from, unsigned to, struct pconn *fast,
                           struct pconn *paced, struct pconn *second)
{
    while (!p->stop && !all_done(p, from, to)) {
        loop_run(p->loop);
        if (fast && paced)
            maybe_stop_paced(p, fast, paced);
        if (fast && second)
            maybe_start_second(p, fast, second);
    }
}

int probe_run(const struct probe_opts *o, struct probe_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->hint_timeout_s = r->hint_max = -1;
    r->cap = -1;
    r->tw_towards_delta = r->tw_at_delta = r->tw_all_delta = -1;
    unsigned nidle = o->idle_samples ? o->idle_samples : 1;
    if (nidle > PROBE_MAX_IDLE)
        nidle = PROBE_MAX_IDLE;
    unsigned npc = I_IDLE + nidle; /* the I_* layout */
    struct probe p = {.o = o, .r = r, .loop = loop_new(), .npc = npc};
    p.pc = calloc(npc, sizeof *p.pc);
    if (!p.loop || !p.pc) {
        snprintf(err, errlen, "out of memory");
        loop_free(p.loop);
        free(p.pc);
        return -1;
    }
    for (unsigned i = 0; i < npc; i++) {
        p.pc[i].hc.x.fd = -1;
        p.pc[i].st = P_DONE;
    }
    r->tls = o->t.tls;
    if (o->t.tls && !(p.tls = tls_ctx_new(&o->tls_cfg, err, errlen))) {
        loop_free(p.loop);
        free(p.pc);
        return -1;
    }
    long tw_towards0, tw_at0, tw_all0;
    load_count_time_wait(&o->t, &tw_towards0, &tw_at0, &tw_all0);
    p.t0_ns = loop_clock_ns();
    p.deadline_ns = p.t0_ns + o->deadline_ms * 1000000ull;
    timer_init(&p.tick, on_tick);
    loop_timer_arm(p.loop, &p.tick, 250);
    int rc = -1;
    char why[160];
    int e = start(&p, &p.pc[I_KA11], R_KA11, 1, NULL);
    if (e < 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", o->t.text, strerror(-e));
        goto out;
    }
    run_until_done(&p, 0, 1, NULL, NULL, NULL);
    if (!p.pc[0].responses) {
        snprintf(err, errlen, "no HTTP response from %s: %s", o->t.text,
                 p.stop ? "the probe's deadline passed" : probe_first_error(&p.pc[0], why, sizeof why));
        goto out;
    }
    r->keepalive_11 = p.pc[0].responses == 2;
    if (r->status >= 400) {
        /* An error page (a TLS port over http://, a wrong Host or path):
         * measuring it would advise on the error path, not the site. */
        r->error_answer = true;
        probe_identify(r); /* who answered with it is still worth naming */
        rc = 0;
        goto out;
    }
    /* Everything else at once: each waits on its own connection. */
    start(&p, &p.pc[I_KA10], R_KA10, 0, "keep-alive");
    for (unsigned i = 0; i < PROBE_CLOSE_SAMPLES; i++)
        start(&p, &p.pc[I_CLOSE + i], R_CLOSE, 1, "close");
    if (r->keepalive_11) {
        start(&p, &p.pc[I_FAST], R_FAST, 1, NULL);
        start(&p, &p.pc[I_PACED], R_PACED, 1, NULL);
        for (unsigned i = 0; i < nidle; i++)
            start_later(&p, &p.pc[I_IDLE + i], R_IDLE, i * IDLE_STAGGER_MS);
    }
    run_until_done(&p, 1, npc, &p.pc[I_FAST], &p.pc[I_PACED], &p.pc[I_SECOND]);
    if (p.stop) /* the deadline: whatever is still open is closed now */
        for (unsigned i = 0; i < npc; i++)
            if (p.pc[i].st != P_DONE) {
                if (p.pc[i].st == P_WAIT && p.pc[i].wait_start_ns)
                    p.pc[i].obs.after_s = probe_secs(loop_clock_ns() - p.pc[i].wait_start_ns);
                finish(&p.pc[i]);
            }
    r->keepalive_10 = p.pc[I_KA10].responses == 2;
    probe_summarize_close(r, &p.pc[I_CLOSE], PROBE_CLOSE_SAMPLES);
    if (r->keepalive_11) {
        probe_summarize_limit(r, &p.pc[I_FAST], &p.pc[I_PACED], &p.pc[I_SECOND]);
        probe_summarize_idle(r, &p.pc[I_IDLE], nidle);
    }
    r->tls_tickets = p.tls && tls_ctx_sessions_kept(p.tls) > 0;
    probe_identify(r);
    rc = 0;
out:
    if (o->progress)
        fprintf(stderr, "\r%78s\r", "");
    r->elapsed_s = probe_secs(loop_clock_ns() - p.t0_ns);
    for (unsigned i = 0; i < npc; i++) {
        hconn_free(&p.pc[i].hc);
        free(p.pc[i].req);
    }
    long tw_towards1, tw_at1, tw_all1;
    load_count_time_wait(&o->t, &tw_towards1, &tw_at1, &tw_all1);
    if (tw_towards0 >= 0 && tw_towards1 >= 0) {
        /* Older TIME_WAIT may expire meanwhile: a net change below 0 is 0. */
        r->tw_towards_delta = tw_towards1 > tw_towards0 ? tw_towards1 - tw_towards0 : 0;
        r->tw_at_delta = tw_at1 > tw_at0 ? tw_at1 - tw_at0 : 0;
        r->tw_all_delta = tw_all1 > tw_all0 ? tw_all1 - tw_all0 : 0;
    }
    loop_timer_cancel(p.loop, &p.tick);
    loop_free(p.loop);
    tls_ctx_free(p.tls);
    free(p.pc);
    return rc;
}
