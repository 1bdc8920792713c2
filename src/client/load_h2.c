/* SPDX-License-Identifier: MIT */
/* closer load over HTTP/2: N connections over T threads, each keeping -m
 * streams in flight (h2load's -m), closed loop. A connection ends the
 * HTTP/2 way: the server's GOAWAY (its stream cap, its idle timeout) or
 * the client's limit (--requests-per-conn); the TCP closes after it are
 * counted as HTTP/1's are (closed_first), since the first FIN, not the
 * GOAWAY, decides where TIME_WAIT lands. The run's state is one struct
 * shared by its threads (atomics), never a static. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/h2conn.h"
#include "client/load.h"
#include "loop/loop.h"

/* The end of the run is checked this often (closed loop only: no send
 * schedule to keep). A 1 ms tick cost ~15% more CPU per request in
 * context switches than h2load at -c16 -m10. */
#define TICK_MS 10

struct run {
    const struct load_opts *o;
    atomic_ullong issued, completed, stopped_ns;
    atomic_bool stopping;
    uint64_t deadline_ns;
    struct h2req rq;
};

struct h2t;
struct lc {
    struct h2conn hc;
    struct h2t *t;
    struct h2stream *slots, **free;
    unsigned nfree;
    uint64_t on_conn;         /* streams submitted on this connection */
    bool closing;             /* announced (GOAWAY) or at its limit: closes when drained */
    struct timer pause;       /* reconnect back-off, or the wait for the server's FIN */
};

struct h2t {
    struct run *run;
    struct loop *loop;
    struct tls_ctx *tls;      /* this thread's: sessions resume within it */
    struct lc *conns;
    unsigned nconns;
    struct load_result r;
    uint64_t grace_ns;
    unsigned src_next;
    struct timer tick;
    pthread_t thread;
};

static void open_conn(struct lc *c);

static bool want_more(struct run *run)
{
    const struct load_opts *o = run->o;
    if (atomic_load(&run->stopping) || load_interrupted)
        return false;
    if (!o->requests)
        return loop_clock_ns() < run->deadline_ns;
    /* Never past -n: a refused stream gives its place back (issued - 1),
     * and the count must then let exactly one more go. */
    unsigned long long cur = atomic_load(&run->issued);
    while (cur < o->requests)
        if (atomic_compare_exchange_weak(&run->issued, &cur, cur + 1))
            return true;
    return false;
}

/* Counted once per connection, when it ends: a GOAWAY and the FIN behind
 * it are often read together, and the connection is gone before the
 * GOAWAY would be delivered. */
static void note_goaway(struct lc *c)
{
    const struct h2conn *h = &c->hc;
    struct load_result *r = &c->t->r;
    if (!h->goaway)
        return;
    r->goaways++;
    r->goaway_errors[h->goaway_error < H2_LOAD_ERRORS - 1 ? h->goaway_error : H2_LOAD_ERRORS - 1]++;
}

/* TLS: how the connection ended (close_notify each way, truncation). */
static void tally_tls_end(struct h2t *t, const struct h2conn *h)
{
    load_tls_ended(&t->r.tls, &h->x);
}

static void count_close(struct lc *c)
{
    note_goaway(c);
    bool server = h2conn_server_fin_pending(&c->hc);
    c->t->r.closed_first[server ? LC_SERVER : LC_CLIENT]++;
    if (!server && c->hc.goaway)
        c->t->r.goaway_client_first++;
}

static void client_close(struct lc *c)
{
    count_close(c);
    loop_timer_cancel(c->t->loop, &c->pause);
    h2conn_close(&c->hc, !c->hc.goaway); /* a client limit says so with its own GOAWAY */
    tally_tls_end(c->t, &c->hc);
    open_conn(c);
}

/* Nothing in flight on a connection that takes no more: close it now (as
 * h2load and wrk do), or give the server's FIN --close-wait to come first. */
static void drained(struct lc *c)
{
    if (c->hc.active)
        return;
    if (!c->t->run->o->close_wait_ms || !c->hc.goaway)
        client_close(c);
    else if (!timer_armed(&c->pause))
        loop_timer_arm(c->t->loop, &c->pause, c->t->run->o->close_wait_ms);
}

