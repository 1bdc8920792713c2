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
#include <sys/signalfd.h>
#include <unistd.h>

#include "server/privs.h"
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

/* The stop signals, read from a signalfd on the loop the main thread runs. */
struct stopper {
    struct worker *ws;
    int n;
    bool asked;
};

/* The first stop signal starts the graceful stop of every worker; later
 * ones change nothing (the stop deadline bounds it). */
static void on_signal(struct loop *l, int fd, void *data, unsigned events)
{
    (void)l, (void)events;
    struct stopper *s = data;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof si) != (ssize_t)sizeof si || s->asked)
        return;
    s->asked = true;
    fprintf(stderr, "closer serve: %s: graceful stop\n", strsignal((int)si.ssi_signo));
    for (int i = 0; i < s->n; i++)
        worker_request_stop(&s->ws[i]);
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
    /* Every thread inherits a mask with the stop signals blocked; the main
     * thread reads them from a signalfd. SIGPIPE never kills the server. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGQUIT);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    int n = cfg->fault != FAULT_NONE ? 1 : cfg->workers;
    struct worker *ws = calloc((size_t)n, sizeof *ws);
    int sfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    if (!ws || sfd < 0) {
        snprintf(err, errlen, ws ? "cannot read signals: %s" : "out of memory", strerror(errno));
        free(ws);
        if (sfd >= 0)
            close(sfd);
        if (root_fd >= 0)
            close(root_fd);
        return -1;
    }
    struct stopper stopper = {ws, n, false};
    struct worker_shared shared = {0}; /* outlives every worker: joined below */
    /* Worker 0 runs on the main thread, the others on threads of their
     * own: with --workers 1 the process has one thread, and libc's system
     * call wrappers skip the cancellation bookkeeping (two atomic updates
     * around every recv, send and epoll_wait) that any second thread
     * turns on. Every worker is made (its ports bound) before any starts;
     * when one cannot be made or started, the running workers are
     * stopped and joined below before their loops are freed. */
    int made = 0, started = 0, rc = worker_check_ports(cfg, err, errlen);
    for (int i = 0; i < n && !rc; i++) {
        rc = worker_init(&ws[i], i, cfg, root_fd, &shared, err, errlen);
        made += !rc;
    }
    /* Every port is bound and the root open: as root, become --user
     * before any worker reads a request (nginx's workers). */
    if (!rc && (rc = srv_drop_privileges(cfg->user, err, errlen)) == 0 && root_fd >= 0)
        srv_check_root_access(root_fd, cfg->root);
    started = rc ? 0 : 1;
    for (int i = 1; i < n && !rc; i++) {
        if ((errno = pthread_create(&ws[i].thread, NULL, worker_main, &ws[i])) != 0) {
            snprintf(err, errlen, "cannot start worker thread %d: %s", i, strerror(errno));
            rc = -1;
        } else {
            started++;
        }
    }
    if (!rc && (rc = loop_add(ws[0].loop, sfd, LOOP_READ, on_signal, &stopper)) < 0) {
        snprintf(err, errlen, "cannot watch signals: %s", strerror(-rc));
        rc = -1;
    }
    if (!rc) {
        announce(cfg);
        worker_main(&ws[0]); /* until its graceful stop ends */
    }
    for (int i = 1; i < started; i++)
        worker_request_stop(&ws[i]);
    for (int i = 1; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    for (int i = 0; i < n; i++)
        if (i < made || ws[i].loop || ws[i].wake_fd > 0)
            worker_free(&ws[i]);
    free(ws);
    close(sfd);
    if (root_fd >= 0)
        close(root_fd);
    return rc;
}
