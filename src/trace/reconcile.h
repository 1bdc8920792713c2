/* SPDX-License-Identifier: MIT */
/* Reconciling the tracker with the socket table: a connection whose end
 * no event showed (its CLOSE lost in a full ring, or skipped) would stay
 * open in the tracker forever and never be counted. A sock_diag dump of a
 * traced namespace taken at time D tells which of them are gone: a record
 * whose every event is older than D, once the rings have been read past D,
 * and whose socket is not in the table at D, ended unseen. The pure part
 * (the table and the decision) is unit-tested; recon_dump enters the
 * namespace. Error convention: 0 ok, -1 with a message in err. */
#ifndef CLOSER_TRACE_RECONCILE_H
#define CLOSER_TRACE_RECONCILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/sock.h"
#include "trace/track.h"

/* The states of full sockets a record can be open in (no TIME_WAIT, no
 * listener, no request socket: the table walk stays small). */
#define RECON_STATES ((1u << TS_ESTABLISHED) | (1u << TS_SYN_SENT) | (1u << TS_SYN_RECV) | \
                      (1u << TS_FIN_WAIT1) | (1u << TS_FIN_WAIT2) | (1u << TS_CLOSE_WAIT) |  \
                      (1u << TS_LAST_ACK) | (1u << TS_CLOSING))

struct rkey {
    uint64_t key;
    uint8_t state;
};

/* One namespace's sockets at one moment, by tuple and by local end. */
struct recon_set {
    uint64_t ino;  /* the namespace */
    uint64_t at_ns;   /* CLOCK_MONOTONIC before the dump: a record with an
                       * event after it may be missing from the table */
    uint64_t done_ns; /* after it: a socket missing ended before this, so
                       * once the rings are read past it its end is known */
    struct rkey *k;
    size_t n, cap;
    bool ok;       /* complete: not interrupted, no error */
};

void recon_add(struct recon_set *set, const struct tcp_sock *s);
/* Sorts the keys for recon_state (after the last recon_add). */
void recon_seal(struct recon_set *set);
/* The state of the record's socket in the table, 0 when it is absent. A
 * record without its peer yet (an accepted child announced before its
 * address) is looked up by its local end alone. */
int recon_state(const struct recon_set *set, const struct trace_rec *r);
/* Whether a record (of this set's namespace) ended unseen: all its events
 * before the dump, its socket gone from the table. */
bool recon_gone(const struct recon_set *set, const struct trace_rec *r);
/* Dumps the namespace at nspath (NULL: the caller's own) into set, its
 * times read from clock_ns (CLOCK_MONOTONIC). */
int recon_dump(struct recon_set *set, const char *nspath, uint64_t (*clock_ns)(void), char *err, size_t errlen);
void recon_free(struct recon_set *set);

#endif
