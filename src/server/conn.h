/* SPDX-License-Identifier: MIT */
/* One client connection of the engine and its life: read the head, read
 * or discard the body, write the response, then idle (keep-alive) or
 * close. Every close goes through conn_close(c, cause), which counts the
 * cause. Private to src/server (engine.h is the interface). */
#ifndef CLOSER_SERVER_CONN_H
#define CLOSER_SERVER_CONN_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/request.h"
#include "loop/loop.h"
#include "server/engine.h"

enum conn_state {
    CS_HEAD,     /* reading a request head */
    CS_BODY,     /* reading (discarding) a request body */
    CS_WRITE,    /* writing a response */
    CS_IDLE,     /* keep-alive, between requests: no buffer held */
    CS_LINGER,   /* shutdown(SHUT_WR) sent, draining until EOF */
    CS_WAIT_FIN, /* close policy client: waiting for the client's FIN */
    CS_LEAKED,   /* a fault mode keeps it open on purpose */
};

/* Kept small: an idle keep-alive connection is this struct and one slot
 * of the fd table, nothing else (buffers go back to the pool). */
struct conn {
    struct srv_ctx *x;
    struct timer timer;
    struct conn *older, *newer;  /* the reclaimable list, or the leaked one */
    char *rbuf;                  /* input, SRV_BUF bytes, from the pool */
    char *obuf;                  /* response head (+ small body), from the pool */
    const char *body;            /* a body not in obuf */
    uint64_t body_left;          /* request body bytes still to discard */
    uint64_t file_left;
    off_t file_off;
    uint64_t requests;
    uint64_t started_ms;
    uint64_t deadline_ms;        /* idle: keep-alive ends; lingering: draining ends */
    struct http_chunked chunk;
    size_t blen, boff;
    uint32_t rlen, hlen, hoff;
    int fd, file_fd;
    uint8_t state;               /* enum conn_state */
    uint8_t cause;               /* enum close_cause, when not keepalive */
    bool keepalive;              /* after this response */
    bool nodelay;                /* TCP_NODELAY set */
    bool chunked_body;
    bool body_owned;
    bool eof;                    /* the client's FIN was read */
    bool reclaimable;            /* on the x->oldest..newest list */
    bool head_timer;             /* the timer is this head's deadline */
};

bool conn_accept(struct srv_ctx *x, int fd);
void conn_close(struct conn *c, enum close_cause cause);
bool conn_is_idle(const struct conn *c);
/* The oldest idle or head-reading connection of x, or NULL. */
struct conn *conn_oldest_reclaimable(struct srv_ctx *x);

/* ctx.c: states (with the status gauges and the reclaimable list), the fd
 * table, memory given back after a burst. */
void conn_set_state(struct conn *c, enum conn_state s);
void conn_track(struct srv_ctx *x, struct conn *c);
void conn_untrack(struct srv_ctx *x, struct conn *c);
void srv_trim_after_burst(struct srv_ctx *x);
/* Frees the buffer pool and the fd table; every connection is closed. */
void srv_ctx_release(struct srv_ctx *x);
/* Listeners in or out of epoll; srv_accept_resume: a connection went, so
 * accept again if the cap had paused it. */
void srv_set_accepting(struct srv_ctx *x, bool on);
void srv_accept_resume(struct srv_ctx *x);

/* reply.c: output. conn_flush returns 1 done, 0 would block, -1 error. */
bool conn_closes_with_rst(const struct conn *c, enum close_cause cause);
void conn_drop_output(struct conn *c);
int conn_flush(struct conn *c);
struct srv_reply conn_new_reply(struct conn *c);
void conn_respond(struct conn *c, struct srv_reply *rep, int minor, bool head_only);
/* An error the engine answers itself; it ends the connection. */
void conn_respond_error(struct conn *c, int status, int minor);
bool conn_take_obuf(struct conn *c);

/* The engine's buffer pool (SRV_BUF bytes each). */
char *srv_buf_get(struct srv_ctx *x);
void srv_buf_put(struct srv_ctx *x, char *b);

#endif
