/* SPDX-License-Identifier: MIT */
/* Findings from measured closes (closer doctor --trace DUR): who closed
 * first per port and process, how long programs took to close() after the
 * peer's FIN, resets. The input is plain numbers so the doctor does not
 * depend on the tracer; trace/measure.c fills it from a trace session.
 * Finding ids: trace-who-closes (info), trace-slow-close (warning),
 * trace-resets (warning), trace-lost-events (warning). */
#ifndef CLOSER_DOCTOR_RULES_TRACE_H
#define CLOSER_DOCTOR_RULES_TRACE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doctor/doctor.h"

/* close() this long after the peer's FIN (p99) makes trace-slow-close */
#define TRACE_SLOW_CLOSE_MS 1000.0

struct measured_close {       /* one (service port, role, process) */
    uint16_t port;
    bool accepted;            /* else outgoing (port is the peer's) or unknown */
    bool outgoing;
    int pid;                  /* 0: no process context seen */
    char comm[16];
    unsigned long long closes, local_first, peer_first, reset, abort, rst_sent, rst_received;
    unsigned long long tw_here, tw_peer;
    char rst_reasons[160];    /* "TCP_ABORT_ON_CLOSE 3, ..." */
    unsigned long long fin_to_close_n; /* passive closes with a close() measured */
    double fin_to_close_p50_ms, fin_to_close_p99_ms, fin_to_close_max_ms;
};

/* How long accepted connections on a port lived, from the SYN to the
 * server's first FIN, over those the server closed first: 300 us says it
 * closed right after answering, seconds all alike an idle timeout. */
struct measured_life {
    uint16_t port;
    unsigned long long n;
    double p10_ms, p50_ms, p90_ms, max_ms;
};

struct measured_closes {
    double seconds;
    unsigned long long lost_events, unattributed, close_wait_open;
    const struct measured_close *rows; /* most closes first */
    size_t n;
    const struct measured_life *lives; /* one per accepted port, by port */
    size_t nlives;
};

/* One server-first close as the trace saw it. */
struct life_sample {
    uint16_t port;
    uint64_t us; /* SYN to the server's FIN */
};
/* Sorts v and groups it by port into a malloc'd array of *nlives (NULL:
 * out of memory). */
struct measured_life *measured_lives_build(struct life_sample *v, size_t n, size_t *nlives);
/* The lifetimes of port's server-first closes, or NULL. */
const struct measured_life *measured_life_of(const struct measured_closes *m, uint16_t port);

int rules_trace(const struct measured_closes *m, struct doctor_report *r);

#endif
