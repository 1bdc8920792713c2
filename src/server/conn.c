/* The engine's connection state machine. One driver, run(), moves a
 * connection through head -> body -> write and back for pipelined
 * requests in a loop (no recursion), until it must wait for the socket or
 * is gone. */
#include "server/conn.h"

#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http/persist.h"
#include "server/accept.h"
#include "server/response.h"
#include "util/log.h"

static void on_io(struct loop *l, int fd, void *data, unsigned events);
static void on_timer(struct loop *l, struct timer *t);
static void run(struct conn *c);

#define CFG(c) ((c)->x->cfg)
#define COUNT(c, field, d) atomic_fetch_add_explicit(&(c)->x->status->field, d, memory_order_relaxed)
/* Room for a response head at the start of obuf; the rest is the scratch
 * a handler may write a body into (it then joins the head: one send). */
#define HEAD_ROOM 1024

enum step { NEXT, STOP }; /* STOP: wait for the socket, or c is gone */

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

static void set_state(struct conn *c, enum conn_state s)
{
    struct srv_status *st = c->x->status;
    atomic_llong *from = gauge_of(st, c->state), *to = gauge_of(st, s);
    if (from != to) {
        if (from)
            atomic_fetch_sub_explicit(from, 1, memory_order_relaxed);
        if (to)
            atomic_fetch_add_explicit(to, 1, memory_order_relaxed);
    }
    c->state = s;
    bool reclaimable = s == CS_IDLE || s == CS_HEAD;
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

static void arm(struct conn *c, uint64_t ms) { loop_timer_arm(c->x->loop, &c->timer, ms); }

/* ---- the fd table ---- */

static void track(struct srv_ctx *x, struct conn *c)
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
 * heap's free pages (malloc_trim also returns free pages in the middle of
 * every arena, which free() alone never does). */
static void trim_after_burst(struct srv_ctx *x)
{
    if (x->peak < 4096 || x->active > x->peak / 16)
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
    malloc_trim(0);
    x->peak = x->active;
}

static void untrack(struct srv_ctx *x, struct conn *c)
{
    if ((size_t)c->fd < x->conns_cap && x->conns[c->fd] == c)
        x->conns[c->fd] = NULL;
    x->active--;
    atomic_fetch_sub_explicit(x->active_total, 1, memory_order_relaxed);
}

/* ---- open and close ---- */

static void on_readable(struct conn *c);

static struct conn *conn_new(struct srv_ctx *x, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->x = x;
    c->fd = fd;
    c->file_fd = -1;
    c->state = CS_LEAKED; /* no gauge until set_state */
    c->started_ms = loop_now_ms(x->loop);
    timer_init(&c->timer, on_timer);
    c->rbuf = srv_buf_get(x);
    if (!c->rbuf || loop_add_deferred(x->loop, fd, LOOP_READ, on_io, c) < 0) {
        srv_buf_put(x, c->rbuf);
        free(c);
        return NULL;
    }
    set_state(c, CS_HEAD);
    arm(c, CFG(c)->client_header_timeout); /* a deadline for the whole head */
    atomic_fetch_add_explicit(&x->status->active, 1, memory_order_relaxed);
    track(x, c);
    return c;
}

bool conn_accept(struct srv_ctx *x, int fd)
{
    struct conn *c = conn_new(x, fd);
    if (!c)
        return false;
    COUNT(c, handled, 1);
    /* The request usually arrived right behind the handshake: answer it
     * now, and enter epoll only if the connection has to wait (a one-
     * request connection then costs no epoll_ctl at all). c may be gone
     * after on_readable; the fd table says whether it is. */
    on_readable(c);
    int rc = loop_commit(x->loop, fd);
    if (rc < 0 && rc != -ENOENT && (size_t)fd < x->conns_cap && x->conns[fd])
        conn_close(x->conns[fd], CAUSE_ERROR);
    return true;
}

/* Whether closing for this cause sends a RST (SO_LINGER {1,0}) instead of
 * a FIN. */
