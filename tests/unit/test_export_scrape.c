/* SPDX-License-Identifier: MIT */
/* The exporter's endpoint (export/scrape.c) over loopback, no root: the
 * engine runs on this thread's loop, a client thread asks with plain
 * blocking sockets and wakes the loop (an eventfd) to stop it when done.
 * /metrics whole and by HEAD, the cache shared by scrapes close together,
 * a body larger than the connection's scratch buffer, /, 404, 405, a
 * failing render (500, connection closed), and a new scraper answered at
 * the connection cap without closing an idle one. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "export/scrape.h"
#include "test.h"

struct render_state {
    unsigned calls;
    size_t body_len; /* bytes of exposition to write */
    bool fail;
};

static int render(void *ctx, FILE *out)
{
    struct render_state *r = ctx;
    r->calls++;
    if (r->fail)
        return -1;
    fprintf(out, "closer_test_renders %u\n", r->calls);
    for (size_t n = 0; n + 32 <= r->body_len; n += 32)
        fputs("# padding padding padding paddin\n", out);
    return 0;
}

typedef bool (*client_fn)(int port, void *arg);

struct endpoint {
    struct loop *loop;
    struct scrape *s;
    int port;
    int wake;        /* eventfd: the client is done */
    client_fn client;
    void *arg;
    bool client_ok;
};

static void on_wake(struct loop *l, int fd, void *data, unsigned events)
{
    (void)data, (void)events;
    uint64_t v;
    if (read(fd, &v, sizeof v) == sizeof v)
        loop_stop(l);
}

static void *client_main(void *arg)
{
    struct endpoint *e = arg;
    e->client_ok = e->client(e->port, e->arg);
    uint64_t one = 1;
    if (write(e->wake, &one, sizeof one) != sizeof one)
        e->client_ok = false;
    return NULL;
}

/* Serves until the client function returns; its verdict. */
static bool run(const struct scrape_opts *o, struct render_state *rs, client_fn client, void *arg)
{
    struct endpoint e = {.client = client, .arg = arg};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 16) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
        return false;
    e.port = ntohs(a.sin_port);
    e.loop = loop_new();
    e.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    char err[128];
    e.s = scrape_start(e.loop, lfd, o, render, rs, err, sizeof err);
    pthread_t th;
    bool ok = e.s && loop_add(e.loop, e.wake, LOOP_READ, on_wake, &e) == 0 &&
              pthread_create(&th, NULL, client_main, &e) == 0;
    if (ok) {
        loop_run(e.loop);
        pthread_join(th, NULL);
        ok = e.client_ok;
    } else {
        printf("# cannot start: %s\n", e.s ? "thread" : err);
    }
    if (e.s)
        scrape_stop(e.s);
    loop_del(e.loop, e.wake);
    close(e.wake);
    loop_free(e.loop);
    return ok;
}

static int dial(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {10, 0}; /* a hang fails the test instead of the run */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static char *read_to_eof(int fd)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = recv(fd, buf + n, cap - n - 1, 0)) > 0) {
        n += (size_t)got;
        if (cap - n < 1024)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0;
    return buf;
}

/* Sends req on a new connection and reads until the server closes. */
static char *ask(int port, const char *req)
{
    int fd = dial(port);
    if (fd < 0)
        return strdup("(no connection)");
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
        close(fd);
        return strdup("(send failed)");
    }
    char *a = read_to_eof(fd);
    close(fd);
    return a;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

#define CLOSE "Connection: close\r\n\r\n"

/* Five requests pipelined on one keep-alive connection, answered in order. */
static bool pages(int port, void *arg)
{
    (void)arg;
    char *a = ask(port, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
                        "HEAD /metrics?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
                        "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n" CLOSE);
    const char *m = strstr(a, "HTTP/1.1 200 "), *h = m ? strstr(m + 1, "HTTP/1.1 200 ") : NULL;
    const char *i = h ? strstr(h + 1, "HTTP/1.1 200 ") : NULL;
    const char *nf = i ? strstr(i, "HTTP/1.1 404 ") : NULL;
    const char *na = nf ? strstr(nf, "HTTP/1.1 405 ") : NULL;
    bool ok = na && strstr(m, "text/plain; version=0.0.4") && strstr(i, "<h1>closer exporter</h1>") &&
              strstr(nf, "not found: try /metrics") && strstr(na, "Allow: GET, HEAD") &&
              count(a, "closer_test_renders 1\n") == 1;
    if (!ok)
        printf("# %.1500s\n", a);
    free(a);
    return ok;
}

