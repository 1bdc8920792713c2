/* A worker: one thread, one loop, its own listeners (SO_REUSEPORT), the
 * accept path (with the fault modes) and graceful stop. Private to
 * src/server. */
#ifndef CLOSER_SERVER_WORKER_H
#define CLOSER_SERVER_WORKER_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "loop/loop.h"
#include "server/config.h"

struct conn;

struct worker {
    int id;
    const struct srv_config *cfg;
    struct loop *loop;
    int listen_fds[SRV_MAX_LISTEN];
    size_t nlisten;
    bool accepting;
    int wake_fd;             /* eventfd: graceful stop request */
    bool stopping;
    struct timer accept_retry, stop_deadline;
    int root_fd;
    struct conn **conns;     /* by fd, for the graceful stop sweep */
    size_t conns_cap;
    long active;             /* connections of this worker */
    struct conn *leaked;     /* fault modes: kept open on purpose */
    /* Read buffers given back by idle or closed connections, reused LIFO:
     * malloc/free of 8 KiB per request churns the heap top (trim, madvise,
     * page faults). Small, so idle memory stays per connection. */
    char *spare_rbufs[16];
    size_t nspare;
    pthread_t thread;
};

/* Creates listeners and the loop; returns 0 or -1 with err. */
int worker_init(struct worker *w, int id, const struct srv_config *cfg, int root_fd, char *err,
                size_t errlen);
void *worker_main(void *arg);
void worker_request_stop(struct worker *w);
void worker_free(struct worker *w);
/* Called by conn_close: forget the conn, re-enable accepting if paused. */
void worker_conn_gone(struct worker *w, struct conn *c);
void worker_conn_track(struct worker *w, struct conn *c);

extern atomic_long srv_active_total;

#endif
