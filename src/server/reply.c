/* SPDX-License-Identifier: MIT */
/* The engine's output: a handler's reply becomes a head (and a small body
 * joined to it) in the connection's pooled buffer, then goes out with
 * send()/sendmsg() and sendfile(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "server/conn.h"
#include "server/response.h"

#define CFG(c) ((c)->x->cfg)
/* Room for a response head at the start of obuf; the rest is the scratch
 * a handler may write a body into (it then joins the head: one send). */
#define HEAD_ROOM 1024
_Static_assert(sizeof(((struct resp_head_cache *)0)->head) <= HEAD_ROOM,
               "a fixed answer from the cache fits before the scratch");

/* Whether closing for this cause sends a RST (SO_LINGER {1,0}) instead of
 * a FIN. */
bool conn_closes_with_rst(const struct conn *c, enum close_cause cause)
{
    return CFG(c)->linger_zero || (cause == CAUSE_TIMEOUT && CFG(c)->reset_timedout_connection);
}

void conn_drop_output(struct conn *c)
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

/* ---- output ---- */

/* The last response of a connection the server closes at once with a FIN:
 * MSG_MORE keeps its tail segment queued, and the close (or the lingering
 * close's shutdown) then sends data and FIN in one segment. Never before a
 * RST close (unsent data would be discarded) or a wait for the client's FIN
 * (the response must not sit corked). */
static bool holds_for_fin(const struct conn *c)
{
    return !c->keepalive && !c->file_left && CFG(c)->close_policy == CLOSE_POLICY_SERVER &&
           !conn_closes_with_rst(c, c->cause);
}

/* Returns 1 done, 0 would block, -1 error. */
int conn_flush(struct conn *c)
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
    }
    return 1;
}

/* Builds the head (and joins a small body to it) from a handler's reply. */
void conn_respond(struct conn *c, struct srv_reply *rep, int minor, bool head_only)
{
    if (!rep->keep_open) {
        c->keepalive = false;
        c->cause = CAUSE_ERROR;
    }
    if (rep->status == 204 || rep->status == 304) { /* never a body, type or length (nginx) */
        head_only = true;
        rep->content_type = NULL;
    }
    struct resp_head h = {.status = rep->status, .minor = minor,
                          .content_type = rep->content_type, .extra = rep->extra_header,
                          .content_length = rep->file_fd >= 0 ? rep->file_size : rep->blen,
                          .keepalive = c->keepalive, .last_modified = rep->last_modified};
    if (c->keepalive && minor == 0)
        h.keepalive_timeout_s = CFG(c)->keepalive_timeout / 1000;
    bool joined = false; /* the body is in obuf after the head */
    if (rep->fixed && rep->blen && !head_only && rep->file_fd < 0 && !rep->body_owned)
        c->hlen = (uint32_t)resp_write_fixed_cached(&c->x->heads, c->obuf, HEAD_ROOM, &h, rep->body,
                                                    rep->blen, &joined);
    else
        c->hlen = (uint32_t)resp_write_head_cached(&c->x->heads, c->obuf, HEAD_ROOM, &h);
    if (!c->hlen) { /* a handler's header values did not fit: never a bodiless answer */
        static const char oops[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\n\r\n";
        memcpy(c->obuf, oops, sizeof oops - 1);
        c->hlen = sizeof oops - 1;
        c->keepalive = false;
        c->cause = CAUSE_ERROR;
        head_only = true;
    }
    c->hoff = 0;
    c->boff = 0;
    c->blen = joined || head_only || rep->file_fd >= 0 ? 0 : rep->blen;
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

struct srv_reply conn_new_reply(struct conn *c)
{
    return (struct srv_reply){.file_fd = -1, .keep_open = true, .scratch = c->obuf + HEAD_ROOM,
                              .scratch_cap = SRV_BUF - HEAD_ROOM};
}

/* An error the engine answers itself; it ends the connection. The text is
 * written into this connection's own buffer (never a shared static). */
void conn_respond_error(struct conn *c, int status, int minor)
{
    conn_drop_output(c);
    struct srv_reply rep = conn_new_reply(c);
    rep.status = status;
    rep.content_type = "text/plain";
    rep.keep_open = false;
    rep.body = rep.scratch;
    rep.blen = (size_t)snprintf(rep.scratch, rep.scratch_cap, "%d %s\n", status, resp_reason(status));
    conn_respond(c, &rep, minor, false);
    c->body_left = 0; /* an unread body is drained by the lingering close */
    c->chunked_body = false;
    conn_set_state(c, CS_WRITE);
}

bool conn_take_obuf(struct conn *c)
{
    if (!c->obuf)
        c->obuf = srv_buf_get(c->x);
    return c->obuf != NULL;
}

