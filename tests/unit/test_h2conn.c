/* SPDX-License-Identifier: MIT */
/* h2conn against a server-side nghttp2 session on loopback TCP, both on
 * one event loop: status, bytes and Server per stream, the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS, its GOAWAY (last stream id, error
 * code) and the FIN after it, streams refused past the GOAWAY. No root. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/h2conn.h"
#include "loop/loop.h"
#include "test.h"

/* The server: answers every request 200 "ok" with Server: test/1; after
 * goaway_after answers, a GOAWAY NO_ERROR naming the last one, then FIN. */
struct srv {
    struct loop *l;
    int lfd, fd;
    nghttp2_session *s;
    unsigned max_streams, goaway_after, answered;
    bool fin_sent;
    char seen[256];           /* request header fields as received: "name=value;" */
};

static int srv_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                      const uint8_t *value, size_t vlen, uint8_t flags, void *u)
{
    (void)s, (void)f, (void)flags;
    struct srv *v = u;
    size_t l = strlen(v->seen);
    snprintf(v->seen + l, sizeof v->seen - l, "%.*s=%.*s;", (int)nlen, name, (int)vlen, value);
    return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *u)
{
    (void)s, (void)id, (void)src, (void)u;
    if (len < 2)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    memcpy(buf, "ok", 2);
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 2;
}

static int srv_frame(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
    struct srv *v = u;
    if (f->hd.type != NGHTTP2_HEADERS || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    if (v->goaway_after && v->answered >= v->goaway_after)
        return 0; /* past the GOAWAY: never processed */
    nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                       {(uint8_t *)"server", (uint8_t *)"test/1", 6, 6, 0}};
    nghttp2_data_provider dp = {.read_callback = body_read};
    nghttp2_submit_response(s, f->hd.stream_id, nv, 2, &dp);
    if (++v->answered == v->goaway_after)
        nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR, NULL, 0);
    return 0;
}

static void srv_send(struct srv *v)
{
    const uint8_t *p;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(v->s, &p)) > 0)
        if (write(v->fd, p, (size_t)n) != n)
            return;
    if (v->goaway_after && v->answered >= v->goaway_after && !v->fin_sent) {
        shutdown(v->fd, SHUT_WR); /* the server's FIN, after its GOAWAY */
        v->fin_sent = true;
    }
}

static void srv_io(struct loop *l, int fd, void *data, unsigned ev)
{
    (void)ev;
    struct srv *v = data;
    if (fd == v->lfd) {
        v->fd = accept(v->lfd, NULL, NULL);
        loop_add(l, v->fd, LOOP_READ, srv_io, v);
        nghttp2_session_callbacks *cb;
        nghttp2_session_callbacks_new(&cb);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_frame);
        nghttp2_session_callbacks_set_on_header_callback(cb, srv_header);
        nghttp2_session_server_new(&v->s, cb, v);
        nghttp2_session_callbacks_del(cb);
        nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, v->max_streams};
        nghttp2_submit_settings(v->s, NGHTTP2_FLAG_NONE, &iv, 1);
        srv_send(v);
        return;
    }
    uint8_t buf[16384];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
        loop_del(l, fd);
        return;
    }
    nghttp2_session_mem_recv(v->s, buf, (size_t)n);
    srv_send(v);
}

static int srv_start(struct srv *v, struct loop *l, struct sockaddr_in *a)
{
    socklen_t len = sizeof *a;
    v->l = l;
    v->fd = -1;
    v->lfd = socket(AF_INET, SOCK_STREAM, 0);
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(v->lfd, (struct sockaddr *)a, sizeof *a) || listen(v->lfd, 4) ||
        getsockname(v->lfd, (struct sockaddr *)a, &len))
        return -1;
    return loop_add(l, v->lfd, LOOP_READ, srv_io, v);
}

static void srv_stop(struct srv *v)
{
    if (v->fd >= 0) {
        loop_del(v->l, v->fd);
        close(v->fd);
    }
    loop_del(v->l, v->lfd);
    close(v->lfd);
    nghttp2_session_del(v->s);
}

