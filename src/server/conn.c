#include "server/conn.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http/persist.h"
#include "server/files.h"
#include "server/response.h"
#include "server/worker.h"
#include "util/log.h"

static void on_io(struct loop *l, int fd, void *data, unsigned events);
static void on_timer(struct loop *l, struct timer *t);
static void process(struct conn *c);
static void finish(struct conn *c, enum close_cause cause);

#define C_CFG(c) ((c)->w->cfg)
#define GAUGE(name, d) atomic_fetch_add_explicit(&srv_status.name, d, memory_order_relaxed)

/* The status gauges follow the state: reading (head/body), writing,
 * waiting (idle, lingering, waiting for the client's FIN). */
static atomic_llong *gauge_of(enum conn_state s)
{
    switch (s) {
    case CS_HEAD:
    case CS_BODY: return &srv_status.reading;
    case CS_WRITE: return &srv_status.writing;
    case CS_LEAKED: return NULL;
    default: return &srv_status.waiting;
    }
}

static void set_state(struct conn *c, enum conn_state s)
{
    atomic_llong *from = gauge_of(c->state), *to = gauge_of(s);
    if (from != to) {
        if (from)
            atomic_fetch_sub_explicit(from, 1, memory_order_relaxed);
        if (to)
            atomic_fetch_add_explicit(to, 1, memory_order_relaxed);
    }
    c->state = s;
}

static void arm(struct conn *c, uint64_t ms)
{
    loop_timer_arm(c->w->loop, &c->timer, ms);
}

static bool ensure_rbuf(struct conn *c)
{
    struct worker *w = c->w;
    if (!c->rbuf)
        c->rbuf = w->nspare ? w->spare_rbufs[--w->nspare] : malloc(CONN_RBUF);
    return c->rbuf != NULL;
}

static void release_rbuf(struct conn *c)
{
    struct worker *w = c->w;
    if (!c->rbuf)
        return;
    if (w->nspare < sizeof w->spare_rbufs / sizeof w->spare_rbufs[0])
        w->spare_rbufs[w->nspare++] = c->rbuf;
    else
        free(c->rbuf);
    c->rbuf = NULL;
}

static void on_readable(struct conn *c);

static struct conn *conn_new(struct worker *w, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->w = w;
    c->fd = fd;
    c->file_fd = -1;
    c->state = CS_LEAKED; /* no gauge until set_state */
    c->started_ms = loop_now_ms(w->loop);
    timer_init(&c->timer, on_timer);
    if (!ensure_rbuf(c) || loop_add_deferred(w->loop, fd, LOOP_READ, on_io, c) < 0) {
        release_rbuf(c);
        free(c);
        return NULL;
    }
    set_state(c, CS_HEAD);
    arm(c, C_CFG(c)->client_header_timeout);
    atomic_fetch_add_explicit(&srv_status.active, 1, memory_order_relaxed);
    worker_conn_track(w, c);
    return c;
}

bool conn_accept(struct worker *w, int fd)
{
    struct conn *c = conn_new(w, fd);
    if (!c)
        return false;
    atomic_fetch_add_explicit(&srv_status.handled, 1, memory_order_relaxed);
    /* The request usually arrived right behind the handshake: answer it
     * now, and enter epoll only if the connection has to wait (a one-
     * request connection then costs no epoll_ctl at all). c may be gone
     * after on_readable; the worker's table says whether it is. */
    on_readable(c);
    int rc = loop_commit(w->loop, fd);
    if (rc < 0 && rc != -ENOENT && (size_t)fd < w->conns_cap && w->conns[fd])
        conn_close(w->conns[fd], CAUSE_ERROR);
    return true;
}

bool conn_is_idle(const struct conn *c) { return c->state == CS_IDLE; }

/* Whether closing for this cause sends a RST (SO_LINGER {1,0}) instead of
 * a FIN. */
static bool closes_with_rst(const struct conn *c, enum close_cause cause)
{
    return C_CFG(c)->linger_zero ||
           (cause == CAUSE_TIMEOUT && C_CFG(c)->reset_timedout_connection);
}

