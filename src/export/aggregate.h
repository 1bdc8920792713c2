/* SPDX-License-Identifier: MIT */
/* One pass over a snapshot that groups sockets the way the exporter and top
 * show them: by state; server side by local listening port (or one whose
 * listener is gone: outside the ephemeral range, shared); client side by
 * destination (ip:port) with its use of the ephemeral range; CLOSE_WAIT by
 * owning process; listen queues; TIME_WAIT age. Pure function of the
 * snapshot; the exporter and top only sort and print the result.
 *
 * Error convention: agg_build returns 0, or -1 when out of memory. */
#ifndef CLOSER_EXPORT_AGGREGATE_H
#define CLOSER_EXPORT_AGGREGATE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot/snapshot.h"

/* TCP_TIMEWAIT_LEN: a TIME_WAIT socket's age is 60 s minus its timer. */
#define AGG_TW_LEN_MS 60000
#define AGG_TW_BUCKETS 10
extern const double agg_tw_bucket_le[AGG_TW_BUCKETS]; /* seconds, upper bounds */

struct agg_port {    /* server side: sockets whose local port listens, or listened: a
                      * non-ephemeral local port that several sockets share */
    uint16_t port;
    uint32_t n[TS_MAX];
    uint32_t total;
};

struct agg_dest {    /* client side: grouped by peer address and port */
    uint8_t family;
    uint8_t addr[16];
    uint16_t port;
    uint32_t n[TS_MAX];
    uint32_t total;
    uint32_t ephemeral_used; /* sockets whose local port is in the ephemeral range */
};

struct agg_proc {
    pid_t pid;
    char comm[16];
    uint32_t close_wait;
};

struct agg_listen {
    uint8_t family;
    uint8_t addr[16];
    uint16_t port;
    uint32_t queue, backlog;
};

struct agg {
    uint32_t states[TS_MAX];
    struct agg_port *ports;     size_t nports;
    struct agg_dest *dests;     size_t ndests, dests_cap;
    /* client TIME_WAIT of destinations the fold dropped (snapshot/twfold.h:
     * beyond TW_DEST_MAX peers): part of destination="other" */
    uint64_t dests_other_tw;
    struct agg_proc *procs;     size_t nprocs;
    uint32_t close_wait_unowned; /* in an accept queue, or owner not visible */
    struct agg_listen *listens; size_t nlistens;
    uint64_t tw_buckets[AGG_TW_BUCKETS]; /* cumulative, as Prometheus wants */
    uint64_t tw_count;
    double tw_age_sum;          /* seconds */
    uint32_t *dest_index;       /* open-addressing hash into dests (private) */
    size_t dest_index_cap;
};

int agg_build(struct agg *a, const struct snapshot *s);
void agg_free(struct agg *a);

/* Sort descending by the count in state (0 = by total), ties by port/key. */
void agg_sort_ports(struct agg *a, int state);
void agg_sort_dests(struct agg *a, int state);
void agg_sort_procs(struct agg *a); /* by CLOSE_WAIT, descending */
/* The k first destinations in agg_sort_dests order, the rest after them in
 * no particular order: O(n log k) instead of a sort of every peer. */
void agg_top_dests(struct agg *a, int state, size_t k);
/* "1.2.3.4:80" / "[::1]:80" into buf (64 bytes). */
char *agg_dest_name(const struct agg_dest *d, char *buf);
char *agg_listen_name(const struct agg_listen *l, char *buf);

#endif
