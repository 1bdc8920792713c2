/* SPDX-License-Identifier: MIT */
/* One client connection over real loopback TCP: responses as nginx sends
 * them (its header order, its 301/404 pages) with bodies of 0 B to 1 MB.
 * The headers a caller reads (Server, Via, Content-Type, Connection) must
 * survive the body being moved over the head in the buffer (issue 21: the
 * Server header was the body's bytes past ~17 bytes of body). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "canned.h"
#include "client/hconn.h"
#include "loop/loop.h"
#include "test.h"

struct got {
    int status, responses, ended;
    uint64_t bytes;
    char server[96], via[160], ctype[96], conn[64];
};

static void on_response(struct hconn *c, const struct http_response *r, uint64_t bytes)
{
    struct got *g = c->user;
    g->responses++;
    g->status = r->status;
    g->bytes = bytes;
    snprintf(g->server, sizeof g->server, "%s", c->hdr_server);
    snprintf(g->via, sizeof g->via, "%s", c->hdr_via);
    snprintf(g->ctype, sizeof g->ctype, "%s", c->hdr_content_type);
    snprintf(g->conn, sizeof g->conn, "%s", c->hdr_connection);
    hconn_close(c);
    loop_stop(c->loop);
}

static void on_end(struct hconn *c, enum hconn_end how, int err)
{
    (void)how, (void)err;
    struct got *g = c->user;
    g->ended++;
    loop_stop(c->loop);
}

static const struct hconn_ops ops = {on_response, on_end, NULL};

struct writer {
    int fd;
    const char *buf;
    size_t len;
};

static void *write_all(void *arg)
{
    struct writer *w = arg;
    char req[4096];
    (void)!read(w->fd, req, sizeof req); /* the request, then the answer */
    for (size_t off = 0; off < w->len;) {
        ssize_t n = write(w->fd, w->buf + off, w->len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(w->fd, SHUT_WR); /* ends an until-close body */
    return NULL;
}

/* Serves resp (len bytes) to one hconn request; fills g. */
static int exchange(const char *resp, size_t len, struct got *g)
{
    memset(g, 0, sizeof *g);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) < 0)
        return -1;
    struct loop *l = loop_new();
    struct hconn c = {.x.fd = -1, .timeout_ms = 10000};
    if (!l || hconn_connect(&c, l, &ops, g, (struct sockaddr *)&a, sizeof a, NULL, 0) < 0)
        return -1;
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    hconn_send(&c, req, sizeof req - 1, false);
    int s = accept(ls, NULL, NULL);
    struct writer w = {s, resp, len};
    pthread_t th;
    if (s < 0 || pthread_create(&th, NULL, write_all, &w))
        return -1;
    for (int i = 0; i < 1000 && !g->responses && !g->ended; i++)
        loop_run(l);
    pthread_join(th, NULL);
    hconn_free(&c);
    loop_free(l);
    close(s);
    close(ls);
    return 0;
}

/* nginx 1.22's head for a static file, in its order. */
static char *nginx_file(size_t body, size_t *len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 05:40:00 GMT\r\n"
                     "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Last-Modified: Mon, 07 Dec 2026 05:39:00 GMT\r\nConnection: keep-alive\r\n"
                     "ETag: \"6575a2c4-%zx\"\r\nVia: 1.1 varnish (Varnish/7.1)\r\n"
                     "Accept-Ranges: bytes\r\n\r\n", body, body);
    char *b = malloc((size_t)n + body);
    memcpy(b, head, (size_t)n);
    for (size_t i = 0; i < body; i++)
        b[n + i] = "abcdefghijklmnopqrstuvwxyz\n"[i % 27];
    *len = (size_t)n + body;
    return b;
}

TEST(server_header_survives_every_body_size)
{
    static const size_t sizes[] = {0, 17, 18, 55, 65536, 1048576};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t len;
        char *resp = nginx_file(sizes[i], &len);
        struct got g;
        CHECK(exchange(resp, len, &g) == 0);
        free(resp);
        if (g.responses != 1 || strcmp(g.server, "nginx/1.22.1") != 0) {
            test_fail(__FILE__, __LINE__, "body %zu: %d responses, Server '%s'", sizes[i],
                      g.responses, g.server);
            return;
        }
        CHECK(!strcmp(g.via, "1.1 varnish (Varnish/7.1)"));
        CHECK(!strcmp(g.ctype, "text/plain"));
        CHECK(!strcmp(g.conn, "keep-alive"));
    }
}

