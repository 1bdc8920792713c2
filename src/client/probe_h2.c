/* SPDX-License-Identifier: MIT */
#include "client/probe_h2.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "client/h2conn.h"
#include "loop/loop.h"

/* Idle samples start this far apart, as in the HTTP/1 probe (a coarse
 * server timer shows as a spread). */
#define IDLE_STAGGER_MS 250

enum role { R_CAP, R_IDLE };
enum pst { S_PENDING, S_BUSY, S_WAIT, S_DONE };

struct h2probe;
struct pc {
    struct h2conn hc;
    struct h2probe *p;
    enum role role;
    enum pst st;
    struct h2stream s;
    uint64_t answered, last_resp_ns;
    struct timer timer;       /* staggered start, or the bound of a wait */
    struct probe_h2_end end;
    bool ended_by_server, waited_out;
    enum h2_end end_how;
    int end_err;
};

struct h2probe {
    const struct probe_opts *o;
    struct probe_h2_result *r;
    struct loop *loop;
    struct pc *pc;
    unsigned npc;
    uint64_t t0_ns, deadline_ns;
    struct timer tick;
    bool stop;
    struct h2req rq;
    struct tls_ctx *tls;
};

static double secs(uint64_t ns)
{
    return ns / 1e9;
}

static void submit(struct pc *c)
{
    c->st = S_BUSY;
    c->p->r->requests_sent++;
    if (h2conn_submit(&c->hc, &c->p->rq, &c->s) < 0 && c->st == S_BUSY)
        c->st = S_WAIT; /* refused by the session: a GOAWAY is in */
}

/* The client ends the connection: the server did not within the wait. */
static void client_ends(struct pc *c)
{
    if (c->hc.x.fd >= 0) {
        if (h2conn_server_fin_pending(&c->hc)) {
            c->p->r->server_closed_first++;
            c->end.tcp = PC_FIN;
            c->ended_by_server = true;
        } else {
            c->p->r->client_closed_first++;
        }
        h2conn_close(&c->hc, false);
    }
    c->st = S_DONE;
    loop_timer_cancel(c->p->loop, &c->timer);
    loop_stop(c->p->loop);
}

static void wait_close(struct pc *c, uint64_t bound_ms)
{
    c->st = S_WAIT;
    if (bound_ms)
        loop_timer_arm(c->p->loop, &c->timer, bound_ms);
    else
        loop_timer_cancel(c->p->loop, &c->timer);
}

static void on_stream(struct h2conn *h, struct h2stream *s)
{
    struct pc *c = h->user;
    struct probe_h2_result *r = c->p->r;
    if (s->refused || s->status <= 0) {
        r->cap_refused += s->refused && c->role == R_CAP;
        if (h->goaway && !h->active && c->st != S_WAIT)
            wait_close(c, c->p->o->close_wait_ms);
        return;
    }
    c->answered++;
    c->last_resp_ns = loop_clock_ns();
    if (!r->status) {
        r->status = s->status;
        snprintf(r->server, sizeof r->server, "%s", s->server);
    }
    if (c->role == R_IDLE) {
        if (!h->goaway)
            wait_close(c, c->p->o->max_wait_ms);
        return;
    }
    if (h->goaway) { /* the announced close: how late is the FIN? */
        if (!h->active && c->st != S_WAIT)
            wait_close(c, c->p->o->close_wait_ms);
        return;
    }
    if (c->answered >= c->p->o->max_requests) {
        r->cap_stopped_at_max = true;
        client_ends(c);
        return;
    }
    submit(c);
}

static void on_goaway(struct h2conn *h)
{
    struct pc *c = h->user;
    c->end.goaway = true;
    c->end.goaway_error = h->goaway_error;
    c->end.last_stream_id = h->goaway_last_id;
    uint64_t from = c->role == R_IDLE && c->last_resp_ns ? c->last_resp_ns : h->connect_ns;
    c->end.goaway_after_s = from && h->goaway_ns > from ? secs(h->goaway_ns - from) : 0;
    if (!h->active)
        wait_close(c, c->p->o->close_wait_ms); /* the announced close: how late is the FIN? */
}

static void on_end(struct h2conn *h, enum h2_end how, int err)
{
    struct pc *c = h->user;
    struct probe_h2_result *r = c->p->r;
    c->end_how = how;
    c->end_err = err;
    c->ended_by_server = how == H2_END_SERVER_FIN || how == H2_END_RESET;
    if (c->ended_by_server) {
        r->server_closed_first++;
        c->end.tcp = how == H2_END_RESET ? PC_RST : PC_FIN;
        uint64_t from = h->goaway ? h->goaway_ns : c->last_resp_ns;
        c->end.tcp_after_goaway_s = from && h->end_ns > from ? secs(h->end_ns - from) : 0;
    } else if (h->connect_ns) {
        r->client_closed_first++;
    }
    c->st = S_DONE;
    loop_timer_cancel(c->p->loop, &c->timer);
    loop_stop(c->p->loop);
}

