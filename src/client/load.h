/* SPDX-License-Identifier: MIT */
/* The load generator: N connections over T threads (one loop each), closed
 * loop by default or open loop at a constant rate (--rate: latency counted
 * from the intended send time, so coordinated omission cannot hide
 * stalls), with every closing pattern a client can have.
 *
 * Error convention: load_run returns 0, or -1 with a message in err. */
#ifndef CLOSER_CLIENT_LOAD_H
#define CLOSER_CLIENT_LOAD_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/hist.h"
#include "client/target.h"
#include "tls/tls.h"

#define LOAD_MAX_SOURCES 4096
#define H2_LOAD_ERRORS 15 /* RFC 9113's codes 0x0-0xd, then "other" */

struct load_opts {
    struct sockaddr_storage dst;
    socklen_t dst_len;
    char url_host[256], url_path[2048], target_text[300];
    struct target target;     /* the parsed URL: the request is built from it */
    unsigned connections, threads;
    uint64_t duration_ms;     /* 0: use requests */
    uint64_t requests;        /* 0: use duration */
    double rate;              /* requests/s in total, 0 = closed loop */
    uint64_t timeout_ms;
    const char *method;
    const char *headers[32];
    size_t nheaders;
    const char *body;         /* loaded body */
    size_t body_len;
    bool keepalive;           /* false: the client closes after each response */
    bool close_header;        /* send Connection: close */
    bool http10;
    bool http10_keepalive;    /* HTTP/1.0 + Connection: keep-alive */
    uint64_t requests_per_conn; /* the client closes after N (0 = never) */
    uint64_t idle_ms;         /* pause between requests on a connection */
    uint64_t close_wait_ms;   /* after a response announcing the server's close
                               * (Connection: close, HTTP/1.0): wait this long
                               * for its FIN, then close; 0 = at once, as wrk */
    struct sockaddr_storage sources[LOAD_MAX_SOURCES];
    size_t nsources;
    bool progress;            /* a progress line on stderr */
    bool tls;                 /* https:// */
    struct tls_cfg tls_cfg;   /* -k, --cacert, --no-sessionid, ALPN */
    char tls_name[256];       /* SNI and the name verified */
    bool http2_prior;         /* --http2-prior-knowledge: h2c (load_h2.c) */
    bool http2;               /* --http2: h2 by ALPN (TLS) */
    unsigned streams;         /* -m: streams in flight per HTTP/2 connection (1) */
};

enum load_err { LE_REFUSED, LE_RESET, LE_TIMEOUT, LE_ADDRNOTAVAIL, LE_BAD_RESPONSE,
                LE_EARLY_CLOSE, LE_OTHER, LE_UNSOLICITED, LE_TLS, LE_MAX };

/* What TLS cost and how its connections ended (https:// only). */
struct load_tls {
    uint64_t handshakes_full, handshakes_resumed;
    uint64_t cpu_full_ns, cpu_resumed_ns; /* this client's CPU inside handshakes */
    uint64_t server_close_notify;    /* the server sent close_notify ... */
    uint64_t server_notify_with_fin; /* ... and its FIN had come with it */
    uint64_t server_truncated;       /* the server's FIN without close_notify */
    uint64_t client_close_notify;    /* the client closed with close_notify */
    char version[16], alpn[32], cipher[64], error[200]; /* the last seen */
};
enum load_closer { LC_SERVER, LC_CLIENT, LC_RESET, LC_MAX };

/* Every established connection is counted once: server + client + reset
 * + open_at_end == connections (disjoint: one still open at the end, closed
 * by the client because the run is over, is not also a client close); one
 * still connecting when the run ends is aborted, in connecting_at_end
 * only. */
struct load_result {
    uint64_t requests, bytes, connections, errors[LE_MAX], closed_first[LC_MAX];
    uint64_t open_at_end, connecting_at_end, status_2xx, status_other;
    uint64_t announced_closes;       /* responses that announced the server's close */
    uint64_t announced_client_first; /* ... after which the client still closed first */
    double seconds;
    struct hist latency;       /* microseconds */
    struct hist connect;       /* connect() to established, microseconds */
    struct hist handshake;     /* TLS: established to handshake done, microseconds */
    struct load_tls tls;
    bool interrupted;
    /* TIME_WAIT in this network namespace before and after the run; -1 unknown. */
    long tw_towards_before, tw_towards_after; /* this host -> target (client closed first) */
    long tw_at_before, tw_at_after;           /* at the target, when it is local */
    /* HTTP/2 only (load_h2.c). */
    uint64_t goaways;                /* connections that received the server's GOAWAY */
    uint64_t goaway_client_first;    /* ... and still got this client's FIN first */
    uint64_t goaway_errors[H2_LOAD_ERRORS]; /* by error code; the last: any code beyond */
    uint64_t streams_refused;        /* sent past a GOAWAY, never processed: sent again */
    uint64_t streams_reset;          /* RST_STREAM before a response */
    uint32_t max_concurrent;         /* the server's SETTINGS_MAX_CONCURRENT_STREAMS (0: none seen) */
};

extern volatile sig_atomic_t load_interrupted;

int load_run(const struct load_opts *o, struct load_result *r, char *err, size_t errlen);
const char *load_err_name(enum load_err e);
const char *load_closer_name(enum load_closer c);
/* load_tls.c, shared by HTTP/1 and HTTP/2 load: one thread's TLS counts
 * added to the run's, a connection's TCP and TLS handshakes (full or
 * resumed, their CPU), and how its TLS ended. */
void load_tls_merge(struct load_tls *to, const struct load_tls *from);
struct xport;
void load_tls_connected(struct load_result *r, const struct xport *x, uint64_t connect_us,
                        uint64_t handshake_us);
void load_tls_ended(struct load_tls *s, const struct xport *x);
/* The HTTP/2 run (load_h2.c): the same report, streams for requests. */
int load_h2_run(const struct load_opts *o, struct load_result *r, char *err, size_t errlen);

#endif