TEST(metrics_index_404_405_on_one_connection)
{
    struct render_state rs = {0};
    struct scrape_opts o = {.cache_ms = 60000, .timeout_ms = 5000, .max_conns = 8};
    CHECK(run(&o, &rs, pages, NULL));
    CHECK_EQ_INT(rs.calls, 1); /* GET and HEAD shared one rendering */
}

/* Three scrapes: with cache_ms 0 each renders again; the body is larger
 * than the scratch buffer, so each connection sends its own copy. */
static bool three_big(int port, void *arg)
{
    size_t len = *(size_t *)arg;
    for (unsigned k = 1; k <= 3; k++) {
        char *a = ask(port, "GET /metrics HTTP/1.1\r\nHost: t\r\n" CLOSE), want[64];
        snprintf(want, sizeof want, "closer_test_renders %u\n", k);
        const char *b = strstr(a, "\r\n\r\n");
        bool ok = b && strstr(b, want) && strlen(b + 4) >= len;
        if (!ok)
            printf("# scrape %u: %.300s\n", k, a);
        free(a);
        if (!ok)
            return false;
    }
    return true;
}

TEST(large_bodies_and_no_cache)
{
    struct render_state rs = {.body_len = 100000};
    struct scrape_opts o = {.cache_ms = 0, .timeout_ms = 5000, .max_conns = 8};
    CHECK(run(&o, &rs, three_big, &rs.body_len));
    CHECK_EQ_INT(rs.calls, 3);
}

static bool render_fails(int port, void *arg)
{
    (void)arg;
    /* Keep-alive asked, but a 500 ends the connection: read to EOF works. */
    char *a = ask(port, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
    bool ok = !strncmp(a, "HTTP/1.1 500 ", 13) && strstr(a, "snapshot failed");
    if (!ok)
        printf("# %.300s\n", a);
    free(a);
    return ok;
}

TEST(failed_render_answers_500_and_closes)
{
    struct render_state rs = {.fail = true};
    struct scrape_opts o = {.cache_ms = 1000, .timeout_ms = 5000, .max_conns = 8};
    CHECK(run(&o, &rs, render_fails, NULL));
}

/* At the cap (2, one connection idling on keep-alive) a new scraper is
 * answered, and the idle one stays open: the newcomer alone fills the
 * cap, nobody waits behind it, so nothing is reclaimed (the engine's
 * cases, reclaiming included, are in test_server_accept.c). */
static bool reclaimed(int port, void *arg)
{
    (void)arg;
    int idle = dial(port);
    const char *req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    char buf[4096];
    if (idle < 0 || send(idle, req, strlen(req), MSG_NOSIGNAL) < 0 || recv(idle, buf, sizeof buf, 0) <= 0)
        return false;
    char *a = ask(port, "GET /metrics HTTP/1.1\r\nHost: t\r\n" CLOSE);
    bool ok = !strncmp(a, "HTTP/1.1 200 ", 13);
    if (!ok)
        printf("# new scraper got: %.200s\n", a);
    free(a);
    /* Still open: nothing to read, no EOF (its idle timeout is 5 s). */
    bool open = recv(idle, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN;
    if (!open)
        printf("# the idle connection was closed\n");
    close(idle);
    return ok && open;
}

TEST(new_scraper_answered_at_the_cap)
{
    struct render_state rs = {0};
    struct scrape_opts o = {.cache_ms = 1000, .timeout_ms = 5000, .max_conns = 2};
    CHECK(run(&o, &rs, reclaimed, NULL));
}
