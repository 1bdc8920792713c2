/* SPDX-License-Identifier: MIT */
#include <sys/socket.h>

#include "kernel/sock.h"
#include "test.h"

TEST(state_names_round_trip)
{
    for (int s = 1; s < TS_MAX; s++) {
        if (s == TS_NEW_SYN_RECV)
            continue;
        CHECK(tcp_state_parse(tcp_state_name(s)) & (1u << s));
    }
}

/* Issue 15: one spelling out (text, JSON, metrics), every spelling in. */
TEST(state_one_spelling_out)
{
    CHECK_EQ_STR(tcp_state_name(TS_TIME_WAIT), "TIME_WAIT");
    CHECK_EQ_STR(tcp_state_name(TS_ESTABLISHED), "ESTAB");
    CHECK_EQ_STR(tcp_state_name(TS_FIN_WAIT2), "FIN_WAIT2");
    CHECK_EQ_STR(tcp_state_name(TS_CLOSE), "UNCONN");
    for (int s = 1; s < TS_MAX; s++)
        CHECK_EQ_STR(tcp_state_name(s), tcp_state_label(s));
    CHECK_EQ_INT(tcp_state_parse("UNCONN"), 1u << TS_CLOSE);
    CHECK_EQ_INT(tcp_state_parse("FIN_WAIT2"), 1u << TS_FIN_WAIT2);
    CHECK_EQ_INT(tcp_state_parse("fin-wait-2"), 1u << TS_FIN_WAIT2);
}

TEST(state_parse_accepts_aliases_and_groups)
{
    CHECK_EQ_INT(tcp_state_parse("TIME_WAIT"), 1u << TS_TIME_WAIT);
    CHECK_EQ_INT(tcp_state_parse("time-wait"), 1u << TS_TIME_WAIT);
    CHECK_EQ_INT(tcp_state_parse("listen"), 1u << TS_LISTEN);
    CHECK_EQ_INT(tcp_state_parse("estab"), 1u << TS_ESTABLISHED);
    CHECK(tcp_state_parse("syn-recv") & (1u << TS_NEW_SYN_RECV));
    CHECK_EQ_INT(tcp_state_parse("all"), TS_ALL_MASK);
    CHECK(!(tcp_state_parse("connected") & (1u << TS_LISTEN)));
    CHECK(tcp_state_parse("bucket") & (1u << TS_TIME_WAIT));
    CHECK_EQ_INT(tcp_state_parse("bogus"), 0);
    CHECK_EQ_INT(tcp_state_parse(""), 0);
}

TEST(addr_format_and_loopback)
{
    uint8_t v4[16] = {127, 0, 0, 1}, v6[16] = {[15] = 1};
    uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1};
    char a[64];
    CHECK_EQ_STR(tcp_addr_format(a, AF_INET, v4, 80), "127.0.0.1:80");
    CHECK_EQ_STR(tcp_addr_format(a, AF_INET6, v6, 443), "[::1]:443");
    CHECK_EQ_STR(tcp_ip_format(a, AF_INET, v4), "127.0.0.1");
    CHECK_EQ_STR(tcp_ip_format(a, AF_INET6, v6), "::1");
    CHECK(tcp_addr_is_loopback(AF_INET, v4));
    CHECK(tcp_addr_is_loopback(AF_INET6, v6));
    CHECK(tcp_addr_is_loopback(AF_INET6, mapped));
    uint8_t zero[16] = {0};
    CHECK(tcp_addr_is_any(AF_INET6, zero));
    CHECK(!tcp_addr_is_any(AF_INET, v4));
}
