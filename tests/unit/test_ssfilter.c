/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "snapshot/ssfilter.h"
#include "test.h"

static struct tcp_sock sock4(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    struct tcp_sock s = {.family = AF_INET, .state = TS_ESTABLISHED, .sport = sport, .dport = dport};
    inet_pton(AF_INET, src, s.src);
    inet_pton(AF_INET, dst, s.dst);
    return s;
}

static struct tcp_sock sock6(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    struct tcp_sock s = {.family = AF_INET6, .state = TS_ESTABLISHED, .sport = sport, .dport = dport};
    inet_pton(AF_INET6, src, s.src);
    inet_pton(AF_INET6, dst, s.dst);
    return s;
}

/* Parses one string of words (split on blanks by the tokenizer) and
 * evaluates it on s: 1 match, 0 no match, -1 parse error. */
static int eval_on(const char *filter, const struct tcp_sock *s)
{
    char *argv[] = {(char *)filter};
    uint32_t states;
    struct ssf *f;
    char err[128];
    if (ssf_parse(1, argv, &states, &f, err, sizeof err) < 0)
        return -1;
    int r = ssf_match(f, s);
    ssf_free(f);
    return r;
}

TEST(ports_and_operators)
{
    struct tcp_sock s = sock4("10.0.0.1", 8080, "10.0.0.2", 40000);
    CHECK_EQ_INT(eval_on("sport = :8080", &s), 1);
    CHECK_EQ_INT(eval_on("sport :8080", &s), 1);
    CHECK_EQ_INT(eval_on("sport eq 8080", &s), 1);
    CHECK_EQ_INT(eval_on("sport != :8080", &s), 0);
    CHECK_EQ_INT(eval_on("sport < :8080", &s), 0);
    CHECK_EQ_INT(eval_on("sport <= :8080", &s), 1);
    CHECK_EQ_INT(eval_on("sport gt :8079", &s), 1);
    CHECK_EQ_INT(eval_on("dport >= :40001", &s), 0);
    CHECK_EQ_INT(eval_on("dport ge :40000", &s), 1);
}

TEST(boolean_structure_and_precedence)
{
    struct tcp_sock s = sock4("10.0.0.1", 80, "10.0.0.2", 5000);
    CHECK_EQ_INT(eval_on("sport = :81 or sport = :80 and dport = :5000", &s), 1);
    CHECK_EQ_INT(eval_on("( sport = :81 or sport = :80 ) and dport = :1", &s), 0);
    CHECK_EQ_INT(eval_on("(sport = :81 || sport = :80) && dport = :5000", &s), 1);
    CHECK_EQ_INT(eval_on("not sport = :80", &s), 0);
    CHECK_EQ_INT(eval_on("! ( sport = :1 )", &s), 1);
    CHECK_EQ_INT(eval_on("sport = :80 dport = :5000", &s), 1); /* juxtaposed: and */
    CHECK_EQ_INT(eval_on("sport = :80 dport = :5001", &s), 0);
}

/* issue 24: ss (iproute2 ssfilter.y) reads and/or left to right */
TEST(and_or_left_to_right_as_ss)
{
    struct tcp_sock s = sock4("10.0.0.1", 80, "10.0.0.2", 5000);
    CHECK_EQ_INT(eval_on("sport = :80 or sport = :443 and dport = :1", &s), 0);
    CHECK_EQ_INT(eval_on("sport = :80 or ( sport = :443 and dport = :1 )", &s), 1);
    CHECK_EQ_INT(eval_on("dport = :1 and sport = :9 or sport = :80", &s), 1);
    CHECK_EQ_INT(eval_on("not sport = :80 or dport = :5000", &s), 1); /* not takes one condition */
    CHECK_EQ_INT(eval_on("sport = :80 or sport = :9 dport = :1", &s), 0); /* juxtaposed: and */
}

/* ss's two filters: the kernel's bytecode wants the families to agree, ss's
 * own run_ssfilter takes any /0; a socket is shown when both pass it. */
TEST(zero_prefixes_per_family_as_ss)
{
    struct tcp_sock v4 = sock4("127.0.0.1", 80, "127.0.0.2", 5000);
    struct tcp_sock v6 = sock6("::1", 80, "::1", 5000);
    struct tcp_sock mapped = sock6("::ffff:127.0.0.1", 80, "::ffff:127.0.0.2", 5000);
    CHECK_EQ_INT(eval_on("dst 0.0.0.0/0", &v4), 1);
    CHECK_EQ_INT(eval_on("dst 0.0.0.0/0", &v6), 0);
    CHECK_EQ_INT(eval_on("dst 0.0.0.0/0", &mapped), 1);
    CHECK_EQ_INT(eval_on("dst ::/0", &v4), 0);
    CHECK_EQ_INT(eval_on("dst ::/0", &v6), 1);
    CHECK_EQ_INT(eval_on("dst ::/0", &mapped), 1);
    CHECK_EQ_INT(eval_on("not dst 0.0.0.0/0", &v4), 0);
    CHECK_EQ_INT(eval_on("not dst 0.0.0.0/0", &v6), 0);
    CHECK_EQ_INT(eval_on("not dst ::/0", &v4), 0);
    CHECK_EQ_INT(eval_on("not dst ::/0", &v6), 0);
    CHECK_EQ_INT(eval_on("not src 127.0.0.0/8", &v6), 1);
    CHECK_EQ_INT(eval_on("not src 127.0.0.0/8", &mapped), 0);
    CHECK_EQ_INT(eval_on("not src ::/1", &v4), 0); /* 127.x's first bit is 0: ss's own filter */
}

