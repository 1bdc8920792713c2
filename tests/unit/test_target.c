/* SPDX-License-Identifier: MIT */
#include "test.h"
#include <stdlib.h>

#include "client/target.h"

TEST(methods)
{
    CHECK(target_method_error("GET") == NULL);
    CHECK(target_method_error("M-SEARCH") == NULL);
    CHECK(target_method_error("") != NULL);
    CHECK(strstr(target_method_error("GET\r\nX: y"), "CR or LF") != NULL);
    CHECK(target_method_error("GET /") != NULL);
    CHECK(target_method_error("G\x01T") != NULL);
    CHECK(target_method_error("G(T") != NULL);
    char longm[64];
    memset(longm, 'A', sizeof longm - 1);
    longm[sizeof longm - 1] = 0;
    CHECK(strstr(target_method_error(longm), "32") != NULL);
}

TEST(headers)
{
    CHECK(target_header_error("X-A: 1") == NULL);
    CHECK(target_header_error("X-A:\t1 2") == NULL);
    CHECK(strstr(target_header_error("X-A: 1\r\nX-B: 2"), "CR or LF") != NULL);
    CHECK(strstr(target_header_error("X-A: 1\n"), "CR or LF") != NULL);
    CHECK(target_header_error("X-A: \x7f") != NULL);
    CHECK(target_header_error("X A: 1") != NULL);
    CHECK(target_header_error(": 1") != NULL);
    CHECK(target_header_error("no colon") != NULL);
}

TEST(urls)
{
    struct target t;
    char err[256];
    CHECK(target_parse("http://127.0.0.1:8080/a?b=c", &t, err, sizeof err) == 0);
    CHECK(!strcmp(t.path, "/a?b=c") && !strcmp(t.text, "127.0.0.1:8080"));
    CHECK(target_parse("http://127.0.0.1/a\r\nX: y", &t, err, sizeof err) < 0);
    CHECK(strstr(err, "a CR (0x0d) at byte 18") != NULL);
    CHECK(target_parse("http://127.0.0.1/a b", &t, err, sizeof err) < 0);
    CHECK(target_parse("http://127.0.\n0.1/", &t, err, sizeof err) < 0);
    static char longurl[3100];
    strcpy(longurl, "http://127.0.0.1/");
    memset(longurl + strlen(longurl), 'a', 3000);
    CHECK(target_parse(longurl, &t, err, sizeof err) < 0);
    CHECK(strstr(err, "longer than the limit (2047)") != NULL);
    CHECK(target_parse("ftp://x/", &t, err, sizeof err) < 0);
}

/* Issue 21: URLs as curl reads them. */
TEST(urls_as_curl_reads_them)
{
    struct target t;
    char err[256];
    CHECK(target_parse("HTTP://127.0.0.1:8080/a", &t, err, sizeof err) == 0);
    CHECK(!strcmp(t.text, "127.0.0.1:8080") && !strcmp(t.path, "/a") && !t.tls);
    CHECK(target_parse("127.0.0.1:8081", &t, err, sizeof err) == 0);
    CHECK(!strcmp(t.text, "127.0.0.1:8081") && !strcmp(t.path, "/") && !strcmp(t.host, "127.0.0.1:8081"));
    CHECK(target_parse("127.0.0.1", &t, err, sizeof err) == 0);
    CHECK(!strcmp(t.text, "127.0.0.1:80"));
    CHECK(target_parse("http://127.0.0.1:8080/p?q=1#frag", &t, err, sizeof err) == 0);
    CHECK(!strcmp(t.path, "/p?q=1"));
    CHECK(target_parse("http://127.0.0.1#x", &t, err, sizeof err) == 0);
    CHECK(!strcmp(t.path, "/") && !strcmp(t.host, "127.0.0.1"));
    CHECK(target_parse("http://127.0.0.1?q=http://x", &t, err, sizeof err) == 0);
    CHECK(!strcmp(t.path, "/?q=http://x"));
    CHECK(target_parse("http://user:p%40ss@127.0.0.1:8080/", &t, err, sizeof err) == 0);
    CHECK(!strcmp(t.host, "127.0.0.1:8080") && !strcmp(t.text, "127.0.0.1:8080"));
    CHECK(!strcmp(t.auth, "dXNlcjpwQHNz")); /* base64("user:p@ss"), as curl sends it */
    CHECK(target_parse("https://127.0.0.1/x", &t, err, sizeof err) == 0);
    CHECK(t.tls && !strcmp(t.text, "127.0.0.1:443"));
    CHECK(target_parse("HTTPS://[::1]:8443/", &t, err, sizeof err) == 0);
    CHECK(t.tls && !strcmp(t.text, "[::1]:8443"));
    CHECK(target_parse("http://127.0.0.1:99999/", &t, err, sizeof err) < 0);
    CHECK(strstr(err, "bad port '99999'") != NULL);
    CHECK(target_parse("http://u@/", &t, err, sizeof err) < 0);
    CHECK(target_parse("http://127.0.0.1/#a b", &t, err, sizeof err) == 0); /* never sent */
}

TEST(every_address_kept)
{
    struct target t;
    char err[256];
    CHECK(target_parse("http://localhost:8080/", &t, err, sizeof err) == 0);
    CHECK(t.naddrs >= 1 && t.naddrs <= TARGET_MAX_ADDRS);
    CHECK(!memcmp(&t.addr, &t.addrs[0], sizeof t.addr));
}

TEST(header_replaces_closers_own)
{
    struct target t;
    char err[256];
    size_t len;
    CHECK(target_parse("http://a:b@127.0.0.1:8080/x", &t, err, sizeof err) == 0);
    const char *hs[] = {"X-A: 1", "host: example.test", "Connection: close"};
    char *r = target_request(&t, "GET", 1, "keep-alive", hs, 3, NULL, &len);
    CHECK(r != NULL);
    CHECK(!strcmp(r, "GET /x HTTP/1.1\r\nHost: example.test\r\nAuthorization: Basic YTpi\r\n"
                     "X-A: 1\r\nConnection: close\r\n\r\n"));
    CHECK_EQ_INT(len, strlen(r));
    free(r);
    const char *drop[] = {"Host:", "Authorization: Bearer t"};
    r = target_request(&t, "HEAD", 0, NULL, drop, 2, "Content-Length: 3\r\n", &len);
    CHECK(!strcmp(r, "HEAD /x HTTP/1.0\r\nAuthorization: Bearer t\r\nContent-Length: 3\r\n\r\n"));
    free(r);
    CHECK(target_header_is_own("HOST: x") && target_header_is_own("connection: close"));
    CHECK(!target_header_is_own("Hostname: x") && !target_header_is_own("X-Host: y"));
}