static void on_ready(struct h2conn *h)
{
    struct pc *c = h->user;
    if (c->role == R_CAP)
        h2conn_ping(h);
}

static const struct h2conn_ops ops = {on_stream, on_end, on_ready, on_goaway};

static void start(struct pc *c)
{
    struct h2probe *p = c->p;
    c->hc.timeout_ms = p->o->request_timeout_ms;
    int rc = h2conn_connect(&c->hc, p->loop, &ops, c, (const struct sockaddr *)&p->o->t.addr,
                            p->o->t.len, NULL, 0, p->tls, p->o->t.name);
    if (rc < 0) {
        c->st = S_DONE;
        c->end_how = H2_END_ERROR;
        c->end_err = -rc;
        loop_stop(p->loop);
        return;
    }
    p->r->connections++;
    submit(c);
}

static void on_timer(struct loop *l, struct timer *t)
{
    (void)l;
    struct pc *c = (struct pc *)((char *)t - offsetof(struct pc, timer));
    if (c->st == S_PENDING) {
        start(c);
        return;
    }
    if (c->st == S_WAIT) {
        c->waited_out = true;
        client_ends(c);
    }
}

static void on_tick(struct loop *l, struct timer *t)
{
    struct h2probe *p = (struct h2probe *)((char *)t - offsetof(struct h2probe, tick));
    if (loop_clock_ns() >= p->deadline_ns) {
        p->stop = true;
        p->r->deadline_hit = true;
    }
    loop_stop(l);
    loop_timer_arm(l, t, 250);
}

static bool all_done(const struct h2probe *p)
{
    for (unsigned i = 0; i < p->npc; i++)
        if (p->pc[i].st != S_DONE)
            return false;
    return true;
}

static const char *first_error(const struct pc *c, char *buf, size_t len)
{
    const struct h2conn *h = &c->hc;
    const struct tls_info *ti = xport_tls(&h->x);
    if (c->end_how == H2_END_PROTOCOL && c->end_err == EPROTONOSUPPORT && ti) {
        snprintf(buf, len, "ALPN chose %s, not h2: the server does not offer HTTP/2 here",
                 ti->alpn[0] ? ti->alpn : "no protocol");
        return buf;
    }
    switch (c->end_how) {
    case H2_END_REFUSED: return "connection refused";
    case H2_END_TIMEOUT: return "no HTTP/2 response within the timeout";
    case H2_END_RESET: return "the server reset the connection (RST) before answering";
    case H2_END_SERVER_FIN:
    case H2_END_PROTOCOL:
        if (h->first_raw_len >= 5 && !memcmp(h->first_raw, "HTTP/", 5))
            return "the server answered the HTTP/2 preface in HTTP/1.x: it does not speak h2c "
                   "(drop --http2-prior-knowledge)";
        if (h->goaway) {
            snprintf(buf, len, "the server sent GOAWAY %s before answering", h2_error_name(h->goaway_error));
            return buf;
        }
        return h->first_raw_len ? "the server's answer is not HTTP/2"
                                : "the server closed the connection (FIN) without answering";
    case H2_END_TLS:
        snprintf(buf, len, "the TLS handshake failed: %s", xport_error(&h->x));
        return buf;
    default:
        snprintf(buf, len, "the connection failed: %s", strerror(c->end_err ? c->end_err : EIO));
        return buf;
    }
}

static void summarize(struct h2probe *p)
{
    struct probe_h2_result *r = p->r;
    const struct pc *cap = &p->pc[0];
    r->cap_measured = cap->answered > 0;
    r->cap_streams = cap->answered;
    r->cap = cap->end;
    if (cap->hc.ping_rtt_ns)
        r->ping_rtt_s = secs(cap->hc.ping_rtt_ns);
    double v[PROBE_MAX_IDLE];
    unsigned k = 0;
    for (unsigned i = 1; i < p->npc; i++) {
        const struct pc *c = &p->pc[i];
        if (!c->answered)
            continue;
        struct probe_h2_end e = c->end;
        if (!e.goaway && c->ended_by_server)
            e.goaway_after_s = e.tcp_after_goaway_s; /* no GOAWAY: the FIN is the close */
        r->idle[r->idle_n++] = e;
        if (e.goaway || c->ended_by_server)
            v[k++] = e.goaway_after_s;
    }
    r->idle_closed = k;
    if (!k)
        return;
    probe_idle_spread(v, k, &r->idle_min, &r->idle_median, &r->idle_max);
}

static void run(struct h2probe *p)
{
    while (!p->stop && !all_done(p))
        loop_run(p->loop);
}

