/* SPDX-License-Identifier: MIT */
/* One snapshot per network namespace: every namespace on the host (or a
 * given list), entered with setns from this thread, one sock_diag socket
 * each; sysctls, counters and tcp_info are read inside; owners are read
 * once from the host's /proc and shared by every snapshot (socket inodes are
 * unique across namespaces), then each snapshot gets what snapshot_take adds
 * with owners: the second look at ownerless sockets (inside its namespace
 * again), the process models, the visibility note. A namespace that cannot
 * be entered keeps its reason and the others are still taken.
 *
 * Call from the main thread of a single-threaded process: /proc/net follows
 * the thread-group leader's namespace.
 *
 * Error convention: 0, or -1 with a message in err (cannot list /proc, out
 * of memory, cannot return to the starting namespace). */
#ifndef CLOSER_SNAPSHOT_MULTI_H
#define CLOSER_SNAPSHOT_MULTI_H
#include "kernel/nsdiscover.h"
#include "snapshot/snapshot.h"

struct ns_snapshot {
    const struct netns_entry *ns;
    struct snapshot snap;   /* valid when ok */
    bool ok;
    char error[400];        /* why it was not taken */
};

struct multi_snapshot {
    struct netns_list list;
    struct ns_snapshot *items;  /* list.n of them, same order */
    struct procfd_table owners; /* shared by every items[i].snap */
    double took_ms;
};

/* A namespace folds its TIME_WAIT (opts.fold_above) only past this many
 * sockets: a fold has fixed tables of ~1.3 MB (counts per port and class,
 * port indexes), which a namespace of 25,000 records (56 bytes each)
 * outweighs; a host's many small namespaces keep their few records. */
#define MULTI_FOLD_ABOVE 25000

int multi_snapshot_take(struct multi_snapshot *m, const struct snapshot_opts *o, char *err,
                        size_t errlen);
void multi_snapshot_free(struct multi_snapshot *m);

#endif
