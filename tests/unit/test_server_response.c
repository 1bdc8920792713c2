/* SPDX-License-Identifier: MIT */
/* The response head writer: exact bytes, every optional header, and a
 * buffer too small is refused whole (never a truncated head on the wire). */
#include <string.h>

#include "server/response.h"
#include "test.h"

/* Replaces the Date value (it changes each second) with "D". */
static void blank_date(char *s)
{
    char *d = strstr(s, "Date: ");
    if (!d)
        return;
    char *end = strstr(d, "\r\n");
    memmove(d + 7, end, strlen(end) + 1);
    d[6] = 'D';
}

/* The head for h as a string with the Date blanked, or "" when refused. */
static const char *head_of(const struct resp_head *h)
{
    static char buf[512];
    size_t n = resp_write_head(buf, sizeof buf - 1, h);
    buf[n] = 0;
    blank_date(buf);
    return buf;
}

TEST(head_keepalive_http11)
{
    struct resp_head h = {.status = 200, .minor = 1, .content_length = 3, .keepalive = true};
    CHECK_EQ_STR(head_of(&h), "HTTP/1.1 200 OK\r\nServer: closer\r\nDate: D\r\nContent-Length: 3\r\n"
                      "Connection: keep-alive\r\n\r\n");
}

TEST(head_http10_keepalive_with_type_and_last_modified)
{
    struct resp_head h = {.status = 404, .minor = 0, .content_type = "text/plain",
                          .content_length = 18446744073709551615ull, .keepalive = true,
                          .keepalive_timeout_s = 75, .last_modified = 784111777};
    CHECK_EQ_STR(head_of(&h), "HTTP/1.0 404 Not Found\r\nServer: closer\r\nDate: D\r\n"
                      "Content-Type: text/plain\r\nContent-Length: 18446744073709551615\r\n"
                      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                      "Connection: keep-alive\r\nKeep-Alive: timeout=75\r\n\r\n");
}

TEST(head_close_and_zero_length)
{
    struct resp_head h = {.status = 431, .minor = 1, .keepalive = false, .keepalive_timeout_s = 5};
    CHECK_EQ_STR(head_of(&h), "HTTP/1.1 431 Request Header Fields Too Large\r\nServer: closer\r\nDate: D\r\n"
                      "Content-Length: 0\r\nConnection: close\r\n\r\n");
}

/* RFC 9110 8.6, and nginx: no Content-Length in a 304 (a 0 there claims an
 * empty file) nor in a 204. */
TEST(head_304_and_204_without_length)
{
    struct resp_head h = {.status = 304, .minor = 1, .content_length = 12, .keepalive = true,
                          .last_modified = 784111777};
    CHECK_EQ_STR(head_of(&h), "HTTP/1.1 304 Not Modified\r\nServer: closer\r\nDate: D\r\n"
                      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                      "Connection: keep-alive\r\n\r\n");
    struct resp_head n = {.status = 204, .minor = 1, .keepalive = true};
    CHECK_EQ_STR(head_of(&n), "HTTP/1.1 204 No Content\r\nServer: closer\r\nDate: D\r\n"
                      "Connection: keep-alive\r\n\r\n");
}

TEST(head_refused_when_it_does_not_fit)
{
    char buf[512];
    struct resp_head h = {.status = 200, .minor = 1, .content_length = 3, .keepalive = true};
    size_t full = resp_write_head(buf, sizeof buf, &h);
    CHECK(full > 0);
    CHECK_EQ_INT((int)resp_write_head(buf, full, &h), (int)full);
    CHECK_EQ_INT((int)resp_write_head(buf, full - 1, &h), 0);
    CHECK_EQ_INT((int)resp_write_head(buf, 10, &h), 0);
}

/* Through the cache, every head is byte for byte the one written without
 * it: each field changed in turn (one at a time, then back), a content
 * type rewritten in place at the same address, a type and an extra header
 * too long to keep, and a buffer too small. */
