/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>

#include "test.h"
#include "util/parse.h"

TEST(durations)
{
    uint64_t ms;
    CHECK(parse_duration_ms("250ms", &ms) == 0 && ms == 250);
    CHECK(parse_duration_ms("5s", &ms) == 0 && ms == 5000);
    CHECK(parse_duration_ms("5", &ms) == 0 && ms == 5000);
    CHECK(parse_duration_ms("1.5s", &ms) == 0 && ms == 1500);
    CHECK(parse_duration_ms("2m", &ms) == 0 && ms == 120000);
    CHECK(parse_duration_ms("1h", &ms) == 0 && ms == 3600000);
    CHECK(parse_duration_ms("1d", &ms) == 0 && ms == 86400000);
    CHECK(parse_duration_ms("0", &ms) == 0 && ms == 0);
    CHECK(parse_duration_ms("0s", &ms) == 0 && ms == 0);
    CHECK(parse_duration_ms("0.0015s", &ms) == 0 && ms == 2); /* rounded, not cut */
    CHECK(parse_duration_ms("5x", &ms) < 0);
    CHECK(parse_duration_ms("-1s", &ms) < 0);
    CHECK(parse_duration_ms("", &ms) < 0);
}

/* nginx's compound syntax: parts from the largest unit down, each once. */
TEST(durations_compound)
{
    uint64_t ms;
    CHECK(parse_duration_ms("2m30s", &ms) == 0 && ms == 150000);
    CHECK(parse_duration_ms("1h30m", &ms) == 0 && ms == 5400000);
    CHECK(parse_duration_ms("1s500ms", &ms) == 0 && ms == 1500);
    CHECK(parse_duration_ms("1d2h3m4s5ms", &ms) == 0 && ms == 93784005);
    CHECK(parse_duration_ms("30s1m", &ms) < 0);  /* out of order */
    CHECK(parse_duration_ms("1s1s", &ms) < 0);   /* repeated */
    CHECK(parse_duration_ms("1m30", &ms) < 0);   /* bare number after a unit */
    CHECK(parse_duration_ms("1m 30s", &ms) < 0); /* space inside */
    CHECK(parse_duration_ms("ms", &ms) < 0);
    CHECK(parse_duration_ms("1.s", &ms) < 0);
    CHECK(parse_duration_ms(".5s", &ms) < 0);
}

/* What strtod used to let through: each must be an error, and *out untouched. */
TEST(durations_reject_what_strtod_accepts)
{
    static const char *const bad[] = {"nan", "NaN", "inf", "infinity", "0x10", "0x10s", " 5s",
                                      "5s ", "\t5", "+5s", "1e3", "1e-300", "1e-300s", "5s\n",
                                      "0.0001s", "0.4ms", "99999999999999999999h", "213503982335d",
                                      "5sjunk", "5 s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 777;
        CHECK(parse_duration_ms(bad[i], &ms) < 0);
        CHECK(ms == 777);
    }
}

TEST(sizes_and_ints)
{
    uint64_t v;
    CHECK(parse_size("16k", &v) == 0 && v == 16384);
    CHECK(parse_size("1m", &v) == 0 && v == 1048576);
    CHECK(parse_size("1.5k", &v) == 0 && v == 1536);
    CHECK(parse_size("0", &v) == 0 && v == 0);
    CHECK(parse_size("17179869184", &v) == 0 && v == 17179869184ull);
    CHECK(parse_u64("42", 0, 100, &v) == 0 && v == 42);
    CHECK(parse_u64("18446744073709551615", 0, UINT64_MAX, &v) == 0 && v == UINT64_MAX);
    CHECK(parse_u64("18446744073709551616", 0, UINT64_MAX, &v) < 0);
    CHECK(parse_u64("101", 0, 100, &v) < 0);
    CHECK(parse_u64("4x", 0, 100, &v) < 0);
    CHECK(parse_u64("-1", 0, 100, &v) < 0);
    CHECK(parse_u64(" 1", 0, 100, &v) < 0);
    CHECK(parse_u64(" -1", 0, UINT64_MAX, &v) < 0);
    CHECK(parse_u64("0x10", 0, 100, &v) < 0);
    CHECK(parse_u64("", 0, 100, &v) < 0);
    static const char *const bad[] = {"nan", "inf", "0x10", " 1k", "1k ", "1e3", "1e-300",
                                      "0.0001k", "0.4", "-1k", "1kb", "1.k", "99999999999g"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 777;
        CHECK(parse_size(bad[i], &v) < 0);
        CHECK(v == 777);
    }
    uint16_t p;
    CHECK(parse_port("65535", &p) == 0 && p == 65535);
    CHECK(parse_port("0", &p) < 0);
    CHECK(parse_port("65536", &p) < 0);
}

TEST(decimals)
{
    double d;
    CHECK(parse_decimal("300", 0, 1e8, &d) == 0 && d == 300);
    CHECK(parse_decimal("0.5", 0, 1e8, &d) == 0 && d == 0.5);
    static const char *const bad[] = {"nan", "inf", "-1", "1e3", "0x10", " 1", "1 ", "", "1e-300",
                                      "200000000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 7;
        CHECK(parse_decimal(bad[i], 0, 1e8, &d) < 0);
        CHECK(d == 7);
    }
}

TEST(hostports)
{
    struct sockaddr_storage ss;
    socklen_t len;
    CHECK(parse_hostport("127.0.0.1:8080", &ss, &len) == 0);
    CHECK_EQ_INT(ss.ss_family, AF_INET);
    CHECK_EQ_INT(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
    CHECK(parse_hostport("[::1]:80", &ss, &len) == 0);
    CHECK_EQ_INT(ss.ss_family, AF_INET6);
    CHECK(parse_hostport(":9000", &ss, &len) == 0);
    CHECK(parse_hostport("9000", &ss, &len) == 0);
    CHECK(parse_hostport("host.example:80", &ss, &len) < 0);
    CHECK(parse_hostport("[::1]80", &ss, &len) < 0);
    CHECK(parse_hostport("1.2.3.4:0", &ss, &len) < 0);
}
