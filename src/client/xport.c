/* SPDX-License-Identifier: MIT */
#include "client/xport.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "loop/loop.h"

int xport_connect(struct xport *x, const struct sockaddr *dst, socklen_t dlen,
                  const struct sockaddr *src, socklen_t slen)
{
    x->fd = -1;
    x->tls = NULL;
    x->wait = LOOP_WRITE;
    x->peer_eof = x->fin_with_notify = x->rst_after_notify = false;
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
    x->fd = fd;
    return 0;
}

int xport_start_tls(struct xport *x, struct tls_ctx *ctx, const char *host)
{
    if (!ctx)
        return 0;
    x->tls = tls_conn_new(ctx, x->fd, host);
    return x->tls ? 0 : -ENOMEM;
}

/* A TLS result as read(2)/write(2) would say it. */
static ssize_t as_errno(struct xport *x, enum tls_io r, size_t n)
{
    switch (r) {
    case TLS_OK:
        x->wait = 0;
        return (ssize_t)n;
    case TLS_WANT_READ:
        x->wait = LOOP_READ;
        errno = EAGAIN;
        return -1;
    case TLS_WANT_WRITE:
        x->wait = LOOP_WRITE;
        errno = EAGAIN;
        return -1;
    case TLS_CLOSED:
    case TLS_EOF:
        x->peer_eof = true;
        return 0;
    case TLS_RESET:
        errno = ECONNRESET;
        return -1;
    case TLS_FAIL:
        break;
    }
    errno = EPROTO;
    return -1;
}

/* The close_notify was read: did the FIN (or a RST) come with it? */
static void tcp_after_notify(struct xport *x)
{
    char b;
    ssize_t n = recv(x->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    x->fin_with_notify = n == 0;
    x->rst_after_notify = n < 0 && errno == ECONNRESET;
}

int xport_handshake(struct xport *x)
{
    if (!x->tls)
        return 1;
    enum tls_io r = tls_handshake(x->tls);
    if (r == TLS_OK) {
        x->wait = 0;
        return 1;
    }
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
        x->wait = r == TLS_WANT_READ ? LOOP_READ : LOOP_WRITE;
        return 0;
    }
    errno = r == TLS_RESET ? ECONNRESET : EPROTO;
    return -1;
}

ssize_t xport_read(struct xport *x, void *buf, size_t len)
{
    if (!x->tls) {
        ssize_t n = read(x->fd, buf, len);
        if (n == 0)
            x->peer_eof = true;
        return n;
    }
    size_t n = 0;
    enum tls_io r = tls_read(x->tls, buf, len, &n);
    if (r == TLS_CLOSED)
        tcp_after_notify(x);
    return as_errno(x, r, n);
}

ssize_t xport_write(struct xport *x, const void *buf, size_t len)
{
    if (!x->tls)
        return write(x->fd, buf, len);
    size_t n = 0;
    enum tls_io io = tls_write(x->tls, buf, len, &n); /* before n is read */
    ssize_t r = as_errno(x, io, n);
    if (r == 0 && len) { /* the peer's close_notify while writing: no more */
        errno = EPIPE;
        return -1;
    }
    return r;
}

bool xport_pending(const struct xport *x)
{
    return x->tls && tls_pending(x->tls);
}

unsigned xport_wait_mask(const struct xport *x, unsigned want)
{
    if (x->tls && x->wait)
        return want | x->wait; /* TLS needs the other direction for now */
    return want;
}

void xport_close(struct xport *x, bool notify)
{
    if (x->fd < 0)
        return;
    if (x->tls && notify) {
        /* close_notify and the FIN leave in one segment (the cork holds
         * the record; close() sets FIN on it). Sent apart, a server that
         * closes as soon as it reads close_notify (nginx) got its FIN out
         * before ours on 3 to 5% of connections: the TIME_WAIT of a
         * client-first close landed on the server (ss: 6 of 200). */
        int one = 1;
        setsockopt(x->fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one);
        tls_send_close_notify(x->tls);
    }
    close(x->fd);
    x->fd = -1;
}

void xport_free(struct xport *x)
{
    xport_close(x, false);
    tls_conn_free(x->tls);
    x->tls = NULL;
}

bool xport_peer_closed(struct xport *x)
{
    if (x->fd < 0)
        return false;
    if (x->peer_eof)
        return true;
    char b;
    if (!x->tls)
        return recv(x->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
    size_t n = 0;
    enum tls_io r = tls_peek(x->tls, &b, 1, &n);
    if (r == TLS_CLOSED)
        tcp_after_notify(x);
    return r == TLS_CLOSED || r == TLS_EOF;
}

const struct tls_info *xport_tls(const struct xport *x)
{
    return x->tls ? tls_conn_info(x->tls) : NULL;
}

const char *xport_error(const struct xport *x)
{
    return x->tls ? tls_conn_error(x->tls) : "";
}
