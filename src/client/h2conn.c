/* SPDX-License-Identifier: MIT */
#include "client/h2conn.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output is gathered into one buffer per write: a burst of HEADERS frames
 * (one per stream in -m) leaves in one write(2), as h2load does. */
#define H2_WBUF 16384
#define H2_RBUF 65536
/* Reads per wake-up, as hconn: a server always sending cannot starve the loop. */
#define H2_READS_PER_WAKEUP 32
/* Windows as h2load's defaults (-w 30, -W 30): flow control never throttles
 * what is measured. */
#define H2_WINDOW ((1 << 30) - 1)
/* Re-arm the stream timeout lazily: once per second at most on a busy connection. */
#define H2_TIMEOUT_SLACK_MS 1000

static void on_io(struct loop *l, int fd, void *data, unsigned events);

static nghttp2_session *sess(const struct h2conn *c)
{
    return c->session;
}

static void set_mask(struct h2conn *c, unsigned want)
{
    loop_mod(c->loop, c->x.fd, xport_wait_mask(&c->x, want));
}

static bool deliver(struct h2conn *c);

/* Streams already finished (refused when a GOAWAY stopped their HEADERS)
 * are delivered first: the caller may then close the connection itself,
 * and on_end is not called. */
static void end(struct h2conn *c, enum h2_end how, int err)
{
    if ((c->done_head || (c->goaway && !c->goaway_delivered)) && !deliver(c))
        return;
    c->gen++;
    c->end_ns = loop_clock_ns();
    loop_timer_cancel(c->loop, &c->timer);
    loop_forget(c->loop, c->x.fd);
    xport_close(&c->x, false);
    nghttp2_session_del(sess(c));
    c->session = NULL;
    c->connected = false;
    c->done_head = c->done_tail = NULL;
    c->ops->on_end(c, how, err);
}

static void on_timeout(struct loop *l, struct timer *t)
{
    (void)l;
    struct h2conn *c = (struct h2conn *)((char *)t - offsetof(struct h2conn, timer));
    if (c->x.fd < 0 || (c->connected && !c->active))
        return; /* idle: no stream waits for an answer */
    end(c, H2_END_TIMEOUT, ETIMEDOUT);
}

/* nghttp2 callbacks: they only record and queue; the caller is called
 * after nghttp2 returns (see deliver). */
static int cb_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *u)
{
    (void)flags, (void)u;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st)
        return 0;
    if (nlen == 6 && !memcmp(name, "server", 6)) {
        size_t k = vlen < sizeof st->server - 1 ? vlen : sizeof st->server - 1;
        memcpy(st->server, value, k);
        st->server[k] = 0;
        return 0;
    }
    if (nlen != 7 || memcmp(name, ":status", 7))
        return 0;
    int v = 0;
    for (size_t i = 0; i < vlen && i < 4 && value[i] >= '0' && value[i] <= '9'; i++)
        v = v * 10 + (value[i] - '0');
    if (v >= 200 || !st->status)
        st->status = v; /* a 1xx head is followed by the real one */
    return 0;
}

static int cb_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *u)
{
    (void)flags, (void)data, (void)u;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (st)
        st->bytes += len;
    return 0;
}

/* A stream leaves the in-flight list for the delivery queue. */
static void stream_done(struct h2conn *c, struct h2stream *st)
{
    for (struct h2stream **p = &c->inflight; *p; p = &(*p)->anext)
        if (*p == st) {
            *p = st->anext;
            break;
        }
    st->next = NULL;
    if (c->done_tail)
        c->done_tail->next = st;
    else
        c->done_head = st;
    c->done_tail = st;
    c->streams_done++;
}

static int cb_close(nghttp2_session *s, int32_t id, uint32_t error, void *u)
{
    struct h2conn *c = u;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st)
        return 0;
    st->rst_error = error;
    st->refused = error == NGHTTP2_REFUSED_STREAM && c->goaway && id > c->goaway_last_id;
    stream_done(c, st);
    return 0;
}