/* nginx's own 301 and 404 pages, as it sends them. */
TEST(server_header_on_301_and_404_pages)
{
    static const char r301[] =
        "HTTP/1.1 301 Moved Permanently\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 05:40:00 GMT\r\n"
        "Content-Type: text/html\r\nContent-Length: 169\r\nLocation: http://127.0.0.1/dir/\r\n"
        "Connection: keep-alive\r\n\r\n"
        "<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
        "<center><h1>301 Moved Permanently</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
        "</body>\r\n</html>\r\n";
    static const char r404[] =
        "HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 05:40:00 GMT\r\n"
        "Content-Type: text/html\r\nContent-Length: 153\r\nConnection: keep-alive\r\n\r\n"
        "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
        "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
        "</body>\r\n</html>\r\n";
    struct got g;
    CHECK(exchange(r301, sizeof r301 - 1, &g) == 0);
    CHECK_EQ_INT(g.status, 301);
    CHECK(!strcmp(g.server, "nginx/1.22.1"));
    CHECK(!strcmp(g.ctype, "text/html"));
    CHECK(exchange(r404, sizeof r404 - 1, &g) == 0);
    CHECK_EQ_INT(g.status, 404);
    CHECK(!strcmp(g.server, "nginx/1.22.1"));
}

/* Chunked and until-close bodies move the buffer too. */
TEST(server_header_with_chunked_and_until_close)
{
    static const char ch[] = "HTTP/1.1 200 OK\r\nServer: Apache/2.4.57 (Debian)\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n0\r\n\r\n";
    static const char uc[] = "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\n\r\n"
                             "a body that runs until the server closes the connection, longer than 55 b";
    struct got g;
    CHECK(exchange(ch, sizeof ch - 1, &g) == 0);
    CHECK(!strcmp(g.server, "Apache/2.4.57 (Debian)"));
    CHECK(exchange(uc, sizeof uc - 1, &g) == 0);
    CHECK(!strcmp(g.server, "SimpleHTTP/0.6 Python/3.11.2"));
}

/* Recorded responses (tests/data/responses/, see its README) replayed by
 * a loopback server: one request, the file's bytes, then the server's FIN.
 * A complete response is delivered before the FIN is looked at. */
struct replay {
    const char *file;
    size_t cut;               /* 0: the whole file; else only its first cut bytes */
    bool rst;                 /* end with a RST instead of a FIN */
    bool silent;              /* read the request, answer nothing */
    const char *prefix;       /* bytes sent before the file's (a 103 head) */
    char *data;
    size_t len;
};

static enum canned_close serve_replay(int fd, unsigned index, void *arg)
{
    (void)index;
    struct replay *r = arg;
    char req[4096], drain[512];
    if (canned_read_head(fd, req, sizeof req, 5000) <= 0)
        return CANNED_FIN;
    if (r->prefix)
        canned_write_all(fd, r->prefix, strlen(r->prefix));
    if (!r->silent)
        canned_write_all(fd, r->data, r->cut ? r->cut : r->len);
    if (r->rst)
        return CANNED_RST;
    if (!r->silent)
        shutdown(fd, SHUT_WR);
    struct timeval tv = {5, 0}; /* until the client closes (bounded) */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (read(fd, drain, sizeof drain) > 0)
        ;
    return CANNED_FIN;
}

struct seen {
    int responses, status;
    bool ended;
    enum hconn_end how;
    uint64_t bytes, extra;
    long ka_timeout, ka_max;
    char server[96], via[160], conn[64], names[256], first[48];
    bool have_head;
};

static void seen_response(struct hconn *c, const struct http_response *r, uint64_t bytes)
{
    struct seen *g = c->user;
    g->responses++;
    g->status = r->status;
    g->bytes = bytes;
    g->ka_timeout = c->keep_alive_timeout;
    g->ka_max = c->keep_alive_max;
    snprintf(g->server, sizeof g->server, "%s", c->hdr_server);
    snprintf(g->via, sizeof g->via, "%s", c->hdr_via);
    snprintf(g->conn, sizeof g->conn, "%s", c->hdr_connection);
    snprintf(g->names, sizeof g->names, "%s", c->hdr_names);
    if (!c->doomed)
        hconn_close(c);
    loop_stop(c->loop);
}

