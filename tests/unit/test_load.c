/* SPDX-License-Identifier: MIT */
/* load_run against a server thread in this process (loopback, port 0)
 * that answers with canned responses: keep-alive, Connection: close, a
 * reset instead of an answer, or nothing at all. Counts and who closed each connection first
 * must come out exactly; two runs at once in one process must not share
 * their counters (they were file statics once: one load per process). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/load.h"
#include "test.h"

enum srv_mode { SRV_KEEPALIVE, SRV_CLOSE, SRV_RESET, SRV_SILENT };

#define SRV_CONNS 32

struct srv {
    enum srv_mode mode;
    int ls, stop[2];
    struct sockaddr_in addr;
    pthread_t thread;
    int fds[SRV_CONNS];
    size_t seen[SRV_CONNS]; /* bytes of the request head matched so far */
    unsigned accepted, requests;
};

static const char ok_keepalive[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
static const char ok_close[] = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";

static void drop(struct srv *s, int i, bool reset)
{
    if (reset) {
        struct linger lg = {1, 0};
        setsockopt(s->fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(s->fds[i]);
    s->fds[i] = -1;
}

/* One request is complete at each "\r\n\r\n" (GET: no body). */
static void answer(struct srv *s, int i, const char *buf, ssize_t n)
{
    static const char end[] = "\r\n\r\n";
    for (ssize_t k = 0; k < n && s->fds[i] >= 0; k++) {
        s->seen[i] = buf[k] == end[s->seen[i]] ? s->seen[i] + 1 : buf[k] == '\r';
        if (s->seen[i] < 4)
            continue;
        s->seen[i] = 0;
        s->requests++;
        if (s->mode == SRV_SILENT) {
            continue;
        } else if (s->mode == SRV_RESET) {
            drop(s, i, true);
        } else if (s->mode == SRV_CLOSE) {
            (void)!write(s->fds[i], ok_close, sizeof ok_close - 1);
            drop(s, i, false);
        } else {
            (void)!write(s->fds[i], ok_keepalive, sizeof ok_keepalive - 1);
        }
    }
}

static void accept_one(struct srv *s)
{
    int fd = accept(s->ls, NULL, NULL);
    for (int i = 0; fd >= 0 && i < SRV_CONNS; i++) {
        if (s->fds[i] < 0) {
            s->fds[i] = fd;
            s->seen[i] = 0;
            s->accepted++;
            return;
        }
    }
    if (fd >= 0)
        close(fd);
}

static void *serve(void *arg)
{
    struct srv *s = arg;
    for (;;) {
        struct pollfd p[SRV_CONNS + 2] = {{s->stop[0], POLLIN, 0}, {s->ls, POLLIN, 0}};
        for (int i = 0; i < SRV_CONNS; i++)
            p[i + 2] = (struct pollfd){s->fds[i], POLLIN, 0};
        if (poll(p, SRV_CONNS + 2, -1) < 0 || p[0].revents)
            break;
        if (p[1].revents)
            accept_one(s);
        for (int i = 0; i < SRV_CONNS; i++) {
            if (s->fds[i] < 0 || !p[i + 2].revents)
                continue;
            char buf[4096];
            ssize_t n = read(s->fds[i], buf, sizeof buf);
            if (n <= 0)
                drop(s, i, false);
            else
                answer(s, i, buf, n);
        }
    }
    return NULL;
}

static int srv_start(struct srv *s, enum srv_mode mode)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    for (int i = 0; i < SRV_CONNS; i++)
        s->fds[i] = -1;
    s->addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof s->addr;
    s->ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->ls < 0 || bind(s->ls, (struct sockaddr *)&s->addr, sizeof s->addr) < 0 ||
        listen(s->ls, 64) < 0 || getsockname(s->ls, (struct sockaddr *)&s->addr, &al) < 0 ||
        pipe(s->stop) < 0)
        return -1;
    return pthread_create(&s->thread, NULL, serve, s) ? -1 : 0;
}

static void srv_stop(struct srv *s)
{
    (void)!write(s->stop[1], "x", 1);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < SRV_CONNS; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    close(s->ls);
    close(s->stop[0]);
    close(s->stop[1]);
}

/* Options as closer load's defaults, towards s, bounded by -n requests. */
static struct load_opts *opts_for(const struct srv *s, unsigned conns, uint64_t requests)
{
    struct load_opts *o = calloc(1, sizeof *o);
    char url[64], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(s->addr.sin_port));
    if (!o || target_parse(url, &o->target, err, sizeof err) < 0) {
        free(o);
        return NULL;
    }
    o->dst = o->target.addr;
    o->dst_len = o->target.len;
    o->connections = conns;
    o->threads = 1;
    o->requests = requests;
    o->timeout_ms = 10000;
    o->method = "GET";
    o->keepalive = true;
    return o;
}