void conn_close(struct conn *c, enum close_cause cause)
{
    atomic_fetch_add_explicit(&srv_status.closed[cause], 1, memory_order_relaxed);
    loop_timer_cancel(c->w->loop, &c->timer);
    loop_forget(c->w->loop, c->fd); /* close() below leaves epoll */
    if (closes_with_rst(c, cause)) {
        /* SO_LINGER {1,0}: close() sends RST, no FIN, no TIME_WAIT. */
        struct linger lz = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lz, sizeof lz);
    }
    close(c->fd);
    if (c->file_fd >= 0)
        close(c->file_fd);
    set_state(c, CS_LEAKED);
    atomic_fetch_sub_explicit(&srv_status.active, 1, memory_order_relaxed);
    release_rbuf(c);
    worker_conn_gone(c->w, c);
    free(c);
}

void conn_shutdown_idle(struct conn *c)
{
    if (c->state == CS_IDLE)
        conn_close(c, CAUSE_SHUTDOWN);
}

/* The fault "no-close": EOF was read, and the code "forgets" to close. The
 * fd stays registered in epoll, silenced so it does not spin. */
static void leak(struct conn *c)
{
    log_warn("fault no-close: fd %d read EOF and is NOT closed (CLOSE_WAIT on purpose)", c->fd);
    loop_timer_cancel(c->w->loop, &c->timer);
    loop_mod(c->w->loop, c->fd, 0);
    set_state(c, CS_LEAKED);
}

static void peer_gone(struct conn *c, ssize_t n)
{
    if (n == 0 && C_CFG(c)->fault == FAULT_NO_CLOSE) {
        leak(c);
        return;
    }
    conn_close(c, n == 0 ? CAUSE_CLIENT_CLOSED : CAUSE_RESET);
}

/* ---- output ---- */

static void start_write(struct conn *c)
{
    /* Like nginx's tcp_nodelay: only once a second write could wait on
     * Nagle (a keep-alive connection's next response, a head + file). A
     * one-request connection's single writev never does: no setsockopt. */
    if (!c->nodelay && (c->requests > 1 || c->file_left)) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->nodelay = true;
    }
    set_state(c, CS_WRITE);
    arm(c, C_CFG(c)->send_timeout);
}

/* The last response of a connection the server closes at once with a FIN:
 * MSG_MORE keeps its tail segment queued, and the close (or the lingering
 * close's shutdown) then sends data and FIN in one segment - one packet,
 * and one receive pass at the client, less per connection. Never before a
 * RST close (unsent data would be discarded) or a wait for the client's FIN
 * (the response must not sit corked). */
static bool holds_for_fin(const struct conn *c)
{
    return !c->keepalive && !c->file_left && C_CFG(c)->close_policy == CLOSE_POLICY_SERVER &&
           !closes_with_rst(c, c->cause);
}

