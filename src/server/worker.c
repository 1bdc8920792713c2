/* SPDX-License-Identifier: MIT */
#include "server/worker.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"

static void describe(const struct srv_config *cfg, size_t i, char *out, size_t len)
{
    const struct sockaddr *sa = (const struct sockaddr *)&cfg->listen[i];
    char host[64] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const void *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        snprintf(out, len, "[%s]:%d", host, ntohs(v6->sin6_port));
    } else {
        const struct sockaddr_in *v4 = (const void *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        snprintf(out, len, "%s:%d", host, ntohs(v4->sin_port));
    }
}

static int listener(const struct srv_config *cfg, size_t i, bool reuseport, bool do_listen,
                    char *err, size_t errlen)
{
    const struct sockaddr *sa = (const struct sockaddr *)&cfg->listen[i];
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, sa, cfg->listen_len[i]) < 0 || (do_listen && listen(fd, cfg->backlog) < 0))
        goto fail;
    return fd;
fail:;
    int e = errno;
    char where[80];
    describe(cfg, i, where, sizeof where);
    if (e == EADDRINUSE)
        snprintf(err, errlen, "cannot listen on %s: %s (another server has it; --reuseport "
                 "shares it with SO_REUSEPORT)", where, strerror(e));
    else
        snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(e));
    if (fd >= 0)
        close(fd);
    return -1;
}

int worker_check_ports(const struct srv_config *cfg, char *err, size_t errlen)
{
    if (cfg->reuseport)
        return 0;
    for (size_t i = 0; i < cfg->nlisten; i++) {
        const struct sockaddr_in *v4 = (const void *)&cfg->listen[i];
        if (v4->sin_port == 0) /* sin6_port sits at the same offset */
            continue;
        /* Bound without SO_REUSEPORT, this fails while any other socket
         * listens there, SO_REUSEPORT or not. */
        int fd = listener(cfg, i, false, false, err, errlen);
        if (fd < 0)
            return -1;
        close(fd);
    }
    return 0;
}

static void stop_now(struct loop *l, struct timer *t)
{
    (void)t;
    log_warn("graceful stop: shutdown timeout, closing the remaining connections");
    loop_stop(l);
}

static void conn_gone(struct srv_ctx *x)
{
    if (x->stopping && x->active == 0)
        loop_stop(x->loop);
}

static void begin_stop(struct worker *w)
{
    if (w->ctx.stopping)
        return;
    srv_unlisten(&w->ctx);
    srv_begin_stop(&w->ctx);
    if (w->ctx.active == 0 || w->cfg->fault != FAULT_NONE)
        loop_stop(w->loop);
    else
        loop_timer_arm(w->loop, &w->stop_deadline, 10000);
}

static void on_wake(struct loop *l, int fd, void *data, unsigned events)
{
    (void)l, (void)events;
    uint64_t v;
    if (read(fd, &v, sizeof v) == sizeof v)
        begin_stop(data);
}

int worker_init(struct worker *w, int id, const struct srv_config *cfg, int root_fd,
                struct worker_shared *sh, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->cfg = cfg;
    w->site = (struct srv_site){cfg, root_fd, cfg->return_code ? strlen(cfg->return_body) : 0,
                                &sh->status};
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->loop = loop_new();
    timer_init(&w->stop_deadline, stop_now);
    if (!w->loop || w->wake_fd < 0) {
        snprintf(err, errlen, "worker %d: cannot create the event loop: %s", id, strerror(errno));
        return -1;
    }
    srv_ctx_init(&w->ctx, w->loop, cfg, srv_site_handle, &w->site, &w->status, &sh->active_total);
    srv_status_register(&sh->status, &w->status);
    w->ctx.conn_gone = conn_gone;
    w->ctx.owner = w;
    loop_add(w->loop, w->wake_fd, LOOP_READ, on_wake, w);
    for (size_t i = 0; i < cfg->nlisten; i++) {
        int fd = listener(cfg, i, true, true, err, errlen);
        if (fd < 0)
            return -1;
        int rc = srv_listen(&w->ctx, fd);
        if (rc < 0) {
            close(fd);
            snprintf(err, errlen, "worker %d: cannot watch a listener: %s", id, strerror(-rc));
            return -1;
        }
    }
    return 0;
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    int rc = loop_run(w->loop);
    if (rc < 0)
        log_error("worker %d: event loop failed: %s", w->id, strerror(-rc));
    return NULL;
}

void worker_request_stop(struct worker *w)
{
    uint64_t one = 1;
    if (write(w->wake_fd, &one, sizeof one) < 0)
        log_warn("worker %d: cannot wake: %s", w->id, strerror(errno));
}

void worker_free(struct worker *w)
{
    /* Connections still open at exit (forced stop, fault modes) are closed
     * by the process exit; free what the worker owns. */
    if (w->loop) {
        srv_ctx_free(&w->ctx);
        loop_timer_cancel(w->loop, &w->stop_deadline);
        loop_free(w->loop);
        w->loop = NULL;
    }
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    w->wake_fd = -1;
}
