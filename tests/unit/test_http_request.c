/* SPDX-License-Identifier: MIT */
/* The request parser: valid heads, every prefix incomplete, byte-by-byte
 * equals all-at-once, and each smuggling vector rejected. Inputs are copied
 * to end right before a PROT_NONE page, so any over-read crashes. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http/persist.h"
#include "http/request.h"
#include "test.h"

static const struct http_limits lim = {.max_head = 8192, .max_uri = 4096};
static char *page;
static size_t pagesz;

/* Returns a copy of s ending exactly at a guard page. */
static const char *guarded(const char *s, size_t len)
{
    if (!page) {
        pagesz = (size_t)sysconf(_SC_PAGESIZE);
        page = mmap(NULL, pagesz * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        mprotect(page + pagesz * 3, pagesz, PROT_NONE);
    }
    char *dst = page + pagesz * 3 - len;
    memcpy(dst, s, len);
    return dst;
}

static int parse(const char *s, struct http_request *r)
{
    size_t len = strlen(s);
    return http_parse_request(guarded(s, len), len, r, &lim);
}

static int status_of(const char *s)
{
    struct http_request r;
    int rc = parse(s, &r);
    return rc == -1 ? r.status : rc == -2 ? -2 : 0;
}

TEST(simple_get)
{
    struct http_request r;
    const char *s = "GET /index.html HTTP/1.1\r\nHost: a.example\r\nUser-Agent: t\r\n\r\n";
    CHECK_EQ_INT(parse(s, &r), (int)strlen(s));
    CHECK(slice_eq_ci(r.method, "GET"));
    CHECK(r.target.len == 11 && !memcmp(r.target.ptr, "/index.html", 11));
    CHECK_EQ_INT(r.minor, 1);
    CHECK_EQ_INT(r.nheaders, 2);
    CHECK(slice_eq_ci(r.headers[1].value, "t"));
    CHECK(slice_eq_ci(r.host, "a.example"));
    CHECK_EQ_INT(r.body, BODY_NONE);
    CHECK(http_client_wants_keepalive(&r));
}

TEST(every_prefix_is_incomplete_and_bytewise_equals_whole)
{
    const char *s = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: keep-alive, Upgrade\r\n\r\nhello";
    size_t head = strlen(s) - 5;
    struct http_request whole, part;
    CHECK_EQ_INT(http_parse_request(guarded(s, strlen(s)), strlen(s), &whole, &lim), (int)head);
    for (size_t n = 0; n < head; n++)
        CHECK_EQ_INT(http_parse_request(guarded(s, n), n, &part, &lim), -2);
    CHECK_EQ_INT(http_parse_request(guarded(s, head), head, &part, &lim), (int)head);
    CHECK_EQ_INT(part.content_length, 5);
    CHECK_EQ_INT(part.body, BODY_LENGTH);
    CHECK_EQ_INT(part.connection, whole.connection);
    CHECK_EQ_INT(part.nheaders, whole.nheaders);
}

TEST(pipelined_requests_parse_one_at_a_time)
{
    const char *s = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    struct http_request r;
    int n = parse(s, &r);
    CHECK(n > 0 && r.target.ptr[1] == 'a');
    const char *rest = s + n;
    CHECK_EQ_INT(http_parse_request(guarded(rest, strlen(rest)), strlen(rest), &r, &lim), (int)strlen(rest));
    CHECK(r.target.ptr[1] == 'b');
}

TEST(persistence_matrix)
{
    struct http_request r;
    parse("GET / HTTP/1.0\r\n\r\n", &r);
    CHECK(!http_client_wants_keepalive(&r));
    parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r);
    CHECK(http_client_wants_keepalive(&r));
    parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", &r);
    CHECK(!http_client_wants_keepalive(&r));
    parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &r);
    CHECK(http_client_wants_keepalive(&r));
}

