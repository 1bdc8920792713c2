/* SPDX-License-Identifier: MIT */
/* closer exporter's run (export/exporter.c) over loopback, no root: the
 * refusals before it serves, then a real /metrics scrape of this
 * namespace and a stop by SIGTERM sent to the serving thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "export/exporter.h"

static struct exporter_opts defaults(const char *listen)
{
    return (struct exporter_opts){.listen = listen, .doctor = true, .top_netns = 20,
                                  .mo = {.top_ports = 10, .top_destinations = 10, .top_processes = 10,
                                         .top_listeners = 20},
                                  .ho = {.cache_ms = 0, .timeout_ms = 5000, .max_conns = 4}};
}

TEST(refuses_a_bad_listen_address)
{
    struct exporter_opts o = defaults("bad");
    char err[256] = "";
    CHECK_EQ_INT(exporter_run(&o, err, sizeof err), -1);
    CHECK_EQ_STR(err, "bad address 'bad'");
}

/* A loopback port free a moment ago. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &len))
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

TEST(refuses_a_namespace_it_cannot_enter)
{
    char listen[32], err[256] = "";
    snprintf(listen, sizeof listen, "127.0.0.1:%d", free_port());
    struct exporter_opts o = defaults(listen);
    o.netns = "/nonexistent";
    CHECK_EQ_INT(exporter_run(&o, err, sizeof err), -1);
    CHECK(strstr(err, "/nonexistent") != NULL);
}

struct server {
    struct exporter_opts o;
    char listen[32], err[256];
    int rc;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    s->rc = exporter_run(&s->o, s->err, sizeof s->err);
    return NULL;
}

/* GET path over a new connection, the whole answer into buf (the
 * connection says close). Connecting retries while the server starts. */
static int get(int port, const char *path, char *buf, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = -1;
    for (int tries = 0; tries < 500; tries++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            break;
        close(fd);
        fd = -1;
        poll(NULL, 0, 10); /* not a timing assertion: the server is starting */
    }
    if (fd < 0)
        return -1;
    char req[128];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    size_t got = 0;
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    for (ssize_t r; got < len - 1 && (r = read(fd, buf + got, len - 1 - got)) > 0;)
        got += (size_t)r;
    buf[got] = 0;
    close(fd);
    return (int)got;
}

TEST(serves_metrics_until_sigterm)
{
    static struct server s;
    static char body[1 << 20];
    int port = free_port();
    CHECK(port > 0);
    snprintf(s.listen, sizeof s.listen, "127.0.0.1:%d", port);
    s.o = defaults(s.listen);
    s.rc = -2;
    /* The serving thread inherits SIGTERM blocked and reads it from its
     * signalfd: a SIGTERM sent to it never reaches the default action. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, serve, &s) == 0);
    int n = get(port, "/metrics", body, sizeof body);
    pthread_kill(th, SIGTERM);
    pthread_join(th, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    CHECK(n > 0);
    CHECK(!strncmp(body, "HTTP/1.1 200", 12));
    CHECK(strstr(body, "\ncloser_tcp_sockets") != NULL);
    CHECK(strstr(body, "# HELP closer_doctor_findings ") != NULL);
    CHECK_EQ_INT(s.rc, 0);
}
