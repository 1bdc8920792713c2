/* SPDX-License-Identifier: MIT */
/* The other end of a connection when it is on this host: the socket whose
 * local address is this one's peer and whose peer is this one (a
 * CLOSE_WAIT's FIN_WAIT2, a client's server end). An index over the
 * sockets of a few states, built by the rule that needs it (the snapshot
 * stays read-only).
 *
 * Error convention: peers_build returns 0, or -1 out of memory. */
#ifndef CLOSER_SNAPSHOT_PEERS_H
#define CLOSER_SNAPSHOT_PEERS_H
#include "snapshot/snapshot.h"

struct peer_index {
    uint32_t *slots; /* socket index + 1; 0 = empty (open addressing) */
    size_t mask;
};

/* Indexes the sockets of s whose state is in states (TIME_WAIT minisockets
 * in the FIN_WAIT2 substate are FIN_WAIT2 here, as the kernel reports). */
int peers_build(struct peer_index *ix, const struct snapshot *s, uint32_t states);
/* The socket at the other end of t, or NULL. v4-mapped IPv6 matches v4. */
const struct tcp_sock *peers_find(const struct peer_index *ix, const struct snapshot *s,
                                  const struct tcp_sock *t);
void peers_free(struct peer_index *ix);

#endif