/* Returns 1 done, 0 would block, -1 error. */
static int flush_out(struct conn *c)
{
    while (c->hoff < c->hlen || c->boff < c->blen) {
        struct iovec iov[2];
        int n = 0;
        if (c->hoff < c->hlen)
            iov[n++] = (struct iovec){c->hbuf + c->hoff, c->hlen - c->hoff};
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
        if (w < 0)
            return errno == EAGAIN ? 0 : errno == EINTR ? flush_out(c) : -1;
        size_t left = (size_t)w, h = c->hlen - c->hoff;
        if (left >= h) {
            c->hoff = c->hlen;
            c->boff += left - h;
        } else {
            c->hoff += left;
        }
        arm(c, C_CFG(c)->send_timeout);
    }
    while (c->file_left) {
        ssize_t w = sendfile(c->fd, c->file_fd, &c->file_off,
                             c->file_left > (1 << 20) ? (1 << 20) : c->file_left);
        if (w < 0)
            return errno == EAGAIN ? 0 : -1;
        if (w == 0)
            return -1; /* the file shrank */
        c->file_left -= (uint64_t)w;
        arm(c, C_CFG(c)->send_timeout);
    }
    if (c->file_fd >= 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    return 1;
}

static void after_response(struct conn *c)
{
    atomic_fetch_add_explicit(&srv_status.requests, 1, memory_order_relaxed);
    if (!c->keepalive) {
        finish(c, c->cause);
        return;
    }
    if (c->rlen) { /* pipelined requests are answered at once, in order */
        set_state(c, CS_HEAD);
        arm(c, C_CFG(c)->client_header_timeout);
        loop_mod(c->w->loop, c->fd, LOOP_READ);
        process(c);
        return;
    }
    /* Idle keep-alive: give the buffer back, one timer, wait. */
    release_rbuf(c);
    set_state(c, CS_IDLE);
    arm(c, C_CFG(c)->keepalive_timeout);
    loop_mod(c->w->loop, c->fd, LOOP_READ);
}

static void write_some(struct conn *c)
{
    int rc = flush_out(c);
    if (rc < 0) {
        conn_close(c, CAUSE_RESET);
    } else if (rc == 0) {
        loop_mod(c->w->loop, c->fd, LOOP_WRITE);
    } else {
        after_response(c);
    }
}

/* ---- closing ---- */

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
    const struct srv_config *cfg = C_CFG(c);
    c->cause = cause;
    if (cfg->linger_zero) {
        conn_close(c, cause);
        return;
    }
    uint64_t now = loop_now_ms(c->w->loop);
    if (cfg->close_policy == CLOSE_POLICY_CLIENT) {
        /* Connection: close was announced; let the client send the first
         * FIN so TIME_WAIT lands on the client. */
        set_state(c, CS_WAIT_FIN);
        c->linger_deadline_ms = now + cfg->lingering_time;
        arm(c, cfg->lingering_time);
        loop_mod(c->w->loop, c->fd, LOOP_READ);
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
        loop_mod(c->w->loop, c->fd, LOOP_READ);
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
        if (n < 0 && errno == EAGAIN)
            break;
        /* EOF (or an error): the client closed; our close is second. */
        conn_close(c, c->cause);
        return;
    }
    uint64_t now = loop_now_ms(c->w->loop);
    if (now >= c->linger_deadline_ms) {
        conn_close(c, c->cause);
        return;
    }
    uint64_t left = c->linger_deadline_ms - now;
    uint64_t per = c->state == CS_LINGER ? C_CFG(c)->lingering_timeout : left;
    arm(c, per < left ? per : left);
}

/* ---- requests ---- */

static enum close_cause why_not_keepalive(struct conn *c, const struct http_request *r, bool *ka)
{
    const struct srv_config *cfg = C_CFG(c);
    uint64_t now = loop_now_ms(c->w->loop);
    *ka = false;
    if (r->connection & CONN_HDR_CLOSE)
        return CAUSE_CLIENT_ASKED;
    if (!http_client_wants_keepalive(r))
        return CAUSE_HTTP10;
    if (!cfg->keepalive || cfg->keepalive_timeout == 0)
        return CAUSE_KEEPALIVE_OFF;
    if (c->w->stopping)
        return CAUSE_SHUTDOWN;
    if (c->requests >= cfg->keepalive_requests)
        return CAUSE_REQUEST_CAP;
    if (now - c->started_ms >= cfg->keepalive_time)
        return CAUSE_KEEPALIVE_TIME;
    *ka = true;
    return CAUSE_CLIENT_CLOSED;
}

static void respond(struct conn *c, int status, int minor, const char *body, size_t blen,
                    const char *ctype, struct file_hit *file, bool head_only)
{
    struct resp_head h = {.status = status, .minor = minor, .content_type = ctype,
                          .content_length = file ? file->size : blen,
                          .keepalive = c->keepalive};
    if (c->keepalive && minor == 0)
        h.keepalive_timeout_s = C_CFG(c)->keepalive_timeout / 1000;
    if (file)
        h.last_modified = file->mtime;
    c->hlen = resp_write_head(c->hbuf, sizeof c->hbuf, &h);
    c->hoff = 0;
    c->body = head_only ? NULL : body;
    c->blen = head_only || file ? 0 : blen;
    c->boff = 0;
    if (c->blen && c->hlen && c->blen <= sizeof c->hbuf - c->hlen) {
        /* A small body joins the head: one buffer, one send(). */
        memcpy(c->hbuf + c->hlen, c->body, c->blen);
        c->hlen += c->blen;
        c->blen = 0;
    }
    if (file && !head_only) {
        c->file_fd = file->fd;
        c->file_off = 0;
        c->file_left = file->size;
    } else if (file) {
        close(file->fd);
    }
}

