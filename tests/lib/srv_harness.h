/* SPDX-License-Identifier: MIT */
/* Drives the server connection engine over socketpair() without root, in
 * the style of h2o's fuzz driver: the engine runs on a real loop; the test
 * is the client on the other end, registered on the same loop, so one
 * thread steps both. Header-only: shared by tests/unit/test_server_conn.c
 * and tests/fuzz/fuzz_server_conn.c. */
#ifndef CLOSER_TEST_SRV_HARNESS_H
#define CLOSER_TEST_SRV_HARNESS_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/engine.h"

struct harness {
    struct loop *loop;
    struct srv_config cfg;
    struct srv_status status;
    atomic_long active;
    struct srv_ctx x;
    struct timer tick;
    int cfd;         /* the client's end, -1 once it read EOF */
    char *in;        /* what the client received */
    size_t inlen, incap;
    bool eof;        /* the server closed its end */
    unsigned handled;
};

/* Answers "METHOD TARGET\n" from the connection's scratch buffer. */
static void h_echo(void *data, const struct http_request *r, struct srv_reply *out)
{
    struct harness *h = data;
    h->handled++;
    out->status = 200;
    out->content_type = "text/plain";
    out->body = out->scratch;
    out->blen = (size_t)snprintf(out->scratch, out->scratch_cap, "%.*s %.*s\n", (int)r->method.len,
                                 r->method.ptr, (int)r->target.len, r->target.ptr);
}

static void h_on_client(struct loop *l, int fd, void *data, unsigned events)
{
    (void)events;
    struct harness *h = data;
    for (;;) {
        if (h->incap - h->inlen < 4096) {
            h->incap = h->incap ? h->incap * 2 : 65536;
            h->in = realloc(h->in, h->incap);
        }
        ssize_t n = recv(fd, h->in + h->inlen, h->incap - h->inlen - 1, 0);
        if (n > 0) {
            h->inlen += (size_t)n;
            h->in[h->inlen] = 0;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            h->eof = true;
            loop_del(l, fd);
        }
        return;
    }
}

static void h_stop(struct loop *l, struct timer *t)
{
    (void)t;
    loop_stop(l);
}

/* max_body small so the limits are cheap to reach. */
static void h_init(struct harness *h)
{
    memset(h, 0, sizeof *h);
    h->loop = loop_new();
    srv_config_defaults(&h->cfg);
    h->cfg.max_body = 1000;
    h->cfg.lingering_timeout = h->cfg.lingering_time = 0; /* no waiting in tests */
    srv_ctx_init(&h->x, h->loop, &h->cfg, h_echo, h, &h->status, &h->active);
    timer_init(&h->tick, h_stop);
    h->cfd = -1;
    h->incap = 65536;
    h->in = calloc(1, h->incap);
}

/* One loop iteration without blocking. */
static void h_step(struct harness *h)
{
    loop_timer_arm(h->loop, &h->tick, 0);
    loop_run(h->loop);
}

/* Steps until nothing changes for a few iterations. */
static void h_pump(struct harness *h)
{
    size_t last = (size_t)-1;
    long last_active = -1;
    for (int quiet = 0, i = 0; quiet < 3 && i < 100000; i++) {
        h_step(h);
        if (h->inlen == last && h->x.active == last_active)
            quiet++;
        else
            quiet = 0;
        last = h->inlen;
        last_active = h->x.active;
    }
}

/* A new connection: the engine takes one end. */
static int h_connect(struct harness *h)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    h->cfd = sv[0];
    h->inlen = 0;
    h->eof = false;
    h->in[0] = 0;
    loop_add(h->loop, h->cfd, LOOP_READ, h_on_client, h);
    if (!srv_conn_accept(&h->x, sv[1])) {
        close(sv[1]);
        return -1;
    }
    return 0;
}

static void h_send(struct harness *h, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(h->cfd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            h_step(h);
            continue;
        }
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void h_disconnect(struct harness *h)
{
    if (h->cfd >= 0) {
        loop_del(h->loop, h->cfd);
        close(h->cfd);
    }
    h->cfd = -1;
    h_pump(h);
}

static void h_free(struct harness *h)
{
    h_disconnect(h);
    srv_ctx_free(&h->x);
    loop_timer_cancel(h->loop, &h->tick);
    loop_free(h->loop);
    free(h->in);
}

/* How many times s occurs in the received bytes. */
static unsigned h_count(const struct harness *h, const char *s)
{
    unsigned n = 0;
    for (const char *p = h->in; p && (p = strstr(p, s)); p++)
        n++;
    return n;
}

#endif
