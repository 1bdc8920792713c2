/* SPDX-License-Identifier: MIT */
/* The lab's socket engine (lab/wire.c) where it needs no namespace: one
 * HTTP exchange over a socketpair whose far end holds the response (whole,
 * head and body apart, cut in the head or body, larger than the buffer, the
 * peer gone),
 * the end of a connection (EOF, nothing yet, a reset), accept on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lab/wire.h"
#include "test.h"

static const char *req = "GET / HTTP/1.1\r\nHost: lab\r\n\r\n";
static struct lab_env nowhere; /* no tape: the calls are real */

/* A socketpair whose far end already holds resp (then shut if shut). */
static int peer_with(const char *resp, size_t len, bool shut, int *far)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    if (len && write(sv[1], resp, len) != (ssize_t)len)
        return -1;
    if (shut)
        shutdown(sv[1], SHUT_WR);
    *far = sv[1];
    return sv[0];
}

/* What the far end received: the request, whole. */
static bool got_request(int far)
{
    char buf[128];
    ssize_t n = recv(far, buf, sizeof buf - 1, MSG_DONTWAIT);
    return n == (ssize_t)strlen(req) && !memcmp(buf, req, (size_t)n);
}

TEST(http_reads_head_and_content_length_body)
{
    const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    int far, fd = peer_with(resp, sizeof resp - 1, false, &far);
    CHECK(fd >= 0);
    char buf[256];
    int n = wire_http(&nowhere, fd, req, buf, sizeof buf);
    bool sent = got_request(far);
    close(fd);
    close(far);
    CHECK_EQ_INT(n, sizeof resp - 1);
    CHECK_EQ_STR(buf, resp);
    CHECK(sent);
}

/* Head and body as two records (SOCK_SEQPACKET: one per recv): the body
 * is waited for only when the head announces it. */
static int records(const char *head, const char *body, int *far)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
        write(sv[1], head, strlen(head)) != (ssize_t)strlen(head) ||
        write(sv[1], body, strlen(body)) != (ssize_t)strlen(body))
        return -1;
    *far = sv[1];
    return sv[0];
}

TEST(http_waits_for_the_body_its_head_announces_in_any_case)
{
    char buf[256];
    int far, fd = records("HTTP/1.1 200 OK\r\ncontent-LENGTH: 3\r\n\r\n", "abc", &far);
    CHECK(fd >= 0);
    CHECK_EQ_INT(wire_http(&nowhere, fd, req, buf, sizeof buf), 41);
    CHECK(strstr(buf, "\r\n\r\nabc"));
    close(fd);
    close(far);
    /* no length: the head is the whole response */
    fd = records("HTTP/1.1 204 No Content\r\n\r\n", "next", &far);
    CHECK(fd >= 0);
    CHECK_EQ_INT(wire_http(&nowhere, fd, req, buf, sizeof buf), 27);
    close(fd);
    close(far);
}

TEST(http_length_only_in_the_body_is_not_the_heads)
{
    const char b[] = "HTTP/1.1 204 No Content\r\n\r\nContent-Length: 9\r\n";
    char buf[256];
    int far, fd = peer_with(b, sizeof b - 1, false, &far);
    CHECK(fd >= 0);
    CHECK_EQ_INT(wire_http(&nowhere, fd, req, buf, sizeof buf), sizeof b - 1);
    close(fd);
    close(far);
}

TEST(http_closed_mid_head_returns_what_arrived)
{
    const char part[] = "HTTP/1.1 200 OK\r\nContent-Le";
    int far, fd = peer_with(part, sizeof part - 1, true, &far);
    CHECK(fd >= 0);
    char buf[256];
    CHECK_EQ_INT(wire_http(&nowhere, fd, req, buf, sizeof buf), sizeof part - 1);
    CHECK_EQ_STR(buf, part);
    close(fd);
    close(far);
}

TEST(http_closed_mid_body_returns_what_arrived)
{
    const char part[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
    int far, fd = peer_with(part, sizeof part - 1, true, &far);
    CHECK(fd >= 0);
    char buf[256];
    CHECK_EQ_INT(wire_http(&nowhere, fd, req, buf, sizeof buf), sizeof part - 1);
    close(fd);
    close(far);
}

TEST(http_nothing_back_or_nobody_there_is_an_error)
{
    int far, fd = peer_with("", 0, true, &far);
    CHECK(fd >= 0);
    char buf[64];
    CHECK_EQ_INT(wire_http(&nowhere, fd, req, buf, sizeof buf), -1);
    close(fd);
    close(far);
    fd = peer_with("", 0, false, &far);
    CHECK(fd >= 0);
    close(far); /* the send itself fails (EPIPE, no signal) */
    CHECK_EQ_INT(wire_http(&nowhere, fd, req, buf, sizeof buf), -1);
    CHECK_EQ_INT(errno, EPIPE);
    close(fd);
}

TEST(http_response_larger_than_the_buffer_stops_at_its_end)
{
    static char resp[600];
    int len = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n");
    memset(resp + len, 'x', 500);
    int far, fd = peer_with(resp, (size_t)len + 500, false, &far);
    CHECK(fd >= 0);
    char buf[128];
    CHECK_EQ_INT(wire_http(&nowhere, fd, req, buf, sizeof buf), sizeof buf - 1);
    CHECK_EQ_INT(strlen(buf), sizeof buf - 1);
    close(fd);
    close(far);
}

TEST(wait_end_sees_eof_after_data_and_times_out_on_silence)
{
    int far, fd = peer_with("tail", 4, true, &far);
    CHECK(fd >= 0);
    CHECK_EQ_INT(wire_wait_end(&nowhere, fd, 1000), 0);
    close(fd);
    close(far);
    fd = peer_with("", 0, false, &far);
    CHECK(fd >= 0);
    CHECK_EQ_INT(wire_wait_end(&nowhere, fd, 0), -2);
    close(fd);
    close(far);
}

/* Loopback TCP (no namespace): accept, then a close with SO_LINGER {1,0}
 * reaches the peer as a reset, not an EOF. */
TEST(close_rst_resets_the_peer)
{
    struct lab_env env;
    memset(&env, 0, sizeof env);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK(lfd >= 0);
    CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 4) == 0);
    CHECK(getsockname(lfd, (struct sockaddr *)&a, &alen) == 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c >= 0 && connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    int s = wire_accept(&env, lfd);
    CHECK(s >= 0);
    wire_close_rst(&env, s);
    int end = wire_wait_end(&env, c, 2000);
    close(c);
    close(lfd);
    CHECK_EQ_INT(end, ECONNRESET);
}

TEST(accept_on_a_closed_listener_says_why)
{
    struct lab_env env;
    memset(&env, 0, sizeof env);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(write(sv[1], "x", 1) == 1); /* readable, yet no listener */
    CHECK_EQ_INT(wire_accept(&env, sv[0]), -1);
    CHECK(!strncmp(env.err, "accept: ", 8));
    close(sv[0]);
    close(sv[1]);
}
