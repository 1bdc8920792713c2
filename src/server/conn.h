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
    uint64_t started_ms, linger_deadline_ms;
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
};

bool conn_accept(struct srv_ctx *x, int fd);
void conn_close(struct conn *c, enum close_cause cause);
bool conn_is_idle(const struct conn *c);
/* The oldest idle or head-reading connection of x, or NULL. */
struct conn *conn_oldest_reclaimable(struct srv_ctx *x);

/* The engine's buffer pool (SRV_BUF bytes each). */
char *srv_buf_get(struct srv_ctx *x);
void srv_buf_put(struct srv_ctx *x, char *b);

#endif