static void fill(struct lc *c)
{
    struct run *run = c->t->run;
    const struct load_opts *o = run->o;
    while (c->nfree && !c->closing) {
        if (o->requests_per_conn && c->on_conn >= o->requests_per_conn) {
            c->closing = true;
            break;
        }
        if (!h2conn_can_submit(&c->hc))
            break;
        if (!want_more(run))
            return;
        struct h2stream *s = c->free[--c->nfree];
        unsigned gen = c->hc.gen;
        if (h2conn_submit(&c->hc, &run->rq, s) < 0) {
            if (c->hc.gen == gen)
                c->free[c->nfree++] = s;
            atomic_fetch_sub(&run->issued, 1);
            return;
        }
        c->on_conn++;
    }
    if (c->closing || c->hc.goaway)
        drained(c);
}

static void on_stream(struct h2conn *h, struct h2stream *s)
{
    struct lc *c = h->user;
    struct load_result *r = &c->t->r;
    struct run *run = c->t->run;
    c->free[c->nfree++] = s;
    if (s->refused) {
        r->streams_refused++;
        atomic_fetch_sub(&run->issued, 1); /* never processed: another connection sends it */
    } else {
        /* -n reached: this thread ends now, not at its next tick. */
        if (atomic_fetch_add_explicit(&run->completed, 1, memory_order_relaxed) + 1 ==
            run->o->requests)
            loop_timer_arm(c->t->loop, &c->t->tick, 0);
        if (s->status <= 0) {
            r->streams_reset++;
        } else {
            hist_record(&r->latency, (loop_clock_ns() - s->sent_ns) / 1000);
            r->requests++;
            r->bytes += s->bytes;
            if (s->status >= 200 && s->status < 300)
                r->status_2xx++;
            else
                r->status_other++;
        }
    }
    fill(c);
}

static void on_goaway(struct h2conn *h)
{
    struct lc *c = h->user;
    c->closing = true;
    drained(c);
}

static void on_ready(struct h2conn *h)
{
    struct lc *c = h->user;
    load_tls_connected(&c->t->r, &h->x, (h->tcp_ns - h->start_ns) / 1000,
                       (h->connect_ns - h->tcp_ns) / 1000);
}

static void on_end(struct h2conn *h, enum h2_end how, int err)
{
    struct lc *c = h->user;
    struct h2t *t = c->t;
    bool established = h->connect_ns != 0;
    note_goaway(c);
    tally_tls_end(t, h);
    if (how == H2_END_TLS || (how == H2_END_PROTOCOL && err == EPROTONOSUPPORT))
        snprintf(t->r.tls.error, sizeof t->r.tls.error, "%s", how == H2_END_TLS ? xport_error(&h->x)
                 : "ALPN did not choose h2: the server does not offer HTTP/2");
    loop_timer_cancel(t->loop, &c->pause);
    /* Streams in flight are lost with the connection: they count towards -n. */
    atomic_fetch_add_explicit(&t->run->completed, h->active, memory_order_relaxed);
    enum load_closer who = LC_CLIENT;
    enum load_err e = LE_MAX;
    switch (how) {
    case H2_END_SERVER_FIN:
        who = LC_SERVER;
        if (h->active)
            e = LE_EARLY_CLOSE;
        break;
    case H2_END_RESET:
        who = LC_RESET;
        if (h->active || !established)
            e = LE_RESET;
        break;
    case H2_END_REFUSED: e = LE_REFUSED; break;
    case H2_END_TIMEOUT: e = LE_TIMEOUT; break;
    case H2_END_PROTOCOL: e = LE_BAD_RESPONSE; break;
    case H2_END_TLS: e = LE_TLS; break;
    case H2_END_ERROR: e = LE_OTHER; break;
    }
    if (e != LE_MAX)
        t->r.errors[e] += h->active > 1 && e != LE_REFUSED ? h->active : 1;
    if (established)
        t->r.closed_first[who]++;
    if (how == H2_END_REFUSED || how == H2_END_ERROR || how == H2_END_PROTOCOL || how == H2_END_TLS)
        loop_timer_arm(t->loop, &c->pause, 10); /* no hot loop on a port that refuses */
    else
        open_conn(c);
}

static const struct h2conn_ops ops = {on_stream, on_end, on_ready, on_goaway};

static void on_pause(struct loop *l, struct timer *tm)
{
    (void)l;
    struct lc *c = (struct lc *)((char *)tm - offsetof(struct lc, pause));
    if (c->hc.x.fd < 0)
        open_conn(c);
    else
        client_close(c); /* the server's FIN did not come within --close-wait */
}

