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
 * Resets sent (tcp_send_reset) carry the state of the socket that sent
 * them: LISTEN or NEW_SYN_RECV (a listener or a request answering a stray
 * segment: no connection), TIME_WAIT (the minisock of a connection that
 * already ended here: in its FIN_WAIT2 substate, data arriving after the
 * close), or the connection's own. A reset received before a CLOSE ends
 * the connection: that CLOSE names no closer even when it runs in process
 * context (from the socket's backlog, in whatever call held the lock).
 * An orphan whose FIN was ACKed becomes a FIN_WAIT2 minisock (its CLOSE)
 * before the peer's FIN, which no tracepoint reports. When the peer is
 * traced too (the other end on this host: loopback, a veth pair) and sits
 * in CLOSE_WAIT, the record waits for the peer's close (LAST_ACK: its FIN)
 * and ends then (for at most the minisock's 60 s); a remote peer's FIN
 * stays unseen (the record ends at the minisock, end_state FIN_WAIT2). 
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
    struct tnode *held; /* the peer's record, ended into a FIN_WAIT2 minisock,
                           waiting for this one's FIN; off the table */
    bool ended;
};

struct track_stats {
    uint64_t events, finished, dropped_full, rst_nosock, rst_unmatched;
    uint64_t rst_listener;  /* sent by a listener or a request sock (in rst_nosock) */
    uint64_t rst_minisock;  /* sent by a minisock after its connection's CLOSE */
    uint64_t held;          /* records that waited for their traced peer's FIN */
    uint64_t restarted; /* records dropped because their end was never seen */
};

#define TRACK_BUCKETS 65536
/* Connections that ended into a TIME_WAIT/FIN_WAIT2 minisock, by tuple, so
 * a reset the minisock sends later is put to the connection: a fixed table
 * (the newest of two on one slot wins), ~2.3 MiB when first used. */
#define TRACK_MINISOCKS 16384
#define TRACK_MINISOCK_NS (60ull * 1000000000ull) /* TCP_TIMEWAIT_LEN */

#define TRACK_DEFERRED 64 /* minisock resets seen before their connection's CLOSE */

struct hold {
    uint64_t y_skaddr, t_close; /* the holding peer; the held record's CLOSE */
};

struct minisock {
    struct trace_rec r; /* the connection as emitted; t_end its CLOSE */
};

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
    /* A reset sent by the minisock of a connection already emitted: r is
     * that connection (or, unmatched, only the reset's tuple, role
     * unknown) with rst RST_SENT and the reset's reason and time (t_end).
     * Set after tracker_init; NULL: counted in st only. */
    void (*after_close_rst)(void *ctx, const struct trace_rec *r);
    void *ctx;
    struct minisock *mini; /* TRACK_MINISOCKS, allocated on first use */
    uint64_t *close_wait;  /* TRACK_MINISOCKS skaddrs of records in CLOSE_WAIT, by tuple */
    struct hold *holds;    /* in time order, from hold_head on */
    size_t nholds, hold_head, cap_holds;
    struct tev deferred[TRACK_DEFERRED];
    unsigned ndeferred;
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
