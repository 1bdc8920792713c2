/* SPDX-License-Identifier: MIT */
/* A worker: one thread, one loop, one engine context with its own
 * listeners (SO_REUSEPORT) and graceful stop. Private to src/server. */
#ifndef CLOSER_SERVER_WORKER_H
#define CLOSER_SERVER_WORKER_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "loop/loop.h"
#include "server/config.h"
#include "server/engine.h"
#include "server/site.h"

struct worker {
    int id;
    const struct srv_config *cfg;
    struct loop *loop;
    struct srv_ctx ctx;
    struct srv_site site;
    struct srv_status status; /* this worker's counters (summed by /status) */
    int wake_fd;             /* eventfd: graceful stop request */
    struct timer stop_deadline;
    pthread_t thread;
};

/* What the workers of one server run share; the run owns it and outlives
 * every worker. */
struct worker_shared {
    struct srv_status_set status; /* every worker's block, summed by /status */
    atomic_long active_total;     /* connections of every worker, against --max-connections */
};

/* Creates the loop, the engine context and the listeners; returns 0 or
 * -1 with err. worker_free undoes what it did, also after a failure. */
int worker_init(struct worker *w, int id, const struct srv_config *cfg, int root_fd,
                struct worker_shared *sh, char *err, size_t errlen);
void *worker_main(void *arg);
void worker_request_stop(struct worker *w);
void worker_free(struct worker *w);

/* Listens once on each configured address without SO_REUSEPORT, so a
 * port another process serves is refused (EADDRINUSE) instead of shared.
 * Returns 0 or -1 with err. */
int worker_check_ports(const struct srv_config *cfg, char *err, size_t errlen);

#endif