static bool closes_with_rst(const struct conn *c, enum close_cause cause)
{
    return CFG(c)->linger_zero || (cause == CAUSE_TIMEOUT && CFG(c)->reset_timedout_connection);
}

static void drop_output(struct conn *c)
{
    if (c->file_fd >= 0)
        close(c->file_fd);
    c->file_fd = -1;
    c->file_left = 0;
    if (c->body_owned)
        free((void *)c->body);
    c->body = NULL;
    c->body_owned = false;
    c->blen = c->boff = c->hlen = c->hoff = 0;
}

void conn_close(struct conn *c, enum close_cause cause)
{
    struct srv_ctx *x = c->x;
    COUNT(c, closed[cause], 1);
    loop_timer_cancel(x->loop, &c->timer);
    loop_forget(x->loop, c->fd); /* close() below leaves epoll */
    if (closes_with_rst(c, cause)) {
        /* SO_LINGER {1,0}: close() sends RST, no FIN, no TIME_WAIT. */
        struct linger lz = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lz, sizeof lz);
    }
    close(c->fd);
    drop_output(c);
    set_state(c, CS_LEAKED);
    atomic_fetch_sub_explicit(&x->status->active, 1, memory_order_relaxed);
    srv_buf_put(x, c->rbuf);
    srv_buf_put(x, c->obuf);
    untrack(x, c);
    free(c);
    trim_after_burst(x);
    srv_accept_resume(x);
    if (x->conn_gone)
        x->conn_gone(x);
}

/* The fault "no-close": EOF was read, and the code "forgets" to close. The
 * fd stays registered in epoll, silenced so it does not spin. */
static void leak(struct conn *c)
{
    log_warn("fault no-close: fd %d read EOF and is NOT closed (CLOSE_WAIT on purpose)", c->fd);
    loop_timer_cancel(c->x->loop, &c->timer);
    loop_mod(c->x->loop, c->fd, 0);
    set_state(c, CS_LEAKED);
}

/* The client's FIN (n == 0) or an error ends the connection at once: a
 * half-closed client sends nothing more, so a partial request is never
 * completed (nginx closes too; waiting would spin on the readable EOF). */
static void peer_gone(struct conn *c, ssize_t n)
{
    if (n == 0 && CFG(c)->fault == FAULT_NO_CLOSE) {
        leak(c);
        return;
    }
    conn_close(c, n == 0 ? CAUSE_CLIENT_CLOSED : CAUSE_RESET);
}

/* ---- closing on the server's decision ---- */

/* Whether input may still arrive after the last response: unread bytes
 * already here, or a client that took the connection for persistent (the
 * server ends it on its own: request cap, keepalive_time, stop, error,
 * keep-alive off) and may have pipelined requests still on the wire. A
 * plain close would answer those with a RST, which can destroy the last
 * response in the client's buffers and fails its in-flight requests
 * instead of letting it retry them. */
static bool may_send_more(const struct conn *c, enum close_cause cause)
{
    if (c->rlen > 0 || c->body_left > 0 || c->chunked_body)
        return true;
    switch (cause) {
    case CAUSE_REQUEST_CAP:
    case CAUSE_KEEPALIVE_TIME:
    case CAUSE_SHUTDOWN:
    case CAUSE_ERROR:
    case CAUSE_KEEPALIVE_OFF: return true;
    default: return false;
    }
}

