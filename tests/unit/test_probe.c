/* SPDX-License-Identifier: MIT */
/* probe_run end to end over loopback: a server thread per connection
 * (tests/lib/canned.c) speaks a scripted policy (a request cap announced
 * with Connection: close then FIN or RST, an idle timeout, a lifetime,
 * HTTP/1.0 only, an error status, no HTTP at all) and the probe's findings
 * and its text and JSON reports are checked. Times are kept short; none is
 * asserted beyond a generous band. No root. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <poll.h>

#include "canned.h"
#include "client/probe.h"
#include "test.h"

struct policy {
    const char *server;       /* Server header, NULL: none */
    const char *keep_alive;   /* Keep-Alive header value, NULL: none */
    int status;               /* 0: 200 */
    bool http10;              /* answers HTTP/1.0 and closes after each */
    unsigned cap;             /* the cap-th answer says Connection: close (0: none) */
    bool cap_rst;             /* ... and the close is a RST */
    int idle_ms;              /* closes a connection idle this long (0: never) */
    bool idle_rst;
    int lifetime_ms;          /* first answer past this age says Connection: close */
    const char *raw;          /* answer these bytes instead, then close */
    size_t raw_len;
    SSL_CTX *tls;             /* serve_tls: the server's context */
    bool tls_no_notify;       /* serve_tls: FIN without close_notify (a truncation) */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool asks(const char *head, const char *what)
{
    return strcasestr(head, what) != NULL;
}

/* The answer to the n-th request of a connection born at born (ms); *last:
 * the server ends the connection after it, *capped: because of the cap. */
static int answer(const struct policy *p, const char *head, unsigned n, uint64_t born, char *resp,
                  size_t cap, bool *last, bool *capped)
{
    bool v10 = strstr(head, "HTTP/1.0\r\n") != NULL;
    *capped = p->cap && n >= p->cap;
    *last = p->http10 || asks(head, "connection: close") || (v10 && !asks(head, "keep-alive")) ||
            *capped || (p->lifetime_ms && now_ms() - born >= (uint64_t)p->lifetime_ms);
    char server[128] = "", ka[128] = "";
    if (p->server)
        snprintf(server, sizeof server, "Server: %s\r\n", p->server);
    if (p->keep_alive && !*last)
        snprintf(ka, sizeof ka, "Keep-Alive: %s\r\n", p->keep_alive);
    return snprintf(resp, cap, "HTTP/1.%d %d %s\r\n%sContent-Type: text/plain\r\n"
                    "Content-Length: 3\r\n%s%s\r\nok\n", p->http10 ? 0 : 1,
                    p->status ? p->status : 200, p->status >= 400 ? "Error" : "OK", server,
                    p->http10 ? "" : *last ? "Connection: close\r\n" : "Connection: keep-alive\r\n", ka);
}

static enum canned_close serve_policy(int fd, unsigned index, void *arg)
{
    (void)index;
    const struct policy *p = arg;
    uint64_t born = now_ms();
    char head[4096], resp[512];
    for (unsigned n = 1;; n++) {
        ssize_t got = canned_read_head(fd, head, sizeof head, p->idle_ms ? p->idle_ms : 8000);
        if (got == 0)
            return CANNED_FIN; /* the client closed */
        if (got < 0)
            return p->idle_rst ? CANNED_RST : CANNED_FIN; /* idle */
        if (p->raw) {
            canned_write_all(fd, p->raw, p->raw_len);
            return CANNED_FIN;
        }
        bool last, capped;
        int len = answer(p, head, n, born, resp, sizeof resp, &last, &capped);
        if (canned_write_all(fd, resp, (size_t)len) < 0)
            return CANNED_FIN;
        if (last)
            return capped && p->cap_rst ? CANNED_RST : CANNED_FIN;
    }
}

struct run {
    struct probe_opts o;
    struct probe_result r;
    int rc;
    char err[256];
    char *text, *json;
};

static void opts_for(struct probe_opts *o, const struct sockaddr_in *a, bool tls)
{
    char url[64], err[128];
    snprintf(url, sizeof url, "%s://127.0.0.1:%u/", tls ? "https" : "http", ntohs(a->sin_port));
    memset(o, 0, sizeof *o);
    target_parse(url, &o->t, err, sizeof err);
    o->deadline_ms = 15000;
    o->max_requests = 20;
    o->max_wait_ms = 4000;
    o->close_wait_ms = 2000;
    o->request_timeout_ms = 4000;
    o->idle_samples = 2;
    o->tls_cfg = (struct tls_cfg){.cacert = "tests/data/tls/cert.pem", .alpn = "http/1.1"};
}