/* A request whose HEADERS could not go (a GOAWAY came first): nghttp2
 * opened no stream for it and will not close one. Never processed. */
static int cb_not_send(nghttp2_session *s, const nghttp2_frame *f, int lib_error, void *u)
{
    (void)s;
    struct h2conn *c = u;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    for (struct h2stream *st = c->inflight; st; st = st->anext)
        if (st->id == f->hd.stream_id) {
            st->refused = true;
            st->rst_error = (uint32_t)-lib_error;
            stream_done(c, st);
            break;
        }
    return 0;
}

static int cb_frame(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
    struct h2conn *c = u;
    switch (f->hd.type) {
    case NGHTTP2_SETTINGS:
        if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) {
            c->settings_seen = true;
            c->max_concurrent = nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
        }
        break;
    case NGHTTP2_GOAWAY:
        if (!c->goaway)
            c->goaway_ns = loop_clock_ns();
        c->goaway = true; /* a second GOAWAY (graceful, then final) updates the id */
        c->goaway_last_id = f->goaway.last_stream_id;
        c->goaway_error = f->goaway.error_code;
        break;
    case NGHTTP2_PING:
        if ((f->hd.flags & NGHTTP2_FLAG_ACK) && c->ping_ns && !c->ping_rtt_ns)
            c->ping_rtt_ns = loop_clock_ns() - c->ping_ns;
        break;
    }
    return 0;
}

static int new_session(struct h2conn *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb))
        return -ENOMEM;
    nghttp2_session_callbacks_set_on_header_callback(cb, cb_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, cb_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, cb_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, cb_frame);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, cb_not_send);
    nghttp2_session *s = NULL;
    int rv = nghttp2_session_client_new(&s, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rv)
        return -ENOMEM;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW}};
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0, H2_WINDOW);
    c->session = s;
    return 0;
}

int h2conn_connect(struct h2conn *c, struct loop *l, const struct h2conn_ops *ops, void *user,
                   const struct sockaddr *dst, socklen_t dlen, const struct sockaddr *src,
                   socklen_t slen, struct tls_ctx *tls, const char *host)
{
    uint64_t timeout = c->timeout_ms;
    unsigned char *wbuf = c->wbuf;
    unsigned gen = c->gen + 1;
    xport_free(&c->x); /* the previous connection's TLS state */
    memset(c, 0, sizeof *c);
    c->tls_ctx = tls;
    c->tls_host = host;
    c->timeout_ms = timeout;
    c->gen = gen;
    c->wbuf = wbuf ? wbuf : malloc(H2_WBUF);
    c->loop = l;
    c->ops = ops;
    c->user = user;
    c->x.fd = -1;
    c->max_concurrent = UINT32_MAX;
    timer_init(&c->timer, on_timeout);
    if (!c->wbuf || new_session(c) < 0)
        return -ENOMEM;
    int rc = xport_connect(&c->x, dst, dlen, src, slen);
    if (rc == 0 && loop_add(l, c->x.fd, LOOP_WRITE, on_io, c) < 0)
        rc = -ENOMEM;
    if (rc < 0) {
        xport_close(&c->x, false);
        nghttp2_session_del(sess(c));
        c->session = NULL;
        return rc;
    }
    c->start_ns = loop_clock_ns();
    if (c->timeout_ms)
        loop_timer_arm(l, &c->timer, c->timeout_ms);
    return 0;
}

