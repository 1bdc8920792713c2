/* SPDX-License-Identifier: MIT */
/* The HTTP/1 server connection engine: one per event loop. It accepts,
 * reads and parses requests (http/request.h, the one parser), reads or
 * discards bodies, writes responses, keeps connections alive and closes
 * them through one function with a cause. What a request gets is decided
 * by a handler: closer serve's fixed, static-file and status answers
 * (server/site.c) and the exporter's /metrics (export/scrape.c) are
 * handlers. Its files call one way: engine.c (stop, free) -> accept.c ->
 * conn.c (a connection's life) -> reply.c -> ctx.c (pool, fd table,
 * states); the context never calls back into a connection.
 *
 * The engine sees only this small context, never a worker or an exporter:
 * the loop, the configuration (nginx's knobs), the handler, the counters
 * and a hook called when a connection goes.
 *
 * Not thread-safe: one context per loop, used from the loop's thread.
 * Error convention: int functions return 0 or -errno. */
#ifndef CLOSER_SERVER_ENGINE_H
#define CLOSER_SERVER_ENGINE_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http/request.h"
#include "loop/loop.h"
#include "server/config.h"
#include "server/response.h"
#include "server/status.h"

struct conn;

/* What a handler answers. The engine writes the head (status line, Date,
 * Content-Type, Content-Length, Connection, Keep-Alive) and the body. */
struct srv_reply {
    int status;
    const char *content_type;   /* NULL: none */
    const char *extra_header;   /* one "Name: value" line without CRLF, or NULL */
    /* The body: borrowed memory that outlives the connection (a literal,
     * the configuration), or `scratch` (a per-connection pooled buffer of
     * scratch_cap bytes the engine offers), or malloc'd memory the engine
     * frees once written (body_owned). */
    const char *body;
    size_t blen;
    bool body_owned;
    char *scratch;
    size_t scratch_cap;
    /* Or a file: sent with sendfile(), closed by the engine. */
    int file_fd;                /* -1: none */
    uint64_t file_size;
    time_t last_modified;       /* 0: none */
    bool keep_open;             /* false: this answer ends the connection (an error) */
    /* content_type, extra_header and body are bytes that never change
     * while the server runs (the configuration, literals; not scratch):
     * the engine may keep the whole answer and reuse it by pointer. */
    bool fixed;
};

/* Fills out for request r (its slices die when the handler returns). A
 * HEAD request gets the head only: the engine drops the body. */
typedef void (*srv_handler_fn)(void *data, const struct http_request *r, struct srv_reply *out);

#define SRV_SPARE_BUFS 16

struct srv_ctx {
    struct loop *loop;
    const struct srv_config *cfg;
    srv_handler_fn handle;
    void *handler_data;
    struct srv_status *status;   /* counters: serve's global ones, or the exporter's own */
    atomic_long *active_total;   /* connections of every loop sharing cfg->max_connections */
    /* At the connection cap, close the oldest connection that is idle or
     * has not finished sending its request head, instead of making the
     * newcomer wait (the exporter: slow scrapers must not lock out a
     * scraper). Off: the newcomer waits in the accept queue (nginx). */
    bool reclaim_at_cap;
    bool stopping;               /* graceful stop: no more keep-alive */
    /* Called after a connection closed (the worker stops its loop when the
     * last one goes during a graceful stop). */
    void (*conn_gone)(struct srv_ctx *x);
    void *owner;
    /* private to the engine */
    struct conn **conns;         /* by fd */
    size_t conns_cap;
    long active, peak;           /* this loop's connections; peak since the last trim */
    struct conn *oldest, *newest; /* reclaimable: idle, or reading a head */
    char *spare[SRV_SPARE_BUFS]; /* 8 KiB buffers given back, reused LIFO */
    size_t nspare;
    int listen_fds[SRV_MAX_LISTEN];
    size_t nlisten;
    bool accepting;
    struct timer accept_retry;
    struct conn *leaked;
    struct resp_head_cache heads; /* the last response head, reused within its second */
};

void srv_ctx_init(struct srv_ctx *x, struct loop *l, const struct srv_config *cfg,
                  srv_handler_fn handle, void *handler_data, struct srv_status *status,
                  atomic_long *active_total);
/* Closes every connection (cause shutdown) and frees the pool; listeners
 * are the caller's. */
void srv_ctx_free(struct srv_ctx *x);

/* Watches a listening socket (non-blocking): accepts in batches, pauses
 * at the connection cap and at fd exhaustion (EMFILE: 500 ms, as nginx)
 * instead of spinning on a level-triggered listener. */
int srv_listen(struct srv_ctx *x, int listen_fd);
/* Stops watching and closes every listener. */
void srv_unlisten(struct srv_ctx *x);
/* Takes over a connected, non-blocking fd; false when it could not (the
 * caller still owns fd). Answers what already arrived at once. */
bool srv_conn_accept(struct srv_ctx *x, int fd);
/* Graceful stop: keep-alive off, idle connections closed now. */
void srv_begin_stop(struct srv_ctx *x);

#define SRV_BUF 8192 /* read buffers and response-head buffers (pooled) */

#endif
