/* SPDX-License-Identifier: MIT */
/* Server counters, one block per worker, summed by /status: nginx
 * stub_status's numbers plus connections closed per cause — the seeds of
 * TIME_WAIT and CLOSE_WAIT, counted in conn_close() and nowhere else. */
#ifndef CLOSER_SERVER_STATUS_H
#define CLOSER_SERVER_STATUS_H
#include <stdatomic.h>
#include <stdio.h>

enum close_cause {
    CAUSE_CLIENT_CLOSED,   /* the client's FIN came first */
    CAUSE_KEEPALIVE_OFF,   /* server keep-alive disabled */
    CAUSE_CLIENT_ASKED,    /* Connection: close from the client */
    CAUSE_HTTP10,          /* HTTP/1.0 without keep-alive */
    CAUSE_IDLE_TIMEOUT,    /* keepalive_timeout */
    CAUSE_REQUEST_CAP,     /* keepalive_requests reached */
    CAUSE_KEEPALIVE_TIME,  /* keepalive_time passed */
    CAUSE_ERROR,           /* protocol error response */
    CAUSE_TIMEOUT,         /* header / body / send timeout */
    CAUSE_RESET,           /* the client reset the connection */
    CAUSE_SHUTDOWN,        /* graceful stop */
    CAUSE_MAX
};

struct srv_status {
    atomic_ullong accepted, handled, requests;
    atomic_llong active, reading, writing, waiting;
    atomic_ullong closed[CAUSE_MAX];
};

/* Each loop owns one block and is its only writer: srv_add is a relaxed
 * load and store (no locked instruction on the request path), and other
 * threads read consistent values. */
static inline void srv_add(atomic_ullong *c, unsigned long long d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d, memory_order_relaxed);
}
static inline void srv_gauge(atomic_llong *g, long long d)
{
    atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + d, memory_order_relaxed);
}

/* The blocks /status sums (closer serve's workers), owned by the server
 * run that starts them: one set per run, read by every worker's /status. */
#define SRV_STATUS_MAX_BLOCKS 256
struct srv_status_set {
    struct srv_status *blocks[SRV_STATUS_MAX_BLOCKS];
    atomic_int n;
};
/* Register before the block's loop runs (past the cap: not counted). */
void srv_status_register(struct srv_status_set *set, struct srv_status *s);

/* stub_status-like text, or JSON when json is set; returns bytes written
 * into buf (truncated to len). */
size_t srv_status_render(const struct srv_status_set *set, char *buf, size_t len, int json);

#endif