static void seen_end(struct hconn *c, enum hconn_end how, int err)
{
    (void)err;
    struct seen *g = c->user;
    g->ended = true;
    g->how = how;
    g->extra = c->extra_bytes;
    g->have_head = c->have_head;
    snprintf(g->first, sizeof g->first, "%s", c->first_bytes);
    loop_stop(c->loop);
}

static const struct hconn_ops seen_ops = {seen_response, seen_end, NULL};

/* One request against the replay; fills g. -1: the test's own setup failed. */
static int replay(struct replay *r, struct seen *g, uint64_t timeout_ms)
{
    memset(g, 0, sizeof *g);
    if (r->file && !(r->data = canned_load(r->file, &r->len)))
        return -1;
    struct sockaddr_in a;
    struct canned *srv = canned_start(serve_replay, r, &a);
    struct loop *l = loop_new();
    struct hconn c = {.x.fd = -1, .timeout_ms = timeout_ms};
    int rc = -1;
    if (srv && l && hconn_connect(&c, l, &seen_ops, g, (struct sockaddr *)&a, sizeof a, NULL, 0) == 0) {
        static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
        hconn_send(&c, req, sizeof req - 1, false);
        for (int i = 0; i < 2000 && c.st != HC_CLOSED; i++)
            loop_run(l);
        rc = 0;
    }
    hconn_free(&c);
    loop_free(l);
    canned_stop(srv);
    free(r->data);
    r->data = NULL;
    return rc;
}

