/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "kernel/proctcp.h"
#include "test.h"

TEST(parses_v4_time_wait_line)
{
    /* 127.0.0.1:8080 -> 127.0.0.1:51410, TIME_WAIT, tr 3, 59 s (5900 ticks). */
    const char *line = "   3: 0100007F:1F90 0100007F:C8D2 06 00000000:00000000 03:00001700 00000000     0        0 0 3 0000000000000000";
    struct tcp_sock s;
    CHECK_EQ_INT(proctcp_parse_line(line, AF_INET, &s), 0);
    CHECK_EQ_INT(s.state, TS_TIME_WAIT);
    CHECK_EQ_INT(s.sport, 8080);
    CHECK_EQ_INT(s.dport, 51410);
    CHECK_EQ_INT(s.timer, TT_TIMEWAIT);
    CHECK_EQ_INT(s.expires_ms, 58880);
    CHECK_EQ_INT(s.inode, 0);
    char a[64];
    CHECK_EQ_STR(tcp_addr_format(a, AF_INET, s.src, s.sport), "127.0.0.1:8080");
}

TEST(parses_v4_listen_with_queue)
{
    const char *line = "   0: 00000000:0050 00000000:0000 0A 00000000:00000005 00:00000000 00000000     0        0 424242 1 0000000000000000 100 0 0 10 0";
    struct tcp_sock s;
    CHECK_EQ_INT(proctcp_parse_line(line, AF_INET, &s), 0);
    CHECK_EQ_INT(s.state, TS_LISTEN);
    CHECK_EQ_INT(s.sport, 80);
    CHECK_EQ_INT(s.rqueue, 5);
    CHECK_EQ_INT(s.inode, 424242);
}

TEST(parses_v6_loopback)
{
    const char *line = "   1: 00000000000000000000000001000000:1F9A 00000000000000000000000001000000:D6D8 01 00000000:00000000 00:00000000 00000000     0        0 555 1 0000000000000000 20 4 30 10 -1";
    struct tcp_sock s;
    CHECK_EQ_INT(proctcp_parse_line(line, AF_INET6, &s), 0);
    char a[64];
    CHECK_EQ_STR(tcp_addr_format(a, AF_INET6, s.src, s.sport), "[::1]:8090");
    CHECK_EQ_INT(s.state, TS_ESTABLISHED);
}

TEST(rejects_header_and_garbage)
{
    struct tcp_sock s;
    CHECK_EQ_INT(proctcp_parse_line("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", AF_INET, &s), -1);
    CHECK_EQ_INT(proctcp_parse_line("", AF_INET, &s), -1);
    CHECK_EQ_INT(proctcp_parse_line("   3: 0100007F:1F90 0100007F:C8D2 06", AF_INET, &s), -1);
    /* A v6-width address where v4 is expected. */
    CHECK_EQ_INT(proctcp_parse_line("   1: 00000000000000000000000001000000:1F9A 00000000000000000000000001000000:D6D8 01 00000000:00000000 00:00000000 00000000     0        0 555 1", AF_INET, &s), -1);
}