/* The server decided this is the last response (cause says why). */
static void finish(struct conn *c, enum close_cause cause)
{
    const struct srv_config *cfg = CFG(c);
    c->cause = (uint8_t)cause;
    if (cfg->linger_zero || c->eof) { /* a half-closed client sends nothing to drain */
        conn_close(c, cause);
        return;
    }
    uint64_t now = loop_now_ms(c->x->loop);
    if (cfg->close_policy == CLOSE_POLICY_CLIENT) {
        /* Connection: close was announced; let the client send the first
         * FIN so TIME_WAIT lands on the client. */
        set_state(c, CS_WAIT_FIN);
        c->linger_deadline_ms = now + cfg->lingering_time;
        arm(c, cfg->lingering_time);
        loop_mod(c->x->loop, c->fd, LOOP_READ);
        return;
    }
    if (cfg->lingering_close == LINGER_ALWAYS ||
        (cfg->lingering_close == LINGER_ON && may_send_more(c, cause))) {
        /* RFC 9112 9.6: close the write side, drain, then close, so unread
         * input cannot turn the close into a RST that destroys the
         * response in the client's buffers. */
        shutdown(c->fd, SHUT_WR);
        set_state(c, CS_LINGER);
        c->rlen = 0;
        c->linger_deadline_ms = now + cfg->lingering_time;
        arm(c, cfg->lingering_timeout < cfg->lingering_time ? cfg->lingering_timeout
                                                             : cfg->lingering_time);
        loop_mod(c->x->loop, c->fd, LOOP_READ);
        return;
    }
    conn_close(c, cause);
}

static void drain(struct conn *c)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        /* EOF (or an error): the client closed; our close is second. */
        conn_close(c, c->cause);
        return;
    }
    uint64_t now = loop_now_ms(c->x->loop);
    if (now >= c->linger_deadline_ms) {
        conn_close(c, c->cause);
        return;
    }
    uint64_t left = c->linger_deadline_ms - now;
    uint64_t per = c->state == CS_LINGER ? CFG(c)->lingering_timeout : left;
    arm(c, per < left ? per : left);
}

/* ---- output ---- */

/* The last response of a connection the server closes at once with a FIN:
 * MSG_MORE keeps its tail segment queued, and the close (or the lingering
 * close's shutdown) then sends data and FIN in one segment. Never before a
 * RST close (unsent data would be discarded) or a wait for the client's FIN
 * (the response must not sit corked). */
static bool holds_for_fin(const struct conn *c)
{
    return !c->keepalive && !c->file_left && CFG(c)->close_policy == CLOSE_POLICY_SERVER &&
           !closes_with_rst(c, c->cause);
}