static char *report(struct run *x, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (json)
        probe_print_json(f, &x->o, &x->r);
    else
        probe_print_text(f, &x->o, &x->r);
    fclose(f);
    return buf;
}

/* Probes a server speaking p; the reports are left in x (free with done). */
static enum canned_close serve_tls(int fd, unsigned index, void *arg);

static void probe(struct policy *p, struct run *x)
{
    memset(x, 0, sizeof *x);
    struct sockaddr_in a;
    struct canned *srv = canned_start(p->tls ? serve_tls : serve_policy, p, &a);
    opts_for(&x->o, &a, p->tls != NULL);
    x->rc = srv ? probe_run(&x->o, &x->r, x->err, sizeof x->err) : -2;
    canned_stop(srv);
    x->text = report(x, false);
    x->json = report(x, true);
}

static void done(struct run *x)
{
    free(x->text);
    free(x->json);
}

#define HAS(s, what)                                                                       \
    do {                                                                                   \
        if (!strstr((s), (what))) {                                                        \
            test_fail(__FILE__, __LINE__, "no '%s' in:\n%s", (what), (s));                 \
            done(&x);                                                                      \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            test_fail(__FILE__, __LINE__, "%s; the report:\n%s", #cond, x.text);           \
            done(&x);                                                                      \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* nginx's way: keepalive_requests 5 (the fifth answer says Connection:
 * close, then its FIN), keepalive_timeout 0.4 s. */
TEST(cap_announced_then_fin_and_idle_timeout)
{
    struct policy p = {.server = "nginx/1.22.1", .cap = 5, .idle_ms = 400};
    struct run x;
    probe(&p, &x);
    EXPECT(x.rc == 0);
    EXPECT(x.r.status == 200 && x.r.keepalive_11 && x.r.keepalive_10);
    EXPECT(!strcmp(x.r.server, "nginx/1.22.1"));
    EXPECT(!strcmp(probe_kind_name(x.r.prog), "nginx"));
    EXPECT(x.r.limit == PL_CAP && x.r.cap == 5 && x.r.cap_confirmed);
    EXPECT(x.r.fast.announced && x.r.fast.responses == 5);
    EXPECT(x.r.close_measured && x.r.after_close.how == PC_FIN);
    EXPECT(x.r.idle_n == 2 && x.r.idle_closed == 2 && !x.r.idle_rst);
    EXPECT(x.r.idle_median > 0.2 && x.r.idle_median < 4);
    EXPECT(x.r.requests_sent > 15 && x.r.connections >= 9);
    HAS(x.text, "5 requests per connection");
    HAS(x.text, "the same count on a second connection");
    HAS(x.text, "verdict: where TIME_WAIT accumulates");
    HAS(x.text, "keepalive_requests");
    HAS(x.json, "\"schema\":\"closer.probe/1\"");
    HAS(x.json, "\"request_cap\":5");
    HAS(x.json, "\"kind\":\"nginx\"");
    done(&x);
}

/* No cap within max_requests, idle connections reset after 0.3 s while
 * Keep-Alive announces timeout=2: an early close, by RST. */
TEST(no_cap_idle_rst_before_the_announced_timeout)
{
    struct policy p = {.server = "Apache/2.4.71 (Debian)", .keep_alive = "timeout=2, max=100",
                       .idle_ms = 300, .idle_rst = true};
    struct run x;
    probe(&p, &x);
    EXPECT(x.rc == 0);
    EXPECT(x.r.hint_timeout_s == 2 && x.r.hint_max == 100);
    EXPECT(x.r.limit == PL_NONE && x.r.fast.stopped_at_max && x.r.fast.responses == 20);
    EXPECT(x.r.idle_closed == 2 && x.r.idle_rst && x.r.idle_early);
    HAS(x.text, "Keep-Alive hint");
    HAS(x.text, "timeout=2 s");
    HAS(x.text, "EARLY");
    HAS(x.text, "by RST");
    HAS(x.json, "\"before_advertised_timeout\":true");
    done(&x);
}

/* The cap's close is a RST; the paced connection lives past the fast
 * one's age: still a count. */
TEST(cap_closed_by_rst)
{
    struct policy p = {.server = "test-server/1", .cap = 4, .cap_rst = true, .idle_ms = 300};
    struct run x;
    probe(&p, &x);
    EXPECT(x.rc == 0);
    EXPECT(x.r.limit == PL_CAP && x.r.cap == 4);
    EXPECT(x.r.fast.announced);
    EXPECT(x.r.prog == NULL);
    HAS(x.text, "4 requests per connection");
    HAS(x.json, "\"kind\":\"unknown\"");
    done(&x);
}

/* Connections closed by age (0.5 s) whatever their count: the fast one
 * reaches max_requests first, the paced one is closed young. */
TEST(lifetime_limit)
{
    struct policy p = {.server = "test-server/1", .lifetime_ms = 500, .idle_ms = 2000};
    struct run x;
    probe(&p, &x);
    EXPECT(x.rc == 0);
    EXPECT(x.r.limit == PL_LIFETIME);
    EXPECT(x.r.lifetime_s > 0.3 && x.r.lifetime_s < 5);
    HAS(x.text, "connection lifetime");
    HAS(x.json, "\"lifetime_s\"");
    done(&x);
}

/* An HTTP/1.0 server (Python's http.server): every answer ends the
 * connection; nothing to search past the first exchange. */
TEST(http10_server_closes_after_each)
{
    struct policy p = {.server = "SimpleHTTP/0.6 Python/3.11.7", .http10 = true};
    struct run x;
    probe(&p, &x);
    EXPECT(x.rc == 0);
    EXPECT(!x.r.keepalive_11 && !x.r.keepalive_10 && !x.r.limit_measured);
    EXPECT(x.r.close_measured && x.r.after_close.how == PC_FIN);
    HAS(x.text, "(no keep-alive)");
    HAS(x.text, "every client");
    HAS(x.json, "\"keepalive\":false");
    done(&x);
}

TEST(error_answer_measures_nothing_more)
{
    struct policy p = {.server = "nginx/1.22.1", .status = 503};
    struct run x;
    probe(&p, &x);
    EXPECT(x.rc == 0 && x.r.error_answer && x.r.status == 503);
    EXPECT(x.r.connections == 1);
    HAS(x.text, "an error page, not the site");
    HAS(x.json, "\"error_answer\":true");
    done(&x);
}

/* No HTTP/1 answer at all: probe_run fails and says what came back. */
TEST(first_exchange_failures_are_named)
{
    static const char h2_settings[] = "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    struct {
        const char *raw;
        size_t len;
        const char *says;
    } cases[] = {
        {"SSH-2.0-OpenSSH_9.2p1\r\n\r\n", 25, "not an HTTP/1.x response: 'SSH-2.0-OpenSSH_9.2p1"},
        {h2_settings, 9, "answers HTTP/2 only"},
        {"HTTP/1.1 200 OK\r\nServ", 21, "before a complete response (it began 'HTTP/1.1 200 OK"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 42, "in the middle of the response body"},
        {"", 0, "without answering"},
        {NULL, 0, "the response head does not end within 16 KiB: 'HTTP/1.1 200 OK..X-Big: aaaa"},
    };
    static char big[20000]; /* a head longer than the client's buffer */
    int n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(big + n, 'a', sizeof big - (size_t)n);
    cases[sizeof cases / sizeof cases[0] - 1].raw = big;
    cases[sizeof cases / sizeof cases[0] - 1].len = sizeof big;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct policy p = {.raw = cases[i].raw, .raw_len = cases[i].len};
        struct run x;
        probe(&p, &x);
        EXPECT(x.rc == -1);
        if (!strstr(x.err, cases[i].says)) {
            test_fail(__FILE__, __LINE__, "case %zu: '%s'", i, x.err);
            done(&x);
            return;
        }
        done(&x);
    }
}

