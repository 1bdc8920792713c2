/* SPDX-License-Identifier: MIT */
/* The server connection engine over socketpair(), no root: every corpus
 * request whole and byte by byte (same answer), a half-close at every
 * offset (closed at once, never left open), pipelined bursts (all
 * answered, in order), the body limit, and what an idle connection keeps. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "server/conn.h"
#include "srv_harness.h"
#include "test.h"

/* The answer without its Date lines (they change with the second). */
static char *undated(const struct harness *h)
{
    char *out = calloc(1, h->inlen + 1), *o = out;
    const char *p = h->in ? h->in : "";
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) + 1 : strlen(p);
        if (!strncmp(p, cont, sizeof cont - 1)) { /* sent only when no body byte is here yet */
            p += sizeof cont - 1;
            continue;
        }
        if (strncmp(p, "Date: ", 6)) {
            memcpy(o, p, n);
            o += n;
        }
        p += n;
    }
    return out;
}

/* Feeds req (whole, or one byte per loop step), then steps until quiet;
 * returns the undated answer and whether the server closed. */
static char *exchange(struct harness *h, const char *req, size_t len, bool bytewise, bool *closed)
{
    h_connect(h);
    if (bytewise) {
        for (size_t i = 0; i < len; i++) {
            h_send(h, req + i, 1);
            h_step(h);
        }
    } else {
        h_send(h, req, len);
    }
    h_pump(h);
    *closed = h->eof;
    char *a = undated(h);
    h_disconnect(h);
    return a;
}

static const char *const requests[] = {
    "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /a?b=c HTTP/1.0\r\n\r\n",
    "HEAD /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
    "\r\nGET /crlf HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    "get / HTTP/1.1\r\nHost: h\r\n\r\n",
};

static bool same_both_ways(struct harness *h, const char *req, size_t len)
{
    bool c1, c2;
    char *whole = exchange(h, req, len, false, &c1);
    char *bytes = exchange(h, req, len, true, &c2);
    bool same = !strcmp(whole, bytes) && c1 == c2 && whole[0];
    if (!same)
        printf("# differs for %.40s: whole '%.60s' bytes '%.60s'\n", req, whole, bytes);
    free(whole);
    free(bytes);
    return same;
}

TEST(every_request_byte_by_byte_as_whole)
{
    struct harness h;
    h_init(&h);
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++)
        CHECK(same_both_ways(&h, requests[i], strlen(requests[i])));
    /* The parser's seed corpus, when the tree has it. */
    DIR *d = opendir("tests/fuzz/corpus_request");
    struct dirent *e;
    int files = 0;
    while (d && (e = readdir(d))) {
        char path[512], buf[8192];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "tests/fuzz/corpus_request/%s", e->d_name);
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        if (n && !same_both_ways(&h, buf, n)) {
            printf("# corpus file %s\n", e->d_name);
            CHECK(0);
        }
        files++;
    }
    if (d)
        closedir(d);
    CHECK_EQ_INT(h.x.active, 0);
    h_free(&h);
}

/* A FIN after any prefix of a request: the connection is closed at once
 * (a partial request can never complete; waiting would spin on the
 * readable EOF), and a complete request is answered first. */
TEST(half_close_at_every_offset_closes)
{
    struct harness h;
    h_init(&h);
    for (size_t i = 0; i < 6; i++) {
        const char *req = requests[i];
        size_t len = strlen(req);
        for (size_t k = 0; k <= len; k++) {
            h_connect(&h);
            h_send(&h, req, k);
            shutdown(h.cfd, SHUT_WR);
            h_pump(&h);
            if (!h.eof || h.x.active != 0)
                printf("# request %zu cut at %zu of %zu: still open\n", i, k, len);
            CHECK(h.eof);
            CHECK_EQ_INT(h.x.active, 0);
            if (k == len)
                CHECK(h_count(&h, "HTTP/1.") >= 1);
            h_disconnect(&h);
        }
    }
    h_free(&h);
}

/* A burst of pipelined requests, larger than the read buffer: all
 * answered, in order, on one connection that stays open. */
