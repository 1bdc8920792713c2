/* SPDX-License-Identifier: MIT */
#include "client/load.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/hconn.h"
#include "loop/loop.h"

struct lconn {
    struct hconn hc;
    struct lthread *t;
    uint64_t on_conn;       /* requests answered on this connection */
    uint64_t intended_ns;   /* when the current request should have gone */
    bool busy, closing;
    struct timer pause;     /* --idle, or a reconnect back-off */
};

/* What the threads of one run share: the run is the caller's (load_run's
 * stack), so two runs in one process do not meet. */
struct lrun {
    atomic_ullong issued, completed;
    atomic_bool stopping;
    atomic_ullong stopped_ns; /* when the first thread saw the end */
    uint64_t deadline_ns;     /* -d: written before the threads start */
};

struct lthread {
    const struct load_opts *o;
    struct lrun *run;
    struct loop *loop;
    struct lconn *conns;
    unsigned nconns;
    struct load_result r;
    char *req;
    size_t req_len;
    bool head;
    struct timer tick;
    double rate;             /* this thread's share */
    uint64_t next_ns;        /* next intended send (open loop) */
    uint64_t *backlog;       /* intended times not yet sent (ring) */
    size_t bl_head, bl_len, bl_cap;
    unsigned src_next;
    uint64_t grace_ns;       /* end of the wait for announced server closes */
    struct tls_ctx *tls;     /* this thread's: sessions resume within it */
    pthread_t thread;
};

static const struct hconn_ops ops;

static bool want_more(struct lthread *t)
{
    struct lrun *run = t->run;
    if (atomic_load(&run->stopping) || load_interrupted)
        return false;
    if (t->o->requests)
        return atomic_fetch_add(&run->issued, 1) < t->o->requests;
    return loop_clock_ns() < run->deadline_ns;
}

static void send_request(struct lconn *lc, uint64_t intended)
{
    lc->busy = true;
    lc->intended_ns = intended;
    hconn_send(&lc->hc, lc->t->req, lc->t->req_len, lc->t->head);
}

static void open_conn(struct lconn *lc);
static void client_close(struct lconn *lc);

static void on_pause(struct loop *l, struct timer *t)
{
    (void)l;
    struct lconn *lc = (struct lconn *)((char *)t - offsetof(struct lconn, pause));
    if (lc->hc.x.fd < 0) {
        open_conn(lc);
        return;
    }
    if (lc->closing) {
        client_close(lc); /* the announced close: its FIN did not come in time */
        return;
    }
    if (lc->busy || lc->hc.st != HC_IDLE)
        return;
    if (lc->t->rate == 0 && want_more(lc->t))
        send_request(lc, loop_clock_ns());
}

/* A connection is free: in closed loop it sends again; in open loop it takes
 * the oldest request that is already due. */
static void next_request(struct lconn *lc)
{
    struct lthread *t = lc->t;
    lc->busy = false;
    if (t->o->idle_ms && lc->on_conn) {
        loop_timer_arm(t->loop, &lc->pause, t->o->idle_ms);
        return;
    }
    if (t->rate == 0) {
        if (want_more(t))
            send_request(lc, loop_clock_ns());
        return;
    }
    if (t->bl_len) {
        uint64_t intended = t->backlog[t->bl_head];
        t->bl_head = (t->bl_head + 1) % t->bl_cap;
        t->bl_len--;
        send_request(lc, intended);
    }
}

