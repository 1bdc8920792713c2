#include "client/probe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client/hconn.h"
#include "loop/loop.h"

/* A synchronous facade over the loop: each call runs the loop until the
 * exchange it started reports back through the callbacks. */
struct session {
    struct loop *loop;
    struct hconn hc;
    const struct probe_opts *o;
    bool got_response, ended;
    enum hconn_end how;
    int status;
    bool keeps;
    char req[2600];
    struct timer limit, tick;
    uint64_t started_ns;
    bool timed_out;
};

static void on_response(struct hconn *c, const struct http_response *r, uint64_t bytes)
{
    (void)bytes;
    struct session *s = c->user;
    s->got_response = true;
    s->status = r->status;
    s->keeps = http_response_keeps_alive(r);
    loop_stop(s->loop);
}

static void on_end(struct hconn *c, enum hconn_end how, int err)
{
    (void)err;
    struct session *s = c->user;
    s->ended = true;
    s->how = how;
    loop_stop(s->loop);
}

static const struct hconn_ops ops = {on_response, on_end, NULL};

static void on_limit(struct loop *l, struct timer *t)
{
    struct session *s = (struct session *)((char *)t - offsetof(struct session, limit));
    s->timed_out = true;
    loop_stop(l);
}

static void on_tick(struct loop *l, struct timer *t)
{
    struct session *s = (struct session *)((char *)t - offsetof(struct session, tick));
    fprintf(stderr, "\r  waiting for the server to close an idle connection: %.0f s ",
            (loop_clock_ns() - s->started_ns) / 1e9);
    loop_timer_arm(l, t, 1000);
}

static void run(struct session *s, uint64_t limit_ms)
{
    s->timed_out = false;
    loop_timer_arm(s->loop, &s->limit, limit_ms);
    loop_run(s->loop);
    loop_timer_cancel(s->loop, &s->limit);
}

static int open_conn(struct session *s)
{
    s->ended = false;
    s->hc.timeout_ms = 0;
    return hconn_connect(&s->hc, s->loop, &ops, s, (const struct sockaddr *)&s->o->t.addr,
                         s->o->t.len, NULL, 0);
}

/* One request; returns 1 response, 0 the connection ended, -1 timeout. */
static int exchange(struct session *s, int minor, const char *conn_hdr)
{
    if (s->hc.fd < 0)
        return 0;
    int n = snprintf(s->req, sizeof s->req, "GET %s HTTP/1.%d\r\nHost: %s\r\n%s%s%s\r\n",
                     s->o->t.path, minor, s->o->t.host, conn_hdr ? "Connection: " : "",
                     conn_hdr ? conn_hdr : "", conn_hdr ? "\r\n" : "");
    s->got_response = false;
    hconn_send(&s->hc, s->req, (size_t)n, false);
    run(s, 10000);
    if (s->got_response)
        return 1;
    return s->ended ? 0 : -1;
}

/* Waits for the server to end an idle connection: FIN, RST or nothing. */
static enum probe_close wait_close(struct session *s, uint64_t max_ms, double *after_s, bool tick)
{
    s->started_ns = loop_clock_ns();
    if (tick)
        loop_timer_arm(s->loop, &s->tick, 1000);
    run(s, max_ms);
    loop_timer_cancel(s->loop, &s->tick);
    if (tick)
        fprintf(stderr, "\r%70s\r", "");
    *after_s = (loop_clock_ns() - s->started_ns) / 1e9;
    if (!s->ended) {
        hconn_close(&s->hc);
        return PC_NONE;
    }
    return s->how == HC_END_RESET ? PC_RST : PC_FIN;
}

static int keepalive_check(struct session *s, int minor, const char *hdr, bool *honoured,
                           char *conn, char *ka, struct probe_result *r)
{
    if (open_conn(s) < 0)
        return -1;
    int rc = exchange(s, minor, hdr);
    if (rc != 1) {
        hconn_close(&s->hc);
        return -1;
    }
    r->status = s->status;
    snprintf(conn, 64, "%s", s->hc.hdr_connection);
    snprintf(ka, 64, "%s", s->hc.hdr_keep_alive);
    if (minor == 1)
        r->keep_alive_hint_s = s->hc.keep_alive_timeout;
    /* Honoured means a second request on the same connection is answered. */
    *honoured = s->keeps && exchange(s, minor, hdr) == 1;
    hconn_close(&s->hc);
    return 0;
}

static void find_cap(struct session *s, struct probe_result *r)
{
    r->cap = -1;
    if (open_conn(s) < 0)
        return;
    for (uint64_t i = 1; i <= s->o->max_requests; i++) {
        int rc = exchange(s, 1, NULL);
        if (rc != 1) {
            r->cap = (long)i - 1; /* closed without announcing it */
            break;
        }
        if (!s->keeps) {
            r->cap = (long)i;
            r->cap_announced = true;
            break;
        }
    }
    hconn_close(&s->hc);
}

int probe_run(const struct probe_opts *o, struct probe_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->idle_timeout_s = -1;
    r->keep_alive_hint_s = -1;
    struct session s = {.o = o, .loop = loop_new()};
    if (!s.loop) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    timer_init(&s.limit, on_limit);
    timer_init(&s.tick, on_tick);
    int rc = -1;
    if (keepalive_check(&s, 1, NULL, &r->keepalive_11, r->connection_11, r->keep_alive_11, r) < 0) {
        snprintf(err, errlen, "no HTTP response from %s (%s)", o->t.text,
                 s.how == HC_END_REFUSED ? "connection refused" : "connection failed or timed out");
        goto out;
    }
    keepalive_check(&s, 0, "keep-alive", &r->keepalive_10, r->connection_10, r->keep_alive_10, r);
    /* Who closes after Connection: close, and how. */
    if (open_conn(&s) == 0 && exchange(&s, 1, "close") == 1) {
        r->close_after_close = wait_close(&s, o->close_wait_ms, &r->close_after_s, false);
        r->server_waits_for_client = r->close_after_close == PC_NONE;
    } else {
        r->close_after_close = s.how == HC_END_RESET ? PC_RST : PC_FIN;
        hconn_close(&s.hc);
    }
    if (r->keepalive_11) {
        find_cap(&s, r);
        /* The idle timeout: one idle connection, timed to the server's FIN. */
        if (open_conn(&s) == 0 && exchange(&s, 1, NULL) == 1 && s.keeps) {
            double after;
            enum probe_close how = wait_close(&s, o->max_wait_ms, &after, o->progress);
            if (how != PC_NONE)
                r->idle_timeout_s = after;
        } else {
            hconn_close(&s.hc);
        }
    }
    rc = 0;
out:
    hconn_free(&s.hc);
    loop_free(s.loop);
    return rc;
}