/* The client side: what the callbacks saw. */
struct seen {
    struct h2stream st[4];
    unsigned streams, ok, refused, goaways;
    int status;
    uint64_t bytes;
    char server[96];
    bool ended;
    enum h2_end how;
    unsigned active_seen[4];  /* c->active as each on_stream began */
};

static void c_stream(struct h2conn *c, struct h2stream *s)
{
    struct seen *w = c->user;
    if (w->streams < 4)
        w->active_seen[w->streams] = c->active;
    w->streams++;
    if (s->refused) {
        w->refused++;
    } else if (s->status) {
        w->ok++;
        w->status = s->status;
        w->bytes += s->bytes;
        snprintf(w->server, sizeof w->server, "%s", s->server);
    }
    if (!c->goaway && w->streams == 1 && w->ok == 1 && !c->active)
        loop_stop(c->loop);
}

static void c_end(struct h2conn *c, enum h2_end how, int err)
{
    (void)err;
    struct seen *w = c->user;
    w->ended = true;
    w->how = how;
    loop_stop(c->loop);
}

static void c_goaway(struct h2conn *c)
{
    ((struct seen *)c->user)->goaways++;
}

static const struct h2conn_ops ops = {c_stream, c_end, NULL, c_goaway};

static void on_guard(struct loop *l, struct timer *t)
{
    (void)t;
    loop_stop(l); /* a test that waits too long fails instead of hanging */
}

static void run(struct loop *l, unsigned ms)
{
    struct timer guard;
    timer_init(&guard, on_guard);
    loop_timer_arm(l, &guard, ms);
    loop_run(l);
    loop_timer_cancel(l, &guard);
}

static const struct h2req rq = {.method = "GET", .scheme = "http", .authority = "test", .path = "/"};

TEST(stream_status_bytes_server_and_settings)
{
    struct loop *l = loop_new();
    struct srv v = {.max_streams = 5};
    struct sockaddr_in a;
    CHECK(srv_start(&v, l, &a) == 0);
    struct h2conn c = {.x.fd = -1};
    struct seen w = {0};
    c.timeout_ms = 5000;
    CHECK(h2conn_connect(&c, l, &ops, &w, (struct sockaddr *)&a, sizeof a, NULL, 0, NULL, "test") == 0);
    CHECK(h2conn_submit(&c, &rq, &w.st[0]) == 1);
    run(l, 5000);
    CHECK_EQ_INT(w.ok, 1);
    CHECK_EQ_INT(w.status, 200);
    CHECK_EQ_INT(w.bytes, 2);
    CHECK_EQ_STR(w.server, "test/1");
    CHECK(c.settings_seen);
    CHECK_EQ_INT(c.max_concurrent, 5);
    CHECK(!c.goaway && !w.ended);
    h2conn_free(&c);
    srv_stop(&v);
    loop_free(l);
}

/* The stream cap: GOAWAY after 2 answers with the last stream id (3),
 * the third stream refused (never processed), then the server's FIN. */
TEST(goaway_last_stream_refused_then_fin)
{
    struct loop *l = loop_new();
    struct srv v = {.max_streams = 100, .goaway_after = 2};
    struct sockaddr_in a;
    CHECK(srv_start(&v, l, &a) == 0);
    struct h2conn c = {.x.fd = -1};
    struct seen w = {0};
    c.timeout_ms = 5000;
    CHECK(h2conn_connect(&c, l, &ops, &w, (struct sockaddr *)&a, sizeof a, NULL, 0, NULL, "test") == 0);
    for (int i = 0; i < 3; i++)
        CHECK(h2conn_submit(&c, &rq, &w.st[i]) == 1 + 2 * i);
    for (int i = 0; i < 10 && !w.ended; i++)
        run(l, 5000);
    CHECK_EQ_INT(w.ok, 2);
    CHECK_EQ_INT(w.refused, 1);
    CHECK(w.st[2].refused);
    CHECK(c.goaway);
    CHECK_EQ_INT(w.goaways, 1);
    CHECK_EQ_INT(c.goaway_last_id, 3);
    CHECK_EQ_STR(h2_error_name(c.goaway_error), "NO_ERROR");
    CHECK(w.ended);
    CHECK_EQ_INT(w.how, H2_END_SERVER_FIN);
    CHECK(c.end_ns >= c.goaway_ns);
    CHECK(!h2conn_can_submit(&c));
    h2conn_free(&c);
    srv_stop(&v);
    loop_free(l);
}