TEST(cached_head_equals_written_head)
{
    struct resp_head_cache hc;
    memset(&hc, 0, sizeof hc);
    char type[80] = "text/plain", extra[200] = "Allow: GET, HEAD";
    struct resp_head base = {.status = 200, .minor = 1, .content_type = type,
                             .content_length = 3, .keepalive = true};
    struct resp_head v[] = {base, base, base, base, base, base, base, base, base, base, base, base};
    v[1].status = 404;
    v[2].minor = 0;
    v[3].content_length = 4;
    v[4].keepalive = false;
    v[5].keepalive_timeout_s = 5;
    v[6].last_modified = 784111777;
    v[7].content_type = NULL;
    v[8].extra = extra;
    v[9].content_type = "text/html";
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
            for (int again = 0; again < 2; again++) { /* a miss, then a hit */
                char got[512], want[512];
                size_t n = resp_write_head_cached(&hc, got, sizeof got - 1, &v[i]);
                size_t m = resp_write_head(want, sizeof want - 1, &v[i]);
                got[n] = want[m] = 0;
                blank_date(got);
                blank_date(want);
                if (strcmp(got, want))
                    printf("# round %d head %zu: '%s' vs '%s'\n", round, i, got, want);
                CHECK_EQ_STR(got, want);
            }
        }
        if (round == 0) { /* same address, other text */
            strcpy(type, "application/json");
            strcpy(extra, "Allow: GET");
        } else { /* too long to keep: written every time, still right */
            memset(type, 't', sizeof type - 1);
            type[sizeof type - 1] = 0;
            memset(extra + 7, 'x', sizeof extra - 8);
            extra[sizeof extra - 1] = 0;
        }
    }
    char big[512], small[16];
    strcpy(type, "text/plain");
    CHECK(resp_write_head_cached(&hc, big, sizeof big, &base) > 0); /* kept */
    CHECK_EQ_INT((int)resp_write_head_cached(&hc, small, sizeof small, &base), 0);
}

/* Writes v with body through the cache and checks it against the head
 * written without the cache followed by the body. */
static void check_fixed(struct resp_head_cache *hc, const struct resp_head *v, const char *body,
                        size_t blen, const char *what)
{
    char got[1024], want[1024];
    bool with_body = false;
    size_t n = resp_write_fixed_cached(hc, got, sizeof got - 1, v, body, blen, &with_body);
    size_t m = resp_write_head(want, sizeof want - 1, v);
    memcpy(want + m, body, blen);
    m += blen;
    got[n] = want[m] = 0;
    blank_date(got);
    blank_date(want);
    CHECK(with_body);
    if (strcmp(got, want))
        printf("# %s: '%s' vs '%s'\n", what, got, want);
    CHECK_EQ_STR(got, want);
}

/* A fixed answer through the cache: head then body, byte for byte the
 * written head and the body, whichever answer the cache held before: every
 * ordered pair of heads that differ in one field, a plain head written in
 * between, the same body address with a shorter then a longer length (the
 * cache's bytes past the shorter one are another body's), another body at
 * another address; a body too big to keep goes out as a head alone. */
TEST(cached_fixed_answer_equals_head_and_body)
{
    struct resp_head_cache hc;
    memset(&hc, 0, sizeof hc);
    static const char body1[] = "ok\n", body2[] = "ok\n", body3[] = "other body\n";
    static char bigbody[600];
    memset(bigbody, 'b', sizeof bigbody - 1);
    struct resp_head base = {.status = 200, .minor = 1, .content_type = "text/plain",
                             .content_length = 3, .keepalive = true};
    struct resp_head v[] = {base, base, base, base, base, base, base, base, base};
    v[1].status = 404;
    v[2].minor = 0;
    v[3].content_length = 11;
    v[4].keepalive = false;
    v[5].keepalive_timeout_s = 5;
    v[6].last_modified = 784111777;
    v[7].content_type = "text/html";
    v[8].extra = "Allow: GET";
    size_t nv = sizeof v / sizeof v[0];
    for (size_t i = 0; i < nv; i++) {
        for (size_t j = 0; j < nv; j++) {
            check_fixed(&hc, &v[i], body1, 3, "first");
            check_fixed(&hc, &v[i], body1, 3, "again");
            check_fixed(&hc, &v[j], body1, 3, "the other head");
            char tmp[512];
            CHECK(resp_write_head_cached(&hc, tmp, sizeof tmp, &v[i]) > 0);
            check_fixed(&hc, &v[j], body1, 3, "after a plain head");
        }
        check_fixed(&hc, &v[i], body3, 11, "body3");
        check_fixed(&hc, &v[i], body1, 2, "body1 short");
        check_fixed(&hc, &v[i], body1, 3, "body1 longer");
        check_fixed(&hc, &v[i], body2, 3, "body2");
        check_fixed(&hc, &v[i], body1, 3, "body1");
    }
    char got[1024], want[1024];
    bool with_body = true;
    size_t n = resp_write_fixed_cached(&hc, got, sizeof got - 1, &base, bigbody, sizeof bigbody - 1,
                                       &with_body);
    size_t m = resp_write_head(want, sizeof want - 1, &base);
    CHECK(!with_body);
    got[n] = want[m] = 0;
    blank_date(got);
    blank_date(want);
    CHECK_EQ_STR(got, want);
}