static const struct {
    const char *file;
    int status;
    const char *server, *via, *conn;
} recorded[] = {
    {"nginx_200_0.http", 200, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_200_1.http", 200, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_200_17.http", 200, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_200_18.http", 200, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_200_55.http", 200, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_200_4096.http", 200, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_200_chunked_gzip.http", 200, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_200_until_close_http10.http", 200, "nginx/1.22.1", "", "close"},
    {"nginx_301.http", 301, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_404.http", 404, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_405_post.http", 405, "nginx/1.22.1", "", "keep-alive"},
    {"nginx_400_bad_request.http", 400, "nginx/1.22.1", "", "close"},
    {"nginx_connection_close.http", 200, "nginx/1.22.1", "", "close"},
    {"nginx_http10_keepalive.http", 200, "nginx/1.22.1", "", "keep-alive"},
    {"apache_200_55.http", 200, "Apache/2.4.71 (Debian)", "", ""},
    {"apache_404.http", 404, "Apache/2.4.71 (Debian)", "", ""},
    {"apache_http10_keepalive.http", 200, "Apache/2.4.71 (Debian)", "", "Keep-Alive"},
    {"lighttpd_200_18.http", 200, "lighttpd/1.4.69", "", ""},
    {"python_http10_200_17.http", 200, "SimpleHTTP/0.6 Python/3.11.7", "", ""},
    {"varnish_nginx_200_4096.http", 200, "nginx/1.22.1", "1.1 varnish (Varnish/7.1)", "keep-alive"},
    {"haproxy_503.http", 503, "", "", ""},
    {"gunicorn_100_continue_200.http", 200, "gunicorn", "", "close"},
    {"gunicorn_200_chunked.http", 200, "gunicorn", "", "close"},
    {"gunicorn_500.http", 500, "", "", "close"},
};

/* Every recorded answer: status, Server, Via, Connection as sent, and
 * every byte counted (a 100 Continue head included). */
TEST(recorded_responses_status_headers_and_bytes)
{
    for (size_t i = 0; i < sizeof recorded / sizeof recorded[0]; i++) {
        struct replay r = {.file = recorded[i].file};
        struct seen g;
        CHECK(replay(&r, &g, 10000) == 0);
        size_t len;
        char *d = canned_load(recorded[i].file, &len);
        free(d);
        if (g.responses != 1 || g.status != recorded[i].status || g.bytes != len ||
            strcmp(g.server, recorded[i].server) || strcmp(g.via, recorded[i].via) ||
            strcmp(g.conn, recorded[i].conn)) {
            test_fail(__FILE__, __LINE__, "%s: %d responses, status %d, %llu of %zu bytes, "
                      "Server '%s', Via '%s', Connection '%s'", recorded[i].file, g.responses,
                      g.status, (unsigned long long)g.bytes, len, g.server, g.via, g.conn);
            return;
        }
    }
}

TEST(recorded_keep_alive_parameters_and_header_names)
{
    struct replay r = {.file = "apache_http10_keepalive.http"};
    struct seen g;
    CHECK(replay(&r, &g, 10000) == 0);
    CHECK_EQ_INT(g.ka_timeout, 3);
    CHECK_EQ_INT(g.ka_max, 7);
    r = (struct replay){.file = "nginx_200_18.http"};
    CHECK(replay(&r, &g, 10000) == 0);
    CHECK_EQ_INT(g.ka_timeout, -1);
    CHECK_EQ_INT(g.ka_max, -1);
    r = (struct replay){.file = "haproxy_503.http"};
    CHECK(replay(&r, &g, 10000) == 0);
    CHECK_EQ_STR(g.names, "content-length,cache-control,content-type");
}

/* 103 Early Hints (nginx 1.22 sends none: the interim head is written
 * here) then nginx's answer: the final head's headers are the ones kept. */
TEST(early_hints_then_the_answer)
{
    struct replay r = {.file = "nginx_200_18.http",
                       .prefix = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n"
                                 "Server: early-hints\r\n\r\n"};
    struct seen g;
    CHECK(replay(&r, &g, 10000) == 0);
    CHECK_EQ_INT(g.responses, 1);
    CHECK_EQ_INT(g.status, 200);
    CHECK_EQ_STR(g.server, "nginx/1.22.1");
}

TEST(closed_mid_head_and_mid_body)
{
    struct replay r = {.file = "nginx_200_55.http", .cut = 40};
    struct seen g;
    CHECK(replay(&r, &g, 10000) == 0);
    CHECK_EQ_INT(g.responses, 0);
    CHECK(g.ended && g.how == HC_END_EARLY_CLOSE && !g.have_head);
    CHECK(!strncmp(g.first, "HTTP/1.1 200 OK..Server: nginx", 30));
    size_t len;
    free(canned_load("nginx_200_55.http", &len));
    r = (struct replay){.file = "nginx_200_55.http", .cut = len - 10};
    CHECK(replay(&r, &g, 10000) == 0);
    CHECK(g.ended && g.how == HC_END_EARLY_CLOSE && g.have_head);
    free(canned_load("gunicorn_200_chunked.http", &len));
    r = (struct replay){.file = "gunicorn_200_chunked.http", .cut = len - 10, .rst = true};
    CHECK(replay(&r, &g, 10000) == 0);
    CHECK_EQ_INT(g.responses, 0);
    CHECK(g.ended && g.how == HC_END_RESET);
}

/* Three answers at once to one request (nginx's, recorded pipelined): the
 * first is delivered, the rest were asked for by nothing. */
TEST(pipelined_answers_to_one_request_are_extra_bytes)
{
    struct replay r = {.file = "nginx_pipelined_3_cap.http"};
    struct seen g;
    CHECK(replay(&r, &g, 10000) == 0);
    CHECK_EQ_INT(g.responses, 1);
    CHECK(g.ended && g.how == HC_END_EXTRA_BYTES);
    size_t len;
    char *d = canned_load("nginx_pipelined_3_cap.http", &len);
    CHECK(d);
    const char *second = strstr(d + 1, "HTTP/1.1 200");
    CHECK(second);
    CHECK_EQ_INT(g.extra, len - (size_t)(second - d));
    free(d);
}

TEST(not_http_silence_and_refusal)
{
    struct replay r = {.file = NULL};
    r.data = strdup("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n\r\n");
    r.len = strlen(r.data);
    struct seen g;
    CHECK(replay(&r, &g, 10000) == 0);
    CHECK(g.ended && g.how == HC_END_BAD_RESPONSE);
    CHECK(!strncmp(g.first, "SSH-2.0-OpenSSH_9.2p1", 21));
    r = (struct replay){.file = "nginx_200_1.http", .silent = true};
    CHECK(replay(&r, &g, 50) == 0);
    CHECK(g.ended && g.how == HC_END_TIMEOUT);
    /* A port nobody listens on: bound, never listening. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
          getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    struct loop *l = loop_new();
    struct hconn c = {.x.fd = -1, .timeout_ms = 5000};
    CHECK(hconn_connect(&c, l, &seen_ops, &g, (struct sockaddr *)&a, sizeof a, NULL, 0) == 0);
    memset(&g, 0, sizeof g);
    hconn_send(&c, "GET / HTTP/1.1\r\n\r\n", 18, false);
    for (int i = 0; i < 100 && !g.ended; i++)
        loop_run(l);
    hconn_free(&c);
    loop_free(l);
    close(fd);
    CHECK(g.ended && g.how == HC_END_REFUSED);
}