int probe_h2_run(const struct probe_opts *o, struct probe_h2_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->ping_rtt_s = -1;
    r->cap.tcp = PC_NONE; /* PC_FIN is 0: nothing seen must not read as a FIN */
    unsigned nidle = o->idle_samples ? o->idle_samples : 1;
    nidle = nidle > PROBE_MAX_IDLE ? PROBE_MAX_IDLE : nidle;
    struct h2probe p = {.o = o, .r = r, .loop = loop_new(), .npc = 1 + nidle};
    p.pc = calloc(p.npc, sizeof *p.pc);
    if (!p.loop || !p.pc) {
        snprintf(err, errlen, "out of memory");
        loop_free(p.loop);
        free(p.pc);
        return -1;
    }
    r->tls = o->t.tls;
    p.rq = (struct h2req){"GET", o->t.tls ? "https" : "http", o->t.host, o->t.path, o->headers,
                          o->nheaders, o->t.auth};
    for (size_t i = 0; i < o->nheaders; i++) /* -H Host: the authority, as curl */
        if (!strncasecmp(o->headers[i], "host:", 5))
            p.rq.authority = o->headers[i] + 5 + strspn(o->headers[i] + 5, " \t");
    if (o->t.tls) {
        struct tls_cfg cfg = o->tls_cfg;
        cfg.alpn = "h2,http/1.1"; /* as curl offers: the server's choice is the answer */
        if (!(p.tls = tls_ctx_new(&cfg, err, errlen))) {
            loop_free(p.loop);
            free(p.pc);
            return -1;
        }
    }
    for (unsigned i = 0; i < p.npc; i++) {
        p.pc[i] = (struct pc){.p = &p, .role = i ? R_IDLE : R_CAP, .st = S_DONE, .end.tcp = PC_NONE};
        p.pc[i].hc.x.fd = -1;
        timer_init(&p.pc[i].timer, on_timer);
    }
    p.t0_ns = loop_clock_ns();
    p.deadline_ns = p.t0_ns + o->deadline_ms * 1000000ull;
    timer_init(&p.tick, on_tick);
    loop_timer_arm(p.loop, &p.tick, 250);
    /* The stream cap connection first: its first answer says whether
     * HTTP/2 works here at all; then the idle ones beside it. */
    p.pc[0].st = S_PENDING;
    start(&p.pc[0]);
    while (!p.stop && p.pc[0].st != S_DONE && !p.pc[0].answered)
        loop_run(p.loop);
    int rc = -1;
    char why[200];
    const struct tls_info *ti = xport_tls(&p.pc[0].hc.x);
    if (ti && ti->done) {
        snprintf(r->alpn, sizeof r->alpn, "%s", ti->alpn);
        r->h2_declined = strcmp(ti->alpn, "h2") != 0;
    }
    if (!p.pc[0].answered) {
        snprintf(err, errlen, "no HTTP/2 response from %s: %s", o->t.text,
                 p.stop ? "the probe's deadline passed" : first_error(&p.pc[0], why, sizeof why));
        goto out;
    }
    for (unsigned i = 1; i < p.npc; i++) {
        p.pc[i].st = S_PENDING;
        if (i == 1)
            start(&p.pc[i]);
        else
            loop_timer_arm(p.loop, &p.pc[i].timer, (i - 1) * IDLE_STAGGER_MS);
    }
    run(&p);
    for (unsigned i = 0; i < p.npc; i++)
        if (p.pc[i].st != S_DONE)
            client_ends(&p.pc[i]); /* the deadline */
    summarize(&p);
    struct cat_response resp = {.server = r->server, .via = "", .connection = "-", .keep_alive = "",
                                .names = ""};
    const struct cat_program *origin;
    r->prog = catalog_from_response(&resp, &origin, r->kind_evidence, sizeof r->kind_evidence);
    rc = 0;
out:
    r->elapsed_s = secs(loop_clock_ns() - p.t0_ns);
    r->max_streams_set = p.pc[0].hc.settings_seen && p.pc[0].hc.max_concurrent != UINT32_MAX;
    r->max_streams = p.pc[0].hc.max_concurrent;
    for (unsigned i = 0; i < p.npc; i++)
        h2conn_free(&p.pc[i].hc);
    loop_timer_cancel(p.loop, &p.tick);
    loop_free(p.loop);
    free(p.pc);
    tls_ctx_free(p.tls);
    return rc;
}

static void *job_main(void *arg)
{
    struct probe_h2_job *j = arg;
    j->rc = probe_h2_run(j->o, &j->r, j->err, sizeof j->err);
    return NULL;
}

void probe_h2_begin(struct probe_h2_job *j, const struct probe_opts *o)
{
    j->o = o;
    j->rc = -1;
    snprintf(j->err, sizeof j->err, "cannot start a thread");
    j->started = pthread_create(&j->thread, NULL, job_main, j) == 0;
}

const struct probe_h2_result *probe_h2_finish(struct probe_h2_job *j)
{
    if (j->started)
        pthread_join(j->thread, NULL);
    j->started = false;
    return j->rc == 0 || j->r.h2_declined ? &j->r : NULL;
}
