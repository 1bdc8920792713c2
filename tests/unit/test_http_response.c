/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "http/response.h"
#include "test.h"

static int parse(const char *s, struct http_response *r, bool head)
{
    return http_parse_response(s, strlen(s), r, head);
}

TEST(framing_and_persistence)
{
    struct http_response r;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\n\r\nhello";
    CHECK_EQ_INT(parse(s, &r, false), (int)strlen(s) - 5);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.framing, FRAME_LENGTH);
    CHECK_EQ_INT(r.content_length, 5);
    CHECK(http_response_keeps_alive(&r));
    parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", &r, false);
    CHECK_EQ_INT(r.framing, FRAME_CHUNKED);
    CHECK(!http_response_keeps_alive(&r));
    parse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", &r, false);
    CHECK(!http_response_keeps_alive(&r));
    parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", &r, false);
    CHECK(http_response_keeps_alive(&r));
    parse("HTTP/1.1 200 OK\r\n\r\n", &r, false);
    CHECK_EQ_INT(r.framing, FRAME_UNTIL_CLOSE);
    CHECK(!http_response_keeps_alive(&r));
    parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", &r, true);
    CHECK_EQ_INT(r.framing, FRAME_NONE);
    parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", &r, false);
    CHECK_EQ_INT(r.framing, FRAME_NONE);
}

TEST(incomplete_and_malformed)
{
    struct http_response r;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    for (size_t n = 0; n < strlen(s); n++)
        CHECK_EQ_INT(http_parse_response(s, n, &r, false), -2);
    CHECK_EQ_INT(parse("HTTP/2 200 OK\r\n\r\n", &r, false), -1);
    CHECK_EQ_INT(parse("HTTP/1.1 2x0 OK\r\n\r\n", &r, false), -1);
    CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", &r, false), -1);
    CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", &r, false), -1);
}

/* RFC 9112 6.3: lengths that disagree leave the framing unknowable (a
 * response-splitting vector): an error; repeated equal ones are one length. */
TEST(duplicate_content_length)
{
    struct http_response r;
    CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &r, false), -1);
    const char *same = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n";
    CHECK_EQ_INT(parse(same, &r, false), (int)strlen(same));
    CHECK_EQ_INT(r.framing, FRAME_LENGTH);
    CHECK_EQ_INT(r.content_length, 5);
    CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", &r, false), -1);
    const char *max = "HTTP/1.1 200 OK\r\nContent-Length: 1844674407370955160\r\n\r\n";
    CHECK_EQ_INT(parse(max, &r, false), (int)strlen(max));
}

/* Every prefix of a complete head is -2; the whole gives the same result as
 * one call, with slices pointing into the caller's buffer. */
TEST(byte_by_byte_same_result)
{
    static const char s[] = "HTTP/1.0 503 Busy\r\nServer: x\r\nConnection: Keep-Alive, close\r\n"
                            "Keep-Alive: max=5, timeout=12\r\nContent-Length: 3\r\n\r\nabc";
    size_t head = sizeof s - 1 - 3;
    struct http_response r;
    for (size_t n = 1; n < head; n++)
        CHECK_EQ_INT(http_parse_response(s, n, &r, false), -2);
    CHECK_EQ_INT(http_parse_response(s, head, &r, false), (int)head);
    CHECK_EQ_INT(r.minor, 0);
    CHECK_EQ_INT(r.status, 503);
    CHECK_EQ_INT(r.nheaders, 4);
    CHECK(r.headers[0].value.ptr == s + 27);
    CHECK_EQ_INT(r.connection, CONN_HDR_CLOSE | CONN_HDR_KEEPALIVE);
    CHECK(!http_response_keeps_alive(&r)); /* close wins */
    CHECK_EQ_INT(r.framing, FRAME_LENGTH);
}

TEST(informational_and_no_body)
{
    struct http_response r;
    CHECK_EQ_INT(parse("HTTP/1.1 100 Continue\r\n\r\n", &r, false), 25);
    CHECK_EQ_INT(r.status, 100);
    CHECK_EQ_INT(r.framing, FRAME_NONE);
    parse("HTTP/1.1 204 No Content\r\n\r\n", &r, false);
    CHECK_EQ_INT(r.framing, FRAME_NONE);
    CHECK(http_response_keeps_alive(&r));
    parse("HTTP/1.1 200 OK\nContent-Length: 0\n\n", &r, false); /* bare LF tolerated */
    CHECK_EQ_INT(r.framing, FRAME_NONE);
    CHECK(http_response_keeps_alive(&r));
}