static void open_conn(struct lc *c)
{
    struct h2t *t = c->t;
    struct run *run = t->run;
    const struct load_opts *o = run->o;
    if (atomic_load(&run->stopping) || load_interrupted ||
        (o->requests && atomic_load(&run->issued) >= o->requests))
        return;
    const struct sockaddr *src = NULL;
    socklen_t slen = 0;
    if (o->nsources) {
        src = (const struct sockaddr *)&o->sources[t->src_next++ % o->nsources];
        slen = src->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    }
    unsigned m = o->streams ? o->streams : 1;
    for (c->nfree = 0; c->nfree < m; c->nfree++)
        c->free[c->nfree] = &c->slots[c->nfree];
    c->on_conn = 0;
    c->closing = false;
    c->hc.timeout_ms = o->timeout_ms;
    int rc = h2conn_connect(&c->hc, t->loop, &ops, c, (const struct sockaddr *)&o->dst, o->dst_len,
                            src, slen, t->tls, o->tls_name);
    if (rc < 0) {
        t->r.errors[rc == -EADDRNOTAVAIL ? LE_ADDRNOTAVAIL : LE_OTHER]++;
        loop_timer_arm(t->loop, &c->pause, 10);
        return;
    }
    fill(c); /* queued in the session, sent once connected */
}

static bool closing_pending(const struct h2t *t)
{
    for (unsigned i = 0; i < t->nconns; i++)
        if (t->conns[i].hc.x.fd >= 0 && t->conns[i].hc.goaway && timer_armed(&t->conns[i].pause))
            return true;
    return false;
}

