/* SPDX-License-Identifier: MIT */
/* Accepting: never busy-loop on a level-triggered listener. At the
 * connection cap the listeners are paused (or, when the context asks, the
 * oldest idle or head-reading connection is closed to make room, once a
 * newcomer has been accepted); at fd exhaustion they are paused for
 * 500 ms, as nginx does. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/conn.h"
#include "server/engine.h"
#include "util/log.h"

#define ACCEPTS_PER_WAKEUP 64

/* The fault "not-registered": the accepted fd is kept but never added to
 * epoll, so the process never learns of the client's FIN. */
static void keep_unregistered(struct srv_ctx *x, int fd)
{
    log_warn("fault not-registered: accepted fd %d is NOT added to epoll (CLOSE_WAIT on purpose)", fd);
    srv_add(&x->status->handled, 1);
}

/* Whether one more connection may be accepted: below the cap, or at it
 * with *victim, the connection to close once a newcomer is really there.
 * Closing it before the accept would drop a connection for nothing when
 * the queue is empty: at the cap the loop asks again after every accept,
 * so each accept that fills the cap would close one, at a cap of 1 the
 * newcomer itself before its request arrived. */
static bool room_for_one(struct srv_ctx *x, struct conn **victim)
{
    *victim = NULL;
    if ((uint64_t)atomic_load(x->active_total) < x->cfg->max_connections)
        return true;
    if (x->reclaim_at_cap && (*victim = conn_oldest_reclaimable(x)))
        return true;
    /* Stop accepting until a connection goes. The cap may be shared with
     * other loops, and the one that goes may be theirs: look again in
     * 100 ms too. */
    srv_set_accepting(x, false);
    if (!timer_armed(&x->accept_retry))
        loop_timer_arm(x->loop, &x->accept_retry, 100);
    return false;
}

static void on_accept(struct loop *l, int lfd, void *data, unsigned events)
{
    (void)l, (void)events;
    struct srv_ctx *x = data;
    if (x->cfg->fault == FAULT_NO_ACCEPT)
        return; /* edge-triggered: no spin; connections wait in the queue */
    for (int i = 0; i < ACCEPTS_PER_WAKEUP && !x->stopping; i++) {
        struct conn *victim;
        if (!room_for_one(x, &victim))
            return;
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("accept: %s: pausing accepts for 500 ms", strerror(errno));
                srv_set_accepting(x, false);
                loop_timer_arm(x->loop, &x->accept_retry, 500);
            }
            return; /* EAGAIN, or another loop took it: the victim stays */
        }
        srv_add(&x->status->accepted, 1);
        if (x->cfg->fault == FAULT_NOT_REGISTERED) {
            keep_unregistered(x, fd); /* takes no place under the cap */
            continue;
        }
        if (victim) /* first: the count stays under the cap, the newcomer is no victim */
            conn_close(victim, conn_is_idle(victim) ? CAUSE_IDLE_TIMEOUT : CAUSE_TIMEOUT);
        if (!conn_accept(x, fd))
            close(fd);
    }
}

int srv_listen(struct srv_ctx *x, int fd)
{
    if (x->nlisten == SRV_MAX_LISTEN)
        return -ENOSPC;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    x->listen_fds[x->nlisten++] = fd;
    if (x->cfg->fault == FAULT_LISTENER_NOT_POLLED)
        return 0; /* the bug on purpose: nobody watches this listener */
    unsigned mask = x->cfg->fault == FAULT_NO_ACCEPT ? LOOP_READ | LOOP_EDGE
                                                     : x->accepting ? LOOP_READ : 0;
    int rc = loop_add(x->loop, fd, mask, on_accept, x);
    if (rc < 0)
        x->nlisten--;
    return rc;
}

bool srv_conn_accept(struct srv_ctx *x, int fd) { return conn_accept(x, fd); }

void srv_unlisten(struct srv_ctx *x)
{
    loop_timer_cancel(x->loop, &x->accept_retry);
    for (size_t i = 0; i < x->nlisten; i++) {
        loop_del(x->loop, x->listen_fds[i]);
        close(x->listen_fds[i]);
    }
    x->nlisten = 0;
}