static void open_conn(struct lconn *lc)
{
    struct lthread *t = lc->t;
    const struct load_opts *o = t->o;
    if (atomic_load(&t->run->stopping) || load_interrupted)
        return;
    /* With -n, no new connection once every request has been handed out. */
    if (o->requests && atomic_load(&t->run->issued) >= o->requests)
        return;
    const struct sockaddr *src = NULL;
    socklen_t slen = 0;
    if (o->nsources) {
        src = (const struct sockaddr *)&o->sources[t->src_next++ % o->nsources];
        slen = src->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    }
    /* A pause armed on the previous connection (--idle) must not fire into
     * this one while its first request is in flight. */
    loop_timer_cancel(t->loop, &lc->pause);
    lc->hc.timeout_ms = o->timeout_ms;
    lc->hc.tls_ctx = t->tls;
    lc->hc.tls_host = o->tls_name;
    lc->on_conn = 0;
    lc->busy = false;
    lc->closing = false;
    int rc = hconn_connect(&lc->hc, t->loop, &ops, lc, (const struct sockaddr *)&o->dst,
                           o->dst_len, src, slen);
    if (rc < 0) {
        t->r.errors[rc == -EADDRNOTAVAIL ? LE_ADDRNOTAVAIL : LE_OTHER]++;
        /* Back off a little: no hot loop on an exhausted port range. */
        loop_timer_arm(t->loop, &lc->pause, 10);
        return;
    }
    next_request(lc);
}

static void tally_tls_end(struct lthread *t, const struct hconn *c)
{
    load_tls_ended(&t->r.tls, &c->x);
}

/* Who closed an established connection the client is about to close: the
 * server if its FIN is already queued, else the client. */

static void count_close(struct lconn *lc)
{
    struct load_result *r = &lc->t->r;
    bool server = hconn_server_fin_pending(&lc->hc);
    r->closed_first[server ? LC_SERVER : LC_CLIENT]++;
    if (!server && lc->closing)
        r->announced_client_first++;
}

/* The client ends a connection (it decided to close first). */
static void client_close(struct lconn *lc)
{
    count_close(lc);
    loop_timer_cancel(lc->t->loop, &lc->pause);
    hconn_close(&lc->hc);
    tally_tls_end(lc->t, &lc->hc);
    open_conn(lc);
}

static void on_connect(struct hconn *c)
{
    struct lconn *lc = c->user;
    load_tls_connected(&lc->t->r, &c->x, (c->connect_ns - c->start_ns) / 1000,
                       (c->ready_ns - c->connect_ns) / 1000);
}

static void on_response(struct hconn *c, const struct http_response *resp, uint64_t bytes)
{
    struct lconn *lc = c->user;
    struct lthread *t = lc->t;
    const struct load_opts *o = t->o;
    uint64_t now = loop_clock_ns();
    lc->busy = false;
    hist_record(&t->r.latency, (now - lc->intended_ns) / 1000);
    t->r.requests++;
    t->r.bytes += bytes;
    if (resp->status >= 200 && resp->status < 300)
        t->r.status_2xx++;
    else
        t->r.status_other++;
    atomic_fetch_add_explicit(&t->run->completed, 1, memory_order_relaxed);
    lc->on_conn++;
    bool server_keeps = http_response_keeps_alive(resp);
    if (!server_keeps) {
        /* The server announced its close: nothing more is sent on it. A
         * client that honours Connection: close closes now (wrk, browsers);
         * --close-wait gives the server's FIN a bounded moment to come
         * first. A server that announces and then holds the connection
         * (Node's maxRequestsPerSocket) cannot stall the run either way. */
        t->r.announced_closes++;
        lc->closing = true;
        if (!o->close_wait_ms)
            client_close(lc);
        else
            loop_timer_arm(t->loop, &lc->pause, o->close_wait_ms);
        return;
    }
    if (!o->keepalive || (o->requests_per_conn && lc->on_conn >= o->requests_per_conn)) {
        client_close(lc);
        return;
    }
    next_request(lc);
}