static uint64_t closed_total(const struct load_result *r)
{
    return r->closed_first[LC_SERVER] + r->closed_first[LC_CLIENT] + r->closed_first[LC_RESET] +
           r->open_at_end;
}

static int run(const struct load_opts *o, struct load_result *r)
{
    char err[256];
    return load_run(o, r, err, sizeof err);
}

TEST(keepalive_connections_stay_open_to_the_end)
{
    struct srv s;
    CHECK(srv_start(&s, SRV_KEEPALIVE) == 0);
    struct load_opts *o = opts_for(&s, 2, 50);
    struct load_result *r = calloc(1, sizeof *r);
    CHECK(o && r && run(o, r) == 0);
    srv_stop(&s);
    CHECK_EQ_INT(r->requests, 50);
    CHECK_EQ_INT(r->status_2xx, 50);
    CHECK_EQ_INT(r->connections, 2);
    CHECK_EQ_INT(r->open_at_end, 2);
    CHECK_EQ_INT(closed_total(r), r->connections);
    CHECK_EQ_INT(r->errors[LE_RESET] + r->errors[LE_OTHER] + r->errors[LE_TIMEOUT], 0);
    CHECK_EQ_INT(s.requests, 50);
    free(o);
    free(r);
}

/* Connection: close with --close-wait: the client waits for the server's
 * FIN, so every connection is the server's close. */
TEST(connection_close_is_the_servers_close)
{
    struct srv s;
    CHECK(srv_start(&s, SRV_CLOSE) == 0);
    struct load_opts *o = opts_for(&s, 1, 10);
    struct load_result *r = calloc(1, sizeof *r);
    CHECK(o && r);
    o->close_wait_ms = 5000;
    CHECK(run(o, r) == 0);
    srv_stop(&s);
    CHECK_EQ_INT(r->requests, 10);
    CHECK_EQ_INT(r->announced_closes, 10);
    CHECK_EQ_INT(r->connections, 10);
    CHECK_EQ_INT(r->closed_first[LC_SERVER], 10);
    CHECK_EQ_INT(r->closed_first[LC_CLIENT], 0);
    CHECK_EQ_INT(r->announced_client_first, 0);
    CHECK_EQ_INT(s.accepted, 10);
    free(o);
    free(r);
}

/* --requests-per-conn: the client closes after N on each connection. */
TEST(requests_per_conn_cap_is_the_clients_close)
{
    struct srv s;
    CHECK(srv_start(&s, SRV_KEEPALIVE) == 0);
    struct load_opts *o = opts_for(&s, 1, 20);
    struct load_result *r = calloc(1, sizeof *r);
    CHECK(o && r);
    o->requests_per_conn = 5;
    CHECK(run(o, r) == 0);
    srv_stop(&s);
    CHECK_EQ_INT(r->requests, 20);
    CHECK_EQ_INT(r->connections, 4);
    CHECK_EQ_INT(r->closed_first[LC_CLIENT], 4);
    CHECK_EQ_INT(r->closed_first[LC_SERVER], 0);
    CHECK_EQ_INT(closed_total(r), r->connections);
    free(o);
    free(r);
}

/* A reset instead of an answer: an error per request, a reset close per
 * connection, and -n still ends the run. */
TEST(reset_instead_of_an_answer)
{
    struct srv s;
    CHECK(srv_start(&s, SRV_RESET) == 0);
    struct load_opts *o = opts_for(&s, 1, 3);
    struct load_result *r = calloc(1, sizeof *r);
    CHECK(o && r && run(o, r) == 0);
    srv_stop(&s);
    CHECK_EQ_INT(r->requests, 0);
    CHECK_EQ_INT(r->errors[LE_RESET], 3);
    CHECK_EQ_INT(r->closed_first[LC_RESET], 3);
    CHECK_EQ_INT(closed_total(r), r->connections);
    free(o);
    free(r);
}

struct side_run {
    const struct load_opts *o;
    struct load_result r;
    int rc;
};

