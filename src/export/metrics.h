/* SPDX-License-Identifier: MIT */
/* The metric families closer exports, built from one snapshot: sockets by
 * state; by state and role (server port / client destination) with bounded
 * cardinality; TIME_WAIT age histogram; CLOSE_WAIT by process; listen
 * queues; ephemeral range use per destination; doctor findings; kernel
 * counters and sysctls; scrape timing.
 *
 * The doctor sits beside this layer, not below it: the command passes its
 * findings in as plain (id, severity) pairs.
 *
 * Error convention: metrics_write returns 0, or -1 when out of memory or the
 * FILE* failed. */
#ifndef CLOSER_EXPORT_METRICS_H
#define CLOSER_EXPORT_METRICS_H
#include <stdio.h>

#include "snapshot/snapshot.h"

struct metrics_finding {
    const char *id;
    const char *severity;
};

struct metrics_opts {
    unsigned top_ports;        /* server ports given their own series */
    unsigned top_destinations; /* client destinations given their own series */
    unsigned top_processes;    /* CLOSE_WAIT owners given their own series */
    unsigned top_listeners;    /* listeners given their own series (by queue length) */
    const struct metrics_finding *findings;
    size_t nfindings;
    double findings_ms;        /* time the doctor took, included in the scrape time */
};

int metrics_write(FILE *out, const struct snapshot *s, const struct metrics_opts *o);

#endif