static void respond_error(struct conn *c, int status, int minor)
{
    static char text[64];
    c->keepalive = false;
    c->cause = CAUSE_ERROR;
    int n = snprintf(text, sizeof text, "%d %s\n", status, resp_reason(status));
    respond(c, status, minor, text, (size_t)n, "text/plain", NULL, false);
}

static void serve_request(struct conn *c, const struct http_request *r)
{
    const struct srv_config *cfg = C_CFG(c);
    bool head = slice_eq_ci(r->method, "HEAD");
    if (cfg->access_log)
        printf("%.*s %.*s HTTP/1.%d\n", (int)r->method.len, r->method.ptr, (int)r->target.len,
               r->target.ptr, r->minor);
    if (cfg->status_path && r->target.len == strlen(cfg->status_path) &&
        !memcmp(r->target.ptr, cfg->status_path, r->target.len)) {
        static _Thread_local char text[2048];
        set_state(c, CS_WRITE); /* as nginx counts it: this request is "writing" */
        size_t n = srv_status_render(text, sizeof text, 0);
        respond(c, 200, r->minor, text, n, "text/plain", NULL, head);
        return;
    }
    if (cfg->status_path && r->target.len == strlen(cfg->status_path) + 5 &&
        !memcmp(r->target.ptr, cfg->status_path, strlen(cfg->status_path)) &&
        !memcmp(r->target.ptr + strlen(cfg->status_path), ".json", 5)) {
        static _Thread_local char text[2048];
        set_state(c, CS_WRITE);
        size_t n = srv_status_render(text, sizeof text, 1);
        respond(c, 200, r->minor, text, n, "application/json", NULL, head);
        return;
    }
    if (cfg->return_code) {
        respond(c, cfg->return_code, r->minor, cfg->return_body, strlen(cfg->return_body),
                "text/plain", NULL, head);
        return;
    }
    if (!slice_eq_ci(r->method, "GET") && !head) {
        respond_error(c, 405, r->minor);
        return;
    }
    struct file_hit hit;
    int st = files_open(c->w->root_fd, r->target, &hit);
    if (st) {
        static const char *const msg[] = {"400 Bad Request\n", "403 Forbidden\n", "404 Not Found\n"};
        const char *m = msg[st == 403 ? 1 : st == 404 ? 2 : 0];
        /* A 404/403 keeps the connection, as nginx does. */
        respond(c, st, r->minor, m, strlen(m), "text/plain", NULL, head);
        return;
    }
    if (r->if_modified_since.len) {
        time_t since = resp_parse_http_date(r->if_modified_since.ptr, r->if_modified_since.len);
        if (since >= 0 && hit.mtime <= since) {
            close(hit.fd);
            respond(c, 304, r->minor, "", 0, NULL, NULL, true);
            return;
        }
    }
    respond(c, 200, r->minor, NULL, 0, hit.mime, &hit, head);
}

/* A complete head was parsed: decide persistence and prepare the answer.
 * The body (if any) is read and discarded before the answer is written. */
static void on_head(struct conn *c, struct http_request *r)
{
    c->requests++;
    c->cause = why_not_keepalive(c, r, &c->keepalive);
    c->chunked_body = r->body == BODY_CHUNKED;
    c->body_left = r->body == BODY_LENGTH ? r->content_length : 0;
    memset(&c->chunk, 0, sizeof c->chunk);
    if (r->body == BODY_LENGTH && r->content_length > C_CFG(c)->max_body) {
        respond_error(c, 413, r->minor);
        return;
    }
    serve_request(c, r);
}

