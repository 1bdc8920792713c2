/* SPDX-License-Identifier: MIT */
/* TEMPORARY (branch h2 only): plain TCP so h2conn builds before main's
 * xport.c lands; main's version replaces this file at the merge. */
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
    x->peer_eof = false;
    int fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (src) {
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
    (void)x, (void)host;
    return ctx ? -ENOTSUP : 0;
}

int xport_handshake(struct xport *x)
{
    (void)x;
    return 1;
}

ssize_t xport_read(struct xport *x, void *buf, size_t len)
{
    ssize_t n = read(x->fd, buf, len);
    if (n == 0)
        x->peer_eof = true;
    x->wait = LOOP_READ;
    return n;
}

ssize_t xport_write(struct xport *x, const void *buf, size_t len)
{
    ssize_t n = write(x->fd, buf, len);
    x->wait = n < 0 && errno == EAGAIN ? LOOP_WRITE : 0;
    return n;
}

bool xport_pending(const struct xport *x)
{
    (void)x;
    return false;
}

unsigned xport_wait_mask(const struct xport *x, unsigned want)
{
    (void)x;
    return want;
}

void xport_close(struct xport *x, bool notify)
{
    (void)notify;
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
}

const struct tls_info *xport_tls(const struct xport *x)
{
    (void)x;
    return NULL;
}

const char *xport_error(const struct xport *x)
{
    (void)x;
    return "";
}