/* Writes what nghttp2 has to send; 0, or -errno when the connection failed. */
static int flush(struct h2conn *c)
{
    for (;;) {
        while (c->woff < c->wlen) {
            ssize_t n = xport_write(&c->x, c->wbuf + c->woff, c->wlen - c->woff);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN) {
                set_mask(c, LOOP_READ | LOOP_WRITE);
                return 0;
            }
            if (n < 0)
                return -errno;
            c->woff += (size_t)n;
        }
        c->wlen = c->woff = 0;
        while (c->wlen < H2_WBUF) {
            if (!c->pend_len) {
                ssize_t n = nghttp2_session_mem_send(sess(c), &c->pend);
                if (n < 0)
                    return -EPROTO;
                if (n == 0)
                    break;
                c->pend_len = (size_t)n;
            }
            size_t k = c->pend_len < H2_WBUF - c->wlen ? c->pend_len : H2_WBUF - c->wlen;
            memcpy(c->wbuf + c->wlen, c->pend, k);
            c->pend += k;
            c->pend_len -= k;
            c->wlen += k;
        }
        if (!c->wlen) {
            set_mask(c, LOOP_READ);
            return 0;
        }
    }
}

static void flush_or_end(struct h2conn *c)
{
    int rc = flush(c);
    if (rc < 0)
        end(c, rc == -ECONNRESET || rc == -EPIPE ? H2_END_RESET : rc == -EPROTO ? H2_END_PROTOCOL
                                                                               : H2_END_ERROR, -rc);
}

/* Sends, then delivers what sending finished (requests a GOAWAY refused),
 * then sends what the callbacks submitted, until both are done. */
static void pump(struct h2conn *c)
{
    for (int rounds = 0; rounds < 8; rounds++) {
        unsigned gen = c->gen;
        flush_or_end(c);
        if (c->gen != gen || (!c->done_head && (!c->goaway || c->goaway_delivered)))
            return;
        if (!deliver(c))
            return;
    }
}

int32_t h2conn_submit(struct h2conn *c, const struct h2req *rq, struct h2stream *s)
{
    if (!c->session || !h2conn_can_submit(c))
        return -1;
    nghttp2_nv nv[4 + 32 + 1];
    const char *pseudo[4][2] = {{":method", rq->method}, {":scheme", rq->scheme},
                                {":authority", rq->authority}, {":path", rq->path}};
    size_t n = 0;
    for (; n < 4; n++)
        nv[n] = (nghttp2_nv){(uint8_t *)pseudo[n][0], (uint8_t *)pseudo[n][1], strlen(pseudo[n][0]),
                             strlen(pseudo[n][1]), NGHTTP2_NV_FLAG_NONE};
    /* "Name: value" lines, the name lower-cased into a scratch buffer as
     * HTTP/2 requires; Host becomes :authority (done above), and the
     * connection-specific headers HTTP/2 forbids are left out. */
    char names[32][64], authz[420];
    bool has_authz = false;
    for (size_t i = 0; i < rq->nheaders && i < 32; i++) {
        const char *h = rq->headers[i], *colon = strchr(h, ':');
        size_t nl = colon ? (size_t)(colon - h) : 0;
        if (!nl || nl >= sizeof names[0])
            continue;
        for (size_t k = 0; k < nl; k++)
            names[i][k] = (char)(h[k] >= 'A' && h[k] <= 'Z' ? h[k] + 32 : h[k]);
        names[i][nl] = 0;
        if (!strcmp(names[i], "host") || !strcmp(names[i], "connection") ||
            !strcmp(names[i], "keep-alive") || !strcmp(names[i], "transfer-encoding") ||
            !strcmp(names[i], "upgrade") || !strcmp(names[i], "proxy-connection"))
            continue;
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        has_authz |= !strcmp(names[i], "authorization");
        nv[n++] = (nghttp2_nv){(uint8_t *)names[i], (uint8_t *)v, nl, strlen(v), NGHTTP2_NV_FLAG_NONE};
    }
    if (rq->basic_auth && rq->basic_auth[0] && !has_authz) {
        int k = snprintf(authz, sizeof authz, "Basic %s", rq->basic_auth);
        nv[n++] = (nghttp2_nv){(uint8_t *)"authorization", (uint8_t *)authz, 13,
                               (size_t)(k < (int)sizeof authz ? k : (int)sizeof authz - 1),
                               NGHTTP2_NV_FLAG_NONE};
    }
    memset(s, 0, offsetof(struct h2stream, user));
    s->sent_ns = loop_clock_ns();
    int32_t id = nghttp2_submit_request(sess(c), NULL, nv, n, NULL, s);
    if (id < 0)
        return -1;
    s->id = id;
    s->anext = c->inflight;
    c->inflight = s;
    c->active++;
    c->streams_submitted++;
    if (c->timeout_ms)
        loop_timer_arm_lazy(c->loop, &c->timer, c->timeout_ms, H2_TIMEOUT_SLACK_MS);
    if (c->connected && !c->closing_cb) {
        unsigned gen = c->gen;
        flush_or_end(c);
        if (c->gen != gen)
            return -1;
    }
    return id;
}

