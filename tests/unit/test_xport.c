/* SPDX-License-Identifier: MIT */
/* client/xport and tls/tls over a socketpair: the far end is an OpenSSL
 * server in the same thread, both sides non-blocking and pumped in turn.
 * What a closing peer looks like through the transport is what closer
 * reports: close_notify with its FIN, a FIN without one (truncation). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* tcpi_segs_in: glibc's tcp_info lacks it */
#include <poll.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/xport.h"
#include "test.h"

#define CERT "tests/data/tls/cert.pem"
#define KEY "tests/data/tls/key.pem"

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return -1;
    nonblock(sv[0]);
    nonblock(sv[1]);
    return 0;
}

TEST(plain_reads_and_sees_the_fin)
{
    int sv[2];
    CHECK(pair(sv) == 0);
    struct xport x = {.fd = sv[0]};
    char buf[16];
    CHECK(xport_handshake(&x) == 1);
    CHECK(xport_read(&x, buf, sizeof buf) == -1 && errno == EAGAIN);
    CHECK(write(sv[1], "hi", 2) == 2);
    CHECK(!xport_peer_closed(&x));
    CHECK_EQ_INT(xport_read(&x, buf, sizeof buf), 2);
    CHECK(xport_write(&x, "yo", 2) == 2);
    CHECK(read(sv[1], buf, sizeof buf) == 2);
    close(sv[1]);
    CHECK(xport_peer_closed(&x));
    CHECK_EQ_INT(xport_read(&x, buf, sizeof buf), 0);
    CHECK(x.peer_eof);
    CHECK(xport_tls(&x) == NULL);
    xport_free(&x);
    CHECK(x.fd == -1);
}