/* Consumes body bytes from the buffer. Returns 1 done, 0 need more, -1 bad. */
static int eat_body(struct conn *c)
{
    size_t used = c->rlen;
    int rc = 1;
    if (c->chunked_body) {
        rc = http_chunked_consume(&c->chunk, c->rbuf, c->rlen, &used);
        if (rc < 0)
            return -1;
        if (rc == 1)
            c->chunked_body = false;
        if (c->chunk.total > C_CFG(c)->max_body)
            return -1;
    } else {
        used = c->rlen < c->body_left ? c->rlen : (size_t)c->body_left;
        c->body_left -= used;
        rc = c->body_left == 0;
    }
    memmove(c->rbuf, c->rbuf + used, c->rlen - used);
    c->rlen -= used;
    return rc;
}

static void begin_write(struct conn *c)
{
    start_write(c);
    write_some(c);
}

/* Runs the parser over what is buffered. One request is answered before
 * the next is parsed, so pipelined responses go out in order. */
static void process(struct conn *c)
{
    const struct srv_config *cfg = C_CFG(c);
    if (c->state == CS_BODY) {
        int rc = eat_body(c);
        if (rc < 0) {
            respond_error(c, 400, 1);
            begin_write(c);
        } else if (rc == 0) {
            arm(c, cfg->client_body_timeout);
        } else {
            begin_write(c);
        }
        return;
    }
    if (c->state != CS_HEAD || !c->rlen)
        return;
    struct http_limits lim = {.max_head = cfg->max_header, .max_uri = cfg->max_uri};
    struct http_request r;
    int n = http_parse_request(c->rbuf, c->rlen, &r, &lim);
    if (n == -2) {
        if (c->rlen >= CONN_RBUF) {
            respond_error(c, 431, 1);
            begin_write(c);
        }
        return;
    }
    if (n < 0) {
        /* What follows a bad head is unread input: the lingering close
         * drains it so the error response survives. */
        respond_error(c, r.status, r.minor ? r.minor : 1);
        begin_write(c);
        return;
    }
    bool expect = r.expect_continue;
    on_head(c, &r); /* the slices into rbuf are dead after this */
    memmove(c->rbuf, c->rbuf + n, c->rlen - (size_t)n);
    c->rlen -= (size_t)n;
    if (c->body_left || c->chunked_body) {
        if (expect && c->rlen == 0) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (write(c->fd, cont, sizeof cont - 1) < 0 && errno != EAGAIN) {
                conn_close(c, CAUSE_RESET);
                return;
            }
        }
        set_state(c, CS_BODY);
        arm(c, cfg->client_body_timeout);
        process(c);
        return;
    }
    begin_write(c);
}

/* ---- events ---- */

static void on_readable(struct conn *c)
{
    if (c->state == CS_LINGER || c->state == CS_WAIT_FIN) {
        drain(c);
        return;
    }
    if (c->state == CS_IDLE) {
        if (!ensure_rbuf(c)) {
            conn_close(c, CAUSE_ERROR);
            return;
        }
        set_state(c, CS_HEAD);
        arm(c, C_CFG(c)->client_header_timeout);
    }
    if (c->state != CS_HEAD && c->state != CS_BODY)
        return;
    /* Bounded reads per wake-up so one connection cannot starve others. */
    for (int i = 0; i < 4 && c->rlen < CONN_RBUF; i++) {
        size_t room = CONN_RBUF - c->rlen;
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, room, 0);
        if (n > 0) {
            c->rlen += (size_t)n;
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
        if (c->rlen && n == 0)
            break; /* answer what we have; EOF is seen again next time */
        peer_gone(c, n);
        return;
    }
    process(c);
}

static void on_io(struct loop *l, int fd, void *data, unsigned events)
{
    (void)l, (void)fd;
    struct conn *c = data;
    if (c->state == CS_WRITE) {
        if (events & (LOOP_WRITE | LOOP_ERROR))
            write_some(c);
        return;
    }
    if (events & LOOP_READ)
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
