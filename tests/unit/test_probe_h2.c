/* SPDX-License-Identifier: MIT */
/* probe_h2_run end to end over loopback h2c: a server thread per
 * connection (tests/lib/canned.c) runs a server-side nghttp2 session that
 * answers every stream 200, announces SETTINGS_MAX_CONCURRENT_STREAMS,
 * ends a connection after N streams with GOAWAY NO_ERROR then its FIN (or
 * a RST), and an idle one after a timeout likewise. The probe's findings
 * and its reports are checked; times only within wide bands. No root. */
#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "canned.h"
#include "client/probe_h2.h"
#include "test.h"

struct h2policy {
    unsigned cap;             /* GOAWAY after this many answers (0: never) */
    int idle_ms;              /* GOAWAY after this long without a frame (0: never) */
    bool goaway_then_rst;     /* the TCP close after a GOAWAY is a RST */
    bool no_goaway;           /* close without a GOAWAY at all */
    const char *server;
    SSL_CTX *tls;             /* h2 over TLS (ALPN), the test certificate */
};

struct h2srv {
    const struct h2policy *p;
    nghttp2_session *s;
    int fd;
    SSL *ssl;                 /* NULL: h2c */
    unsigned answered;
    int32_t last_id;
    bool closing;
};

static ssize_t body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                    nghttp2_data_source *src, void *u)
{
    (void)s, (void)id, (void)src, (void)u;
    if (len < 3)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    memcpy(buf, "ok\n", 3);
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 3;
}

static void goaway(struct h2srv *v)
{
    if (!v->p->no_goaway)
        nghttp2_submit_goaway(v->s, NGHTTP2_FLAG_NONE, v->last_id, NGHTTP2_NO_ERROR, NULL, 0);
    v->closing = true;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
    struct h2srv *v = u;
    if (f->hd.type != NGHTTP2_HEADERS || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM) || v->closing)
        return 0;
    const char *server = v->p->server ? v->p->server : "test-h2/1";
    nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                       {(uint8_t *)"server", (uint8_t *)server, 6, strlen(server), 0}};
    nghttp2_data_provider dp = {.read_callback = body};
    nghttp2_submit_response(s, f->hd.stream_id, nv, 2, &dp);
    v->answered++;
    v->last_id = f->hd.stream_id;
    if (v->p->cap && v->answered >= v->p->cap)
        goaway(v);
    return 0;
}

static int flush(struct h2srv *v)
{
    const uint8_t *d;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(v->s, &d)) > 0)
        if (v->ssl ? SSL_write(v->ssl, d, (int)n) != (int)n : canned_write_all(v->fd, d, (size_t)n) < 0)
            return -1;
    return n < 0 ? -1 : 0;
}

static ssize_t take(struct h2srv *v, uint8_t *buf, size_t len)
{
    return v->ssl ? SSL_read(v->ssl, buf, (int)len) : read(v->fd, buf, len);
}

/* The server's ALPN choice: h2 when offered, unless the context says
 * http/1.1 only (then h2 is declined). */