static SSL_CTX *server_ctx(void)
{
    SSL_CTX *s = SSL_CTX_new(TLS_server_method());
    if (!s || SSL_CTX_use_certificate_file(s, CERT, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(s, KEY, SSL_FILETYPE_PEM) != 1)
        return NULL;
    return s;
}

/* Client and server handshakes, in turn, until both are done. */
static int pump_handshake(struct xport *x, SSL *srv)
{
    int c = 0, s = 0;
    for (int i = 0; i < 100 && (c != 1 || s != 1); i++) {
        if (c != 1 && (c = xport_handshake(x)) < 0)
            return -1;
        if (s != 1)
            s = SSL_do_handshake(srv);
    }
    return c == 1 && s == 1 ? 0 : -1;
}

struct tls_case {
    int sv[2];
    SSL_CTX *sctx;
    SSL *srv;
    struct tls_ctx *cctx;
    struct xport x;
};

static int tls_open(struct tls_case *t, struct tls_ctx *cctx, SSL_CTX *sctx, const char *host)
{
    memset(&t->x, 0, sizeof t->x);
    if (pair(t->sv) < 0)
        return -1;
    t->sctx = sctx;
    t->cctx = cctx;
    t->srv = SSL_new(sctx);
    SSL_set_fd(t->srv, t->sv[1]);
    SSL_set_accept_state(t->srv);
    t->x.fd = t->sv[0];
    if (xport_start_tls(&t->x, cctx, host) < 0)
        return -1;
    return pump_handshake(&t->x, t->srv);
}

static void tls_done(struct tls_case *t)
{
    SSL_free(t->srv);
    close(t->sv[1]);
    xport_free(&t->x);
}

/* Reads until data, EOF or an error, letting the server side run between. */
static ssize_t read_some(struct xport *x, char *buf, size_t len)
{
    for (int i = 0; i < 100; i++) {
        ssize_t n = xport_read(x, buf, len);
        if (n >= 0 || errno != EAGAIN)
            return n;
    }
    return -1;
}

static struct tls_ctx *client_ctx(bool no_resume)
{
    struct tls_cfg cfg = {.cacert = CERT, .alpn = "http/1.1", .no_resume = no_resume};
    char err[256];
    return tls_ctx_new(&cfg, err, sizeof err);
}

TEST(tls_close_notify_with_fin)
{
    SSL_CTX *s = server_ctx();
    struct tls_ctx *c = client_ctx(false);
    CHECK(s && c);
    struct tls_case t;
    CHECK(tls_open(&t, c, s, "closer.test") == 0);
    const struct tls_info *i = xport_tls(&t.x);
    CHECK(i && i->done && !i->resumed);
    CHECK(!strncmp(i->version, "TLSv1.", 6));
    char buf[64];
    size_t w;
    CHECK(SSL_write_ex(t.srv, "hello", 5, &w) == 1);
    CHECK_EQ_INT(read_some(&t.x, buf, sizeof buf), 5);
    CHECK(!xport_peer_closed(&t.x));
    SSL_shutdown(t.srv); /* close_notify, then the FIN */
    shutdown(t.sv[1], SHUT_WR);
    CHECK(xport_peer_closed(&t.x));
    CHECK_EQ_INT(read_some(&t.x, buf, sizeof buf), 0);
    CHECK(i->peer_close_notify && !i->truncated);
    CHECK(t.x.fin_with_notify && !t.x.rst_after_notify);
    tls_done(&t);
    SSL_CTX_free(s);
    tls_ctx_free(c);
}

TEST(tls_fin_without_close_notify_is_truncation)
{
    SSL_CTX *s = server_ctx();
    struct tls_ctx *c = client_ctx(false);
    CHECK(s && c);
    struct tls_case t;
    CHECK(tls_open(&t, c, s, "127.0.0.1") == 0);
    char buf[64];
    shutdown(t.sv[1], SHUT_WR);
    CHECK_EQ_INT(read_some(&t.x, buf, sizeof buf), 0);
    const struct tls_info *i = xport_tls(&t.x);
    CHECK(i->truncated && !i->peer_close_notify);
    tls_done(&t);
    SSL_CTX_free(s);
    tls_ctx_free(c);
}

TEST(tls_client_close_sends_close_notify)
{
    SSL_CTX *s = server_ctx();
    struct tls_ctx *c = client_ctx(false);
    CHECK(s && c);
    struct tls_case t;
    CHECK(tls_open(&t, c, s, "closer.test") == 0);
    xport_close(&t.x, true);
    CHECK(xport_tls(&t.x)->sent_close_notify);
    char buf[8];
    size_t n;
    int r = SSL_read_ex(t.srv, buf, sizeof buf, &n);
    CHECK(r == 0 && SSL_get_error(t.srv, r) == SSL_ERROR_ZERO_RETURN);
    tls_done(&t);
    SSL_CTX_free(s);
    tls_ctx_free(c);
}

TEST(tls_wrong_name_fails_verification)
{
    SSL_CTX *s = server_ctx();
    struct tls_ctx *c = client_ctx(false);
    CHECK(s && c);
    struct tls_case t;
    CHECK(tls_open(&t, c, s, "wrong.test") < 0);
    CHECK(strstr(xport_error(&t.x), "certificate verification failed") != NULL);
    tls_done(&t);
    SSL_CTX_free(s);
    tls_ctx_free(c);
}

/* The session the first connection got is offered by the second; with
 * no_resume it never is. */
static int second_resumes(bool no_resume)
{
    SSL_CTX *s = server_ctx();
    struct tls_ctx *c = client_ctx(no_resume);
    struct tls_case a, b;
    char buf[8];
    size_t w;
    int resumed = -1;
    if (s && c && tls_open(&a, c, s, "closer.test") == 0) {
        SSL_write_ex(a.srv, "x", 1, &w); /* TLSv1.3 tickets come after the handshake */
        read_some(&a.x, buf, sizeof buf);
        if (tls_open(&b, c, s, "closer.test") == 0)
            resumed = xport_tls(&b.x)->resumed;
        tls_done(&b);
    }
    tls_done(&a);
    SSL_CTX_free(s);
    tls_ctx_free(c);
    return resumed;
}

TEST(tls_session_resumed_unless_refused)
{
    CHECK_EQ_INT(second_resumes(false), 1);
    CHECK_EQ_INT(second_resumes(true), 0);
}

TEST(tls_bad_cacert_is_a_clear_error)
{
    struct tls_cfg cfg = {.cacert = "/nonexistent/ca.pem"};
    char err[256];
    CHECK(tls_ctx_new(&cfg, err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/ca.pem") != NULL);
    struct tls_cfg bad = {.alpn = "h2,,x"};
    CHECK(tls_ctx_new(&bad, err, sizeof err) == NULL);
    CHECK(strstr(err, "ALPN") != NULL);
}

/* TLSv1.3 tickets are single use: the server's two tickets resume two
 * later connections, and a third is not offered a used one (it would be
 * refused: a full handshake that reads as "resumption broken"). */
TEST(tls13_tickets_are_offered_once)
{
    SSL_CTX *s = server_ctx();
    struct tls_ctx *c = client_ctx(false);
    CHECK(s && c);
    SSL_CTX_set_min_proto_version(s, TLS1_3_VERSION);
    struct tls_case a, b[3];
    char buf[8];
    size_t w;
    CHECK(tls_open(&a, c, s, "closer.test") == 0);
    SSL_write_ex(a.srv, "x", 1, &w);
    read_some(&a.x, buf, sizeof buf);
    CHECK_EQ_INT(tls_ctx_sessions_kept(c), 2);
    for (int i = 0; i < 3; i++)
        CHECK(tls_open(&b[i], c, s, "closer.test") == 0);
    CHECK(xport_tls(&b[0].x)->offered && xport_tls(&b[0].x)->resumed);
    CHECK(xport_tls(&b[1].x)->offered && xport_tls(&b[1].x)->resumed);
    CHECK(!xport_tls(&b[2].x)->offered && !xport_tls(&b[2].x)->resumed);
    for (int i = 0; i < 3; i++)
        tls_done(&b[i]);
    tls_done(&a);
    SSL_CTX_free(s);
    tls_ctx_free(c);
}

/* A server that closes cleanly (close_notify, then its FIN) and a client
 * that does not answer it: both of the server's TLSv1.3 tickets stay good.
 * OpenSSL marked the newest not resumable when the connection was freed,
 * so every other connection after a server's close was a full handshake. */
TEST(tls_tickets_survive_a_clean_server_close)
{
    SSL_CTX *s = server_ctx();
    struct tls_ctx *c = client_ctx(false);
    CHECK(s && c);
    SSL_CTX_set_min_proto_version(s, TLS1_3_VERSION);
    struct tls_case a, b[2];
    char buf[8];
    size_t w;
    CHECK(tls_open(&a, c, s, "closer.test") == 0);
    SSL_write_ex(a.srv, "x", 1, &w);
    CHECK_EQ_INT(read_some(&a.x, buf, sizeof buf), 1);
    SSL_shutdown(a.srv);
    shutdown(a.sv[1], SHUT_WR);
    CHECK_EQ_INT(read_some(&a.x, buf, sizeof buf), 0);
    CHECK(xport_tls(&a.x)->peer_close_notify);
    tls_done(&a); /* the client closes without close_notify of its own */
    CHECK_EQ_INT(tls_ctx_sessions_kept(c), 2);
    for (int i = 0; i < 2; i++) {
        CHECK(tls_open(&b[i], c, s, "closer.test") == 0);
        CHECK(xport_tls(&b[i].x)->offered && xport_tls(&b[i].x)->resumed);
    }
    for (int i = 0; i < 2; i++)
        tls_done(&b[i]);
    SSL_CTX_free(s);
    tls_ctx_free(c);
}

/* Over real TCP (loopback): the client's close_notify and its FIN arrive
 * in one segment. Sent apart, a server that closes on reading close_notify
 * can send its FIN before the client's: the TIME_WAIT of a client-first
 * close then lands on the server (nginx: 3 to 5% of connections). */
static int tcp_pair(int *cli, int *srv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) < 0)
        return -1;
    *cli = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*cli, (struct sockaddr *)&a, sizeof a) < 0)
        return -1;
    *srv = accept(l, NULL, NULL);
    close(l);
    nonblock(*cli);
    nonblock(*srv);
    return *srv < 0 ? -1 : 0;
}

