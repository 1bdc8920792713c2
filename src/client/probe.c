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
#include "loop/loop.h"

#define PACE_MS 100 /* the paced connection of the limit search */

enum role { R_KA11, R_KA10, R_CLOSE, R_IDLE, R_FAST, R_PACED, R_SECOND };
/* Where each connection lives in probe.pc. */
enum { I_KA11, I_KA10, I_CLOSE, I_FAST = I_CLOSE + PROBE_CLOSE_SAMPLES, I_PACED, I_SECOND, I_IDLE };
/* PENDING: not connected yet (a staggered start); SENDING: a request is
 * in flight; WAIT: the server's close is awaited (idle, or after an
 * announced close); DONE: nothing more. */
enum pstate { P_PENDING, P_SENDING, P_WAIT, P_DONE };

/* Idle samples start this far apart, so a server's coarse timer shows as
 * a spread (lighttpd checks idle connections once a second). */
#define IDLE_STAGGER_MS 250

struct probe;
struct pconn {
    struct hconn hc;
    struct probe *p;
    enum role role;
    enum pstate st;
    int minor;
    char *req;                /* malloc'd by prepare */
    size_t req_len;
    uint64_t responses, wait_start_ns;
    uint64_t sent_ns;         /* when the request in flight was sent */
    bool keeps, ended_by_server;
    enum hconn_end end_how;   /* how it ended, when it did */
    int end_err;              /* and the errno hconn gave */
    struct timer timer;       /* pace, or the bound of a wait */
    struct probe_close_obs obs;
    double end_age_s;         /* age when it ended, whoever ended it */
    bool waited_out;          /* a close wait ended without the server's close */
};

struct probe {
    const struct probe_opts *o;
    struct probe_result *r;
    struct loop *loop;
    struct pconn *pc;
    unsigned npc;
    uint64_t t0_ns, deadline_ns;
    struct tls_ctx *tls;
    struct timer tick;
    bool stop;
    uint64_t second_max;      /* the second back-to-back connection stops here */
};

static double secs(uint64_t ns)
{
    return ns / 1e9;
}

