/* SPDX-License-Identifier: MIT */
/* Counters of measured closes for closer exporter --trace, fed one finished
 * connection at a time (plain numbers: the tracer sits beside this layer).
 * Series per (service port, role), at most TM_MAX_ROWS, the rest under
 * port="other":
 *   closer_trace_closes_total{port,role,side}        side: local|peer|reset|abort
 *   closer_trace_time_wait_total{port,role,where}     where: here|peer
 *   closer_trace_resets_total{port,role,direction}    direction: sent|received
 *   closer_trace_close_after_fin_seconds{port,role}   histogram: the peer's FIN
 *                                                     to this side's close()
 *   closer_trace_events_total, closer_trace_lost_events_total */
#ifndef CLOSER_EXPORT_TRACE_METRICS_H
#define CLOSER_EXPORT_TRACE_METRICS_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TM_MAX_ROWS 64
#define TM_BUCKETS 10

enum tm_side { TM_LOCAL, TM_PEER, TM_RESET, TM_ABORT, TM_SIDES };

struct tm_row {
    int port;  /* -1: "other" */
    int role;  /* 0 unknown, 1 accepted, 2 outgoing */
    uint64_t side[TM_SIDES], tw_here, tw_peer, rst_sent, rst_received;
    uint64_t buckets[TM_BUCKETS], lat_count;
    double lat_sum;
};

struct trace_metrics {
    struct tm_row rows[TM_MAX_ROWS + 1];
    size_t n;
    uint64_t events, lost;
};

struct tm_close {
    int role;
    uint16_t port;
    enum tm_side side;
    bool tw_here, tw_peer, rst_sent, rst_received;
    double close_after_fin_s; /* < 0: none measured */
};

void tm_add(struct trace_metrics *t, const struct tm_close *c);
void tm_write(FILE *out, const struct trace_metrics *t);

#endif
