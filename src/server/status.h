/* Server counters, shared by all workers (relaxed atomics): nginx
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

extern struct srv_status srv_status;

const char *close_cause_name(enum close_cause c);
/* stub_status-like text, or JSON when json is set; returns bytes written
 * into buf (truncated to len). */
size_t srv_status_render(char *buf, size_t len, int json);

#endif