void h2conn_ping(struct h2conn *c)
{
    if (!c->session || c->ping_sent)
        return;
    c->ping_sent = true;
    c->ping_ns = loop_clock_ns();
    nghttp2_submit_ping(sess(c), NGHTTP2_FLAG_NONE, NULL);
    if (c->connected && !c->closing_cb)
        flush_or_end(c);
}

bool h2conn_can_submit(const struct h2conn *c)
{
    return c->session && !c->goaway && c->active < c->max_concurrent &&
           nghttp2_session_get_next_stream_id(sess(c)) <= INT32_MAX;
}

void h2conn_close(struct h2conn *c, bool goaway)
{
    if (c->x.fd < 0)
        return;
    if (goaway && c->connected && c->session) {
        nghttp2_session_terminate_session(sess(c), NGHTTP2_NO_ERROR);
        flush(c); /* best effort: the socket closes next either way */
    }
    c->gen++;
    c->end_ns = loop_clock_ns();
    loop_timer_cancel(c->loop, &c->timer);
    loop_forget(c->loop, c->x.fd);
    xport_close(&c->x, goaway);
    nghttp2_session_del(sess(c));
    c->session = NULL;
    c->connected = false;
    c->done_head = c->done_tail = NULL;
}

bool h2conn_server_fin_pending(struct h2conn *c)
{
    return c->x.fd >= 0 && xport_peer_closed(&c->x); /* TLS: its close_notify counts too */
}

void h2conn_free(struct h2conn *c)
{
    h2conn_close(c, false);
    xport_free(&c->x);
    free(c->wbuf);
    c->wbuf = NULL;
}

/* Completed streams, then the GOAWAY, to the caller: outside nghttp2, so
 * the caller may submit, close or reconnect. Returns false when the
 * connection was closed (gen changed). */
static bool deliver(struct h2conn *c)
{
    unsigned gen = c->gen;
    c->closing_cb = true; /* submissions are flushed once, after all of them */
    while (c->done_head && c->gen == gen) {
        struct h2stream *s = c->done_head;
        c->done_head = s->next;
        if (!c->done_head)
            c->done_tail = NULL;
        c->active--; /* only now: a caller deciding to close sees nothing pending */
        c->ops->on_stream(c, s);
    }
    if (c->gen == gen && c->goaway && !c->goaway_delivered) {
        c->goaway_delivered = true;
        if (c->ops->on_goaway)
            c->ops->on_goaway(c);
    }
    if (c->gen != gen)
        return false;
    c->closing_cb = false;
    return true;
}

static void note_first(struct h2conn *c, const unsigned char *b, size_t n)
{
    size_t k = sizeof c->first_raw - c->first_raw_len;
    k = n < k ? n : k;
    memcpy(c->first_raw + c->first_raw_len, b, k);
    c->first_raw_len += k;
}