static void *run_side(void *arg)
{
    struct side_run *sr = arg;
    sr->rc = run(sr->o, &sr->r);
    return NULL;
}

/* Two runs at the same time: each stops at its own -n. */
TEST(two_runs_in_one_process)
{
    struct srv s;
    CHECK(srv_start(&s, SRV_KEEPALIVE) == 0);
    struct load_opts *a = opts_for(&s, 2, 300), *b = opts_for(&s, 2, 7);
    struct side_run *ra = calloc(1, sizeof *ra), *rb = calloc(1, sizeof *rb);
    CHECK(a && b && ra && rb);
    ra->o = a;
    rb->o = b;
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, run_side, ra) == 0);
    CHECK(pthread_create(&tb, NULL, run_side, rb) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    srv_stop(&s);
    CHECK_EQ_INT(ra->rc, 0);
    CHECK_EQ_INT(rb->rc, 0);
    CHECK_EQ_INT(ra->r.requests, 300);
    CHECK_EQ_INT(rb->r.requests, 7);
    CHECK_EQ_INT(ra->r.open_at_end, 2);
    CHECK_EQ_INT(rb->r.open_at_end, 2);
    CHECK_EQ_INT(s.requests, 307);
    free(a);
    free(b);
    free(ra);
    free(rb);
}

/* -d: the run ends by the clock (how many requests fit in it depends on
 * the machine's load: not checked). */
TEST(duration_bounds_the_run)
{
    struct srv s;
    CHECK(srv_start(&s, SRV_KEEPALIVE) == 0);
    struct load_opts *o = opts_for(&s, 2, 0);
    struct load_result *r = calloc(1, sizeof *r);
    CHECK(o && r);
    o->duration_ms = 100;
    CHECK(run(o, r) == 0);
    srv_stop(&s);
    CHECK(r->seconds >= 0.1);
    CHECK(r->requests <= s.requests);
    CHECK(!r->interrupted);
    CHECK_EQ_INT(closed_total(r), r->connections);
    free(o);
    free(r);
}

/* --rate: open loop, the requests sent from the schedule's backlog. */
TEST(open_loop_rate_sends_every_request)
{
    struct srv s;
    CHECK(srv_start(&s, SRV_KEEPALIVE) == 0);
    struct load_opts *o = opts_for(&s, 2, 20);
    struct load_result *r = calloc(1, sizeof *r);
    CHECK(o && r);
    o->rate = 2000;
    CHECK(run(o, r) == 0);
    srv_stop(&s);
    CHECK_EQ_INT(r->requests, 20);
    CHECK_EQ_INT(s.requests, 20);
    free(o);
    free(r);
}

/* --idle and --bind-range: a pause between requests, one source address. */
TEST(idle_pause_and_a_source_address)
{
    struct srv s;
    CHECK(srv_start(&s, SRV_KEEPALIVE) == 0);
    struct load_opts *o = opts_for(&s, 1, 4);
    struct load_result *r = calloc(1, sizeof *r);
    CHECK(o && r);
    o->idle_ms = 1;
    CHECK_EQ_INT(source_range_parse("127.0.0.1", o->sources, LOAD_MAX_SOURCES), 1);
    o->nsources = 1;
    CHECK(run(o, r) == 0);
    srv_stop(&s);
    CHECK_EQ_INT(r->requests, 4);
    CHECK_EQ_INT(r->connections, 1);
    free(o);
    free(r);
}

/* No answer: the request times out, an error that counts towards -n. */
TEST(no_answer_times_out)
{
    struct srv s;
    CHECK(srv_start(&s, SRV_SILENT) == 0);
    struct load_opts *o = opts_for(&s, 1, 1);
    struct load_result *r = calloc(1, sizeof *r);
    CHECK(o && r);
    o->timeout_ms = 50;
    CHECK(run(o, r) == 0);
    srv_stop(&s);
    CHECK_EQ_INT(r->requests, 0);
    CHECK_EQ_INT(r->errors[LE_TIMEOUT], 1);
    CHECK_EQ_INT(r->closed_first[LC_CLIENT], 1);
    free(o);
    free(r);
}

TEST(names_of_errors_and_closers)
{
    CHECK_EQ_STR(load_err_name(LE_UNSOLICITED), "unsolicited_bytes");
    CHECK_EQ_STR(load_err_name(LE_TLS), "tls");
    CHECK_EQ_STR(load_closer_name(LC_RESET), "reset");
}
