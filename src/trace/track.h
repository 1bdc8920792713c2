/* SPDX-License-Identifier: MIT */
/* Per-connection close records, keyed by the kernel's socket address
 * (skaddr), built from time-ordered tracepoint events.
 *
 * What the kernel tells and when (inet_sock_set_state):
 *   CLOSE->SYN_SENT        connect(), process context: the owner's pid
 *   LISTEN->SYN_RECV       the child of a listener (accepted), softirq
 *   ESTABLISHED->FIN_WAIT1 close()/shutdown() first, process context
 *   ESTABLISHED->CLOSE_WAIT the peer's FIN, softirq
 *   CLOSE_WAIT->LAST_ACK   close() after the peer's FIN, process context
 *   X->CLOSE               the end; from FIN_WAIT1/2 or CLOSING the socket
 *                          became a TIME_WAIT minisock (never reported)
 * A pid is taken only from an event that did not run in interrupt context
 * (common_flags), so a softirq's interrupted task is never named. */
#ifndef CLOSER_TRACE_TRACK_H
#define CLOSER_TRACE_TRACK_H
#include <stdbool.h>
#include <stdint.h>

#include "trace/decode.h"
#include "trace/pcache.h"

enum trace_role { ROLE_UNKNOWN, ROLE_ACCEPTED, ROLE_OUTGOING };
enum trace_first { FIRST_NONE, FIRST_LOCAL, FIRST_PEER, FIRST_RESET, FIRST_ABORT };
enum trace_tw { TW_NONE, TW_LOCAL, TW_PEER };
#define RST_SENT 1
#define RST_RECEIVED 2

struct trace_rec {
    uint64_t skaddr;
    /* CLOCK_MONOTONIC ns; 0 = not seen while tracing */
    uint64_t t_open, t_first, t_close_wait, t_last_ack, t_end;
    uint8_t family, role, first, tw, rst, end_from;
    bool end_unseen;         /* gone from the socket table, no event showed its end */
    int32_t rst_reason; /* -1: none or unknown */
    uint16_t lport, rport;
    uint8_t laddr[16], raddr[16];
    int32_t pid;             /* the process that closed (FIN, close after FIN, abort) */
    char comm[16];
    int32_t owner_pid;       /* the process that connect()ed, carried forward */
    char owner_comm[16];
    uint64_t netns;          /* inode; 0 when no process touched it while traced */
};

struct tnode {
    struct trace_rec r;
    struct tnode *next;
    bool ended;
};

struct track_stats {
    uint64_t events, finished, dropped_full, rst_nosock, rst_unmatched;
    uint64_t restarted; /* records dropped because their end was never seen */
};

#define TRACK_BUCKETS 65536

struct tracker {
    struct tnode *buckets[TRACK_BUCKETS];
    struct tnode **pending; /* ended, emitted once they are older than the
                               flush's cutoff, so a reset event right behind
                               the CLOSE (even from another CPU) still lands */
    size_t npending, cap_pending;
    size_t live, max_live;
    struct pcache *pc;
    struct track_stats st;
    void (*emit)(void *ctx, const struct trace_rec *r);
    void (*nosock_rst)(void *ctx, const struct tev *ev);
    void *ctx;
};

void tracker_init(struct tracker *t, struct pcache *pc, size_t max_live,
                  void (*emit)(void *, const struct trace_rec *),
                  void (*nosock_rst)(void *, const struct tev *), void *ctx);
void tracker_event(struct tracker *t, const struct tev *ev);
/* Emits the records that ended at or before cutoff_ns (event time). */
void tracker_flush(struct tracker *t, uint64_t cutoff_ns);
/* Emits every ended record (at the end of a run). */
void tracker_flush_all(struct tracker *t);
/* Ends an open record whose end no event showed (trace/reconcile.h): at
 * t_end, side unknown unless seen, netns set when it was unknown. */
void tracker_end_unseen(struct tracker *t, uint64_t skaddr, uint64_t t_end, uint64_t netns);
/* Calls fn on every connection still open (for "still in CLOSE_WAIT"). */
void tracker_each_open(struct tracker *t, void (*fn)(void *ctx, const struct trace_rec *r), void *ctx);
void tracker_free(struct tracker *t);

#endif