static void on_tick(struct loop *l, struct timer *tm)
{
    struct h2t *t = (struct h2t *)((char *)tm - offsetof(struct h2t, tick));
    struct run *run = t->run;
    const struct load_opts *o = run->o;
    uint64_t now = loop_clock_ns();
    if (load_interrupted || atomic_load(&run->stopping) || (o->duration_ms && now >= run->deadline_ns) ||
        (o->requests && atomic_load(&run->completed) >= o->requests)) {
        unsigned long long zero = 0;
        atomic_compare_exchange_strong(&run->stopped_ns, &zero, now);
        atomic_store(&run->stopping, true);
        /* A GOAWAY'd connection waiting for the server's FIN gets its moment. */
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
    loop_timer_arm(l, tm, TICK_MS);
}

static void *thread_main(void *arg)
{
    struct h2t *t = arg;
    for (unsigned i = 0; i < t->nconns; i++) {
        t->conns[i].t = t;
        t->conns[i].hc.x.fd = -1;
        timer_init(&t->conns[i].pause, on_pause);
        open_conn(&t->conns[i]);
    }
    timer_init(&t->tick, on_tick);
    loop_timer_arm(t->loop, &t->tick, TICK_MS);
    loop_run(t->loop);
    for (unsigned i = 0; i < t->nconns; i++) {
        struct lc *c = &t->conns[i];
        if (c->hc.max_concurrent != UINT32_MAX && c->hc.settings_seen)
            t->r.max_concurrent = c->hc.max_concurrent;
        if (c->hc.x.fd >= 0 && c->hc.connected) {
            /* As HTTP/1: a server's close already waiting is the server's;
             * else open_at_end (the client closes it because the run is
             * over), never also a client close: the counts are disjoint. */
            note_goaway(c);
            if (h2conn_server_fin_pending(&c->hc)) {
                t->r.closed_first[LC_SERVER]++;
            } else {
                t->r.open_at_end++;
                t->r.goaway_client_first += c->hc.goaway;
            }
        } else if (c->hc.x.fd >= 0) {
            t->r.connecting_at_end++;
        }
        loop_timer_cancel(t->loop, &c->pause);
        h2conn_close(&c->hc, false);
        tally_tls_end(t, &c->hc);
        h2conn_free(&c->hc);
    }
    return NULL;
}

static void merge(struct load_result *into, struct load_result *r)
{
    into->requests += r->requests;
    into->bytes += r->bytes;
    into->connections += r->connections;
    into->open_at_end += r->open_at_end;
    into->connecting_at_end += r->connecting_at_end;
    into->announced_closes += r->announced_closes;
    into->announced_client_first += r->announced_client_first;
    into->status_2xx += r->status_2xx;
    into->status_other += r->status_other;
    into->goaways += r->goaways;
    into->goaway_client_first += r->goaway_client_first;
    into->streams_refused += r->streams_refused;
    into->streams_reset += r->streams_reset;
    if (r->max_concurrent)
        into->max_concurrent = r->max_concurrent;
    for (int e = 0; e < LE_MAX; e++)
        into->errors[e] += r->errors[e];
    for (int c = 0; c < LC_MAX; c++)
        into->closed_first[c] += r->closed_first[c];
    for (int g = 0; g < H2_LOAD_ERRORS; g++)
        into->goaway_errors[g] += r->goaway_errors[g];
    hist_merge(&into->latency, &r->latency);
    hist_merge(&into->connect, &r->connect);
    hist_merge(&into->handshake, &r->handshake);
    load_tls_merge(&into->tls, &r->tls);
}

/* The request's extra headers: -H lines, a Host among them as :authority. */
static void request_of(const struct load_opts *o, struct h2req *rq)
{
    *rq = (struct h2req){o->method, o->tls ? "https" : "http", o->url_host, o->url_path, o->headers,
                         o->nheaders, o->target.auth};
    for (size_t i = 0; i < o->nheaders; i++)
        if (!strncasecmp(o->headers[i], "host:", 5)) {
            const char *v = o->headers[i] + 5;
            while (*v == ' ' || *v == '\t')
                v++;
            rq->authority = v;
        }
}

int load_h2_run(const struct load_opts *o, struct load_result *res, char *err, size_t errlen)
{
    unsigned nt = o->threads ? o->threads : 1, m = o->streams ? o->streams : 1;
    nt = nt > o->connections ? o->connections : nt;
    struct run *run = calloc(1, sizeof *run);
    struct h2t *ts = calloc(nt, sizeof *ts);
    struct lc *conns = calloc(o->connections, sizeof *conns);
    struct h2stream *slots = calloc((size_t)o->connections * m, sizeof *slots);
    struct h2stream **frees = calloc((size_t)o->connections * m, sizeof *frees);
    int rc = -1;
    unsigned made = 0, started = 0;
    if (!run || !ts || !conns || !slots || !frees) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    run->o = o;
    request_of(o, &run->rq);
    uint64_t t0 = loop_clock_ns();
    run->deadline_ns = t0 + o->duration_ms * 1000000ull;
    for (unsigned i = 0; i < o->connections; i++) {
        conns[i].slots = slots + (size_t)i * m;
        conns[i].free = frees + (size_t)i * m;
    }
    for (unsigned given = 0; made < nt; made++) {
        struct h2t *t = &ts[made];
        t->run = run;
        t->src_next = made * 7919u;
        t->nconns = o->connections / nt + (made < o->connections % nt);
        t->conns = conns + given;
        given += t->nconns;
        hist_init(&t->r.latency);
        hist_init(&t->r.connect);
        hist_init(&t->r.handshake);
        if (!(t->loop = loop_new())) {
            snprintf(err, errlen, "cannot create an event loop");
            goto out;
        }
        if (o->tls && !(t->tls = tls_ctx_new(&o->tls_cfg, err, errlen)))
            goto out;
    }
    for (; started < nt; started++) {
        int e = pthread_create(&ts[started].thread, NULL, thread_main, &ts[started]);
        if (e) {
            snprintf(err, errlen, "cannot start thread %u of %u: %s", started + 1, nt, strerror(e));
            break;
        }
    }
    while (started == nt && !atomic_load(&run->stopping) && !load_interrupted)
        usleep(20000);
    atomic_store(&run->stopping, true);
    for (unsigned i = 0; i < started; i++)
        pthread_join(ts[i].thread, NULL);
    if (started < nt)
        goto out;
    memset(res, 0, sizeof *res);
    hist_init(&res->latency);
    hist_init(&res->connect);
    hist_init(&res->handshake);
    uint64_t end = atomic_load(&run->stopped_ns);
    res->seconds = ((end ? end : loop_clock_ns()) - t0) / 1e9;
    res->interrupted = load_interrupted;
    for (unsigned i = 0; i < nt; i++)
        merge(res, &ts[i].r);
    rc = 0;
out:
    for (unsigned i = 0; ts && i < nt; i++) {
        loop_free(ts[i].loop);
        tls_ctx_free(ts[i].tls);
    }
    free(run);
    free(ts);
    free(conns);
    free(slots);
    free(frees);
    return rc;
}
