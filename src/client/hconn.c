/* SPDX-License-Identifier: MIT */
#include "client/hconn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdbool.h>
#include <unistd.h>

#define HC_BUF 16384

static void on_io(struct loop *l, int fd, void *data, unsigned events);

static void on_timeout(struct loop *l, struct timer *t)
{
    (void)l;
    struct hconn *c = (struct hconn *)((char *)t - offsetof(struct hconn, timer));
    if (c->st == HC_CONNECTING || c->st == HC_SENDING || c->st == HC_READING) {
        hconn_close(c);
        c->ops->on_end(c, HC_END_TIMEOUT, ETIMEDOUT);
    }
}

static void end(struct hconn *c, enum hconn_end how, int err)
{
    c->gen++;
    loop_timer_cancel(c->loop, &c->timer);
    loop_forget(c->loop, c->fd); /* close() leaves epoll: the fd is never dup()ed */
    close(c->fd);
    c->fd = -1;
    c->st = HC_CLOSED;
    c->ops->on_end(c, how, err);
}

int hconn_connect(struct hconn *c, struct loop *l, const struct hconn_ops *ops, void *user,
                  const struct sockaddr *dst, socklen_t dlen, const struct sockaddr *src,
                  socklen_t slen)
{
    uint64_t timeout = c->timeout_ms;
    char *buf = c->buf;
    unsigned gen = c->gen + 1;
    memset(c, 0, sizeof *c);
    c->timeout_ms = timeout;
    c->gen = gen;
    c->buf = buf ? buf : malloc(HC_BUF);
    c->cap = HC_BUF;
    c->loop = l;
    c->ops = ops;
    c->user = user;
    c->fd = -1;
    c->st = HC_CLOSED;
    timer_init(&c->timer, on_timeout);
    if (!c->buf)
        return -ENOMEM;
    int fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (src) {
        /* Choose the port at connect() time (per destination), not bind(). */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, src, slen) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
    }
    if (connect(fd, dst, dlen) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    c->fd = fd;
    c->st = HC_CONNECTING;
    c->start_ns = loop_clock_ns();
    if (loop_add(l, fd, LOOP_WRITE, on_io, c) < 0) {
        close(fd);
        c->fd = -1;
        return -ENOMEM;
    }
    if (c->timeout_ms)
        loop_timer_arm(l, &c->timer, c->timeout_ms);
    return 0;
}

static void try_send(struct hconn *c)
{
    while (c->req_off < c->req_len) {
        ssize_t n = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
        if (n < 0) {
            if (errno == EAGAIN) {
                loop_mod(c->loop, c->fd, LOOP_READ | LOOP_WRITE);
                return;
            }
            end(c, errno == ECONNRESET || errno == EPIPE ? HC_END_RESET : HC_END_ERROR, errno);
            return;
        }
        c->req_off += (size_t)n;
    }
    c->st = HC_READING;
    loop_mod(c->loop, c->fd, LOOP_READ);
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
    if (c->st == HC_CONNECTING) {
        c->queued = true;
        return;
    }
    c->st = HC_SENDING;
    if (!c->doomed)
        try_send(c);
}

void hconn_close(struct hconn *c)
{
    if (c->fd < 0)
        return;
    c->gen++;
    loop_timer_cancel(c->loop, &c->timer);
    loop_forget(c->loop, c->fd); /* close() leaves epoll: the fd is never dup()ed */
    close(c->fd);
    c->fd = -1;
    c->st = HC_CLOSED;
}

bool hconn_server_fin_pending(struct hconn *c)
{
    char b;
    return c->fd >= 0 && recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

void hconn_free(struct hconn *c)
{
    hconn_close(c);
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
            /* The header slices die when buf moves: keep copies of what
             * callers read. */
            copy_header(&c->resp, "connection", c->hdr_connection, sizeof c->hdr_connection);
            copy_header(&c->resp, "keep-alive", c->hdr_keep_alive, sizeof c->hdr_keep_alive);
            keep_alive_params(c->hdr_keep_alive, &c->keep_alive_timeout, &c->keep_alive_max);
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
    for (int reads = 0; reads < HC_READS_PER_WAKEUP; reads++) {
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
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
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
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            end(c, errno == ECONNRESET ? HC_END_RESET : HC_END_ERROR, errno);
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
        end(c, c->st == HC_IDLE ? HC_END_SERVER_FIN : HC_END_EARLY_CLOSE, 0);
        return;
    }
}

static void on_io(struct loop *l, int fd, void *data, unsigned events)
{
    (void)l, (void)fd;
    struct hconn *c = data;
    if (c->st == HC_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            end(c, err == ECONNREFUSED ? HC_END_REFUSED : err == ECONNRESET ? HC_END_RESET
                                                                         : HC_END_ERROR, err);
            return;
        }
        c->connect_ns = loop_clock_ns();
        c->st = HC_IDLE;
        loop_mod(c->loop, c->fd, LOOP_READ);
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
        return;
    }
    unsigned gen = c->gen;
    if ((events & LOOP_WRITE) && c->st == HC_SENDING)
        try_send(c);
    if ((events & LOOP_READ) && c->gen == gen)
        on_readable(c);
}
