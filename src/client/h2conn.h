/* SPDX-License-Identifier: MIT */
/* One client HTTP/2 connection on the event loop, shared by probe and
 * load: libnghttp2's client session over an xport (plain TCP for h2c
 * prior knowledge, or TLS after ALPN chose h2). Requests are streams the
 * caller owns (struct h2stream); the connection records what HTTP/2 says
 * about its own end: the server's SETTINGS_MAX_CONCURRENT_STREAMS, its
 * GOAWAY (last stream id, error code, when), and then who ended the TCP
 * connection (the server's FIN or RST, or this client) and how long after
 * the GOAWAY. HTTP/2's GOAWAY announces a close; the first FIN still
 * decides which side keeps the TIME_WAIT.
 *
 * Nothing here closes a connection on its own after a GOAWAY: the caller
 * decides whether to wait for the server's FIN (probe) or close (load).
 * Callbacks are never made from inside nghttp2: completed streams and the
 * GOAWAY are delivered after the bytes are parsed, so a callback may
 * submit, close, or close and reconnect the same struct (gen changes).
 *
 * Error convention: h2conn_connect returns 0 or -errno; h2conn_submit
 * returns the stream id (> 0) or -1; later failures arrive via on_end. */
#ifndef CLOSER_CLIENT_H2CONN_H
#define CLOSER_CLIENT_H2CONN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/xport.h"
#include "loop/loop.h"

enum h2_end {
    H2_END_SERVER_FIN,  /* the server's FIN (after its GOAWAY or not) */
    H2_END_RESET,       /* ECONNRESET / EPIPE */
    H2_END_REFUSED,     /* connect: ECONNREFUSED */
    H2_END_TIMEOUT,     /* streams in flight and nothing received within the timeout */
    H2_END_PROTOCOL,    /* not HTTP/2, or an HTTP/2 protocol error (first_bytes) */
    H2_END_TLS,         /* the TLS handshake failed (xport_error) */
    H2_END_ERROR,       /* anything else (errno in err) */
};

/* One request, owned by the caller until on_stream delivers it. */
struct h2stream {
    int32_t id;
    int status;               /* :status, 0 when the stream was reset first */
    uint32_t rst_error;       /* RST_STREAM / close error code, 0 NO_ERROR */
    uint64_t bytes;           /* DATA payload received */
    uint64_t sent_ns;         /* when it was submitted */
    bool refused;             /* beyond the server's GOAWAY: never processed */
    char server[96];          /* the Server header, "" when none */
    void *user;
    struct h2stream *next;    /* private: the delivery queue */
    struct h2stream *anext;   /* private: the streams in flight */
};

struct h2conn;
struct h2conn_ops {
    void (*on_stream)(struct h2conn *c, struct h2stream *s);
    /* The connection ended without h2conn_close; the fd is already closed. */
    void (*on_end)(struct h2conn *c, enum h2_end how, int err);
    void (*on_ready)(struct h2conn *c);   /* optional: connected, preface sent */
    void (*on_goaway)(struct h2conn *c);  /* optional: the server's GOAWAY came */
};

struct h2req {
    const char *method, *scheme, *authority, *path;
    const char *const *headers; /* "Name: value" lines (a Host is left out:
                                 * the caller makes it the authority) */
    size_t nheaders;
    const char *basic_auth;     /* base64 "user:pw" (URL userinfo), NULL/"" none;
                                 * an Authorization among headers wins */
};

struct h2conn {
    struct loop *loop;
    struct xport x;
    void *session;            /* nghttp2_session * (kept opaque to callers) */
    unsigned gen;
    const struct h2conn_ops *ops;
    void *user;
    bool tcp_up, connected, closing_cb;
    struct tls_ctx *tls_ctx;  /* NULL: h2c; else h2 when ALPN chooses it */
    const char *tls_host;
    uint64_t timeout_ms;      /* streams in flight, nothing received: 0 = none */
    struct timer timer;
    uint64_t start_ns, tcp_ns, connect_ns, last_rx_ns; /* connect(), TCP up, ready (TLS done) */
    struct h2stream *done_head, *done_tail; /* completed, not yet delivered */
    struct h2stream *inflight;  /* submitted, not closed (a HEADERS frame
                                 * never sent has no nghttp2 stream) */
    unsigned active;          /* streams submitted and not yet delivered by on_stream */
    uint64_t streams_submitted, streams_done;
    unsigned char *wbuf;
    size_t wlen, woff;
    const uint8_t *pend;      /* nghttp2's bytes not yet copied into wbuf */
    size_t pend_len;
    /* What the server said about the connection. */
    bool settings_seen;
    uint32_t max_concurrent;  /* SETTINGS_MAX_CONCURRENT_STREAMS, UINT32_MAX unlimited */
    bool goaway, goaway_delivered;
    int32_t goaway_last_id;
    uint32_t goaway_error;
    uint64_t goaway_ns;
    uint64_t end_ns;          /* when the TCP connection ended, whoever ended it */
    bool ping_sent;
    uint64_t ping_ns, ping_rtt_ns; /* the first PING's round trip (0: none) */
    unsigned char first_raw[16]; /* the first bytes received (frames, or not HTTP/2) */
    size_t first_raw_len;
};

/* host: the TLS name (SNI, verification) when tls is not NULL. */
int h2conn_connect(struct h2conn *c, struct loop *l, const struct h2conn_ops *ops, void *user,
                   const struct sockaddr *dst, socklen_t dlen, const struct sockaddr *src,
                   socklen_t slen, struct tls_ctx *tls, const char *host);
/* Queues a request (sent once connected). -1: the session refuses it
 * (after a GOAWAY, or the stream ids are exhausted). */
int32_t h2conn_submit(struct h2conn *c, const struct h2req *rq, struct h2stream *s);
/* Sends a PING (its RTT lands in ping_rtt_ns). */
void h2conn_ping(struct h2conn *c);
/* Could another stream be submitted now (no GOAWAY, under the server's cap)? */
bool h2conn_can_submit(const struct h2conn *c);
/* The client ends it (the first FIN unless the server's came first);
 * goaway: say so with a GOAWAY NO_ERROR first, as a polite client does. */
void h2conn_close(struct h2conn *c, bool goaway);
/* Has the server closed (its FIN, or over TLS its close_notify), seen by
 * a non-blocking peek? */
bool h2conn_server_fin_pending(struct h2conn *c);
void h2conn_free(struct h2conn *c);

/* "NO_ERROR", "PROTOCOL_ERROR", ... (RFC 9113 section 7); "UNKNOWN" beyond. */
const char *h2_error_name(uint32_t code);
/* Do these bytes open with an HTTP/2 frame a server sends first (a
 * SETTINGS or GOAWAY frame on stream 0, 9-byte header)? An HTTP/1 request
 * to an h2c-only server is answered so. */
bool h2_looks_like_frames(const unsigned char *b, size_t n);

#endif