static void on_end(struct hconn *c, enum hconn_end how, int err)
{
    (void)err;
    struct lconn *lc = c->user;
    struct lthread *t = lc->t;
    /* Established: TCP and, over TLS, the handshake (a failed handshake is
     * an error, not a connection). */
    bool established = c->ready_ns != 0;
    loop_timer_cancel(t->loop, &lc->pause);
    tally_tls_end(t, c);
    if (how == HC_END_TLS) {
        const char *e = xport_error(&c->x);
        snprintf(t->r.tls.error, sizeof t->r.tls.error, "%s", e);
    }
    /* A request that ends in an error still counts towards -n; one never
     * written (the connection ended on unsolicited bytes as it was handed
     * over) goes back to the pool. */
    if (lc->busy && how == HC_END_EXTRA_BYTES)
        atomic_fetch_sub(&t->run->issued, 1);
    else if (lc->busy)
        atomic_fetch_add_explicit(&t->run->completed, 1, memory_order_relaxed);
    /* The first FIN or RST decides who closed; a close this client made
     * (timeout, unparseable or unsolicited bytes) is the client's. */
    enum load_closer who = LC_CLIENT;
    switch (how) {
    case HC_END_SERVER_FIN: who = LC_SERVER; break;
    case HC_END_RESET:
        who = LC_RESET;
        if (lc->busy || !established)
            t->r.errors[LE_RESET]++;
        break;
    case HC_END_REFUSED: t->r.errors[LE_REFUSED]++; break;
    case HC_END_TIMEOUT: t->r.errors[LE_TIMEOUT]++; break;
    case HC_END_BAD_RESPONSE: t->r.errors[LE_BAD_RESPONSE]++; break;
    case HC_END_EARLY_CLOSE:
        t->r.errors[LE_EARLY_CLOSE]++;
        who = LC_SERVER;
        break;
    case HC_END_ERROR: t->r.errors[LE_OTHER]++; break;
    case HC_END_EXTRA_BYTES: t->r.errors[LE_UNSOLICITED]++; break;
    case HC_END_TLS: t->r.errors[LE_TLS]++; break;
    }
    if (established)
        t->r.closed_first[who]++;
    if (how == HC_END_REFUSED || how == HC_END_ERROR || (how == HC_END_TLS && !established))
        loop_timer_arm(t->loop, &lc->pause, 10);
    else
        open_conn(lc);
}

static const struct hconn_ops ops = {on_response, on_end, on_connect};

static void push_backlog(struct lthread *t, uint64_t intended)
{
    if (t->bl_len == t->bl_cap) {
        size_t cap = t->bl_cap ? t->bl_cap * 2 : 1024;
        uint64_t *n = malloc(cap * sizeof *n);
        if (!n)
            return; /* drop: counted nowhere, but bounded memory wins */
        for (size_t i = 0; i < t->bl_len; i++)
            n[i] = t->backlog[(t->bl_head + i) % t->bl_cap];
        free(t->backlog);
        t->backlog = n;
        t->bl_head = 0;
        t->bl_cap = cap;
    }
    t->backlog[(t->bl_head + t->bl_len) % t->bl_cap] = intended;
    t->bl_len++;
}

/* Every millisecond: the open-loop schedule, and the end of the run. */
static bool closing_pending(const struct lthread *t)
{
    for (unsigned i = 0; i < t->nconns; i++)
        if (t->conns[i].closing && t->conns[i].hc.x.fd >= 0)
            return true;
    return false;
}

static void on_tick(struct loop *l, struct timer *tm)
{
    struct lthread *t = (struct lthread *)((char *)tm - offsetof(struct lthread, tick));
    const struct load_opts *o = t->o;
    struct lrun *run = t->run;
    uint64_t now = loop_clock_ns();
    bool done = load_interrupted || atomic_load(&run->stopping) ||
                (o->duration_ms && now >= run->deadline_ns) ||
                (o->requests && atomic_load(&run->completed) >= o->requests);
    if (done) {
        unsigned long long zero = 0;
        atomic_compare_exchange_strong(&run->stopped_ns, &zero, now);
        atomic_store(&run->stopping, true);
        /* A connection whose last response announced Connection: close is
         * the server's to close: give its FIN a moment instead of racing it
         * (which would move that TIME_WAIT to this host). */
        if (!load_interrupted && closing_pending(t)) {
            if (!t->grace_ns)
                t->grace_ns = now + o->close_wait_ms * 1000000ull;
            if (now < t->grace_ns) {
                loop_timer_arm(l, tm, 1);
                return;
            }
        }
        loop_stop(l);
        return;
    }
    if (t->rate > 0) {
        uint64_t step = (uint64_t)(1e9 / t->rate);
        while (t->next_ns <= now) {
            if (!want_more(t))
                break;
            push_backlog(t, t->next_ns);
            t->next_ns += step;
        }
        for (unsigned i = 0; i < t->nconns && t->bl_len; i++) {
            struct lconn *lc = &t->conns[i];
            if (!lc->busy && !lc->closing && lc->hc.st == HC_IDLE && !timer_armed(&lc->pause))
                next_request(lc);
        }
    }
    loop_timer_arm(l, tm, 1);
}

