/* SPDX-License-Identifier: MIT */
#include "client/hconn.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdbool.h>
#include <unistd.h>

#define HC_BUF 16384
#define AWAIT_FIN_MS 1000

static void on_io(struct loop *l, int fd, void *data, unsigned events);

static void end(struct hconn *c, enum hconn_end how, int err);
static void await_fin(struct hconn *c, enum hconn_end how);

static void on_timeout(struct loop *l, struct timer *t)
{
    (void)l;
    struct hconn *c = (struct hconn *)((char *)t - offsetof(struct hconn, timer));
    if (c->st == HC_AWAIT_FIN) { /* close_notify without a FIN: ours goes first */
        end(c, c->await_how, 0);
        return;
    }
    if (c->st == HC_CONNECTING || c->st == HC_HANDSHAKE || c->st == HC_SENDING ||
        c->st == HC_READING) {
        hconn_close(c);
        c->ops->on_end(c, HC_END_TIMEOUT, ETIMEDOUT);
    }
}

/* The server ended it (or it failed): no close_notify from us. */
static void end(struct hconn *c, enum hconn_end how, int err)
{
    c->gen++;
    loop_timer_cancel(c->loop, &c->timer);
    loop_forget(c->loop, c->x.fd); /* close() leaves epoll: the fd is never dup()ed */
    xport_close(&c->x, false);
    c->st = HC_CLOSED;
    c->ops->on_end(c, how, err);
}

/* The loop waits for what this state wants, and for what TLS needs. */
static void wait_for(struct hconn *c, unsigned want)
{
    loop_mod(c->loop, c->x.fd, xport_wait_mask(&c->x, want));
}

int hconn_connect(struct hconn *c, struct loop *l, const struct hconn_ops *ops, void *user,
                  const struct sockaddr *dst, socklen_t dlen, const struct sockaddr *src,
                  socklen_t slen)
{
    uint64_t timeout = c->timeout_ms;
    struct tls_ctx *tls_ctx = c->tls_ctx;
    const char *tls_host = c->tls_host;
    char *buf = c->buf;
    unsigned gen = c->gen + 1;
    xport_free(&c->x); /* the previous connection's TLS state */
    memset(c, 0, sizeof *c);
    c->timeout_ms = timeout;
    c->tls_ctx = tls_ctx;
    c->tls_host = tls_host;
    c->gen = gen;
    c->buf = buf ? buf : malloc(HC_BUF);
    c->cap = HC_BUF;
    c->loop = l;
    c->ops = ops;
    c->user = user;
    c->x.fd = -1;
    c->st = HC_CLOSED;
    timer_init(&c->timer, on_timeout);
    if (!c->buf)
        return -ENOMEM;
    int rc = xport_connect(&c->x, dst, dlen, src, slen);
    if (rc < 0)
        return rc;
    c->st = HC_CONNECTING;
    c->start_ns = loop_clock_ns();
    if (loop_add(l, c->x.fd, LOOP_WRITE, on_io, c) < 0) {
        xport_close(&c->x, false);
        return -ENOMEM;
    }
    if (c->timeout_ms)
        loop_timer_arm(l, &c->timer, c->timeout_ms);
    return 0;
}

static void try_send(struct hconn *c)
{
    while (c->req_off < c->req_len) {
        ssize_t n = xport_write(&c->x, c->req + c->req_off, c->req_len - c->req_off);
        if (n < 0) {
            if (errno == EAGAIN) {
                wait_for(c, LOOP_READ | LOOP_WRITE);
                return;
            }
            end(c, errno == ECONNRESET || errno == EPIPE ? HC_END_RESET
                   : errno == EPROTO ? HC_END_TLS : HC_END_ERROR, errno);
            return;
        }
        c->req_off += (size_t)n;
    }
    c->st = HC_READING;
    wait_for(c, LOOP_READ);
}

void hconn_send(struct hconn *c, const char *req, size_t len, bool head_request)
{
    c->req = req;
    c->req_len = len;
    c->req_off = 0;
    c->head_req = head_request;
    c->have_head = false;
    c->bytes = 0;
    if (c->timeout_ms)
        loop_timer_arm(c->loop, &c->timer, c->timeout_ms);
    if (c->st == HC_CONNECTING || c->st == HC_HANDSHAKE) {
        c->queued = true;
        return;
    }
    c->st = HC_SENDING;
    if (!c->doomed)
        try_send(c);
}

