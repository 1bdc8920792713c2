/* SPDX-License-Identifier: MIT */
/* The engine's connection state machine. One driver, run(), moves a
 * connection through head -> body -> write and back for pipelined
 * requests in a loop (no recursion), until it must wait for the socket or
 * is gone. */
#include "server/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/persist.h"
#include "util/log.h"

static void on_io(struct loop *l, int fd, void *data, unsigned events);
static void on_timer(struct loop *l, struct timer *t);
static void run(struct conn *c);

#define CFG(c) ((c)->x->cfg)
#define COUNT(c, field, d) srv_add(&(c)->x->status->field, d)

enum step { NEXT, STOP }; /* STOP: wait for the socket, or c is gone */

static void arm(struct conn *c, uint64_t ms) { loop_timer_arm(c->x->loop, &c->timer, ms); }

/* How far an armed timer may be from a new idle deadline and stay as it
 * is (nginx's NGX_TIMER_LAZY_DELAY). */
#define IDLE_LAZY_MS 300

/* The keep-alive deadline moves on with every response; moving the timer
 * in the wheel each time was the busiest timer work of a keep-alive
 * connection. A timer already due up to IDLE_LAZY_MS before the deadline
 * (the last response's idle timer, when the next request arrived whole)
 * stays; when it fires before the deadline, on_timer arms it for the
 * rest. One due after the deadline (another timeout's) is moved: the
 * idle timeout is never cut short nor drawn out. */
static void arm_idle(struct conn *c)
{
    uint64_t timeout = CFG(c)->keepalive_timeout, now = loop_now_ms(c->x->loop);
    c->deadline_ms = timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout;
    if (timer_armed(&c->timer) && c->timer.expires_ms > c->deadline_ms)
        arm(c, timeout);
    else
        loop_timer_arm_lazy(c->x->loop, &c->timer, timeout, IDLE_LAZY_MS);
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
    /* No read buffer yet: it is taken at the first byte (first_read). */
    if (loop_add_deferred(x->loop, fd, LOOP_READ, on_io, c) < 0) {
        free(c);
        return NULL;
    }
    conn_set_state(c, CS_HEAD); /* the head's deadline is armed if it has to wait */
    srv_gauge(&x->status->active, 1);
    conn_track(x, c);
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

/* Every close of the engine: timer, registration, RST when asked, fd,
 * output, state and gauges, buffers back to the pool, then the context's
 * bookkeeping (trim after a burst, accept again, the owner's hook). */
void conn_close(struct conn *c, enum close_cause cause)
{
    struct srv_ctx *x = c->x;
    COUNT(c, closed[cause], 1);
    loop_timer_cancel(x->loop, &c->timer);
    loop_forget(x->loop, c->fd); /* close() below leaves epoll */
    if (conn_closes_with_rst(c, cause)) {
        /* SO_LINGER {1,0}: close() sends RST, no FIN, no TIME_WAIT. */
        struct linger lz = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lz, sizeof lz);
    }
    close(c->fd);
    conn_drop_output(c);
    conn_set_state(c, CS_LEAKED);
    srv_gauge(&x->status->active, -1);
    srv_buf_put(x, c->rbuf);
    srv_buf_put(x, c->obuf);
    conn_untrack(x, c);
    free(c);
    srv_trim_after_burst(x);
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
    conn_set_state(c, CS_LEAKED);
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
        conn_set_state(c, CS_WAIT_FIN);
        c->deadline_ms = now + cfg->lingering_time;
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
        conn_set_state(c, CS_LINGER);
        c->rlen = 0;
        c->deadline_ms = now + cfg->lingering_time;
        arm(c, cfg->lingering_timeout < cfg->lingering_time ? cfg->lingering_timeout
                                                             : cfg->lingering_time);
        loop_mod(c->x->loop, c->fd, LOOP_READ);
        return;
    }
    conn_close(c, cause);
}

/* Reads and discards what the client still sends. Bounded per wake-up
 * (level-triggered epoll calls again): a client that never stops sending
 * would otherwise hold the worker here, past lingering_time. */