/* Returns 1 done, 0 would block, -1 error. */
static int flush_out(struct conn *c)
{
    while (c->hoff < c->hlen || c->boff < c->blen) {
        struct iovec iov[2];
        int n = 0;
        if (c->hoff < c->hlen)
            iov[n++] = (struct iovec){c->obuf + c->hoff, c->hlen - c->hoff};
        if (c->boff < c->blen)
            iov[n++] = (struct iovec){(void *)(c->body + c->boff), c->blen - c->boff};
        int flags = MSG_NOSIGNAL | (holds_for_fin(c) ? MSG_MORE : 0);
        ssize_t w;
        if (n == 1) { /* send(): no iovec to import, the common small answer */
            w = send(c->fd, iov[0].iov_base, iov[0].iov_len, flags);
        } else {
            struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
            w = sendmsg(c->fd, &m, flags);
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EAGAIN ? 0 : -1;
        size_t left = (size_t)w, h = c->hlen - c->hoff;
        if (left >= h) {
            c->hoff = c->hlen;
            c->boff += left - h;
        } else {
            c->hoff += (uint32_t)left;
        }
        arm(c, CFG(c)->send_timeout);
    }
    while (c->file_left) {
        ssize_t w = sendfile(c->fd, c->file_fd, &c->file_off,
                             c->file_left > (1 << 20) ? (1 << 20) : c->file_left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EAGAIN ? 0 : -1;
        if (w == 0)
            return -1; /* the file shrank */
        c->file_left -= (uint64_t)w;
        arm(c, CFG(c)->send_timeout);
    }
    return 1;
}

/* Builds the head (and joins a small body to it) from a handler's reply. */
static void respond(struct conn *c, struct srv_reply *rep, int minor, bool head_only)
{
    if (!rep->keep_open) {
        c->keepalive = false;
        c->cause = CAUSE_ERROR;
    }
    struct resp_head h = {.status = rep->status, .minor = minor,
                          .content_type = rep->content_type, .extra = rep->extra_header,
                          .content_length = rep->file_fd >= 0 ? rep->file_size : rep->blen,
                          .keepalive = c->keepalive, .last_modified = rep->last_modified};
    if (c->keepalive && minor == 0)
        h.keepalive_timeout_s = CFG(c)->keepalive_timeout / 1000;
    c->hlen = (uint32_t)resp_write_head(c->obuf, HEAD_ROOM, &h);
    c->hoff = 0;
    c->boff = 0;
    c->blen = head_only || rep->file_fd >= 0 ? 0 : rep->blen;
    if (c->blen && c->blen <= SRV_BUF - c->hlen) { /* a small body joins the head: one send() */
        memmove(c->obuf + c->hlen, rep->body, c->blen);
        c->hlen += (uint32_t)c->blen;
        c->blen = 0;
    }
    if (c->blen) {
        c->body = rep->body;
        c->body_owned = rep->body_owned;
    } else if (rep->body_owned) {
        free((void *)rep->body);
    }
    if (rep->file_fd >= 0 && !head_only) {
        c->file_fd = rep->file_fd;
        c->file_off = 0;
        c->file_left = rep->file_size;
    } else if (rep->file_fd >= 0) {
        close(rep->file_fd);
    }
}

static struct srv_reply new_reply(struct conn *c)
{
    return (struct srv_reply){.file_fd = -1, .keep_open = true, .scratch = c->obuf + HEAD_ROOM,
                              .scratch_cap = SRV_BUF - HEAD_ROOM};
}

/* An error the engine answers itself; it ends the connection. The text is
 * written into this connection's own buffer (never a shared static). */
static void respond_error(struct conn *c, int status, int minor)
{
    drop_output(c);
    struct srv_reply rep = new_reply(c);
    rep.status = status;
    rep.content_type = "text/plain";
    rep.keep_open = false;
    rep.body = rep.scratch;
    rep.blen = (size_t)snprintf(rep.scratch, rep.scratch_cap, "%d %s\n", status, resp_reason(status));
    respond(c, &rep, minor, false);
    c->body_left = 0; /* an unread body is drained by the lingering close */
    c->chunked_body = false;
    set_state(c, CS_WRITE);
}

static bool take_obuf(struct conn *c)
{
    if (!c->obuf)
        c->obuf = srv_buf_get(c->x);
    return c->obuf != NULL;
}

/* ---- requests ---- */

static enum close_cause why_not_keepalive(struct conn *c, const struct http_request *r, bool *ka)
{
    const struct srv_config *cfg = CFG(c);
    uint64_t now = loop_now_ms(c->x->loop);
    *ka = false;
    if (r->connection & CONN_HDR_CLOSE)
        return CAUSE_CLIENT_ASKED;
    if (!http_client_wants_keepalive(r))
        return CAUSE_HTTP10;
    if (!cfg->keepalive || cfg->keepalive_timeout == 0)
        return CAUSE_KEEPALIVE_OFF;
    if (c->x->stopping)
        return CAUSE_SHUTDOWN;
    if (c->requests >= cfg->keepalive_requests)
        return CAUSE_REQUEST_CAP;
    if (now - c->started_ms >= cfg->keepalive_time)
        return CAUSE_KEEPALIVE_TIME;
    *ka = true;
    return CAUSE_CLIENT_CLOSED;
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->rbuf, c->rbuf + n, c->rlen - n);
    c->rlen -= (uint32_t)n;
}

/* Waiting for more input: a client that half-closed sends none. */
static enum step wait_input(struct conn *c, uint64_t timeout)
{
    if (c->eof) {
        peer_gone(c, 0);
        return STOP;
    }
    if (timeout)
        arm(c, timeout);
    loop_mod(c->x->loop, c->fd, LOOP_READ);
    return STOP;
}

/* A complete head: decide persistence, ask the handler, then read the body
 * (if any) before the answer is written. */
static void on_head(struct conn *c, const struct http_request *r)
{
    c->requests++;
    enum close_cause cause = why_not_keepalive(c, r, &c->keepalive);
    c->cause = (uint8_t)cause;
    c->chunked_body = r->body == BODY_CHUNKED;
    c->body_left = r->body == BODY_LENGTH ? r->content_length : 0;
    memset(&c->chunk, 0, sizeof c->chunk);
    set_state(c, CS_WRITE); /* as nginx counts it: this request is "writing" */
    if (r->body == BODY_LENGTH && r->content_length > CFG(c)->max_body) {
        /* At once, before any body byte (and never 100 Continue). */
        respond_error(c, 413, r->minor);
        return;
    }
    struct srv_reply rep = new_reply(c);
    c->x->handle(c->x->handler_data, r, &rep);
    respond(c, &rep, r->minor, r->method.len == 4 && !memcmp(r->method.ptr, "HEAD", 4));
}

static enum step step_head(struct conn *c)
{
    const struct srv_config *cfg = CFG(c);
    if (!c->rlen)
        return wait_input(c, 0);
    struct http_limits lim = {.max_head = cfg->max_header, .max_uri = cfg->max_uri};
    struct http_request r;
    int n = http_parse_request(c->rbuf, c->rlen, &r, &lim);
    if (n == -2 && c->rlen < SRV_BUF)
        return wait_input(c, 0); /* the header deadline stays as armed */
    if (!take_obuf(c)) {
        conn_close(c, CAUSE_ERROR);
        return STOP;
    }
    if (n < 0) {
        /* What follows a bad head is unread input: the lingering close
         * drains it so the error response survives. */
        c->requests++;
        respond_error(c, n == -2 ? 431 : r.status, n == -2 || !r.minor ? 1 : r.minor);
        return NEXT;
    }
    bool expect = r.expect_continue;
    on_head(c, &r); /* the slices into rbuf are dead after this */
    consume(c, (size_t)n);
    if (!c->body_left && !c->chunked_body)
        return NEXT;
    if (expect && c->rlen == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
            conn_close(c, CAUSE_RESET);
            return STOP;
        }
    }
    set_state(c, CS_BODY);
    arm(c, cfg->client_body_timeout);
    return NEXT;
}