TEST(refused_connection)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
          getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    struct run x = {0};
    opts_for(&x.o, &a, false);
    x.rc = probe_run(&x.o, &x.r, x.err, sizeof x.err);
    close(fd);
    CHECK_EQ_INT(x.rc, -1);
    CHECK(strstr(x.err, "connection refused") != NULL);
}

/* One request head over TLS: as canned_read_head (decrypted bytes first,
 * then the socket, idle after timeout_ms). */
static ssize_t tls_read_head(SSL *s, int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    buf[0] = 0;
    while (!strstr(buf, "\r\n\r\n")) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (len + 1 >= cap || (!SSL_pending(s) && poll(&pf, 1, timeout_ms) != 1))
            return -1;
        int n = SSL_read(s, buf + len, (int)(cap - 1 - len));
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = 0;
    }
    return (ssize_t)len;
}

/* serve_policy over TLS (the test certificate of tests/data/tls/): every
 * close sends close_notify first unless tls_no_notify. */
static enum canned_close serve_tls(int fd, unsigned index, void *arg)
{
    (void)index;
    const struct policy *p = arg;
    SSL *s = SSL_new(p->tls);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (!s || !SSL_set_fd(s, fd) || SSL_accept(s) != 1) {
        SSL_free(s);
        return CANNED_FIN;
    }
    uint64_t born = now_ms();
    char head[4096], resp[512];
    for (unsigned n = 1;; n++) {
        ssize_t got = tls_read_head(s, fd, head, sizeof head, p->idle_ms ? p->idle_ms : 8000);
        if (got == 0)
            break;
        bool last = got < 0, capped;
        if (got > 0) {
            int len = answer(p, head, n, born, resp, sizeof resp, &last, &capped);
            if (SSL_write(s, resp, len) != len)
                break;
        }
        if (last) {
            if (!p->tls_no_notify)
                SSL_shutdown(s);
            break;
        }
    }
    SSL_free(s);
    return CANNED_FIN;
}

