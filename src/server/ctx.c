/* SPDX-License-Identifier: MIT */
/* The engine's context: the buffer pool, the fd table, connection states
 * with their status gauges and the reclaimable list, memory given back
 * after a burst, and the context's birth and release. It calls no
 * connection and no listener: conn.c and accept.c call down into it, and
 * the engine's stop and free, which close connections, are in engine.c. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "server/conn.h"

/* ---- buffer pool ---- */

char *srv_buf_get(struct srv_ctx *x)
{
    return x->nspare ? x->spare[--x->nspare] : malloc(SRV_BUF);
}

void srv_buf_put(struct srv_ctx *x, char *b)
{
    if (!b)
        return;
    if (x->nspare < SRV_SPARE_BUFS)
        x->spare[x->nspare++] = b;
    else
        free(b);
}

/* ---- state, gauges, the reclaimable list ---- */

/* The status gauges follow the state: reading (head/body), writing,
 * waiting (idle, lingering, waiting for the client's FIN). */
static atomic_llong *gauge_of(struct srv_status *st, enum conn_state s)
{
    switch (s) {
    case CS_HEAD:
    case CS_BODY: return &st->reading;
    case CS_WRITE: return &st->writing;
    case CS_LEAKED: return NULL;
    default: return &st->waiting;
    }
}

static void unlink_reclaimable(struct conn *c)
{
    struct srv_ctx *x = c->x;
    if (!c->reclaimable)
        return;
    if (c->older)
        c->older->newer = c->newer;
    else
        x->oldest = c->newer;
    if (c->newer)
        c->newer->older = c->older;
    else
        x->newest = c->older;
    c->older = c->newer = NULL;
    c->reclaimable = false;
}

void conn_set_state(struct conn *c, enum conn_state s)
{
    struct srv_status *st = c->x->status;
    atomic_llong *from = gauge_of(st, c->state), *to = gauge_of(st, s);
    if (from != to) {
        if (from)
            srv_gauge(from, -1);
        if (to)
            srv_gauge(to, 1);
    }
    c->state = s;
    bool reclaimable = c->x->reclaim_at_cap && (s == CS_IDLE || s == CS_HEAD);
    if (reclaimable && !c->reclaimable) { /* append: the list is oldest first */
        struct srv_ctx *x = c->x;
        c->older = x->newest;
        c->newer = NULL;
        if (x->newest)
            x->newest->newer = c;
        else
            x->oldest = c;
        x->newest = c;
        c->reclaimable = true;
    } else if (!reclaimable) {
        unlink_reclaimable(c);
    }
}

struct conn *conn_oldest_reclaimable(struct srv_ctx *x) { return x->oldest; }

bool conn_is_idle(const struct conn *c) { return c->state == CS_IDLE; }


/* ---- the fd table ---- */

void conn_track(struct srv_ctx *x, struct conn *c)
{
    if ((size_t)c->fd >= x->conns_cap) {
        size_t cap = x->conns_cap ? x->conns_cap : 256;
        while (cap <= (size_t)c->fd)
            cap *= 2;
        struct conn **n = realloc(x->conns, cap * sizeof *n);
        if (n) {
            memset(n + x->conns_cap, 0, (cap - x->conns_cap) * sizeof *n);
            x->conns = n;
            x->conns_cap = cap;
        }
    }
    if ((size_t)c->fd < x->conns_cap)
        x->conns[c->fd] = c;
    if (++x->active > x->peak)
        x->peak = x->active;
    atomic_fetch_add_explicit(x->active_total, 1, memory_order_relaxed);
}

/* After a burst has gone (under 1/16 of its peak left), give the memory
 * back: the pool's spare buffers, the fd table's unused tail and the
 * heap's free pages (the loop's compaction ends with malloc_trim, which
 * also returns free pages in the middle of every arena). */
/* Under 1/16 of a big peak left, or a burst fully gone while its tables
 * are still big. A quiet server with a few spares never trims (no
 * malloc_trim per connection when a lone client comes and goes). */
static bool trim_due(const struct srv_ctx *x)
{
    if (x->active == 0)
        return x->nspare > 64 || x->conns_cap > 1024 || loop_fd_capacity(x->loop) > 1024;
    return x->peak >= 4096 && x->active <= x->peak / 16;
}

void srv_trim_after_burst(struct srv_ctx *x)
{
    if (!trim_due(x))
        return;
    while (x->nspare)
        free(x->spare[--x->nspare]);
    size_t top = 0;
    for (size_t fd = 0; fd < x->conns_cap; fd++)
        if (x->conns[fd])
            top = fd + 1;
    size_t cap = 256;
    while (cap < top)
        cap *= 2;
    if (cap < x->conns_cap) {
        struct conn **n = realloc(x->conns, cap * sizeof *n);
        if (n) {
            x->conns = n;
            x->conns_cap = cap;
        }
    }
    loop_compact(x->loop); /* shrinks the fd table, then trims the heap */
    x->peak = x->active;
}

void conn_untrack(struct srv_ctx *x, struct conn *c)
{
    if ((size_t)c->fd < x->conns_cap && x->conns[c->fd] == c)
        x->conns[c->fd] = NULL;
    x->active--;
    atomic_fetch_sub_explicit(x->active_total, 1, memory_order_relaxed);
}

/* ---- accepting on and off ---- */

void srv_set_accepting(struct srv_ctx *x, bool on)
{
    if (x->accepting == on || x->cfg->fault == FAULT_LISTENER_NOT_POLLED)
        return;
    x->accepting = on;
    for (size_t i = 0; i < x->nlisten; i++)
        loop_mod(x->loop, x->listen_fds[i], on ? LOOP_READ : 0);
}

static void accept_retry(struct loop *l, struct timer *t)
{
    (void)l;
    struct srv_ctx *x = (struct srv_ctx *)((char *)t - offsetof(struct srv_ctx, accept_retry));
    if (!x->stopping)
        srv_set_accepting(x, true);
}

static void srv_accept_init(struct srv_ctx *x)
{
    timer_init(&x->accept_retry, accept_retry);
    x->accepting = true;
}

void srv_accept_resume(struct srv_ctx *x)
{
    if (!x->stopping && !x->accepting && !timer_armed(&x->accept_retry))
        srv_set_accepting(x, true);
}

/* ---- the context ---- */

void srv_ctx_init(struct srv_ctx *x, struct loop *l, const struct srv_config *cfg,
                  srv_handler_fn handle, void *handler_data, struct srv_status *status,
                  atomic_long *active_total)
{
    memset(x, 0, sizeof *x);
    x->loop = l;
    x->cfg = cfg;
    x->handle = handle;
    x->handler_data = handler_data;
    x->status = status;
    x->active_total = active_total;
    srv_accept_init(x);
}

/* The pool and the fd table, once every connection has closed (engine.c). */
void srv_ctx_release(struct srv_ctx *x)
{
    while (x->nspare)
        free(x->spare[--x->nspare]);
    free(x->conns);
    x->conns = NULL;
    x->conns_cap = 0;
}