static void *thread_main(void *arg)
{
    struct lthread *t = arg;
    for (unsigned i = 0; i < t->nconns; i++) {
        t->conns[i].t = t;
        t->conns[i].hc.x.fd = -1; /* never opened (yet): nothing to close */
        timer_init(&t->conns[i].pause, on_pause);
        open_conn(&t->conns[i]);
    }
    timer_init(&t->tick, on_tick);
    loop_timer_arm(t->loop, &t->tick, 1);
    loop_run(t->loop);
    for (unsigned i = 0; i < t->nconns; i++) {
        /* Still open when the run ends: a server FIN already waiting is
         * the server's close; else it is open_at_end (the client closes
         * it now because the run is over), never also a client close.
         * Every connection opened is counted once in closed_first. */
        if (t->conns[i].hc.x.fd >= 0 && t->conns[i].hc.ready_ns) {
            if (hconn_server_fin_pending(&t->conns[i].hc))
                t->r.closed_first[LC_SERVER]++;
            else
                t->r.open_at_end++;
            if (!hconn_server_fin_pending(&t->conns[i].hc) && t->conns[i].closing)
                t->r.announced_client_first++; /* announced, the FIN not there yet */
            hconn_close(&t->conns[i].hc);
            tally_tls_end(t, &t->conns[i].hc);
        } else if (t->conns[i].hc.x.fd >= 0) {
            t->r.connecting_at_end++; /* aborted in the handshake: never opened */
        }
        loop_timer_cancel(t->loop, &t->conns[i].pause);
        hconn_free(&t->conns[i].hc);
    }
    return NULL;
}

/* The request: the head from target_request (-H replaces Host and
 * Connection, as curl and wrk do), then the body. */
static int build_request(const struct load_opts *o, char **out, size_t *len)
{
    char clen[48] = "";
    if (o->body)
        snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", o->body_len);
    const char *conn = o->close_header ? "close" : o->http10 && o->http10_keepalive ? "keep-alive" : NULL;
    size_t hl;
    char *head = target_request(&o->target, o->method, o->http10 ? 0 : 1, conn, o->headers,
                                o->nheaders, clen, &hl);
    char *b = head ? realloc(head, hl + o->body_len + 1) : NULL;
    if (!b) {
        free(head);
        return -1;
    }
    if (o->body)
        memcpy(b + hl, o->body, o->body_len);
    *out = b;
    *len = hl + o->body_len;
    return 0;
}

static void progress(const struct load_opts *o, struct lrun *run, double elapsed, uint64_t last,
                     uint64_t *prev)
{
    if (!o->progress)
        return;
    uint64_t now = atomic_load(&run->completed);
    fprintf(stderr, "\r  %5.1f s  %10llu requests  %9.0f req/s  ", elapsed,
            (unsigned long long)now, (double)(now - last));
    *prev = now;
}