static void on_readable(struct h2conn *c)
{
    unsigned char buf[H2_RBUF];
    unsigned gen = c->gen;
    for (int reads = 0; reads < H2_READS_PER_WAKEUP; reads++) {
        ssize_t n = xport_read(&c->x, buf, sizeof buf);
        if (n > 0) {
            c->last_rx_ns = loop_clock_ns();
            note_first(c, buf, (size_t)n);
            if (c->timeout_ms && c->active)
                loop_timer_arm_lazy(c->loop, &c->timer, c->timeout_ms, H2_TIMEOUT_SLACK_MS);
            ssize_t rv = nghttp2_session_mem_recv(sess(c), buf, (size_t)n);
            if (rv < 0) {
                flush(c); /* nghttp2's GOAWAY, best effort */
                end(c, H2_END_PROTOCOL, EPROTO);
                return;
            }
            if (!deliver(c))
                return;
            if (!xport_pending(&c->x) && (size_t)n < sizeof buf)
                break;
            continue;
        }
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            end(c, errno == ECONNRESET ? H2_END_RESET : H2_END_ERROR, errno);
            return;
        }
        end(c, H2_END_SERVER_FIN, 0);
        return;
    }
    if (c->gen == gen)
        pump(c);
}

static void on_connected(struct h2conn *c)
{
    if (c->tls_ctx) {
        int h = xport_handshake(&c->x);
        if (h == 0) {
            set_mask(c, 0);
            return;
        }
        if (h < 0) {
            end(c, H2_END_TLS, errno ? errno : EPROTO);
            return;
        }
        const struct tls_info *ti = xport_tls(&c->x);
        if (!ti || strcmp(ti->alpn, "h2")) {
            end(c, H2_END_PROTOCOL, EPROTONOSUPPORT); /* ALPN did not choose h2 */
            return;
        }
    }
    c->connected = true;
    c->connect_ns = loop_clock_ns();
    unsigned gen = c->gen;
    if (c->ops->on_ready) {
        c->closing_cb = true;
        c->ops->on_ready(c);
        if (c->gen != gen)
            return;
        c->closing_cb = false;
    }
    pump(c);
}

static void on_io(struct loop *l, int fd, void *data, unsigned events)
{
    (void)l, (void)fd;
    struct h2conn *c = data;
    if (!c->connected) {
        if (!c->tcp_up) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c->x.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err) {
                end(c, err == ECONNREFUSED ? H2_END_REFUSED : err == ECONNRESET ? H2_END_RESET
                                                                             : H2_END_ERROR, err);
                return;
            }
            c->tcp_up = true;
            c->tcp_ns = loop_clock_ns();
            if (c->tls_ctx && xport_start_tls(&c->x, c->tls_ctx, c->tls_host) < 0) {
                end(c, H2_END_ERROR, ENOMEM);
                return;
            }
        }
        on_connected(c);
        return;
    }
    unsigned gen = c->gen;
    /* TLS: a write may wait for a read and the reverse, so either event
     * retries both directions (as hconn). */
    if ((events & LOOP_WRITE) || c->x.tls) {
        pump(c);
        if (c->gen != gen)
            return;
    }
    if ((events & (LOOP_READ | LOOP_HUP | LOOP_ERROR)) || c->x.tls)
        on_readable(c);
}

const char *h2_error_name(uint32_t code)
{
    static const char *const n[] = {"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
                                    "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR",
                                    "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR",
                                    "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
    return code < sizeof n / sizeof n[0] ? n[code] : "UNKNOWN";
}

bool h2_looks_like_frames(const unsigned char *b, size_t n)
{
    if (n < 9)
        return false;
    uint32_t len = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
    uint8_t type = b[3], flags = b[4];
    bool stream0 = !(b[5] & 0x7f) && !b[6] && !b[7] && !b[8];
    if (!stream0 || len > 16384)
        return false;
    if (type == NGHTTP2_SETTINGS)
        return len % 6 == 0 && (flags & ~NGHTTP2_FLAG_ACK) == 0;
    return type == NGHTTP2_GOAWAY && len >= 8 && flags == 0;
}