static SSL_CTX *server_ctx(void)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (!c || SSL_CTX_use_certificate_file(c, "tests/data/tls/cert.pem", SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, "tests/data/tls/key.pem", SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

/* https://: the session, resumption on later connections, and every close
 * as TLS saw it: close_notify then FIN. */
TEST(tls_cap_idle_and_close_notify)
{
    struct policy p = {.server = "nginx/1.22.1", .cap = 3, .idle_ms = 400, .tls = server_ctx()};
    CHECK(p.tls);
    struct run x;
    probe(&p, &x);
    SSL_CTX_free(p.tls);
    EXPECT(x.rc == 0);
    EXPECT(x.r.tls && x.r.tls_first.done && !strcmp(x.r.tls_first.version, "TLSv1.3"));
    EXPECT(x.r.tls_tickets && x.r.tls_offered > 0 && x.r.tls_resumed == x.r.tls_offered);
    EXPECT(x.r.limit == PL_CAP && x.r.cap == 3);
    EXPECT(x.r.after_close.tls == PT_NOTIFY_FIN);
    EXPECT(x.r.idle_closed == 2 && x.r.idle[0].tls == PT_NOTIFY_FIN);
    HAS(x.text, "closer probe https://");
    HAS(x.text, "TLS close, Connection: close close_notify, then its FIN");
    HAS(x.json, "\"after_connection_close\":\"close_notify_fin\"");
    done(&x);
}

/* A server closing with a bare FIN over TLS: a truncation by TLS's rules. */
TEST(tls_fin_without_close_notify)
{
    struct policy p = {.server = "test-tls/1", .cap = 3, .idle_ms = 400, .tls = server_ctx(),
                       .tls_no_notify = true};
    CHECK(p.tls);
    struct run x;
    probe(&p, &x);
    SSL_CTX_free(p.tls);
    EXPECT(x.rc == 0);
    EXPECT(x.r.after_close.tls == PT_TRUNCATED && x.r.idle[0].tls == PT_TRUNCATED);
    HAS(x.text, "FIN without close_notify (a truncation by TLS's rules)");
    done(&x);
}

/* A certificate the client does not trust: no exchange, and TLS says why. */
TEST(tls_untrusted_certificate)
{
    struct policy p = {.server = "test-tls/1", .tls = server_ctx()};
    CHECK(p.tls);
    struct sockaddr_in a;
    struct canned *srv = canned_start(serve_tls, &p, &a);
    struct run x = {0};
    opts_for(&x.o, &a, true);
    x.o.tls_cfg.cacert = NULL; /* the system's store: the test certificate is not in it */
    x.rc = probe_run(&x.o, &x.r, x.err, sizeof x.err);
    canned_stop(srv);
    SSL_CTX_free(p.tls);
    CHECK_EQ_INT(x.rc, -1);
    if (!strstr(x.err, "TLS: ")) {
        test_fail(__FILE__, __LINE__, "err '%s'", x.err);
        return;
    }
}

/* A server that never closes: the probe's deadline ends every wait, and
 * what is still open is closed by the client and reported as such. The
 * progress line (stderr) is drawn meanwhile; it goes to /dev/null here. */
TEST(deadline_closes_what_is_still_open)
{
    struct policy p = {.server = "test-server/1"};
    struct sockaddr_in a;
    struct canned *srv = canned_start(serve_policy, &p, &a);
    CHECK(srv);
    struct run x = {0};
    opts_for(&x.o, &a, false);
    x.o.deadline_ms = 1200;
    x.o.max_wait_ms = 0;          /* idle: until the deadline */
    x.o.max_requests = 100000000; /* the busy ones too */
    x.o.progress = true;
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    x.rc = probe_run(&x.o, &x.r, x.err, sizeof x.err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(null);
    canned_stop(srv);
    x.text = report(&x, false);
    x.json = report(&x, true);
    EXPECT(x.rc == 0 && x.r.deadline_hit);
    EXPECT(x.r.idle_n == 2 && x.r.idle_closed == 0 && x.r.limit == PL_NONE);
    HAS(x.text, "(deadline reached)");
    HAS(x.text, "the probe's deadline: --deadline to wait longer");
    HAS(x.json, "\"deadline_hit\":true");
    done(&x);
}
