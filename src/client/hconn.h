/* SPDX-License-Identifier: MIT */
/* One client HTTP/1.x connection on the event loop, shared by load and
 * probe: connect, send a request, parse the response (Content-Length,
 * chunked, until-close), then either send the next one, close (client
 * first), or sit idle watching for the server's FIN.
 *
 * Error convention: hconn_connect returns 0 or -errno (EADDRNOTAVAIL etc.
 * at once); later failures arrive through ops->on_end. */
#ifndef CLOSER_CLIENT_HCONN_H
#define CLOSER_CLIENT_HCONN_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/xport.h"
#include "http/response.h"
#include "loop/loop.h"

enum hconn_end {
    HC_END_SERVER_FIN,   /* the server's FIN came first */
    HC_END_RESET,        /* ECONNRESET / EPIPE */
    HC_END_REFUSED,      /* connect: ECONNREFUSED */
    HC_END_TIMEOUT,      /* no complete response within the timeout */
    HC_END_BAD_RESPONSE, /* unparseable response */
    HC_END_EARLY_CLOSE,  /* server closed in the middle of a response */
    HC_END_ERROR,        /* anything else (errno in err) */
    HC_END_EXTRA_BYTES,  /* bytes after a complete response that nothing asked for
                          * (the client closes: they are not the next answer) */
    HC_END_TLS,          /* TLS handshake or record failure (xport_error) */
};

struct hconn;
struct hconn_ops {
    /* A complete response; the callback sends, closes or leaves it idle.
     * r's header slices are gone (nheaders 0: the body moved over them):
     * read the hdr_* copies below. */
    void (*on_response)(struct hconn *c, const struct http_response *r, uint64_t bytes);
    /* The connection ended without hconn_close; the fd is already closed. */
    void (*on_end)(struct hconn *c, enum hconn_end how, int err);
    /* Optional: the handshakes completed, TCP and TLS (connect_ns is set). */
    void (*on_connect)(struct hconn *c);
};

/* HC_AWAIT_FIN: TLS only, the server's close_notify came before its FIN;
 * closing now would race the FIN (both sides in TIME_WAIT), so the FIN is
 * awaited, bounded (AWAIT_FIN_MS, or the request timeout if shorter). */
enum hconn_state { HC_CONNECTING, HC_HANDSHAKE, HC_SENDING, HC_READING, HC_IDLE, HC_AWAIT_FIN,
                   HC_CLOSED };

struct hconn {
    struct loop *loop;
    struct xport x;           /* x.fd: the socket, -1 when closed */
    /* Kept across connects, set by the caller: TLS when tls_ctx is set,
     * tls_host the name sent (SNI) and verified. */
    struct tls_ctx *tls_ctx;
    const char *tls_host;
    unsigned gen;             /* bumped by every connect and close: a callback
                               * may close this connection and open the next in
                               * the same struct; the caller must notice */
    enum hconn_state st;
    const struct hconn_ops *ops;
    void *user;
    const char *req;
    size_t req_len, req_off;
    bool head_req, queued;
    bool doomed;              /* unsolicited bytes seen: ends after on_response,
                               * a request sent from it is never written */
    char *buf;
    size_t len, cap;
    struct http_response resp;
    bool have_head;
    uint64_t body_left, bytes;
    struct http_chunked chunk;
    struct timer timer;
    uint64_t timeout_ms;      /* per request, 0 = none */
    uint64_t start_ns;        /* when connect() was called */
    uint64_t connect_ns;      /* when TCP was established (0: not yet) */
    uint64_t ready_ns;        /* ... and TLS too (== connect_ns without TLS) */
    enum hconn_end await_how; /* HC_AWAIT_FIN: how it ends when the FIN comes */
    uint64_t extra_bytes;     /* unsolicited bytes that ended it (HC_END_EXTRA_BYTES) */
    char first_bytes[48];     /* the start of an unparseable response, for messages */
    unsigned char first_raw[16]; /* ... as received (HTTP/2 frames are binary) */
    size_t first_raw_len;
    /* Copied from the last response head (its slices die with the buffer);
     * "" when absent, cut to the array's size. */
    char hdr_connection[64], hdr_keep_alive[64];
    char hdr_server[96], hdr_via[160], hdr_content_type[96];
    /* The header names in order, lower case, joined by ',' (cut at the
     * array's size): how probe tells servers without a Server header apart. */
    char hdr_names[256];
    long keep_alive_timeout;  /* Keep-Alive: timeout=N, or -1 */
    long keep_alive_max;      /* Keep-Alive: max=N, or -1 */
};

int hconn_connect(struct hconn *c, struct loop *l, const struct hconn_ops *ops, void *user,
                  const struct sockaddr *dst, socklen_t dlen, const struct sockaddr *src,
                  socklen_t slen);
/* Sends (or queues until connected) one request. req must outlive it.
 * Called from on_response on a connection about to end with
 * HC_END_EXTRA_BYTES, nothing is written (the request was never sent). */
void hconn_send(struct hconn *c, const char *req, size_t len, bool head_request);
/* The client closes (sends the first FIN unless the server's came first;
 * over TLS its close_notify first). */
void hconn_close(struct hconn *c);
/* After a response: has the server's FIN already arrived (non-blocking
 * peek)? Lets a caller tell who really closed first. */
bool hconn_server_fin_pending(struct hconn *c);
/* Frees the buffer and the TLS state (hconn_close keeps the TLS facts). */
void hconn_free(struct hconn *c);

#endif
