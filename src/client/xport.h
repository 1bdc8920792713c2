/* SPDX-License-Identifier: MIT */
/* A client connection's byte stream: a non-blocking TCP socket, with TLS
 * over it or not. HTTP/1 (hconn) and HTTP/2 (h2conn) read and write through
 * it and never ask which it is; they ask only what to wait for.
 *
 * Error convention: xport_connect returns 0 or -errno; read and write
 * behave as read(2)/write(2) (-1 with errno EAGAIN: wait for
 * xport_wait_mask()); xport_handshake returns 1 done, 0 call again after
 * waiting, -1 failed (errno, and for TLS a message in xport_error()). */
#ifndef CLOSER_CLIENT_XPORT_H
#define CLOSER_CLIENT_XPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "tls/tls.h"

struct xport {
    int fd;                   /* -1 when closed */
    struct tls_conn *tls;     /* NULL: plain TCP */
    unsigned wait;            /* LOOP_READ/LOOP_WRITE the last call needs */
    bool peer_eof;            /* read returned 0 (FIN, or close_notify) */
    /* TLS: what TCP did after the peer's close_notify (set when it was
     * read, and by a caller that waited for the FIN). */
    bool fin_with_notify;     /* its FIN came too */
    bool rst_after_notify;    /* a RST instead */
};

/* Socket, optional bind (source address, port chosen at connect()),
 * non-blocking connect. x->tls must be NULL (zeroed, or xport_free). */
int xport_connect(struct xport *x, const struct sockaddr *dst, socklen_t dlen,
                  const struct sockaddr *src, socklen_t slen);
/* After the TCP connect completed: starts TLS when ctx is not NULL. */
int xport_start_tls(struct xport *x, struct tls_ctx *ctx, const char *host);
int xport_handshake(struct xport *x);
ssize_t xport_read(struct xport *x, void *buf, size_t len);
ssize_t xport_write(struct xport *x, const void *buf, size_t len);
/* Decrypted bytes waiting (read again before sleeping on epoll). */
bool xport_pending(const struct xport *x);
/* The loop mask to wait for given what the caller wants (LOOP_READ, and
 * LOOP_WRITE while it has bytes to send): TLS may need the other one. */
unsigned xport_wait_mask(const struct xport *x, unsigned want);
/* Closes: for TLS, close_notify first when notify (a client closing first
 * cleanly); the fd is closed either way. The caller has dropped it from
 * the loop (loop_forget) before. */
void xport_close(struct xport *x, bool notify);
/* Frees the TLS state kept after xport_close (its tls_info stays readable
 * until then). */
void xport_free(struct xport *x);
/* The peer has closed: FIN (plain), close_notify or FIN (TLS), seen
 * without consuming data (a non-blocking peek). */
bool xport_peer_closed(struct xport *x);
const struct tls_info *xport_tls(const struct xport *x); /* NULL when plain */
const char *xport_error(const struct xport *x);

#endif
