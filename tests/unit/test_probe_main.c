/* SPDX-License-Identifier: MIT */
/* closer probe's run (client/probe_main.c) without root or network: the
 * refusals before any exchange, a refused connection on each path, and a
 * loopback server whose first answer is an error status (the probe stops
 * there: one exchange, a report, result 1). */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "client/probe_main.h"

static struct probe_opts opts(void)
{
    return (struct probe_opts){.max_requests = 4, .close_wait_ms = 1000, .deadline_ms = 5000,
                               .idle_samples = 1, .request_timeout_ms = 2000};
}

/* A port nothing listens on: bound, never listened, closed at exit. */
static int dead_port(int *fd)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof a) || getsockname(*fd, (struct sockaddr *)&a, &len))
        return -1;
    return ntohs(a.sin_port);
}

TEST(refuses_other_schemes)
{
    struct probe_opts o = opts();
    char err[256] = "";
    CHECK_EQ_INT(probe_main(&o, "ftp://x/", NULL, false, stdout, err, sizeof err), -1);
    CHECK_EQ_STR(err, "'ftp://x/': only http:// and https:// URLs are supported");
}

TEST(refuses_a_namespace_it_cannot_enter)
{
    struct probe_opts o = opts();
    char err[256] = "";
    CHECK_EQ_INT(probe_main(&o, "http://127.0.0.1:1/", "/nonexistent", false, stdout, err, sizeof err), -1);
    CHECK(strstr(err, "/nonexistent") != NULL);
}

TEST(http2_by_alpn_needs_tls)
{
    struct probe_opts o = opts();
    o.http2 = true;
    char err[256] = "";
    CHECK_EQ_INT(probe_main(&o, "http://127.0.0.1:1/", NULL, false, stdout, err, sizeof err), -1);
    CHECK_EQ_STR(err, "--http2 offers h2 by ALPN, over TLS (https://); for h2c on http:// use "
                      "--http2-prior-knowledge");
}

TEST(refused_connection_on_each_path)
{
    int fd, port = dead_port(&fd);
    CHECK(port > 0);
    char url[64], err[256] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    struct probe_opts o = opts();
    int rc = probe_main(&o, url, NULL, false, stdout, err, sizeof err);
    CHECK_EQ_INT(rc, -1);
    CHECK(strstr(err, "no HTTP response") && strstr(err, "connection refused"));
    o = opts();
    o.http2_prior = true;
    rc = probe_main(&o, url, NULL, true, stdout, err, sizeof err);
    close(fd);
    CHECK_EQ_INT(rc, -1);
    CHECK(strstr(err, "no HTTP/2 response") && strstr(err, "connection refused"));
}

/* Answers every connection's first request with 404, then closes. */
static void *answer_404(void *arg)
{
    int lfd = *(int *)arg;
    static const char reply[] = "HTTP/1.1 404 Not Found\r\nServer: t404\r\nContent-Length: 0\r\n\r\n";
    for (int c; (c = accept(lfd, NULL, NULL)) >= 0; close(c)) {
        char buf[4096];
        if (read(c, buf, sizeof buf) > 0 && write(c, reply, sizeof reply - 1) < 0)
            break;
    }
    return NULL;
}

TEST(error_answer_is_reported_and_stops)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(lfd >= 0 && !bind(lfd, (struct sockaddr *)&a, sizeof a) && !listen(lfd, 8) &&
          !getsockname(lfd, (struct sockaddr *)&a, &len));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, answer_404, &lfd) == 0);
    char url[64], err[256] = "", *text = NULL;
    size_t n = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    FILE *out = open_memstream(&text, &n);
    struct probe_opts o = opts();
    int rc = probe_main(&o, url, NULL, true, out, err, sizeof err);
    fclose(out);
    shutdown(lfd, SHUT_RDWR); /* ends the accept loop */
    pthread_join(th, NULL);
    close(lfd);
    CHECK_EQ_INT(rc, 1);
    CHECK(text && strstr(text, "404"));
    free(text);
}
