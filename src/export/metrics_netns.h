/* SPDX-License-Identifier: MIT */
/* The exporter over every network namespace: each namespace's families
 * (metrics_write) with netns="INODE" — and container="ID", pod="UID" where
 * known — on every series. Cardinality stays bounded: the top N namespaces
 * by sockets get their own series, the rest are summed into netns="other"
 * (their sockets pooled in one view; sysctls are not summed). A namespace
 * that is gone by the next scrape is simply not written, so its series
 * disappear. closer_netns_info names each shown namespace; closer_netns
 * counts them; closer_netns_unreadable says which could not be entered.
 *
 * The doctor sits beside this layer: findings come from a callback.
 *
 * Error convention: metrics_write_netns returns 0, or -1 when out of memory
 * or the FILE* failed. */
#ifndef CLOSER_EXPORT_METRICS_NETNS_H
#define CLOSER_EXPORT_METRICS_NETNS_H
#include "export/metrics.h"
#include "snapshot/multi.h"

/* Fills o->findings / nfindings / findings_ms for s; done() frees them. */
struct netns_findings_fn {
    void (*get)(void *ctx, const struct snapshot *s, struct metrics_opts *o);
    void (*done)(void *ctx, struct metrics_opts *o);
    void *ctx;
};

int metrics_write_netns(FILE *out, const struct multi_snapshot *m, const struct metrics_opts *o,
                        unsigned top_netns, const struct netns_findings_fn *fn);

#endif