/* Two answers parsed from one read: while the first is delivered the
 * second still counts as active, so a caller that closes when nothing is
 * pending (load after a GOAWAY) never drops an answer already received.
 * (Before: active fell at nghttp2's close, [0, 0], and load -n hung.) */
TEST(active_counts_undelivered_streams)
{
    struct loop *l = loop_new();
    struct srv v = {.max_streams = 100};
    struct sockaddr_in a;
    CHECK(srv_start(&v, l, &a) == 0);
    struct h2conn c = {.x.fd = -1};
    struct seen w = {0};
    CHECK(h2conn_connect(&c, l, &ops, &w, (struct sockaddr *)&a, sizeof a, NULL, 0, NULL, "test") == 0);
    CHECK(h2conn_submit(&c, &rq, &w.st[0]) == 1);
    CHECK(h2conn_submit(&c, &rq, &w.st[1]) == 3);
    for (int i = 0; i < 10 && w.ok < 2; i++)
        run(l, 5000);
    CHECK_EQ_INT(w.ok, 2);
    CHECK_EQ_INT(w.active_seen[0], 1);
    CHECK_EQ_INT(w.active_seen[1], 0);
    h2conn_free(&c);
    srv_stop(&v);
    loop_free(l);
}

/* -H lines go out lower-cased, Host and connection headers never (HTTP/2
 * forbids them; the authority carries the host), and the URL's user:pw as
 * Basic authorization. */
TEST(request_headers_and_authority)
{
    struct loop *l = loop_new();
    struct srv v = {.max_streams = 100};
    struct sockaddr_in a;
    CHECK(srv_start(&v, l, &a) == 0);
    struct h2conn c = {.x.fd = -1};
    struct seen w = {0};
    static const char *const hdrs[] = {"Host: other.test", "X-Test:  1", "Connection: close"};
    struct h2req r = {.method = "GET", .scheme = "http", .authority = "other.test", .path = "/p?q",
                      .headers = hdrs, .nheaders = 3, .basic_auth = "dXNlcjpwdw=="};
    CHECK(h2conn_connect(&c, l, &ops, &w, (struct sockaddr *)&a, sizeof a, NULL, 0, NULL, "test") == 0);
    CHECK(h2conn_submit(&c, &r, &w.st[0]) == 1);
    run(l, 5000);
    CHECK_EQ_INT(w.ok, 1);
    CHECK_EQ_STR(v.seen, ":method=GET;:scheme=http;:authority=other.test;:path=/p?q;x-test=1;"
                         "authorization=Basic dXNlcjpwdw==;");
    h2conn_free(&c);
    srv_stop(&v);
    loop_free(l);
}

/* An HTTP/1 request to nginx 'listen PORT http2' (h2c only) is answered
 * with SETTINGS and GOAWAY frames: these bytes, recorded from nginx 1.22. */
TEST(http2_frames_recognised)
{
    static const unsigned char nginx[] = {0, 0, 0x12, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0x80};
    static const unsigned char goaway[] = {0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    CHECK(h2_looks_like_frames(nginx, sizeof nginx));
    CHECK(h2_looks_like_frames(goaway, sizeof goaway));
    CHECK(!h2_looks_like_frames((const unsigned char *)"HTTP/1.1 200 OK\r\n", 17));
    CHECK(!h2_looks_like_frames(nginx, 8));
    static const unsigned char on_stream1[] = {0, 0, 0x12, 4, 0, 0, 0, 0, 1};
    CHECK(!h2_looks_like_frames(on_stream1, sizeof on_stream1));
    CHECK_EQ_STR(h2_error_name(0), "NO_ERROR");
    CHECK_EQ_STR(h2_error_name(0xb), "ENHANCE_YOUR_CALM");
    CHECK_EQ_STR(h2_error_name(0x99), "UNKNOWN");
}