/* Consumes body bytes from the buffer. Returns 1 done, 0 need more, -1
 * malformed, -2 over the body limit. */
static int eat_body(struct conn *c)
{
    size_t used = c->rlen;
    int rc = 1;
    if (c->chunked_body) {
        rc = http_chunked_consume(&c->chunk, c->rbuf, c->rlen, &used);
        if (c->chunk.total > CFG(c)->max_body)
            return -2;
        if (rc < 0)
            return -1;
        if (rc == 1)
            c->chunked_body = false;
    } else {
        used = c->rlen < c->body_left ? c->rlen : (size_t)c->body_left;
        c->body_left -= used;
        rc = c->body_left == 0;
    }
    consume(c, used);
    return rc;
}

static enum step step_body(struct conn *c)
{
    int rc = eat_body(c);
    if (rc == 0)
        return wait_input(c, CFG(c)->client_body_timeout);
    if (rc < 0)
        respond_error(c, rc == -2 ? 413 : 400, 1);
    set_state(c, CS_WRITE);
    return NEXT;
}

static enum step step_write(struct conn *c)
{
    /* Like nginx's tcp_nodelay: only once a second write could wait on
     * Nagle (a keep-alive connection's next response, a head + file). */
    if (!c->nodelay && (c->requests > 1 || c->file_left)) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->nodelay = true;
    }
    int rc = flush_out(c);
    if (rc < 0) {
        conn_close(c, CAUSE_RESET);
        return STOP;
    }
    if (rc == 0) {
        if (!timer_armed(&c->timer) || c->hoff == 0)
            arm(c, CFG(c)->send_timeout);
        loop_mod(c->x->loop, c->fd, LOOP_WRITE);
        return STOP;
    }
    COUNT(c, requests, 1);
    drop_output(c);
    srv_buf_put(c->x, c->obuf);
    c->obuf = NULL;
    if (!c->keepalive) {
        finish(c, c->cause);
        return STOP;
    }
    if (c->rlen || c->eof) { /* pipelined requests are answered at once, in order */
        set_state(c, CS_HEAD);
        arm(c, CFG(c)->client_header_timeout);
        return NEXT;
    }
    /* Idle keep-alive: give the buffer back, one timer, wait. */
    srv_buf_put(c->x, c->rbuf);
    c->rbuf = NULL;
    set_state(c, CS_IDLE);
    arm(c, CFG(c)->keepalive_timeout);
    loop_mod(c->x->loop, c->fd, LOOP_READ);
    return STOP;
}

