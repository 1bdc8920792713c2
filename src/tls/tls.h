/* SPDX-License-Identifier: MIT */
/* TLS for closer's clients (probe, load), with OpenSSL: one context per
 * run and thread (verification, ALPN, the session kept for resumption),
 * one tls_conn per connection over a connected non-blocking socket.
 *
 * What TLS changes about closing is what closer measures, so a tls_conn
 * records it: whether the peer's close_notify came and how (before its FIN
 * or never: truncation), whether ours was sent, whether the session was
 * resumed, and the CPU its handshake cost this thread.
 *
 * Error convention: tls_ctx_new returns NULL with a message in err;
 * operations return enum tls_io, TLS_FAIL with a message in the conn. */
#ifndef CLOSER_TLS_H
#define CLOSER_TLS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tls_cfg {
    bool insecure;            /* -k: no certificate or name verification */
    const char *cacert;       /* --cacert FILE, NULL: the system's store */
    const char *alpn;         /* "h2,http/1.1"; NULL: no ALPN */
    bool no_resume;           /* never offer a kept session */
};

struct tls_ctx;
struct tls_ctx *tls_ctx_new(const struct tls_cfg *cfg, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *x);
/* Sessions offered for resumption and accepted, across the context's life. */
uint64_t tls_ctx_sessions_kept(const struct tls_ctx *x);

enum tls_io {
    TLS_OK,           /* done / bytes moved */
    TLS_WANT_READ,    /* wait until readable, then call again */
    TLS_WANT_WRITE,   /* wait until writable, then call again */
    TLS_CLOSED,       /* the peer's close_notify: no more data, cleanly */
    TLS_EOF,          /* the peer's FIN without close_notify (truncation) */
    TLS_RESET,        /* ECONNRESET/EPIPE */
    TLS_FAIL,         /* handshake or protocol failure: tls_conn_error() */
};

struct tls_conn;
/* host: the SNI and the name verified (an IP literal is verified as an IP
 * address and sent no SNI, as curl does). NULL on allocation failure. */
struct tls_conn *tls_conn_new(struct tls_ctx *x, int fd, const char *host);
void tls_conn_free(struct tls_conn *c);
enum tls_io tls_handshake(struct tls_conn *c);
/* *n: bytes read/written (TLS_OK only). */
enum tls_io tls_read(struct tls_conn *c, void *buf, size_t len, size_t *n);
/* As tls_read, leaving the bytes to be read again. */
enum tls_io tls_peek(struct tls_conn *c, void *buf, size_t len, size_t *n);
enum tls_io tls_write(struct tls_conn *c, const void *buf, size_t len, size_t *n);
/* Sends close_notify (once; never waits for the peer's). */
void tls_send_close_notify(struct tls_conn *c);
/* Bytes already decrypted and waiting in OpenSSL (epoll will not wake for them). */
bool tls_pending(const struct tls_conn *c);

struct tls_info {
    bool done;                /* handshake complete */
    bool offered;             /* a kept session was offered for resumption */
    bool resumed;             /* an abbreviated handshake (session resumed) */
    char version[16];         /* "TLSv1.3" */
    char alpn[32];            /* "h2", "http/1.1", "" none */
    char cipher[64];
    uint64_t handshake_cpu_ns;/* this thread's CPU inside the handshake */
    bool peer_close_notify;   /* the peer sent close_notify */
    bool sent_close_notify;   /* we did */
    bool truncated;           /* the peer's FIN came without close_notify */
    uint64_t peer_close_notify_ns; /* loop_clock_ns()-comparable CLOCK_MONOTONIC */
};
const struct tls_info *tls_conn_info(const struct tls_conn *c);
const char *tls_conn_error(const struct tls_conn *c);

#endif
