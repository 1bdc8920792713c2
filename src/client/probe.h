/* SPDX-License-Identifier: MIT */
/* closer probe: how a server treats connections, measured. Every question
 * is answered by real exchanges on one event loop, all running at once
 * after a first keep-alive check, under one total deadline:
 *   - keep-alive for HTTP/1.1 and for HTTP/1.0 + Connection: keep-alive,
 *     with the Connection and Keep-Alive (timeout=, max=) headers sent;
 *   - who closes after a Connection: close exchange, FIN or RST, how late
 *     (three exchanges, the median);
 *   - the idle timeout, sampled on several idle connections in parallel
 *     (min / median / max, spread and early closes flagged);
 *   - the limit on a busy connection: one connection sends back to back,
 *     one paced; equal counts at close are a request cap, equal ages with
 *     different counts a lifetime limit (nginx keepalive_time); a count
 *     seen once is confirmed on a second back-to-back connection (a
 *     different count there: the server closes at random). Every close
 *     records FIN or RST, the connection's age, and after an announced
 *     close the delay of the server's FIN.
 *
 * Error convention: probe_run returns 0, or -1 with a message in err when
 * no HTTP exchange was possible at all (the message says what happened). */
#ifndef CLOSER_CLIENT_PROBE_H
#define CLOSER_CLIENT_PROBE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog/catalog.h"
#include "client/target.h"
#include "tls/tls.h"

#define PROBE_MAX_IDLE 16

struct probe_opts {
    struct target t;
    uint64_t deadline_ms;     /* the whole probe (60 s) */
    uint64_t max_requests;    /* per connection in the limit search (1024) */
    uint64_t max_wait_ms;     /* idle timeout bound (0: until the deadline) */
    uint64_t close_wait_ms;   /* wait for the FIN after an announced close (10 s) */
    uint64_t request_timeout_ms; /* per request (10 s) */
    unsigned idle_samples;    /* idle connections sampled in parallel (4) */
    const char *headers[32];  /* -H: Host and Authorization replace closer's */
    size_t nheaders;
    bool progress;
    struct tls_cfg tls_cfg;   /* https://: -k, --cacert; ALPN */
    bool http2_prior;         /* --http2-prior-knowledge: h2c (probe_h2.h) */
    bool http2;               /* --http2: offer h2 by ALPN (TLS) */
    bool http1_only;          /* --http1.1: https:// without the HTTP/2 probe */
};

enum probe_close { PC_FIN, PC_RST, PC_NONE };

/* Over TLS, how the server's close looked in TLS's terms. */
enum probe_tls_close {
    PT_NA,            /* plain TCP, or the server did not close */
    PT_NOTIFY_FIN,    /* close_notify, then its FIN: a clean TLS close */
    PT_NOTIFY_ONLY,   /* close_notify, no FIN within the wait (the client closed) */
    PT_NOTIFY_RST,    /* close_notify, then a RST */
    PT_TRUNCATED,     /* FIN without close_notify: a truncation by TLS's rules */
    PT_RST,           /* RST, no close_notify */
};

/* How one connection ended on the server's side. */
struct probe_close_obs {
    enum probe_close how;     /* PC_NONE: not within the wait */
    double rtt_s;             /* the exchange before it: request sent to response
                               * complete (Connection: close samples) */
    bool with_response;       /* the FIN was already queued when the response
                               * completed: a client closing at once meets it
                               * (the server closed first), whatever the delay */
    double after_s;           /* since the last response (or the wait began) */
    double age_s;             /* since the connection was established */
    enum probe_tls_close tls; /* https:// only */
};

/* One connection of the limit search. */
struct probe_busy {
    uint64_t responses;
    bool closed;              /* the server ended it */
    bool announced;           /* ... after a response saying Connection: close */
    bool stopped_at_max;      /* the client stopped at max_requests */
    double age_s;             /* at the server's close, or when the client stopped */
    struct probe_close_obs fin; /* FIN/RST and its delay after the last response */
};

/* PL_RANDOM: one connection was closed after N requests, a second one
 * back to back not at N: no per-connection cap (a server-wide random or
 * counted close). */
enum probe_limit { PL_NONE, PL_CAP, PL_LIFETIME, PL_UNKNOWN, PL_RANDOM };

#define PROBE_CLOSE_SAMPLES 3 /* Connection: close exchanges, decided on the median */

