/* SPDX-License-Identifier: MIT */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/worker.h"
#include "util/log.h"

static void announce(const struct srv_config *cfg)
{
    for (size_t i = 0; i < cfg->nlisten; i++) {
        char host[64] = "?";
        const struct sockaddr *sa = (const struct sockaddr *)&cfg->listen[i];
        int port = 0;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *v4 = (const void *)sa;
            inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
            port = ntohs(v4->sin_port);
            fprintf(stderr, "closer serve: listening on %s:%d\n", host, port);
        } else {
            const struct sockaddr_in6 *v6 = (const void *)sa;
            inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
            port = ntohs(v6->sin6_port);
            fprintf(stderr, "closer serve: listening on [%s]:%d\n", host, port);
        }
    }
    if (cfg->fault != FAULT_NONE)
        fprintf(stderr, "closer serve: *** TEST-ONLY FAULT MODE '%s': this server leaks "
                        "connections into CLOSE_WAIT on purpose ***\n", srv_fault_name(cfg->fault));
}

int srv_run(const struct srv_config *cfg, char *err, size_t errlen)
{
    int root_fd = -1;
    if (cfg->root) {
        root_fd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
            snprintf(err, errlen, "--root %s: %s", cfg->root, strerror(errno));
            return -1;
        }
    }
    /* Workers inherit a mask with the stop signals blocked; this thread
     * takes them with sigwait. SIGPIPE never kills the server. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGQUIT);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    int n = cfg->fault != FAULT_NONE ? 1 : cfg->workers;
    struct worker *ws = calloc((size_t)n, sizeof *ws);
    if (!ws) {
        snprintf(err, errlen, "out of memory");
        if (root_fd >= 0)
            close(root_fd);
        return -1;
    }
    int started = 0, rc = worker_check_ports(cfg, err, errlen);
    /* Each worker starts before the next is made: when worker i cannot be
     * made or started, workers 0..i-1 are running and are stopped and
     * joined below before their loops are freed. */
    for (int i = 0; i < n && !rc; i++) {
        if (worker_init(&ws[i], i, cfg, root_fd, err, errlen) < 0) {
            rc = -1;
        } else if ((errno = pthread_create(&ws[i].thread, NULL, worker_main, &ws[i])) != 0) {
            snprintf(err, errlen, "cannot start worker thread %d: %s", i, strerror(errno));
            rc = -1;
        } else {
            started++;
        }
    }
    if (!rc) {
        announce(cfg);
        int sig = 0;
        sigwait(&stop, &sig);
        fprintf(stderr, "closer serve: %s: graceful stop\n", strsignal(sig));
    }
    for (int i = 0; i < started; i++)
        worker_request_stop(&ws[i]);
    for (int i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    for (int i = 0; i < n; i++)
        if (i < started || ws[i].loop || ws[i].wake_fd > 0)
            worker_free(&ws[i]);
    srv_status_forget_all();
    free(ws);
    if (root_fd >= 0)
        close(root_fd);
    return rc;
}
