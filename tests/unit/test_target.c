/* SPDX-License-Identifier: MIT */
#include "test.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

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

TEST(url_errors_say_what)
{
    struct target t;
    char err[256];
    CHECK(target_parse("http://[::1/", &t, err, sizeof err) < 0);
    CHECK(strstr(err, "bad IPv6 literal") != NULL);
    CHECK(target_parse("http://:8080/", &t, err, sizeof err) < 0);
    CHECK(strstr(err, "no host") != NULL);
    static char longhost[400], longuser[400];
    strcpy(longhost, "http://");
    memset(longhost + 7, 'h', 300);
    CHECK(target_parse(longhost, &t, err, sizeof err) < 0);
    CHECK(strstr(err, "the URL's host is 300 bytes") != NULL);
    strcpy(longuser, "http://");
    memset(longuser + 7, 'u', 320);
    strcat(longuser, "@127.0.0.1/");
    CHECK(target_parse(longuser, &t, err, sizeof err) < 0);
    CHECK(strstr(err, "user:password is 320 bytes") != NULL);
    CHECK(target_parse("http://127.0.0.1?q", &t, err, sizeof err) == 0);
    CHECK_EQ_STR(t.path, "/?q");
}

/* One listening address among refused ones: picked, as curl does; none
 * listening: each address and why. */
TEST(pick_the_address_that_accepts)
{
    struct target t;
    char err[512];
    CHECK(target_parse("http://127.0.0.1:1/", &t, err, sizeof err) == 0);
    CHECK(target_pick_address(&t, 1000, err, sizeof err) == 0); /* one address: nothing tried */
    int ls = socket(AF_INET, SOCK_STREAM, 0), dead = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}, d = a;
    socklen_t al = sizeof a, dl = sizeof d;
    CHECK(ls >= 0 && bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && listen(ls, 4) == 0 &&
          getsockname(ls, (struct sockaddr *)&a, &al) == 0);
    CHECK(dead >= 0 && bind(dead, (struct sockaddr *)&d, sizeof d) == 0 &&
          getsockname(dead, (struct sockaddr *)&d, &dl) == 0); /* bound, never listening */
    memset(&t.addrs[0], 0, sizeof t.addrs[0]);
    memset(&t.addrs[1], 0, sizeof t.addrs[1]);
    memcpy(&t.addrs[0], &d, sizeof d);
    memcpy(&t.addrs[1], &a, sizeof a);
    t.lens[0] = t.lens[1] = sizeof a;
    t.naddrs = 2;
    CHECK(target_pick_address(&t, 1000, err, sizeof err) == 0);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%u", ntohs(a.sin_port));
    CHECK_EQ_STR(t.text, want);
    memcpy(&t.addrs[0], &a, sizeof a); /* listening first: kept, the next never tried */
    memcpy(&t.addrs[1], &d, sizeof d);
    t.text[0] = 0;
    CHECK(target_pick_address(&t, 1000, err, sizeof err) == 0);
    CHECK_EQ_STR(t.text, want);
    close(ls);
    memcpy(&t.addrs[0], &d, sizeof d);
    memcpy(&t.addrs[1], &d, sizeof d);
    CHECK(target_pick_address(&t, 1000, err, sizeof err) < 0);
    close(dead);
    CHECK(strstr(err, "cannot connect to any address of 127.0.0.1:1") != NULL);
    CHECK(strstr(err, "Connection refused, 127.0.0.1:") != NULL); /* each address named */
}

TEST(proxy_variables_are_named)
{
    struct target t;
    char err[256], *buf = NULL;
    size_t len = 0;
    CHECK(target_parse("https://127.0.0.1/", &t, err, sizeof err) == 0);
    setenv("HTTPS_PROXY", "http://proxy.test:3128", 1);
    FILE *f = open_memstream(&buf, &len);
    target_note_proxy(f, "probe", &t);
    t.tls = false; /* http:// reads only http_proxy */
    target_note_proxy(f, "load", &t);
    fclose(f);
    unsetenv("HTTPS_PROXY");
    CHECK_EQ_STR(buf, "closer probe: HTTPS_PROXY is set and ignored: closer connects to the server "
                      "directly (it measures the server's own closes, which a proxy would hide)\n");
    free(buf);
}

TEST(source_ranges)
{
    struct sockaddr_storage s[300];
    char ip[64];
    CHECK_EQ_INT(source_range_parse("10.0.0.1-10.0.0.4", s, 300), 4);
    inet_ntop(AF_INET, &((struct sockaddr_in *)&s[3])->sin_addr, ip, sizeof ip);
    CHECK_EQ_STR(ip, "10.0.0.4");
    CHECK_EQ_INT(source_range_parse("10.0.1.0/24", s, 300), 254); /* no network, no broadcast */
    inet_ntop(AF_INET, &((struct sockaddr_in *)&s[0])->sin_addr, ip, sizeof ip);
    CHECK_EQ_STR(ip, "10.0.1.1");
    CHECK_EQ_INT(source_range_parse("10.0.1.7/32", s, 300), 1);
    CHECK_EQ_INT(source_range_parse("10.0.0.0/16", s, 300), 300); /* cut at max */
    CHECK_EQ_INT(source_range_parse("127.0.0.2", s, 300), 1);
    CHECK_EQ_INT(source_range_parse("fd00::2", s, 300), 1);
    CHECK_EQ_INT(s[0].ss_family, AF_INET6);
    CHECK_EQ_INT(source_range_parse("10.0.0.4-10.0.0.1", s, 300), -1);
    CHECK_EQ_INT(source_range_parse("10.0.0.0/4", s, 300), -1);
    CHECK_EQ_INT(source_range_parse("nope-10.0.0.1", s, 300), -1);
    CHECK_EQ_INT(source_range_parse("10.0.0.1-nope", s, 300), -1);
    CHECK_EQ_INT(source_range_parse("not an address", s, 300), -1);
}