struct probe_h2_result;
struct probe_result {
    int status;
    bool error_answer;        /* the first answer was 4xx/5xx: the site's error
                               * page, not the site; nothing more measured */
    char server[96];          /* the Server header, "" when none */
    char via[160];            /* the Via header, "" when none */
    char header_names[256];   /* the first answer's header names, in order */
    /* The program the connection ends at (NULL: not recognised) and, for a
     * cache, the origin behind it (the catalogue's rows). */
    const struct cat_program *prog, *origin;
    char kind_evidence[240];
    char connection_11[64], keep_alive_11[64], connection_10[64], keep_alive_10[64];
    bool keepalive_11, keepalive_10;
    long hint_timeout_s, hint_max; /* Keep-Alive: timeout= / max= (1.1 or 1.0), -1 none */
    uint64_t unsolicited_bytes;    /* sent after a response, asked by no request */
    /* After a Connection: close exchange. */
    bool close_measured;
    struct probe_close_obs after_close; /* the median sample (by delay) */
    unsigned close_samples;   /* Connection: close exchanges measured */
    unsigned close_with_response; /* ... whose FIN was queued with the response */
    double close_rtt_s;       /* the median exchange time of those samples */
    /* The limit search. */
    bool limit_measured;
    struct probe_busy fast, paced;
    struct probe_busy second; /* back to back again once fast was closed at N */
    bool second_ran;          /* ... and it did run to its end */
    bool cap_confirmed;       /* a second connection was closed at the same count */
    enum probe_limit limit;
    long cap;                 /* PL_CAP */
    double lifetime_s;        /* PL_LIFETIME */
    /* The idle timeout. */
    unsigned idle_n, idle_closed;
    struct probe_close_obs idle[PROBE_MAX_IDLE];
    double idle_min, idle_median, idle_max;
    bool idle_spread, idle_early, idle_rst;
    /* Cost: what the probe did and left behind. */
    uint64_t requests_sent, connections;
    uint64_t server_closed_first, client_closed_first;
    long tw_towards_delta, tw_at_delta; /* -1 unknown */
    long tw_all_delta;        /* every TIME_WAIT in this namespace (a proxy's backend side too) */
    double elapsed_s;
    bool deadline_hit;
    /* https:// */
    bool tls;
    struct tls_info tls_first;     /* the first connection's handshake */
    double tls_handshake_ms;       /* its duration (TCP established to done) */
    unsigned tls_offered, tls_resumed; /* later connections offered a session, resumed */
    bool tls_tickets;              /* the server gave a session to resume */
    /* https://: the HTTP/2 probe beside this one (client/probe_h2.h), NULL: none. */
    const struct probe_h2_result *h2;
};

/* probe's exit status when the first answer is an error page (4xx/5xx):
 * nothing more is measured, no advice given. */
#define PROBE_EXIT_ERROR_ANSWER 3

int probe_run(const struct probe_opts *o, struct probe_result *r, char *err, size_t errlen);
/* The idle timeout's n > 0 samples (sorted in place): their least,
 * median and greatest; shared by the HTTP/1 and HTTP/2 probes. */
void probe_idle_spread(double *v, unsigned n, double *min, double *median, double *max);
void probe_print_text(FILE *out, const struct probe_opts *o, const struct probe_result *r);
/* JSON contract: schemas/closer.probe.schema.json. */
#define PROBE_JSON_SCHEMA "closer.probe/1"
void probe_print_json(FILE *out, const struct probe_opts *o, const struct probe_result *r);
/* The TLS part of both (client/probe_tls.c); nothing over plain TCP. */
struct json;
void probe_tls_text(FILE *out, const struct probe_result *r);
void probe_tls_json(struct json *j, const struct probe_result *r);

/* Which server answered (the catalogue's wire rows: Server and Via
 * headers, else behaviour: Node's http module sends no Server header and
 * Keep-Alive: timeout=5; nginx always sends Connection: keep-alive, so a
 * "Server: nginx" reply without it came through a proxy that strips it, as
 * HAProxy does). Fills r->prog, r->origin, r->kind_evidence. */
void probe_identify(struct probe_result *r);
/* How probe names the program: "nginx", "Apache httpd"; "unknown". */
const char *probe_kind_name(const struct cat_program *p);
/* The setting of that program (NULL: the generic one) for: "idle", "cap",
 * "lifetime", "keepalive" (what to do when it does not keep connections),
 * "hint" (how to announce Keep-Alive: timeout=). */
const char *probe_knob(const struct cat_program *p, const char *what);

#endif