static void finish(struct pconn *c)
{
    c->st = P_DONE;
    loop_timer_cancel(c->p->loop, &c->timer);
    if (c->hc.x.fd >= 0) {
        if (c->hc.connect_ns)
            c->end_age_s = secs(loop_clock_ns() - c->hc.connect_ns);
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
        c->obs.rtt_s = secs(c->wait_start_ns - c->sent_ns);
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
        c->obs.after_s = c->wait_start_ns ? secs(now - c->wait_start_ns) : 0;
        c->obs.age_s = h->connect_ns ? secs(now - h->connect_ns) : 0;
    } else if (how != HC_END_REFUSED) {
        r->client_closed_first++;
    }
    c->end_age_s = h->connect_ns ? secs(now - h->connect_ns) : 0;
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
    c->obs.after_s = secs(loop_clock_ns() - c->wait_start_ns);
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
                secs(now - p->t0_ns), p->o->deadline_ms / 1000.0, phase_name(p),
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
    double age = secs(loop_clock_ns() - paced->hc.connect_ns);
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

static const char *first_error(const struct pconn *c, char *buf, size_t len)
{
    const struct hconn *h = &c->hc;
    if ((c->end_how == HC_END_EARLY_CLOSE || c->end_how == HC_END_BAD_RESPONSE) && !h->have_head &&
        h2_looks_like_frames(h->first_raw, h->first_raw_len))
        return "the server answers HTTP/2 only: use --http2-prior-knowledge";
    switch (c->end_how) {
    case HC_END_REFUSED: return "connection refused";
    case HC_END_RESET:
        return "the server reset the connection (RST) before answering";
    case HC_END_EARLY_CLOSE:
        if (h->have_head)
            snprintf(buf, len, "the server closed the connection (FIN) in the middle of the response body");
        else if (h->first_bytes[0])
            snprintf(buf, len, "the server closed the connection (FIN) before a complete response "
                     "(it began '%s')", h->first_bytes);
        else
            snprintf(buf, len, "the server closed the connection (FIN) without answering");
        return buf;
    case HC_END_BAD_RESPONSE:
        /* A valid head is not "not HTTP": say what was wrong with it. */
        if (h->have_head)
            snprintf(buf, len, "the response body's chunked framing is malformed");
        else if (c->end_err == EMSGSIZE)
            snprintf(buf, len, "the response head does not end within 16 KiB: '%s'", h->first_bytes);
        else
            snprintf(buf, len, "the answer is not an HTTP/1.x response: '%s'", h->first_bytes);
        return buf;
    case HC_END_TIMEOUT:
        snprintf(buf, len, h->connect_ns ? "no response within %.0f s (the connection was accepted)"
                                         : "no answer to the connection attempt within %.0f s",
                 c->p->o->request_timeout_ms / 1000.0);
        return buf;
    case HC_END_EXTRA_BYTES: return "bytes after the response that no request asked for";
    case HC_END_TLS:
        snprintf(buf, len, "TLS: %s", xport_error(&h->x));
        return buf;
    default: return "the connection failed";
    }
}

/* A cap seen on one connection only is checked against the second one. */
static void confirm_cap(struct probe_result *r, const struct pconn *second)
{
    if (second->role != R_SECOND || second->st != P_DONE || !second->responses)
        return;
    const struct probe_busy *b = &r->second;
    r->second_ran = true;
    if (r->limit != PL_CAP)
        return;
    if (b->closed && (long)b->responses == r->cap)
        r->cap_confirmed = true;
    else
        r->limit = PL_RANDOM;
}

static void summarize_limit(struct probe_result *r, const struct pconn *fast, const struct pconn *paced,
                            const struct pconn *second)
{
    struct probe_busy *b[3] = {&r->fast, &r->paced, &r->second};
    const struct pconn *c[3] = {fast, paced, second};
    for (int i = 0; i < 3; i++) {
        b[i]->responses = c[i]->responses;
        b[i]->closed = c[i]->ended_by_server;
        b[i]->announced = !c[i]->keeps && c[i]->responses > 0;
        b[i]->stopped_at_max = !b[i]->closed && !b[i]->announced && c[i]->responses >= fast->p->o->max_requests;
        b[i]->fin = c[i]->obs;
        b[i]->age_s = b[i]->closed ? c[i]->obs.age_s : c[i]->end_age_s;
        if (b[i]->announced) {
            b[i]->closed = true; /* announced: the cap is this count, FIN or not */
            if (!c[i]->ended_by_server) /* the second one does not wait for the FIN */
                b[i]->age_s = c[i]->hc.connect_ns && c[i]->wait_start_ns
                                  ? secs(c[i]->wait_start_ns - c[i]->hc.connect_ns) : c[i]->end_age_s;
            else
                b[i]->age_s -= c[i]->obs.after_s; /* age at the announcing response */
        }
    }
    r->limit_measured = true;
    const struct probe_busy *f = &r->fast, *s = &r->paced;
    if (!f->closed && !s->closed) {
        r->limit = PL_NONE;
    } else if (f->closed && s->closed) {
        double da = f->age_s > s->age_s ? f->age_s - s->age_s : s->age_s - f->age_s;
        if (f->responses == s->responses) {
            r->limit = PL_CAP, r->cap = (long)f->responses;
        } else if (da <= 0.5 || da <= 0.25 * (f->age_s > s->age_s ? f->age_s : s->age_s)) {
            r->limit = PL_LIFETIME, r->lifetime_s = (f->age_s + s->age_s) / 2;
        } else {
            r->limit = PL_UNKNOWN;
        }
    } else if (f->closed) {
        /* The paced one outlived the fast one's age: a count, not an age. */
        r->limit = s->age_s > f->age_s ? PL_CAP : PL_UNKNOWN;
        r->cap = (long)f->responses;
    } else {
        /* The fast one survived more requests than the paced one was
         * allowed: the paced one met an age limit. */
        r->limit = s->responses < f->responses ? PL_LIFETIME : PL_UNKNOWN;
        r->lifetime_s = s->age_s;
        r->cap = (long)s->responses;
    }
    if (r->limit == PL_CAP && f->closed && s->closed && f->responses == s->responses)
        r->cap_confirmed = true; /* two connections, one count */
    confirm_cap(r, second);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The Connection: close exchanges: the median by the FIN's delay (a FIN
 * never seen sorts last), the median exchange time, and how many had the
 * FIN queued with the response. The verdict rests on those, not on one
 * sample against a threshold. */
static void summarize_close(struct probe_result *r, const struct pconn *pc, unsigned n)
{
    const struct pconn *v[PROBE_CLOSE_SAMPLES];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        if (pc[i].responses && (pc[i].ended_by_server || pc[i].waited_out))
            v[k++] = &pc[i];
    for (unsigned i = 1; i < k; i++) /* insertion sort: three at most */
        for (unsigned j = i; j > 0; j--) {
            const struct probe_close_obs *a = &v[j - 1]->obs, *b = &v[j]->obs;
            bool later = (a->how == PC_NONE && b->how != PC_NONE) ||
                         (a->how != PC_NONE && b->how != PC_NONE && a->after_s > b->after_s);
            if (!later)
                break;
            const struct pconn *t = v[j - 1];
            v[j - 1] = v[j];
            v[j] = t;
        }
    r->close_samples = k;
    if (!k)
        return;
    r->close_measured = true;
    r->after_close = v[(k - 1) / 2]->obs;
    double rtt[PROBE_CLOSE_SAMPLES];
    for (unsigned i = 0; i < k; i++) {
        r->close_with_response += v[i]->obs.how == PC_FIN && v[i]->obs.with_response;
        rtt[i] = v[i]->obs.rtt_s;
    }
    qsort(rtt, k, sizeof rtt[0], cmp_double);
    r->close_rtt_s = rtt[(k - 1) / 2];
}

static void summarize_idle(struct probe_result *r, const struct pconn *pc, unsigned n)
{
    double v[PROBE_MAX_IDLE];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!pc[i].keeps || !pc[i].responses)
            continue;
        r->idle[r->idle_n++] = pc[i].obs;
        if (pc[i].obs.how != PC_NONE && pc[i].ended_by_server) {
            v[k++] = pc[i].obs.after_s;
            r->idle_rst |= pc[i].obs.how == PC_RST;
        }
    }
    r->idle_closed = k;
    if (!k)
        return;
    qsort(v, k, sizeof v[0], cmp_double);
    r->idle_min = v[0];
    r->idle_max = v[k - 1];
    r->idle_median = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
    /* lighttpd's one-second timer: 2.0-3.6 s for a 2 s timeout. */
    r->idle_spread = r->idle_max - r->idle_min > 0.5 && r->idle_max - r->idle_min > 0.1 * r->idle_median;
    r->idle_early = r->hint_timeout_s > 0 && r->idle_min < r->hint_timeout_s - 0.5;
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
                 p.stop ? "the probe's deadline passed" : first_error(&p.pc[0], why, sizeof why));
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
                    p.pc[i].obs.after_s = secs(loop_clock_ns() - p.pc[i].wait_start_ns);
                finish(&p.pc[i]);
            }
    r->keepalive_10 = p.pc[I_KA10].responses == 2;
    summarize_close(r, &p.pc[I_CLOSE], PROBE_CLOSE_SAMPLES);
    if (r->keepalive_11) {
        summarize_limit(r, &p.pc[I_FAST], &p.pc[I_PACED], &p.pc[I_SECOND]);
        summarize_idle(r, &p.pc[I_IDLE], nidle);
    }
    r->tls_tickets = p.tls && tls_ctx_sessions_kept(p.tls) > 0;
    probe_identify(r);
    rc = 0;
out:
    if (o->progress)
        fprintf(stderr, "\r%78s\r", "");
    r->elapsed_s = secs(loop_clock_ns() - p.t0_ns);
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