static unsigned segs_in(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
    return ti.tcpi_segs_in;
}

TEST(tls_close_notify_and_fin_in_one_segment)
{
    SSL_CTX *s = server_ctx();
    struct tls_ctx *c = client_ctx(false);
    CHECK(s && c);
    int cfd, sfd;
    CHECK(tcp_pair(&cfd, &sfd) == 0);
    SSL *srv = SSL_new(s);
    SSL_set_fd(srv, sfd);
    SSL_set_accept_state(srv);
    struct xport x = {.fd = cfd};
    CHECK(xport_start_tls(&x, c, "closer.test") == 0);
    int hs = -1;
    for (int i = 0; i < 2000 && hs != 0; i++) {
        hs = pump_handshake(&x, srv);
        if (hs != 0)
            poll(NULL, 0, 1);
    }
    CHECK(hs == 0);
    char buf[256];
    for (int i = 0; i < 50; i++) { /* the tickets, and quiet */
        xport_read(&x, buf, sizeof buf);
        poll(NULL, 0, 2);
    }
    unsigned before = segs_in(sfd);
    xport_close(&x, true);
    ssize_t n = 1;
    for (int i = 0; i < 2000 && n != 0; i++) { /* the server drains to EOF */
        n = recv(sfd, buf, sizeof buf, 0);
        if (n < 0)
            poll(NULL, 0, 1);
    }
    CHECK(n == 0);
    CHECK_EQ_INT(segs_in(sfd) - before, 1);
    xport_free(&x);
    SSL_free(srv);
    close(sfd);
    SSL_CTX_free(s);
    tls_ctx_free(c);
}
