/* SPDX-License-Identifier: MIT */
/* closer probe over HTTP/2 (h2c prior knowledge, or h2 chosen by ALPN):
 * how the server ends HTTP/2 connections, measured on one event loop
 * under the probe's deadline:
 *   - the stream cap: one connection sends streams back to back until
 *     the server's GOAWAY (nginx keepalive_requests), its last stream id
 *     and error code, then who ends the TCP connection and how late;
 *   - the idle timeout: several idle connections in parallel until each
 *     one's GOAWAY or FIN;
 *   - SETTINGS_MAX_CONCURRENT_STREAMS and a PING round trip.
 * GOAWAY is HTTP/2's announced close; the TCP FIN after it still decides
 * which side keeps the TIME_WAIT, so both are recorded.
 *
 * Error convention: probe_h2_run returns 0, or -1 with a message in err
 * when no HTTP/2 exchange was possible at all. */
#ifndef CLOSER_CLIENT_PROBE_H2_H
#define CLOSER_CLIENT_PROBE_H2_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client/probe.h"

/* How one HTTP/2 connection ended on the server's side. */
struct probe_h2_end {
    bool goaway;              /* the server's GOAWAY came */
    uint32_t goaway_error;
    int32_t last_stream_id;
    double goaway_after_s;    /* since the last response (idle) or the connection began */
    enum probe_close tcp;     /* the server's FIN or RST; PC_NONE: the client closed */
    double tcp_after_goaway_s;/* FIN/RST after the GOAWAY (or after the last response) */
};

struct probe_h2_result {
    bool tls;                 /* https://: h2 was asked for by ALPN */
    char alpn[32];            /* what ALPN chose ("h2", "http/1.1", "" none) */
    bool h2_declined;         /* TLS worked, ALPN did not choose h2 */
    int status;
    char server[96];
    const struct cat_program *prog; /* the catalogue's row, NULL: not recognised */
    char kind_evidence[240];
    bool max_streams_set;     /* SETTINGS_MAX_CONCURRENT_STREAMS was sent */
    uint32_t max_streams;
    double ping_rtt_s;        /* -1 unmeasured */
    /* The stream cap: back to back on one connection. */
    bool cap_measured;
    uint64_t cap_streams;     /* answered before the GOAWAY (or before max_requests) */
    bool cap_stopped_at_max;  /* no GOAWAY within max_requests streams */
    uint64_t cap_refused;     /* submitted beyond the GOAWAY's last stream id */
    struct probe_h2_end cap;
    /* The idle timeout. */
    unsigned idle_n, idle_closed;
    struct probe_h2_end idle[PROBE_MAX_IDLE];
    double idle_min, idle_median, idle_max;
    /* Cost. */
    uint64_t requests_sent, connections, server_closed_first, client_closed_first;
    double elapsed_s;
    bool deadline_hit;
};

int probe_h2_run(const struct probe_opts *o, struct probe_h2_result *r, char *err, size_t errlen);
/* The whole report of an HTTP/2-only probe (h2c). */
void probe_h2_print_text(FILE *out, const struct probe_opts *o, const struct probe_h2_result *r);
void probe_h2_print_json(FILE *out, const struct probe_opts *o, const struct probe_h2_result *r);
/* The HTTP/2 part beside an HTTP/1 report (https://, h2 by ALPN on
 * connections of its own): text, and the "http2" JSON member. */
void probe_h2_section(FILE *out, const struct probe_opts *o, const struct probe_h2_result *r);
struct json;
void probe_h2_json(struct json *j, const struct probe_opts *o, const struct probe_h2_result *r);

/* https://: the HTTP/2 probe on a thread of its own, beside the HTTP/1
 * one (each has its own loop and deadline: together they take no longer). */
struct probe_h2_job {
    const struct probe_opts *o;
    struct probe_h2_result r;
    int rc;
    char err[256];
    bool started;
    pthread_t thread;
};
void probe_h2_begin(struct probe_h2_job *j, const struct probe_opts *o);
/* Waits for it; the result when HTTP/2 was measured or ALPN declined h2,
 * else NULL (err says why). */
const struct probe_h2_result *probe_h2_finish(struct probe_h2_job *j);

#endif