static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg)
{
    (void)s;
    static const unsigned char h2[] = "\x02h2", h1[] = "\x08http/1.1";
    const unsigned char *want = arg ? h1 : h2;
    if (SSL_select_next_proto((unsigned char **)out, outlen, want, want[0] + 1u, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *server_ctx(bool h1_only)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (!c || SSL_CTX_use_certificate_file(c, "tests/data/tls/cert.pem", SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, "tests/data/tls/key.pem", SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(c);
        return NULL;
    }
    SSL_CTX_set_alpn_select_cb(c, alpn_select, h1_only ? (void *)1 : NULL);
    return c;
}

static enum canned_close serve_h2(int fd, unsigned index, void *arg)
{
    (void)index;
    struct h2srv v = {.p = arg, .fd = fd};
    if (v.p->tls) {
        v.ssl = SSL_new(v.p->tls);
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (!v.ssl || !SSL_set_fd(v.ssl, fd) || SSL_accept(v.ssl) != 1) {
            SSL_free(v.ssl);
            return CANNED_FIN; /* the client gave up on ALPN's answer */
        }
    }
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_server_new(&v.s, cb, &v);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry st[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(v.s, NGHTTP2_FLAG_NONE, st, 1);
    enum canned_close how = CANNED_FIN;
    uint8_t buf[16384];
    while (flush(&v) == 0 && !v.closing) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int ready = v.ssl && SSL_pending(v.ssl) ? 1 : poll(&pf, 1, v.p->idle_ms ? v.p->idle_ms : 8000);
        if (ready == 0) {
            goaway(&v); /* idle */
            flush(&v);
            break;
        }
        ssize_t n = ready > 0 ? take(&v, buf, sizeof buf) : -1;
        if (n <= 0 || nghttp2_session_mem_recv(v.s, buf, (size_t)n) < 0)
            break;
    }
    if (v.closing) {
        flush(&v);
        how = v.p->goaway_then_rst ? CANNED_RST : CANNED_FIN;
    }
    nghttp2_session_del(v.s);
    if (v.ssl && how == CANNED_FIN)
        SSL_shutdown(v.ssl);
    SSL_free(v.ssl);
    return how;
}

struct run {
    struct probe_opts o;
    struct probe_h2_result r;
    int rc;
    char err[256], *text, *json;
};

static char *report(struct run *x, bool json)
{
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    if (json)
        probe_h2_print_json(f, &x->o, &x->r);
    else
        probe_h2_print_text(f, &x->o, &x->r);
    fclose(f);
    return b;
}

static void probe(struct h2policy *p, struct run *x)
{
    memset(x, 0, sizeof *x);
    struct sockaddr_in a;
    struct canned *srv = canned_start(serve_h2, p, &a);
    char url[64];
    snprintf(url, sizeof url, "%s://127.0.0.1:%u/", p->tls ? "https" : "http", ntohs(a.sin_port));
    target_parse(url, &x->o.t, x->err, sizeof x->err);
    x->o.http2_prior = !p->tls;
    x->o.http2 = p->tls != NULL;
    x->o.tls_cfg.cacert = "tests/data/tls/cert.pem";
    x->o.deadline_ms = 15000;
    x->o.max_requests = 30;
    x->o.max_wait_ms = 4000;
    x->o.close_wait_ms = 2000;
    x->o.request_timeout_ms = 4000;
    x->o.idle_samples = 2;
    x->rc = srv ? probe_h2_run(&x->o, &x->r, x->err, sizeof x->err) : -2;
    canned_stop(srv);
    x->text = report(x, false);
    x->json = report(x, true);
}

static void done(struct run *x)
{
    free(x->text);
    free(x->json);
}

#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            test_fail(__FILE__, __LINE__, "%s (%s); the report:\n%s", #cond, x.err, x.text); \
            done(&x);                                                                      \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define HAS(s, what) EXPECT(strstr((s), (what)) != NULL)

/* nginx's way over h2c: GOAWAY after 10 streams then FIN, idle ones ended
 * by GOAWAY after 0.4 s. */
TEST(stream_cap_goaway_fin_and_idle_goaway)
{
    struct h2policy p = {.cap = 10, .idle_ms = 400, .server = "nginx/1.22.1"};
    struct run x;
    probe(&p, &x);
    EXPECT(x.rc == 0);
    EXPECT(x.r.status == 200 && !strcmp(x.r.server, "nginx/1.22.1"));
    EXPECT(x.r.max_streams_set && x.r.max_streams == 100);
    EXPECT(x.r.cap.goaway && x.r.cap_streams == 10 && !x.r.cap_stopped_at_max);
    EXPECT(x.r.cap.goaway_error == 0 && x.r.cap.last_stream_id == 19);
    EXPECT(x.r.cap.tcp == PC_FIN);
    EXPECT(x.r.idle_n == 2 && x.r.idle_closed == 2 && x.r.idle[0].goaway);
    EXPECT(x.r.idle_median > 0.2 && x.r.idle_median < 4);
    HAS(x.text, "over HTTP/2 (h2c, prior knowledge) (status 200)");
    HAS(x.text, "10 streams per connection: GOAWAY NO_ERROR (last stream 19), then the server's FIN");
    HAS(x.text, "keepalive_requests");
    HAS(x.json, "\"request_cap\":10");
    HAS(x.json, "\"mode\":\"h2c_prior_knowledge\"");
    done(&x);
}

/* No cap within max_requests; idle connections closed by RST, no GOAWAY. */
TEST(no_cap_idle_rst_without_goaway)
{
    struct h2policy p = {.idle_ms = 300, .no_goaway = true, .goaway_then_rst = true};
    struct run x;
    probe(&p, &x);
    EXPECT(x.rc == 0);
    EXPECT(x.r.cap_stopped_at_max && x.r.cap_streams == 30);
    EXPECT(x.r.idle_closed == 2 && !x.r.idle[0].goaway && x.r.idle[0].tcp == PC_RST);
    HAS(x.text, "none up to 30 streams back to back");
    HAS(x.json, "\"request_cap\":null");
    done(&x);
}

/* The same job on a thread of its own, as https:// runs it beside HTTP/1.
 * Its server closes with a FIN: an abortive close (RST) straight after the
 * GOAWAY drops what the server's kernel has not sent yet (Nagle holds the
 * last answer until the client's delayed ACK), so the client never sees
 * them, as it would not from a real server closing that way. */
TEST(job_on_its_own_thread)
{
    struct h2policy p = {.cap = 3, .idle_ms = 300};
    struct sockaddr_in a;
    struct canned *srv = canned_start(serve_h2, &p, &a);
    CHECK(srv);
    struct probe_opts o = {.http2_prior = true, .deadline_ms = 15000, .max_requests = 30,
                           .max_wait_ms = 4000, .close_wait_ms = 2000, .request_timeout_ms = 4000,
                           .idle_samples = 1};
    char url[64], err[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(a.sin_port));
    CHECK(target_parse(url, &o.t, err, sizeof err) == 0);
    struct probe_h2_job j = {0};
    probe_h2_begin(&j, &o);
    const struct probe_h2_result *r = probe_h2_finish(&j);
    canned_stop(srv);
    CHECK(r != NULL);
    CHECK(r->cap.goaway && r->cap_streams == 3 && r->cap.tcp == PC_FIN);
}

/* An HTTP/1 server asked for h2c: no HTTP/2 answer, and the error says so. */
static enum canned_close serve_http1(int fd, unsigned index, void *arg)
{
    (void)index, (void)arg;
    char head[4096];
    canned_read_head(fd, head, sizeof head, 2000); /* the preface reads as a request */
    static const char r400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    canned_write_all(fd, r400, sizeof r400 - 1);
    shutdown(fd, SHUT_WR); /* then read what is left (the SETTINGS frame): a FIN, not a RST */
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (read(fd, head, sizeof head) > 0)
        ;
    return CANNED_FIN;
}

TEST(http1_server_is_no_http2)
{
    struct sockaddr_in a;
    struct canned *srv = canned_start(serve_http1, NULL, &a);
    CHECK(srv);
    struct probe_opts o = {.http2_prior = true, .deadline_ms = 5000, .max_requests = 5,
                           .close_wait_ms = 1000, .request_timeout_ms = 2000, .idle_samples = 1};
    char url[64], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(a.sin_port));
    CHECK(target_parse(url, &o.t, err, sizeof err) == 0);
    struct probe_h2_result r;
    int rc = probe_h2_run(&o, &r, err, sizeof err);
    canned_stop(srv);
    CHECK_EQ_INT(rc, -1);
    if (!strstr(err, "the server answered the HTTP/2 preface in HTTP/1.x")) {
        test_fail(__FILE__, __LINE__, "err '%s'", err);
        return;
    }
}

/* https://: h2 chosen by ALPN, the same measurements over TLS. */
TEST(h2_by_alpn_over_tls)
{
    struct h2policy p = {.cap = 5, .idle_ms = 300, .server = "nginx/1.22.1", .tls = server_ctx(false)};
    CHECK(p.tls);
    struct run x;
    probe(&p, &x);
    SSL_CTX_free(p.tls);
    EXPECT(x.rc == 0);
    EXPECT(x.r.tls && !strcmp(x.r.alpn, "h2") && !x.r.h2_declined);
    EXPECT(x.r.cap.goaway && x.r.cap_streams == 5);
    EXPECT(x.r.idle_closed == 2);
    HAS(x.text, "over HTTP/2 (h2 by ALPN)");
    HAS(x.json, "\"alpn\":\"h2\"");
    done(&x);
}

/* A TLS server that chooses http/1.1 over h2: declined, and said so. */
TEST(h2_declined_by_alpn)
{
    struct h2policy p = {.tls = server_ctx(true)};
    CHECK(p.tls);
    struct run x;
    probe(&p, &x);
    SSL_CTX_free(p.tls);
    EXPECT(x.rc == -1 && x.r.h2_declined && !strcmp(x.r.alpn, "http/1.1"));
    EXPECT(strstr(x.err, "ALPN chose http/1.1, not h2") != NULL);
    done(&x);
}