void hconn_close(struct hconn *c)
{
    if (c->x.fd < 0)
        return;
    c->gen++;
    loop_timer_cancel(c->loop, &c->timer);
    loop_forget(c->loop, c->x.fd); /* close() leaves epoll: the fd is never dup()ed */
    xport_close(&c->x, true);
    c->st = HC_CLOSED;
}

bool hconn_server_fin_pending(struct hconn *c)
{
    return xport_peer_closed(&c->x);
}

void hconn_free(struct hconn *c)
{
    hconn_close(c);
    xport_free(&c->x);
    free(c->buf);
    c->buf = NULL;
}

/* Consumes body bytes in buf; returns 1 when the response is complete. */
static int take_body(struct hconn *c, size_t *used)
{
    *used = 0;
    switch (c->resp.framing) {
    case FRAME_NONE:
        return 1;
    case FRAME_LENGTH: {
        size_t n = c->len < c->body_left ? c->len : (size_t)c->body_left;
        c->body_left -= n;
        *used = n;
        return c->body_left == 0;
    }
    case FRAME_CHUNKED: {
        int rc = http_chunked_consume(&c->chunk, c->buf, c->len, used);
        return rc;
    }
    case FRAME_UNTIL_CLOSE:
        *used = c->len;
        return 0;
    }
    return -1;
}

static void copy_header(const struct http_response *r, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    for (size_t i = 0; i < r->nheaders; i++)
        if (slice_eq_ci(r->headers[i].name, name)) {
            size_t n = r->headers[i].value.len < cap - 1 ? r->headers[i].value.len : cap - 1;
            memcpy(out, r->headers[i].value.ptr, n);
            out[n] = 0;
            return;
        }
}

static void copy_names(const struct http_response *r, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < r->nheaders && o + r->headers[i].name.len + 2 < cap; i++) {
        if (i)
            out[o++] = ',';
        for (size_t k = 0; k < r->headers[i].name.len; k++) {
            char ch = r->headers[i].name.ptr[k];
            out[o++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
        }
        out[o] = 0;
    }
}

/* "timeout=5, max=100" (RFC 2068 19.7.1.1; Apache sends it on HTTP/1.0
 * replies too): each -1 when absent or not a number. */
static void keep_alive_params(const char *v, long *timeout, long *max)
{
    *timeout = *max = -1;
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        long *dst = !strncasecmp(v, "timeout=", 8) ? timeout : !strncasecmp(v, "max=", 4) ? max : NULL;
        if (dst) {
            const char *d = strchr(v, '=') + 1;
            long n = 0;
            bool ok = *d >= '0' && *d <= '9';
            for (; *d >= '0' && *d <= '9'; d++)
                n = n < 100000000 ? n * 10 + (*d - '0') : n;
            if (ok)
                *dst = n;
            v = d;
        }
        while (*v && *v != ',')
            v++;
    }
}

/* A response is complete: bytes left in the buffer were not asked for
 * (one request is in flight at a time). They must not be read as the next
 * answer: the response is delivered, then the connection ends. */
static void complete(struct hconn *c)
{
    uint64_t extra = c->len;
    unsigned gen = c->gen;
    c->len = 0;
    c->st = HC_IDLE;
    c->doomed = extra != 0;
    loop_timer_cancel(c->loop, &c->timer);
    c->ops->on_response(c, &c->resp, c->bytes);
    if (extra && c->gen == gen) {
        c->extra_bytes = extra;
        end(c, HC_END_EXTRA_BYTES, EPROTO);
    }
}

static void note_first_bytes(struct hconn *c)
{
    size_t n = c->len < sizeof c->first_bytes - 1 ? c->len : sizeof c->first_bytes - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)c->buf[i];
        c->first_bytes[i] = b >= 0x20 && b < 0x7f ? (char)b : '.';
    }
    c->first_bytes[n] = 0;
    c->first_raw_len = c->len < sizeof c->first_raw ? c->len : sizeof c->first_raw;
    memcpy(c->first_raw, c->buf, c->first_raw_len);
}