static void drain(struct conn *c)
{
    char buf[4096];
    for (int i = 0; i < 32; i++) {
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
    if (now >= c->deadline_ms) {
        conn_close(c, c->cause);
        return;
    }
    uint64_t left = c->deadline_ms - now;
    uint64_t per = c->state == CS_LINGER ? CFG(c)->lingering_timeout : left;
    arm(c, per < left ? per : left);
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
    if (n < c->rlen) /* pipelined bytes follow */
        memmove(c->rbuf, c->rbuf + n, c->rlen - n);
    c->rlen -= (uint32_t)n;
}

/* Waiting for more input: a client that half-closed sends none. A head
 * gets one deadline, armed when it first has to wait (a request that
 * arrives whole costs no timer work); a body read gets its timeout each
 * time (nginx's client_body_timeout is between two reads). */
static enum step wait_input(struct conn *c, uint64_t timeout)
{
    if (c->eof) {
        peer_gone(c, 0);
        return STOP;
    }
    if (timeout) {
        arm(c, timeout);
    } else if (!c->head_timer) {
        arm(c, CFG(c)->client_header_timeout);
        c->head_timer = true;
    }
    loop_mod(c->x->loop, c->fd, LOOP_READ);
    return STOP;
}

/* A complete head: decide persistence, ask the handler, then read the body
 * (if any) before the answer is written. */
static void on_head(struct conn *c, const struct http_request *r)
{
    c->requests++;
    c->head_timer = false;
    enum close_cause cause = why_not_keepalive(c, r, &c->keepalive);
    c->cause = (uint8_t)cause;
    c->chunked_body = r->body == BODY_CHUNKED;
    c->body_left = r->body == BODY_LENGTH ? r->content_length : 0;
    memset(&c->chunk, 0, sizeof c->chunk);
    conn_set_state(c, CS_WRITE); /* as nginx counts it: this request is "writing" */
    if (r->body == BODY_LENGTH && r->content_length > CFG(c)->max_body) {
        /* At once, before any body byte (and never 100 Continue). */
        conn_respond_error(c, 413, r->minor);
        return;
    }
    struct srv_reply rep = conn_new_reply(c);
    c->x->handle(c->x->handler_data, r, &rep);
    conn_respond(c, &rep, r->minor, r->method.len == 4 && !memcmp(r->method.ptr, "HEAD", 4));
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
    if (!conn_take_obuf(c)) {
        conn_close(c, CAUSE_ERROR);
        return STOP;
    }
    if (n < 0) {
        /* What follows a bad head is unread input: the lingering close
         * drains it so the error response survives. */
        c->requests++;
        conn_respond_error(c, n == -2 ? 431 : r.status, n == -2 || !r.minor ? 1 : r.minor);
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
    conn_set_state(c, CS_BODY);
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
        if (c->chunk.total + c->chunk.trailer_bytes > CFG(c)->max_body) /* endless trailers too */
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
        conn_respond_error(c, rc == -2 ? 413 : 400, 1);
    conn_set_state(c, CS_WRITE);
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
    int rc = conn_flush(c);
    if (rc < 0) {
        conn_close(c, CAUSE_RESET);
        return STOP;
    }
    if (rc == 0) { /* send_timeout: between two writes that made progress */
        arm(c, CFG(c)->send_timeout);
        loop_mod(c->x->loop, c->fd, LOOP_WRITE);
        return STOP;
    }
    COUNT(c, requests, 1);
    conn_drop_output(c);
    srv_buf_put(c->x, c->obuf);
    c->obuf = NULL;
    if (!c->keepalive) {
        finish(c, c->cause);
        return STOP;
    }
    if (c->rlen || c->eof) { /* pipelined requests are answered at once, in order */
        conn_set_state(c, CS_HEAD);
        return NEXT;
    }
    /* Idle keep-alive: give the buffer back, one timer, wait. */
    srv_buf_put(c->x, c->rbuf);
    c->rbuf = NULL;
    conn_set_state(c, CS_IDLE);
    arm_idle(c);
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

/* A connection that has sent nothing holds no read buffer (a slowloris
 * crowd costs its connections, not 8 KB each; nginx takes its buffer at
 * the first byte too): the first read lands on the stack and the pool's
 * buffer is taken only when bytes came. Returns false when c is gone. */
static bool first_read(struct conn *c)
{
    char tmp[SRV_BUF];
    ssize_t n;
    do
        n = recv(c->fd, tmp, sizeof tmp, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return true; /* nothing yet: still no buffer */
    if (n <= 0) {
        peer_gone(c, n);
        return false;
    }
    if (!(c->rbuf = srv_buf_get(c->x))) {
        conn_close(c, CAUSE_ERROR);
        return false;
    }
    memcpy(c->rbuf, tmp, (size_t)n);
    c->rlen = (uint32_t)n;
    return true;
}

static void on_readable(struct conn *c)
{
    if (c->state == CS_LINGER || c->state == CS_WAIT_FIN) {
        drain(c);
        return;
    }
    if (c->state == CS_IDLE)
        conn_set_state(c, CS_HEAD); /* its buffer comes with its first byte */
    if (c->state != CS_HEAD && c->state != CS_BODY)
        return;
    if (!c->rbuf) {
        if (!first_read(c))
            return;
        if (!c->rbuf || c->rlen < SRV_BUF) { /* nothing (the head's deadline is armed), or drained */
            run(c);
            return;
        }
    }
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
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    uint64_t now = loop_now_ms(l);
    switch (c->state) {
    case CS_IDLE:
        if (now < c->deadline_ms) /* a lazy timer fired early: the rest */
            arm(c, c->deadline_ms - now);
        else
            conn_close(c, CAUSE_IDLE_TIMEOUT);
        break;
    case CS_LINGER:
    case CS_WAIT_FIN: drain(c); break;
    case CS_LEAKED: break;
    default: conn_close(c, CAUSE_TIMEOUT); break;
    }
}

