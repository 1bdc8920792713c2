/* SPDX-License-Identifier: MIT */
/* TIME_WAIT folded while the dump is read. Past a million sockets a record
 * per TIME_WAIT (60 bytes) is most of closer's memory, yet the rules only
 * count them: per local port and peer-port class (which side closed first),
 * their ages (the close rate), per client destination, and the local
 * addresses on a listening port. This keeps exactly that: 4 bytes a socket
 * for the ages (the peak-second window needs them to the millisecond) and
 * counters, instead of 60.
 *
 * Folding needs the listening ports before the TIME_WAIT of the same port:
 * the kernel's dump walks the listening hash before the established one,
 * so they are; a port that turns out to listen only after some of its
 * TIME_WAIT were folded makes the fold inexact (tw_fold.inexact), and the
 * caller reads the table again without folding.
 *
 * Error convention: 0, or -ENOMEM. */
#ifndef CLOSER_SNAPSHOT_TWFOLD_H
#define CLOSER_SNAPSHOT_TWFOLD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/sock.h"

/* The peer's port, as the side rules read it: inside this host's ephemeral
 * range; outside it and unprivileged; outside it and below 1024. */
enum tw_peer_class { TWP_EPHEMERAL, TWP_HIGH, TWP_LOW, TWP_NCLASSES };

/* TIME_WAIT towards one destination from one source address. At most
 * TW_DEST_MAX are kept: a host that talks to more (a crawler, a fleet of
 * backends behind one client) would otherwise grow this table with every
 * peer. When it is full, the half with the fewest sockets is summed into
 * tw_fold.dests_other and dropped; a destination with more than
 * 2 * dests / TW_DEST_MAX sockets is never dropped, so the piles the rules
 * look for stay exact, and a dropped one had at most dests_evicted_max. */
#define TW_DEST_MAX 4096
struct tw_dest {
    uint8_t family, used;
    uint16_t dport;
    uint32_t n;
    uint8_t src[16], dst[16];
};

/* Up to TW_LOCAL_MAX distinct local addresses of the TIME_WAIT on one
 * listening port, first seen first. */
#define TW_LOCAL_MAX 16
struct tw_local {
    uint8_t n;
    uint8_t addr[TW_LOCAL_MAX][16];
};

/* The first TIME_WAIT on a local port that is neither ephemeral nor
 * listening: the exporter names its destination when it is the port's only
 * socket (a port several share is a server's whose listener is gone). */
struct tw_single {
    uint8_t family;
    uint16_t dport;
    uint8_t dst[16];
};

struct tw_fold {
    size_t n;                        /* TIME_WAIT folded */
    uint32_t *count;                 /* [sport * TWP_NCLASSES + class] */
    /* sport << 16 | age in ms (60 s - timer left), per class */
    uint32_t *ages[TWP_NCLASSES];
    size_t nages[TWP_NCLASSES], cap_ages[TWP_NCLASSES];
    /* client TIME_WAIT (ephemeral local port, not a listening one) */
    struct tw_dest *dests;
    size_t ndests, cap_dests;
    uint64_t dests_other;            /* sockets of destinations dropped */
    uint32_t dests_evicted;          /* destinations dropped (a key may return) */
    uint32_t dests_evicted_max;      /* most sockets a dropped destination had */
    /* local addresses per listening port: local_ix[port] - 1 into locals */
    uint32_t *local_ix;
    struct tw_local *locals;
    size_t nlocals, cap_locals;
    uint32_t *single_ix;             /* [port] - 1 into singles */
    struct tw_single *singles;
    size_t nsingles, cap_singles;
    uint8_t unlisted[8192];          /* ports folded while not (yet) listening */
    bool inexact;
};

/* The ephemeral range and the listening ports seen so far decide a
 * socket's keys; port_lo < 0 means unknown. */
struct tw_fold_ctx {
    long port_lo, port_hi;
    const uint8_t *listen_bits;      /* 8192 bytes */
};

int tw_fold_add(struct tw_fold *f, const struct tw_fold_ctx *c, const struct tcp_sock *t);
/* After the dump: is a port that listens now among those folded without a
 * listener? Sets f->inexact. */
void tw_fold_check(struct tw_fold *f, const uint8_t *listen_bits);
void tw_fold_free(struct tw_fold *f);
/* Adds every TIME_WAIT folded in from (another namespace's) to to: counts
 * summed, ages appended, destinations merged (still bounded). */
int tw_fold_merge(struct tw_fold *to, const struct tw_fold *from);
enum tw_peer_class tw_peer_class(long port_lo, long port_hi, uint16_t dport);
const struct tw_local *tw_fold_local(const struct tw_fold *f, uint16_t port);
const struct tw_single *tw_fold_single(const struct tw_fold *f, uint16_t port);
/* TIME_WAIT folded on a local port, all peer classes. */
uint32_t tw_fold_port(const struct tw_fold *f, uint16_t port);

#endif
