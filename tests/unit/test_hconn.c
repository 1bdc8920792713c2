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
