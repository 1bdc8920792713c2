/* SPDX-License-Identifier: MIT */
/* Findings from measured closes (closer doctor --trace DUR): who closed
 * first per port and process, how long programs took to close() after the
 * peer's FIN, resets. The input is plain numbers so the doctor does not
 * depend on the tracer; cmd/doctor.c fills it from a trace session.
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

struct measured_closes {
    double seconds;
    unsigned long long lost_events, unattributed, close_wait_open;
    const struct measured_close *rows; /* most closes first */
    size_t n;
};

int rules_trace(const struct measured_closes *m, struct doctor_report *r);

#endif