static void run(struct conn *c)
{
    for (;;) {
        enum step s;
        switch (c->state) {
        case CS_HEAD: s = step_head(c); break;
        case CS_BODY: s = step_body(c); break;
        case CS_WRITE: s = step_write(c); break;
        default: return;
        }
        if (s == STOP)
            return;
    }
}

/* ---- events ---- */

static void on_readable(struct conn *c)
{
    if (c->state == CS_LINGER || c->state == CS_WAIT_FIN) {
        drain(c);
        return;
    }
    if (c->state == CS_IDLE) {
        if (!(c->rbuf = srv_buf_get(c->x))) {
            conn_close(c, CAUSE_ERROR);
            return;
        }
        set_state(c, CS_HEAD);
        arm(c, CFG(c)->client_header_timeout);
    }
    if (c->state != CS_HEAD && c->state != CS_BODY)
        return;
    /* Bounded reads per wake-up so one connection cannot starve others. */
    for (int i = 0; i < 4 && c->rlen < SRV_BUF && !c->eof; i++) {
        size_t room = SRV_BUF - c->rlen;
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, room, 0);
        if (n > 0) {
            c->rlen += (uint32_t)n;
            /* A short read drained the socket: skip the read that would
             * only say EAGAIN (level-triggered, so more data wakes us). */
            if ((size_t)n < room)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0 || (c->rlen == 0 && c->state == CS_HEAD)) {
            peer_gone(c, n);
            return;
        }
        /* FIN after a request (or part of one): answer what is complete,
         * then close; stop reading (the EOF stays readable). */
        c->eof = true;
        loop_mod(c->x->loop, c->fd, 0);
    }
    run(c);
}

static void on_io(struct loop *l, int fd, void *data, unsigned events)
{
    (void)l, (void)fd;
    struct conn *c = data;
    if (c->state == CS_WRITE) {
        if (events & (LOOP_WRITE | LOOP_ERROR | LOOP_HUP))
            run(c);
        return;
    }
    if (events & (LOOP_READ | LOOP_HUP | LOOP_ERROR))
        on_readable(c);
}

static void on_timer(struct loop *l, struct timer *t)
{
    (void)l;
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    switch (c->state) {
    case CS_IDLE: conn_close(c, CAUSE_IDLE_TIMEOUT); break;
    case CS_LINGER:
    case CS_WAIT_FIN: drain(c); break;
    case CS_LEAKED: break;
    default: conn_close(c, CAUSE_TIMEOUT); break;
    }
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

void srv_begin_stop(struct srv_ctx *x)
{
    x->stopping = true;
    for (size_t fd = 0; fd < x->conns_cap; fd++)
        if (x->conns[fd] && conn_is_idle(x->conns[fd]))
            conn_close(x->conns[fd], CAUSE_SHUTDOWN);
}

void srv_ctx_free(struct srv_ctx *x)
{
    if (!x->loop)
        return;
    x->conn_gone = NULL;
    x->stopping = true;
    for (size_t fd = 0; fd < x->conns_cap; fd++)
        if (x->conns[fd])
            conn_close(x->conns[fd], CAUSE_SHUTDOWN);
    while (x->nspare)
        free(x->spare[--x->nspare]);
    srv_unlisten(x);
    free(x->conns);
    x->conns = NULL;
    x->conns_cap = 0;
}
