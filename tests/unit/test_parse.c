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
    CHECK(parse_duration_ms("5x", &ms) < 0);
    CHECK(parse_duration_ms("-1s", &ms) < 0);
    CHECK(parse_duration_ms("", &ms) < 0);
}

TEST(sizes_and_ints)
{
    uint64_t v;
    CHECK(parse_size("16k", &v) == 0 && v == 16384);
    CHECK(parse_size("1m", &v) == 0 && v == 1048576);
    CHECK(parse_u64("42", 0, 100, &v) == 0 && v == 42);
    CHECK(parse_u64("101", 0, 100, &v) < 0);
    CHECK(parse_u64("4x", 0, 100, &v) < 0);
    CHECK(parse_u64("-1", 0, 100, &v) < 0);
    uint16_t p;
    CHECK(parse_port("65535", &p) == 0 && p == 65535);
    CHECK(parse_port("0", &p) < 0);
    CHECK(parse_port("65536", &p) < 0);
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