int load_run(const struct load_opts *o, struct load_result *res, char *err, size_t errlen)
{
    if (o->http2_prior || o->http2)
        return load_h2_run(o, res, err, errlen);
    struct lrun run;
    atomic_init(&run.issued, 0);
    atomic_init(&run.completed, 0);
    atomic_init(&run.stopping, false);
    atomic_init(&run.stopped_ns, 0);
    unsigned nt = o->threads ? o->threads : 1;
    if (nt > o->connections)
        nt = o->connections;
    struct lthread *ts = calloc(nt, sizeof *ts);
    struct lconn *conns = calloc(o->connections, sizeof *conns);
    char *req = NULL;
    size_t req_len = 0;
    if (!ts || !conns || build_request(o, &req, &req_len) < 0) {
        snprintf(err, errlen, "out of memory");
        free(ts);
        free(conns);
        return -1;
    }
    uint64_t t0 = loop_clock_ns();
    run.deadline_ns = t0 + o->duration_ms * 1000000ull;
    unsigned given = 0;
    for (unsigned i = 0; i < nt; i++) {
        struct lthread *t = &ts[i];
        t->o = o;
        t->run = &run;
        t->loop = loop_new();
        t->nconns = o->connections / nt + (i < o->connections % nt);
        t->conns = conns + given;
        given += t->nconns;
        t->req = req;
        t->req_len = req_len;
        t->head = !strcmp(o->method, "HEAD");
        t->rate = o->rate / nt;
        t->next_ns = t0;
        t->src_next = i * 7919u;
        hist_init(&t->r.latency);
        hist_init(&t->r.connect);
        hist_init(&t->r.handshake);
        if (!t->loop) {
            snprintf(err, errlen, "cannot create an event loop");
            nt = i;
            goto fail;
        }
        if (o->tls && !(t->tls = tls_ctx_new(&o->tls_cfg, err, errlen))) {
            nt = i + 1;
            goto fail;
        }
    }
    unsigned started = 0;
    for (; started < nt; started++) {
        int e = pthread_create(&ts[started].thread, NULL, thread_main, &ts[started]);
        if (e) {
            /* Stop the ones running and join only those. */
            atomic_store(&run.stopping, true);
            for (unsigned i = 0; i < started; i++)
                pthread_join(ts[i].thread, NULL);
            snprintf(err, errlen, "cannot start thread %u of %u: %s", started + 1, nt, strerror(e));
            goto fail;
        }
    }
    uint64_t prev = 0;
    /* Short naps so the end is noticed at once; the progress line once a
     * second. */
    for (unsigned nap = 1; !atomic_load(&run.stopping) && !load_interrupted; nap++) {
        usleep(20000);
        if (o->progress && nap % 50 == 0)
            progress(o, &run, (loop_clock_ns() - t0) / 1e9, prev, &prev);
    }
    atomic_store(&run.stopping, true);
    for (unsigned i = 0; i < nt; i++)
        pthread_join(ts[i].thread, NULL);
    if (o->progress)
        fprintf(stderr, "\r%60s\r", "");
    memset(res, 0, sizeof *res);
    hist_init(&res->latency);
    hist_init(&res->connect);
    hist_init(&res->handshake);
    uint64_t end = atomic_load(&run.stopped_ns);
    res->seconds = ((end ? end : loop_clock_ns()) - t0) / 1e9;
    res->interrupted = load_interrupted;
    for (unsigned i = 0; i < nt; i++) {
        struct load_result *r = &ts[i].r;
        res->requests += r->requests;
        res->bytes += r->bytes;
        res->connections += r->connections;
        res->open_at_end += r->open_at_end;
        res->connecting_at_end += r->connecting_at_end;
        res->announced_closes += r->announced_closes;
        res->announced_client_first += r->announced_client_first;
        res->status_2xx += r->status_2xx;
        res->status_other += r->status_other;
        for (int e = 0; e < LE_MAX; e++)
            res->errors[e] += r->errors[e];
        for (int c = 0; c < LC_MAX; c++)
            res->closed_first[c] += r->closed_first[c];
        hist_merge(&res->latency, &r->latency);
        hist_merge(&res->connect, &r->connect);
        hist_merge(&res->handshake, &r->handshake);
        load_tls_merge(&res->tls, &r->tls);
        loop_free(ts[i].loop);
        tls_ctx_free(ts[i].tls);
        free(ts[i].backlog);
    }
    free(req);
    free(ts);
    free(conns);
    return 0;
fail:
    for (unsigned i = 0; i < nt; i++) {
        loop_free(ts[i].loop);
        tls_ctx_free(ts[i].tls);
        free(ts[i].backlog);
    }
    free(req);
    free(ts);
    free(conns);
    return -1;
}

const char *load_err_name(enum load_err e)
{
    static const char *const n[] = {"refused", "reset", "timeout", "eaddrnotavail",
                                    "bad_response", "closed_early", "other", "unsolicited_bytes",
                                    "tls"};
    return n[e];
}

const char *load_closer_name(enum load_closer c)
{
    static const char *const n[] = {"server", "client", "reset"};
    return n[c];
}