TEST(bare_lf_and_bare_cr_rejected)
{
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\nHost: h\n\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\r\n\n"), 400);
    CHECK_EQ_INT(status_of("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
    CHECK_EQ_INT(status_of("GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n"), 400); /* raw byte in target */
    CHECK_EQ_INT(status_of("GET x/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400); /* no form */
    CHECK_EQ_INT(status_of("GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
    CHECK_EQ_INT(status_of("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\rHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"), 400);
}

TEST(smuggling_vectors_are_400)
{
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n"), 400);
    /* tabs around a framing value: OWS to RFC 9110, not to llhttp (fuzz_llhttp) */
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\t \r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\t5\r\n\r\n"), 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nX-Other:\tfine\t\r\n\r\n") == 0);
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\n\r\n"), 400); /* no Host */
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n"), 400);
}

TEST(other_errors_have_their_status)
{
    CHECK_EQ_INT(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
    CHECK_EQ_INT(status_of("GET / HTTP/2.0\r\n\r\n"), 505);
    CHECK_EQ_INT(status_of("GET / HTTP/1.9\r\n\r\n"), 505);
    CHECK_EQ_INT(status_of("GET / HTTX/1.1\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("G@T / HTTP/1.1\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 400); /* an h2 preface */
    CHECK_EQ_INT(status_of("PRI / HTTP/1.0\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET  / HTTP/1.1\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n"), 417);
    static char big[9000];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "GET /", 5);
    CHECK_EQ_INT(status_of(big), 414);
    static char hdrs[9100];
    strcpy(hdrs, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
    memset(hdrs + strlen(hdrs), 'b', 9000);
    CHECK_EQ_INT(status_of(hdrs), 431);
    struct http_request r;
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", &r) > 0, 1);
    CHECK(r.expect_continue);
}

/* RFC 9112 3.2.2 absolute-form: a scheme per RFC 3986 3.1, an authority of
 * RFC 3986 3.2's characters only (found by fuzz_llhttp: '{' was let in). */
TEST(absolute_form_targets)
{
    struct http_request r;
    CHECK(parse("GET http://example.com:8080/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n", &r) > 0);
    CHECK(parse("GET http://u%40x@[::1]:80/ HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0);
    CHECK(parse("GET h2c+x.y-z://a=b!$&'()*,;/ HTTP/1.0\r\n\r\n", &r) > 0);
    CHECK(parse("GET http://h?x HTTP/1.0\r\n\r\n", &r) > 0);
    CHECK_EQ_INT(status_of("GET http://a{b}/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET http://a|b/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET http://a%zzb/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET http://a%4/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET 1http://a/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET http://a@b@c/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    /* no fragment in any form */
    CHECK_EQ_INT(status_of("GET http://a#f HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET /a?x#f HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static int chunked(const char *body, size_t *used, uint64_t *total)
{
    struct http_chunked c = {0};
    size_t len = strlen(body);
    int rc = http_chunked_consume(&c, guarded(body, len), len, used);
    *total = c.total;
    return rc;
}

TEST(chunked_bodies)
{
    size_t used;
    uint64_t total;
    const char *ok = "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\nGET";
    CHECK_EQ_INT(chunked(ok, &used, &total), 1);
    CHECK_EQ_INT(used, strlen(ok) - 3);
    CHECK_EQ_INT(total, 31);
    CHECK_EQ_INT(chunked("0\r\n\r\n", &used, &total), 1);
    CHECK_EQ_INT(chunked("5\r\nhel", &used, &total), 0);
    CHECK_EQ_INT(chunked("zz\r\n", &used, &total), -1);
    CHECK_EQ_INT(chunked("\r\n", &used, &total), -1);
    CHECK_EQ_INT(chunked("5\r\nhelloXX", &used, &total), -1);
    CHECK_EQ_INT(chunked("fffffffffffffffffff\r\n", &used, &total), -1);
    CHECK_EQ_INT(chunked("-1\r\n", &used, &total), -1);
    /* Bare LF / bare CR in size, extension, data end and trailer lines. */
    CHECK_EQ_INT(chunked("5\nhello\r\n0\r\n\r\n", &used, &total), -1);
    CHECK_EQ_INT(chunked("5;a=b\nhello\r\n0\r\n\r\n", &used, &total), -1);
    CHECK_EQ_INT(chunked("5;a\rb\r\nhello\r\n0\r\n\r\n", &used, &total), -1);
    CHECK_EQ_INT(chunked("5\r\nhello\n0\r\n\r\n", &used, &total), -1);
    CHECK_EQ_INT(chunked("0\r\nT: x\n\r\n", &used, &total), -1);
    CHECK_EQ_INT(chunked("0\r\n\n", &used, &total), -1);
    CHECK_EQ_INT(chunked("5;a=b\r\nhello\r\n0\r\nT: x\r\n\r\n", &used, &total), 1);
    /* Byte by byte reaches the same end. */
    struct http_chunked c = {0};
    int rc = 0;
    size_t i;
    for (i = 0; i < strlen(ok) && rc == 0; i++) {
        size_t u;
        rc = http_chunked_consume(&c, guarded(ok + i, 1), 1, &u);
        CHECK(rc < 0 || u == 1);
    }
    CHECK_EQ_INT(rc, 1);
    CHECK_EQ_INT(i, strlen(ok) - 3);
}

/* Methods are case-sensitive: a lowercase one is a bad request (nginx: 400),
 * never served as its uppercase twin. */
TEST(lowercase_method_rejected)
{
    CHECK_EQ_INT(status_of("head / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("Get / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
    CHECK_EQ_INT(status_of("M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
}

/* Host is uri-host [":" port] (RFC 3986 3.2.2), and as nginx: not empty,
 * no leading dot, no "..". */
TEST(host_value_validated)
{
    static const char *const good[] = {"h", "example.com", "example.com:8080", "127.0.0.1:80",
                                       "[::1]", "[::1]:8080", "a-b_c~d", "xn--bcher-kva.example",
                                       "ex%41mple", "example.com."};
    static const char *const bad[] = {"", "a/b", "a b", "..", ".example", "a..b", "h:80x",
                                      "h:123456", "[::1", "[]", "[zz]", "a@b", "h\\x", "ex%4",
                                      "a\"b", "h:80:81"};
    char req[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
        CHECK_EQ_INT(status_of(req), 0);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        CHECK_EQ_INT(status_of(req), 400);
    }
}

static bool ascii_alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Every byte value in a header name and in a Host value: accepted exactly
 * when RFC 9110's tchar (or RFC 3986's reg-name) lists it; the parser's
 * byte sets are checked against the lists as the RFCs write them. */
TEST(every_byte_in_a_header_name_and_host)
{
    char req[128];
    for (int b = 0; b < 256; b++) {
        int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: h\r\nX%cY: v\r\n\r\n", b ? b : '?');
        req[26] = (char)b;
        struct http_request r;
        int rc = http_parse_request(guarded(req, (size_t)n), (size_t)n, &r, &lim);
        bool tchar = b && (ascii_alnum(b) || strchr("!#$%&'*+-.^_`|~", b));
        if ((rc > 0) != (tchar || b == ':'))
            printf("# header name byte 0x%02x: rc %d\n", b, rc);
        CHECK((rc > 0) == (tchar || b == ':'));
        n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a%cb\r\n\r\n", b ? b : '?');
        req[23] = (char)b;
        rc = http_parse_request(guarded(req, (size_t)n), (size_t)n, &r, &lim);
        bool regname = b && (ascii_alnum(b) || strchr("-._~!$&'()*+,;=", b));
        if ((rc > 0) != regname)
            printf("# host byte 0x%02x: rc %d\n", b, rc);
        CHECK((rc > 0) == regname);
    }
}

/* A CR anywhere but right before an LF is bare, wherever the line ends or
 * whether it has ended yet. */
TEST(cr_at_every_offset)
{
    static const char base[] = "GET /abc HTTP/1.1\r\nHost: h\r\nX-A: bcd\r\n\r\n";
    size_t n = sizeof base - 1;
    for (size_t i = 0; i < n; i++) {
        if (base[i] == '\r' || base[i] == '\n')
            continue;
        char req[sizeof base];
        memcpy(req, base, n);
        req[i] = '\r';
        struct http_request r;
        CHECK_EQ_INT(http_parse_request(guarded(req, n), n, &r, &lim), -1);
        CHECK_EQ_INT(r.status, 400);
        /* The prefix that ends on that CR may still get its LF. */
        CHECK_EQ_INT(http_parse_request(guarded(req, i + 1), i + 1, &r, &lim), -2);
    }
}

/* The parser reads lines and values a word (8 bytes) at a time: a bare LF
 * at every offset, and every control byte at every offset of a long value
 * (HTAB alone allowed), in the words and in the bytes after the last. */
TEST(bare_lf_and_control_bytes_at_every_offset)
{
    static const char base[] = "GET /abcdefghijk HTTP/1.1\r\nHost: h\r\nX-Long: 0123456789abcdefghijklmnop\r\n\r\n";
    size_t n = sizeof base - 1;
    struct http_request r;
    CHECK_EQ_INT(http_parse_request(guarded(base, n), n, &r, &lim), (int)n);
    const char *value = strstr(base, "0123");
    for (size_t i = 0; i < n; i++) {
        if (base[i] == '\r' || base[i] == '\n')
            continue;
        char req[sizeof base];
        memcpy(req, base, n);
        req[i] = '\n';
        CHECK_EQ_INT(http_parse_request(guarded(req, n), n, &r, &lim), -1);
        if (&base[i] < value || &base[i] >= value + 26)
            continue;
        for (int c = 0; c < 0x80; c++) {
            if (c >= 0x20 && c < 0x7f)
                continue;
            req[i] = (char)c;
            int rc = http_parse_request(guarded(req, n), n, &r, &lim);
            if (c == '\t') {
                CHECK_EQ_INT(rc, (int)n);
            } else {
                if (rc != -1)
                    printf("# byte 0x%02x at %zu: %d\n", c, i, rc);
                CHECK_EQ_INT(rc, -1);
            }
        }
    }
}

/* Every byte value in the method and in the target, and around the "GET "
 * shortcut: accepted exactly as RFC 9110/9112 (upper case, '_', '-' in a
 * method; visible ASCII but '#' in a target) say. */
TEST(every_byte_in_method_and_target)
{
    char req[128];
    for (int b = 0; b < 256; b++) {
        static const char *const methods[] = {"G%cT", "%cET", "GE%c", "GET%c", "%c"};
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            char meth[8];
            snprintf(meth, sizeof meth, methods[m], 'Q');
            int n = snprintf(req, sizeof req, "%s / HTTP/1.1\r\nHost: h\r\n\r\n", meth);
            req[strchr(methods[m], '%') - methods[m]] = (char)b;
            struct http_request r;
            int rc = http_parse_request(guarded(req, (size_t)n), (size_t)n, &r, &lim);
            bool ok = (b >= 'A' && b <= 'Z') || b == '_' || b == '-';
            if ((rc > 0) != ok)
                printf("# method %s byte 0x%02x: rc %d\n", methods[m], b, rc);
            CHECK((rc > 0) == ok);
            if (rc > 0)
                CHECK(r.method.len == strlen(meth) && r.method.ptr[0] == req[0]);
        }
        /* "GET" then a byte other than SP: not the shortcut's GET. */
        int n = snprintf(req, sizeof req, "GET? / HTTP/1.1\r\nHost: h\r\n\r\n");
        req[3] = (char)b;
        struct http_request r;
        int rc = http_parse_request(guarded(req, (size_t)n), (size_t)n, &r, &lim);
        if (b == ' ')
            CHECK(rc == -1 && r.status == 400); /* "GET  / ...": an empty target */
        else if ((b >= 'A' && b <= 'Z') || b == '_' || b == '-')
            CHECK(rc > 0 && r.method.len == 4);
        else if (b != '\r' && b != '\n')
            CHECK(rc == -1 && r.status == 400);
        n = snprintf(req, sizeof req, "GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n");
        req[6] = (char)b;
        rc = http_parse_request(guarded(req, (size_t)n), (size_t)n, &r, &lim);
        bool uri = b > 0x20 && b < 0x7f && b != '#';
        if (b == '\r' || b == '\n') {
            CHECK(rc == -1);
            continue;
        }
        if (b == ' ') { /* "GET /a b HTTP/1.1": no version where it must be */
            CHECK(rc == -1 && r.status == 400);
            continue;
        }
        if ((rc > 0) != uri)
            printf("# target byte 0x%02x: rc %d\n", b, rc);
        CHECK((rc > 0) == uri);
        if (rc > 0)
            CHECK(r.target.len == 4 && r.target.ptr[2] == (char)b);
    }
    /* The shortcut needs all four bytes: a line "GET" alone is no request. */
    CHECK_EQ_INT(status_of("GET\r\nHost: h\r\n\r\n"), 400);
    CHECK_EQ_INT(status_of("GET \r\nHost: h\r\n\r\n"), 400);
}

/* The header names the parser interprets are found in any case, and a
 * name one byte away (any other byte that may stand in a name, in each
 * place) is just another header: e.g. Content_Length frames nothing. */
TEST(interpreted_names_exactly)
{
    static const struct {
        const char *name, *value;
    } hs[] = {{"content-length", "5"}, {"transfer-encoding", "chunked"}, {"host", "h"},
              {"connection", "close"}, {"expect", "100-continue"},
              {"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}};
    for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) {
        size_t len = strlen(hs[k].name);
        for (size_t at = 0; at < len; at++) {
            for (int b = 0x21; b < 0x7f; b++) {
                if (!strchr("!#$%&'*+-.^_`|~", b) && !((b >= '0' && b <= '9') ||
                    (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')))
                    continue;
                char name[32], req[160];
                memcpy(name, hs[k].name, len + 1);
                name[at] = (char)b;
                bool same = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b) == hs[k].name[at];
                /* HTTP/1.0 so that a Host line is not required. */
                int n = snprintf(req, sizeof req, "POST / HTTP/1.%d\r\n%s%s: %s\r\n\r\n",
                                 k == 1 ? 1 : 0, k == 1 ? "Host: h\r\n" : "", name, hs[k].value);
                struct http_request r;
                int rc = http_parse_request(guarded(req, (size_t)n), (size_t)n, &r, &lim);
                bool seen;
                switch (k) {
                case 0: seen = rc > 0 && r.body == BODY_LENGTH && r.content_length == 5; break;
                case 1: seen = rc > 0 && r.body == BODY_CHUNKED; break;
                case 2: seen = rc > 0 && r.host.len == 1; break;
                case 3: seen = rc > 0 && (r.connection & CONN_HDR_CLOSE); break;
                case 4: seen = rc > 0 && r.expect_continue; break;
                default: seen = rc > 0 && r.if_modified_since.len > 0; break;
                }
                if (seen != same || rc <= 0)
                    printf("# name %s: rc %d seen %d\n", name, rc, seen);
                CHECK(rc > 0);
                CHECK(seen == same);
            }
        }
    }
}

/* Every byte in every place of "HTTP/1.1": 505 for another version that
 * is digits, 400 for what is no version; HTTP/1.0 and 1.1 accepted with
 * their minor (the 1.1 shortcut and the general path agree). */
TEST(every_byte_in_the_version)
{
    for (size_t at = 0; at < 8; at++) {
        for (int b = 0; b < 256; b++) {
            if (b == '\r' || b == '\n')
                continue;
            char ver[9] = "HTTP/1.1", req[64];
            ver[at] = (char)b;
            int n = snprintf(req, sizeof req, "GET / XXXXXXXX\r\nHost: h\r\n\r\n");
            memcpy(req + 6, ver, 8);
            struct http_request r;
            int rc = http_parse_request(guarded(req, (size_t)n), (size_t)n, &r, &lim);
            int want, minor = -1;
            bool digits = ver[5] >= '0' && ver[5] <= '9' && ver[7] >= '0' && ver[7] <= '9';
            if (memcmp(ver, "HTTP/", 5) || ver[6] != '.' || !digits)
                want = 400;
            else if (ver[5] != '1' || ver[7] > '1')
                want = 505;
            else
                want = 0, minor = ver[7] - '0';
            int got = rc > 0 ? 0 : rc == -1 ? r.status : rc;
            if (got != want)
                printf("# version '%.8s' (byte 0x%02x at %zu): %d, want %d\n", ver, b, at, got, want);
            CHECK_EQ_INT(got, want);
            if (rc > 0)
                CHECK_EQ_INT(r.minor, minor);
        }
    }
}

/* RFC 3986 uri-host [":" port] as written there (and nginx's no empty
 * host, no leading dot, no ".."), after the parser's OWS trim: the
 * reference the parser's Host check is compared with. */
static bool ref_host_ok(const char *v, size_t len)
{
    while (len && (v[0] == ' ' || v[0] == '\t'))
        v++, len--;
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    size_t i = 0;
    if (len && v[0] == '[') {
        for (i = 1; i < len && v[i] != ']'; i++) {
            int c = (unsigned char)v[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.' || c == 'v' || c == 'V'))
                return false;
        }
        if (i == len || i == 1)
            return false;
        i++;
    } else {
        for (; i < len && v[i] != ':'; i++) {
            int c = (unsigned char)v[i];
            if (c == '%') {
                if (i + 2 >= len || !isxdigit((unsigned char)v[i + 1]) ||
                    !isxdigit((unsigned char)v[i + 2]))
                    return false;
                i += 2;
            } else if (c == '.') {
                if (i == 0 || v[i - 1] == '.')
                    return false;
            } else if (!(ascii_alnum(c) || (c && strchr("-_~!$&'()*+,;=", c)))) {
                return false;
            }
        }
        if (i == 0)
            return false;
    }
    if (i == len)
        return true;
    if (v[i] != ':' || len - i - 1 > 5)
        return false;
    for (i++; i < len; i++)
        if (v[i] < '0' || v[i] > '9')
            return false;
    return true;
}

/* Every byte at every place of Host values of each shape (reg-name with a
 * port, IP literal with a port, percent-encoded): accepted exactly when
 * the reference says so. Host's value is checked by its own rules only
 * (not also as a field value), so those must refuse every control byte,
 * NUL and DEL, inside brackets too. */
TEST(every_byte_at_every_place_of_host)
{
    static const char *const shapes[] = {"ab.c:80", "[::1]:80", "e%41x", "h"};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t len = strlen(shapes[s]);
        for (size_t at = 0; at < len; at++) {
            for (int b = 0; b < 256; b++) {
                if (b == '\r' || b == '\n')
                    continue;
                char host[16], req[64];
                memcpy(host, shapes[s], len + 1);
                host[at] = (char)b;
                int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", shapes[s]);
                memcpy(req + 22, host, len);
                struct http_request r;
                int rc = http_parse_request(guarded(req, (size_t)n), (size_t)n, &r, &lim);
                bool want = ref_host_ok(host, len);
                if ((rc > 0) != want)
                    printf("# host '%s' byte 0x%02x at %zu: rc %d\n", shapes[s], b, at, rc);
                CHECK((rc > 0) == want);
                if (rc < 0)
                    CHECK_EQ_INT(r.status, 400);
            }
        }
    }
}