static void parse_buffer(struct hconn *c)
{
    while (c->st == HC_READING && c->len) {
        if (!c->have_head) {
            int n = http_parse_response(c->buf, c->len, &c->resp, c->head_req);
            if (n == -2)
                return;
            if (n < 0) {
                note_first_bytes(c);
                end(c, HC_END_BAD_RESPONSE, EPROTO);
                return;
            }
            copy_names(&c->resp, c->hdr_names, sizeof c->hdr_names);
            /* The header slices die when buf moves: keep copies of what
             * callers read. */
            copy_header(&c->resp, "connection", c->hdr_connection, sizeof c->hdr_connection);
            copy_header(&c->resp, "keep-alive", c->hdr_keep_alive, sizeof c->hdr_keep_alive);
            copy_header(&c->resp, "server", c->hdr_server, sizeof c->hdr_server);
            copy_header(&c->resp, "via", c->hdr_via, sizeof c->hdr_via);
            copy_header(&c->resp, "content-type", c->hdr_content_type, sizeof c->hdr_content_type);
            keep_alive_params(c->hdr_keep_alive, &c->keep_alive_timeout, &c->keep_alive_max);
            /* The slices point into buf, which the body is about to move
             * over: no caller may read them (a Server header read from
             * there was the body's bytes on any page over ~17 bytes). */
            c->resp.nheaders = 0;
            c->resp.keep_alive = (struct slice){0};
            c->have_head = true;
            c->bytes += (uint64_t)n;
            c->body_left = c->resp.content_length;
            memset(&c->chunk, 0, sizeof c->chunk);
            if (c->resp.status >= 100 && c->resp.status < 200) {
                memmove(c->buf, c->buf + n, c->len - (size_t)n);
                c->len -= (size_t)n;
                c->have_head = false; /* 100 Continue: the real answer follows */
                continue;
            }
            memmove(c->buf, c->buf + n, c->len - (size_t)n);
            c->len -= (size_t)n;
            if (c->resp.framing == FRAME_NONE) {
                complete(c);
                return;
            }
        }
        size_t used;
        int rc = take_body(c, &used);
        c->bytes += used;
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        if (rc < 0) {
            end(c, HC_END_BAD_RESPONSE, EPROTO);
            return;
        }
        if (rc == 1) {
            complete(c);
            return;
        }
        if (!used)
            return;
    }
}

/* Reads per wake-up: a server that always has more to send (an endless
 * stream of 100 Continue heads, a body faster than we parse) must not keep
 * the loop from its timers and other connections. Level-triggered epoll
 * calls again for what is left. */
#define HC_READS_PER_WAKEUP 32

static void on_readable(struct hconn *c)
{
    /* TLS bytes already decrypted wake no epoll: drain them (one record). */
    for (int reads = 0; reads < HC_READS_PER_WAKEUP || xport_pending(&c->x); reads++) {
        if (c->len == c->cap) {
            if (c->have_head && c->resp.framing == FRAME_UNTIL_CLOSE) {
                c->bytes += c->len;
                c->len = 0;
            } else {
                if (!c->have_head)
                    note_first_bytes(c); /* a head too big for the buffer */
                end(c, HC_END_BAD_RESPONSE, EMSGSIZE);
                return;
            }
        }
        ssize_t n = xport_read(&c->x, c->buf + c->len, c->cap - c->len);
        if (n > 0) {
            c->len += (size_t)n;
            if (c->st == HC_IDLE) {
                c->extra_bytes = c->len; /* data nobody asked for */
                c->len = 0;
                end(c, HC_END_EXTRA_BYTES, EPROTO);
                return;
            }
            parse_buffer(c);
            if (c->st != HC_READING)
                return;
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            if (c->x.tls)
                wait_for(c, c->st == HC_SENDING ? LOOP_READ | LOOP_WRITE : LOOP_READ);
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            end(c, errno == ECONNRESET ? HC_END_RESET : errno == EPROTO ? HC_END_TLS : HC_END_ERROR,
                errno);
            return;
        }
        /* EOF */
        if (c->st == HC_READING && c->have_head && c->resp.framing == FRAME_UNTIL_CLOSE) {
            unsigned gen = c->gen;
            c->bytes += c->len;
            c->len = 0;
            c->st = HC_IDLE;
            loop_timer_cancel(c->loop, &c->timer);
            c->ops->on_response(c, &c->resp, c->bytes);
            if (c->gen != gen)
                return; /* closed (and maybe reopened) by the callback */
        }
        if (c->st != HC_IDLE && !c->have_head)
            note_first_bytes(c);
        enum hconn_end how = c->st == HC_IDLE ? HC_END_SERVER_FIN : HC_END_EARLY_CLOSE;
        const struct tls_info *ti = xport_tls(&c->x);
        if (ti && ti->peer_close_notify && !c->x.fin_with_notify && !c->x.rst_after_notify) {
            await_fin(c, how);
            return;
        }
        end(c, how, 0);
        return;
    }
}

