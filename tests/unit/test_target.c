/* SPDX-License-Identifier: MIT */
#include "test.h"
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
