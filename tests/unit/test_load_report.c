/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/load_report.h"
#include "test.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip, &a->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
    return ss;
}

/* A dual-stack [::]:PORT listener's sockets show [::ffff:127.0.0.1]: the
 * same endpoint as the target 127.0.0.1 (issue 21: 24,839 server-first
 * closes, time_wait_at_target 0). */
TEST(v4_mapped_v6_is_the_v4_endpoint)
{
    uint8_t a[16] = {0};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", a);
    struct sockaddr_storage t = v4("127.0.0.1", 8080);
    CHECK(load_same_endpoint(AF_INET6, a, 8080, &t));
    CHECK(!load_same_endpoint(AF_INET6, a, 8081, &t));
    struct sockaddr_storage m = v6("::ffff:127.0.0.1", 8080);
    uint8_t b[16] = {127, 0, 0, 1};
    CHECK(load_same_endpoint(AF_INET, b, 8080, &m));
    CHECK(load_same_endpoint(AF_INET6, a, 8080, &m));
    struct sockaddr_storage o = v4("127.0.0.2", 8080);
    CHECK(!load_same_endpoint(AF_INET6, a, 8080, &o));
}

TEST(plain_families_still_match)
{
    uint8_t b[16] = {10, 0, 0, 1};
    struct sockaddr_storage t = v4("10.0.0.1", 80);
    CHECK(load_same_endpoint(AF_INET, b, 80, &t));
    uint8_t l[16] = {0};
    inet_pton(AF_INET6, "::1", l);
    struct sockaddr_storage s = v6("::1", 80);
    CHECK(load_same_endpoint(AF_INET6, l, 80, &s));
    CHECK(!load_same_endpoint(AF_INET6, l, 80, &t));
    /* ::1 is not 0.0.0.1 mapped: only ::ffff:0:0/96 is IPv4. */
    uint8_t z[16] = {0, 0, 0, 1};
    CHECK(!load_same_endpoint(AF_INET, z, 80, &s));
}

/* Over TLS the FIN counts are not the TIME_WAIT counts when a close_notify
 * reaches a closed socket (the RST ends it): the text says so when this
 * client sent close_notify, and only over TLS. */
static int says_rst(bool tls, uint64_t client_notify)
{
    struct load_opts o = {0};
    struct load_result r = {0};
    o.tls = tls;
    snprintf(o.target_text, sizeof o.target_text, "127.0.0.1:8443");
    snprintf(o.url_path, sizeof o.url_path, "/");
    r.tls.client_close_notify = client_notify;
    r.tw_towards_after = r.tw_at_after = -1;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    load_print_text(f, &o, &r);
    fclose(f);
    int found = strstr(buf, "TLS: a close_notify that reaches a socket already closed") != NULL;
    free(buf);
    return found;
}

TEST(tls_close_notify_rst_caveat)
{
    CHECK(says_rst(true, 200));
    CHECK(!says_rst(true, 0));
    CHECK(!says_rst(false, 0));
}