static void await_fin(struct hconn *c, enum hconn_end how)
{
    c->st = HC_AWAIT_FIN;
    c->await_how = how;
    uint64_t ms = c->timeout_ms && c->timeout_ms < AWAIT_FIN_MS ? c->timeout_ms : AWAIT_FIN_MS;
    loop_timer_arm(c->loop, &c->timer, ms);
    loop_mod(c->loop, c->x.fd, LOOP_READ);
}

/* After close_notify, TCP's own end: the FIN, or a RST (bytes the server
 * never read). Anything else after close_notify is discarded. */
static void on_await_fin(struct hconn *c)
{
    char b[512];
    ssize_t n = recv(c->x.fd, b, sizeof b, MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return;
    c->x.fin_with_notify = n == 0;
    c->x.rst_after_notify = n < 0 && errno == ECONNRESET;
    end(c, c->x.rst_after_notify ? HC_END_RESET : c->await_how, n < 0 ? errno : 0);
}

/* TCP and TLS are up: the request queued meanwhile goes out. */
static void ready(struct hconn *c)
{
    c->ready_ns = loop_clock_ns();
    c->st = HC_IDLE;
    wait_for(c, LOOP_READ);
    unsigned gen = c->gen;
    if (c->ops->on_connect)
        c->ops->on_connect(c);
    if (c->gen != gen)
        return;
    if (c->queued) {
        c->queued = false;
        c->st = HC_SENDING;
        try_send(c);
    }
}

static void handshake(struct hconn *c)
{
    int rc = xport_handshake(&c->x);
    if (rc == 0) {
        wait_for(c, 0);
        return;
    }
    if (rc < 0) {
        end(c, errno == ECONNRESET ? HC_END_RESET : HC_END_TLS, errno);
        return;
    }
    ready(c);
}

static void connected(struct hconn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->x.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        end(c, err == ECONNREFUSED ? HC_END_REFUSED : err == ECONNRESET ? HC_END_RESET
                                                                     : HC_END_ERROR, err);
        return;
    }
    c->connect_ns = loop_clock_ns();
    if (!c->tls_ctx) {
        ready(c);
        return;
    }
    if (xport_start_tls(&c->x, c->tls_ctx, c->tls_host) < 0) {
        end(c, HC_END_ERROR, ENOMEM);
        return;
    }
    c->st = HC_HANDSHAKE;
    handshake(c);
}

static void on_io(struct loop *l, int fd, void *data, unsigned events)
{
    (void)l, (void)fd;
    struct hconn *c = data;
    if (c->st == HC_CONNECTING) {
        connected(c);
        return;
    }
    if (c->st == HC_HANDSHAKE) {
        handshake(c);
        return;
    }
    if (c->st == HC_AWAIT_FIN) {
        on_await_fin(c);
        return;
    }
    unsigned gen = c->gen;
    /* TLS: a write may wait for a read and the reverse, so either event
     * retries both directions. */
    if (c->st == HC_SENDING && ((events & LOOP_WRITE) || c->x.tls))
        try_send(c);
    if (c->gen == gen && ((events & LOOP_READ) || (c->x.tls && (events & LOOP_WRITE))))
        on_readable(c);
}