TEST(addresses_prefixes_and_ports)
{
    struct tcp_sock s = sock4("127.0.0.1", 8080, "127.0.0.9", 40000);
    CHECK_EQ_INT(eval_on("src 127.0.0.1", &s), 1);
    CHECK_EQ_INT(eval_on("dst 127.0.0.0/8", &s), 1);
    CHECK_EQ_INT(eval_on("dst 127.0.0.0/29", &s), 0);
    CHECK_EQ_INT(eval_on("dst 127.0.0.8/29", &s), 1);
    CHECK_EQ_INT(eval_on("src 127.0.0.1:8080", &s), 1);
    CHECK_EQ_INT(eval_on("src 127.0.0.1:8081", &s), 0);
    CHECK_EQ_INT(eval_on("dst :40000", &s), 1);
    CHECK_EQ_INT(eval_on("dst *:40000", &s), 1);
    CHECK_EQ_INT(eval_on("dst *", &s), 1);
    CHECK_EQ_INT(eval_on("dst ::1", &s), 0);
    struct tcp_sock v6 = sock6("::1", 443, "2001:db8::5", 50000);
    CHECK_EQ_INT(eval_on("src [::1]:443", &v6), 1);
    CHECK_EQ_INT(eval_on("dst 2001:db8::/32", &v6), 1);
    CHECK_EQ_INT(eval_on("dst [2001:db8::/32]:50000", &v6), 1);
    CHECK_EQ_INT(eval_on("dst [2001:db9::]/32", &v6), 0);
    CHECK_EQ_INT(eval_on("src 127.0.0.1", &v6), 0);
    struct tcp_sock mapped = sock6("::ffff:127.0.0.1", 80, "::ffff:10.1.2.3", 1234);
    CHECK_EQ_INT(eval_on("dst 10.1.0.0/16", &mapped), 1);
}

TEST(state_words)
{
    char *argv[] = {"state", "time-wait", "state", "close-wait", "(", "dport", "=", ":443", ")"};
    uint32_t states;
    struct ssf *f;
    char err[128];
    CHECK_EQ_INT(ssf_parse(9, argv, &states, &f, err, sizeof err), 0);
    CHECK_EQ_INT(states, (1u << TS_TIME_WAIT) | (1u << TS_CLOSE_WAIT));
    CHECK(f != NULL);
    ssf_free(f);
    char *excl[] = {"exclude", "time-wait"};
    CHECK_EQ_INT(ssf_parse(2, excl, &states, &f, err, sizeof err), 0);
    CHECK(!(states & (1u << TS_TIME_WAIT)) && (states & (1u << TS_ESTABLISHED)));
    CHECK(f == NULL);
    /* In order, as ss: the first exclude starts from every state. */
    char *order[] = {"exclude", "listening", "state", "established"};
    CHECK_EQ_INT(ssf_parse(4, order, &states, &f, err, sizeof err), 0);
    CHECK_EQ_INT(states, TS_ALL_MASK & ~(1u << TS_LISTEN));
    char *closed[] = {"state", "closed"};
    CHECK_EQ_INT(ssf_parse(2, closed, &states, &f, err, sizeof err), 0);
    CHECK_EQ_INT(states, 1u << TS_CLOSE);
    /* Nothing left: ss's default table (connected, no TIME-WAIT, SYN-RECV). */
    char *none[] = {"state", "time-wait", "exclude", "time-wait"};
    CHECK_EQ_INT(ssf_parse(4, none, &states, &f, err, sizeof err), 0);
    CHECK(states & (1u << TS_ESTABLISHED));
    CHECK(!(states & ((1u << TS_TIME_WAIT) | (1u << TS_LISTEN) | (1u << TS_SYN_RECV))));
}

TEST(errors_name_the_word)
{
    const char *bad[] = {"bogus", "sport = :99999", "( sport = :80", "src 1.2.3.4/40",
                         "dst != 1.2.3.4", "sport >", "sport = :80 or", ")", "state",
                         "src [::1", "sport = :nosuchservice"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {(char *)bad[i]};
        uint32_t states;
        struct ssf *f = (struct ssf *)1;
        char err[128] = "";
        CHECK_EQ_INT(ssf_parse(1, argv, &states, &f, err, sizeof err), -1);
        CHECK(f == NULL);
        CHECK(err[0] != 0);
    }
    char *argv[] = {"bogus"};
    uint32_t states;
    struct ssf *f;
    char err[128];
    ssf_parse(1, argv, &states, &f, err, sizeof err);
    CHECK(strstr(err, "'bogus'") != NULL);
}

TEST(deep_nesting_is_bounded)
{
    /* 300 words: over the token limit, refused rather than recursed into. */
    char buf[1200] = "";
    for (int i = 0; i < 300; i++)
        strcat(buf, "! ");
    char *argv[] = {buf};
    uint32_t states;
    struct ssf *f;
    char err[128];
    CHECK_EQ_INT(ssf_parse(1, argv, &states, &f, err, sizeof err), -1);
}