TEST(pipelined_burst_answered_in_order)
{
    struct harness h;
    h_init(&h);
    h.cfg.keepalive_requests = 100000;
    enum { N = 2000 };
    size_t cap = N * 40, len = 0;
    char *burst = malloc(cap);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(burst + len, cap - len, "GET /%d HTTP/1.1\r\nHost: h\r\n\r\n", i);
    h_connect(&h);
    h_send(&h, burst, len);
    h_pump(&h);
    CHECK_EQ_INT(h_count(&h, "HTTP/1.1 200 OK"), N);
    const char *p = h.in;
    char want[32];
    for (int i = 0; i < N && p; i++) {
        snprintf(want, sizeof want, "GET /%d\n", i);
        p = strstr(p, want);
    }
    CHECK(p != NULL);
    CHECK(!h.eof);
    CHECK_EQ_INT(h.x.active, 1);
    free(burst);
    h_free(&h);
}

static void ask(struct harness *h, const char *req)
{
    h_connect(h);
    h_send(h, req, strlen(req));
    h_pump(h);
}

/* 413 as soon as the head says the body is too large, before any body
 * byte arrives and without 100 Continue; chunked over the limit: 413. */
TEST(body_limit_answered_at_once)
{
    struct harness h;
    h_init(&h);
    ask(&h, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n");
    CHECK(!strncmp(h.in, "HTTP/1.1 413 ", 13));
    CHECK_EQ_INT(h.handled, 0);
    h_disconnect(&h);
    ask(&h, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
    CHECK(!strncmp(h.in, "HTTP/1.1 413 ", 13));
    CHECK_EQ_INT(h_count(&h, "100 Continue"), 0);
    h_disconnect(&h);
    ask(&h, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 500\r\n\r\n");
    CHECK(!strncmp(h.in, "HTTP/1.1 100 Continue\r\n\r\n", 25));
    h_disconnect(&h);
    char chunked[4096];
    int n = snprintf(chunked, sizeof chunked,
                     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++)
        n += snprintf(chunked + n, sizeof chunked - (size_t)n, "1f4\r\n%0500d\r\n", 0);
    ask(&h, chunked);
    CHECK(!strncmp(h.in, "HTTP/1.1 413 ", 13));
    h_disconnect(&h);
    ask(&h, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    CHECK(!strncmp(h.in, "HTTP/1.1 200 ", 13));
    h_free(&h);
}

/* A request body is discarded, never parsed as the next request. */
TEST(body_is_not_a_request)
{
    struct harness h;
    h_init(&h);
    ask(&h, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    CHECK_EQ_INT(h.handled, 1);
    CHECK_EQ_INT(h_count(&h, "HTTP/1.1 "), 1);
    h_free(&h);
}

TEST(lowercase_method_and_bad_host_400)
{
    struct harness h;
    h_init(&h);
    ask(&h, "head / HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(!strncmp(h.in, "HTTP/1.1 400 ", 13));
    CHECK(h.eof);
    h_disconnect(&h);
    ask(&h, "GET / HTTP/1.1\r\nHost: a/../b\r\n\r\n");
    CHECK(!strncmp(h.in, "HTTP/1.1 400 ", 13));
    CHECK_EQ_INT(h.handled, 0);
    h_free(&h);
}

/* An idle keep-alive connection holds no buffer: both went back to the
 * pool, and the connection itself is small. */
TEST(idle_connection_holds_no_buffer)
{
    struct harness h;
    h_init(&h);
    ask(&h, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK_EQ_INT(h.x.active, 1);
    struct conn *c = NULL;
    for (size_t fd = 0; fd < h.x.conns_cap && !c; fd++)
        c = h.x.conns[fd];
    CHECK(c && conn_is_idle(c));
    CHECK(c->rbuf == NULL && c->obuf == NULL);
    CHECK(sizeof *c <= 256);
    h_free(&h);
}

/* Pipelined requests are answered by a loop, not by recursion: a full read
 * buffer of the smallest requests (~450) is answered on a 64 KiB stack (a
 * frame with a request struct per request would need ~1 MB). */
static void *small_stack_burst(void *arg)
{
    struct harness *h = arg;
    static const char req[] = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    enum { N = 3000 };
    char *burst = malloc(N * sizeof req);
    for (int i = 0; i < N; i++)
        memcpy(burst + i * (sizeof req - 1), req, sizeof req - 1);
    h_connect(h);
    h_send(h, burst, N * (sizeof req - 1));
    h_pump(h);
    free(burst);
    return NULL;
}

TEST(pipelining_is_a_loop_not_recursion)
{
    struct harness h;
    h_init(&h);
    h.cfg.keepalive_requests = 100000;
    pthread_attr_t a;
    pthread_t t;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    CHECK(pthread_create(&t, &a, small_stack_burst, &h) == 0);
    pthread_join(t, NULL);
    CHECK_EQ_INT(h_count(&h, "HTTP/1.0 200 OK"), 3000);
    h_free(&h);
}

/* The lingering close reads and discards what a client still sends, until
 * EOF, its per-read timeout or lingering_time. A client that never stops
 * sending must not hold the worker in that read loop: the reads per wake-up
 * are bounded, so the deadline is checked and other connections run. The
 * server's end is swapped for /dev/zero once it lingers, so every read has
 * data (a flood no real client could sustain on every run); the epoll
 * registration stays on the socket, kept open by a dup. An alarm turns the
 * old endless loop into a failure instead of a hang. */
static void drain_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL lingering_drain_is_bounded: the drain loop never returned\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(1);
}

TEST(lingering_drain_is_bounded)
{
    struct harness h;
    h_init(&h);
    h.cfg.lingering_time = 200; /* ms */
    h.cfg.lingering_timeout = 60000;
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    h.cfd = sv[0];
    loop_add(h.loop, h.cfd, LOOP_READ, h_on_client, &h);
    CHECK(srv_conn_accept(&h.x, sv[1]));
    static const char bad[] = "GET / HTTP/1.1\r\nHost: h\r\nno colon\r\n\r\n";
    h_send(&h, bad, sizeof bad - 1);
    h_pump(&h);
    CHECK(h_count(&h, "HTTP/1.1 400") == 1);
    CHECK_EQ_INT(h.x.active, 1); /* lingering: waiting for the client's FIN */
    int keep = dup(sv[1]), zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    CHECK(keep >= 0 && zero >= 0 && dup2(zero, sv[1]) == sv[1]);
    close(zero);
    signal(SIGALRM, drain_alarm);
    alarm(10);
    h_send(&h, "x", 1); /* the socket is readable from now on */
    h_step(&h);
    /* Past lingering_time the endless sender is cut off. */
    for (int i = 0; i < 1000 && h.x.active; i++) {
        usleep(1000);
        h_step(&h);
    }
    alarm(0);
    CHECK_EQ_INT(h.x.active, 0);
    close(keep);
    h_free(&h);
}

/* Trailer lines after the last chunk count against the body limit: without
 * it a client could send trailers forever (each line is bounded, their
 * number was not) and keep the connection reading, its body timeout
 * re-armed by every read. */
TEST(endless_trailers_hit_the_body_limit)
{
    struct harness h;
    h_init(&h);
    char req[8192];
    int n = snprintf(req, sizeof req, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
    for (int i = 0; i < 100; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "X-T%d: %040d\r\n", i, 0);
    ask(&h, req); /* 5 KiB of trailers, no end, max_body 1000 */
    CHECK(!strncmp(h.in, "HTTP/1.1 413 ", 13));
    h_disconnect(&h);
    ask(&h, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n");
    CHECK(!strncmp(h.in, "HTTP/1.1 200 ", 13));
    h_free(&h);
}

/* Steps the loop (sleeping a little between steps) until the server
 * closed or the loop's clock reached until_ms. */
static void h_wait(struct harness *h, uint64_t until_ms)
{
    while (!h->eof && loop_now_ms(h->loop) < until_ms) {
        usleep(2000);
        h_step(h);
    }
}

/* The keep-alive timer is re-armed lazily (left alone when it is due up to
 * 300 ms before the new deadline), yet the idle timeout is never cut
 * short: a request answered 150 ms into a 400 ms idle timeout moves the
 * close to 400 ms after that answer, not 400 ms after the first one. */
TEST(lazy_idle_timer_never_cuts_the_timeout_short)
{
    struct harness h;
    h_init(&h);
    h.cfg.keepalive_timeout = 400;
    ask(&h, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK_EQ_INT(h_count(&h, "HTTP/1.1 200 OK"), 1);
    h_wait(&h, loop_now_ms(h.loop) + 150);
    CHECK(!h.eof);
    uint64_t second = loop_now_ms(h.loop); /* the second answer comes no earlier */
    h_send(&h, "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n", 28);
    h_pump(&h);
    CHECK_EQ_INT(h_count(&h, "HTTP/1.1 200 OK"), 2);
    h_wait(&h, second + 5000);
    CHECK(h.eof);
    uint64_t closed = loop_now_ms(h.loop);
    if (closed < second + 400)
        printf("# closed %llu ms after the second answer\n", (unsigned long long)(closed - second));
    CHECK(closed >= second + 400);
    CHECK_EQ_INT(h.status.closed[CAUSE_IDLE_TIMEOUT], 1);
    h_free(&h);
}
