/* One client connection and its life: read the head, read or discard the
 * body, write the response, then idle (keep-alive) or close. Every close
 * goes through conn_close(c, cause), which counts the cause. Private to
 * src/server. */
#ifndef CLOSER_SERVER_CONN_H
#define CLOSER_SERVER_CONN_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/request.h"
#include "loop/loop.h"
#include "server/config.h"
#include "server/status.h"

struct worker;

enum conn_state {
    CS_HEAD,     /* reading a request head */
    CS_BODY,     /* reading (discarding) a request body */
    CS_WRITE,    /* writing a response */
    CS_IDLE,     /* keep-alive, between requests: no buffer held */
    CS_LINGER,   /* shutdown(SHUT_WR) sent, draining until EOF */
    CS_WAIT_FIN, /* close policy client: waiting for the client's FIN */
    CS_LEAKED,   /* a fault mode keeps it open on purpose */
};

#define CONN_RBUF 8192

struct conn {
    struct worker *w;
    int fd;
    enum conn_state state;
    struct timer timer;
    char *rbuf;
    size_t rlen;
    /* The request being answered. */
    struct http_chunked chunk;
    uint64_t body_left;
    bool chunked_body;
    bool keepalive;          /* after this response */
    bool nodelay;            /* TCP_NODELAY set */
    enum close_cause cause;  /* when not keepalive */
    /* Output: head from hbuf, then body bytes or a file. */
    char hbuf[512];
    size_t hlen, hoff;
    const char *body;
    size_t blen, boff;
    int file_fd;
    off_t file_off;
    uint64_t file_left;
    uint64_t requests;
    uint64_t started_ms, linger_deadline_ms;
    struct conn *next_leaked;
};

/* Takes over an accepted fd (answers what already arrived); false when no
 * connection could be set up and the caller still owns fd. */
bool conn_accept(struct worker *w, int fd);
void conn_close(struct conn *c, enum close_cause cause);
/* Ends an idle keep-alive connection for a graceful stop. */
void conn_shutdown_idle(struct conn *c);
bool conn_is_idle(const struct conn *c);

#endif
