#include "server/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/conn.h"
#include "server/status.h"
#include "util/log.h"

atomic_long srv_active_total;

static void on_accept(struct loop *l, int fd, void *data, unsigned events);

static int make_listener(const struct srv_config *cfg, size_t i, char *err, size_t errlen)
{
    const struct sockaddr *sa = (const struct sockaddr *)&cfg->listen[i];
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, sa, cfg->listen_len[i]) < 0 || listen(fd, cfg->backlog) < 0)
        goto fail;
    return fd;
fail:
    snprintf(err, errlen, "cannot listen on address #%zu: %s", i + 1, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static void set_accepting(struct worker *w, bool on)
{
    if (w->accepting == on || w->cfg->fault == FAULT_LISTENER_NOT_POLLED)
        return;
    w->accepting = on;
    for (size_t i = 0; i < w->nlisten; i++)
        loop_mod(w->loop, w->listen_fds[i], on ? LOOP_READ : 0);
}

static void accept_retry(struct loop *l, struct timer *t)
{
    (void)l;
    struct worker *w = (struct worker *)((char *)t - offsetof(struct worker, accept_retry));
    if (!w->stopping)
        set_accepting(w, true);
}

void worker_conn_track(struct worker *w, struct conn *c)
{
    if ((size_t)c->fd >= w->conns_cap) {
        size_t cap = w->conns_cap ? w->conns_cap : 256;
        while (cap <= (size_t)c->fd)
            cap *= 2;
        struct conn **n = realloc(w->conns, cap * sizeof *n);
        if (n) {
            memset(n + w->conns_cap, 0, (cap - w->conns_cap) * sizeof *n);
            w->conns = n;
            w->conns_cap = cap;
        }
    }
    if ((size_t)c->fd < w->conns_cap)
        w->conns[c->fd] = c;
    w->active++;
    atomic_fetch_add_explicit(&srv_active_total, 1, memory_order_relaxed);
}

void worker_conn_gone(struct worker *w, struct conn *c)
{
    if ((size_t)c->fd < w->conns_cap && w->conns[c->fd] == c)
        w->conns[c->fd] = NULL;
    w->active--;
    atomic_fetch_sub_explicit(&srv_active_total, 1, memory_order_relaxed);
    if (w->stopping && w->active == 0)
        loop_stop(w->loop);
    else if (!w->stopping && !w->accepting && !timer_armed(&w->accept_retry))
        set_accepting(w, true);
}

/* The fault "not-registered": the accepted fd is kept but never added to
 * epoll, so the process never learns of the client's FIN. */
static void keep_unregistered(struct worker *w, int fd)
{
    log_warn("fault not-registered: accepted fd %d is NOT added to epoll (CLOSE_WAIT on purpose)", fd);
    atomic_fetch_add_explicit(&srv_status.handled, 1, memory_order_relaxed);
    (void)w;
}

static void on_accept(struct loop *l, int lfd, void *data, unsigned events)
{
    (void)l, (void)events;
    struct worker *w = data;
    if (w->cfg->fault == FAULT_NO_ACCEPT)
        return; /* edge-triggered: no spin; connections wait in the queue */
    for (int i = 0; i < 64; i++) {
        if ((uint64_t)atomic_load(&srv_active_total) >= w->cfg->max_connections) {
            /* Stop accepting until a connection goes: never busy-loop on a
             * level-triggered listener. The cap is global, and the one that
             * goes may be another worker's: look again in 100 ms too. */
            set_accepting(w, false);
            if (!timer_armed(&w->accept_retry))
                loop_timer_arm(w->loop, &w->accept_retry, 100);
            return;
        }
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("accept: %s: pausing accepts for 500 ms", strerror(errno));
                set_accepting(w, false);
                loop_timer_arm(w->loop, &w->accept_retry, 500);
            }
            return; /* EAGAIN, or another worker took it */
        }
        atomic_fetch_add_explicit(&srv_status.accepted, 1, memory_order_relaxed);
        if (w->cfg->fault == FAULT_NOT_REGISTERED) {
            keep_unregistered(w, fd);
            continue;
        }
        if (!conn_accept(w, fd))
            close(fd);
    }
}

static void stop_now(struct loop *l, struct timer *t)
{
    (void)t;
    log_warn("graceful stop: shutdown timeout, closing the remaining connections");
    loop_stop(l);
}

static void begin_stop(struct worker *w)
{
    if (w->stopping)
        return;
    w->stopping = true;
    for (size_t i = 0; i < w->nlisten; i++) {
        loop_del(w->loop, w->listen_fds[i]);
        close(w->listen_fds[i]);
    }
    w->nlisten = 0;
    for (size_t fd = 0; fd < w->conns_cap; fd++)
        if (w->conns[fd] && conn_is_idle(w->conns[fd]))
            conn_shutdown_idle(w->conns[fd]);
    if (w->active == 0 || w->cfg->fault != FAULT_NONE)
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

int worker_init(struct worker *w, int id, const struct srv_config *cfg, int root_fd, char *err,
                size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->cfg = cfg;
    w->root_fd = root_fd;
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->loop = loop_new();
    timer_init(&w->accept_retry, accept_retry);
    timer_init(&w->stop_deadline, stop_now);
    if (!w->loop || w->wake_fd < 0) {
        snprintf(err, errlen, "cannot create the event loop: %s", strerror(errno));
        return -1;
    }
    loop_add(w->loop, w->wake_fd, LOOP_READ, on_wake, w);
    for (size_t i = 0; i < cfg->nlisten; i++) {
        int fd = make_listener(cfg, i, err, errlen);
        if (fd < 0)
            return -1;
        w->listen_fds[w->nlisten++] = fd;
        if (cfg->fault == FAULT_LISTENER_NOT_POLLED)
            continue; /* the bug on purpose: nobody watches this listener */
        unsigned mask = LOOP_READ | (cfg->fault == FAULT_NO_ACCEPT ? LOOP_EDGE : 0);
        loop_add(w->loop, fd, mask, on_accept, w);
    }
    w->accepting = true;
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
    for (size_t fd = 0; fd < w->conns_cap; fd++)
        if (w->conns[fd])
            conn_close(w->conns[fd], CAUSE_SHUTDOWN);
    while (w->nspare)
        free(w->spare_rbufs[--w->nspare]);
    for (size_t i = 0; i < w->nlisten; i++)
        close(w->listen_fds[i]);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    loop_free(w->loop);
    free(w->conns);
}
