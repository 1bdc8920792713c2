/* SPDX-License-Identifier: MIT */
/* Reconciliation (trace/reconcile.h): which open records the socket
 * table says ended unseen. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "trace/reconcile.h"

static struct tcp_sock sock4(const char *l, uint16_t lp, const char *r, uint16_t rp, int state)
{
    struct tcp_sock s;
    memset(&s, 0, sizeof s);
    s.family = AF_INET;
    s.state = (uint8_t)state;
    inet_pton(AF_INET, l, s.src);
    inet_pton(AF_INET, r, s.dst);
    s.sport = lp;
    s.dport = rp;
    return s;
}

static struct trace_rec rec4(const char *l, uint16_t lp, const char *r, uint16_t rp, uint64_t t)
{
    struct trace_rec x;
    memset(&x, 0, sizeof x);
    x.family = AF_INET;
    inet_pton(AF_INET, l, x.laddr);
    inet_pton(AF_INET, r, x.raddr);
    x.lport = lp;
    x.rport = rp;
    x.t_open = t;
    return x;
}

TEST(gone_only_when_absent_and_older)
{
    struct recon_set set = {.at_ns = 1000, .ok = true};
    struct tcp_sock a = sock4("10.0.0.1", 80, "10.0.0.2", 5000, TS_CLOSE_WAIT);
    recon_add(&set, &a);
    recon_seal(&set);
    struct trace_rec live = rec4("10.0.0.1", 80, "10.0.0.2", 5000, 10);
    struct trace_rec gone = rec4("10.0.0.1", 80, "10.0.0.2", 5001, 10);
    struct trace_rec young = rec4("10.0.0.1", 80, "10.0.0.2", 5002, 2000);
    CHECK_EQ_INT(recon_state(&set, &live), TS_CLOSE_WAIT);
    CHECK(!recon_gone(&set, &live));
    CHECK(recon_gone(&set, &gone));
    /* an event after the dump: the table cannot tell */
    CHECK(!recon_gone(&set, &young));
    /* a dump that did not complete decides nothing */
    set.ok = false;
    CHECK(!recon_gone(&set, &gone));
    recon_free(&set);
}

TEST(child_without_peer_by_local_end)
{
    struct recon_set set = {.at_ns = 1000, .ok = true};
    struct tcp_sock a = sock4("10.0.0.1", 80, "10.0.0.2", 5000, TS_ESTABLISHED);
    recon_add(&set, &a);
    recon_seal(&set);
    struct trace_rec child = rec4("10.0.0.1", 80, "0.0.0.0", 0, 10);
    CHECK(!recon_gone(&set, &child));
    struct trace_rec other = rec4("10.0.0.1", 81, "0.0.0.0", 0, 10);
    CHECK(recon_gone(&set, &other));
    recon_free(&set);
}

TEST(empty_table_holds_nothing)
{
    /* -N of an empty namespace: a CLOSE_WAIT of another is not in it */
    struct recon_set set = {.at_ns = 1000, .ok = true};
    recon_seal(&set);
    struct trace_rec cw = rec4("127.0.0.1", 9100, "127.0.0.1", 40000, 10);
    cw.t_close_wait = 20;
    CHECK_EQ_INT(recon_state(&set, &cw), 0);
    recon_free(&set);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A dump the table's changes interrupted (other processes' sockets on a
 * busy machine) is taken again. */
static int dump_own(struct recon_set *set, char *err, size_t errlen)
{
    for (int i = 0; i < 20; i++)
        if (recon_dump(set, NULL, mono_ns, err, errlen) == 0 || !strstr(err, "interrupted"))
            return set->ok ? 0 : -1;
    return -1;
}

/* A loopback connection this process made, both ends ESTABLISHED: in
 * its own table (sock_diag, no root), gone once closed. */
TEST(dump_of_own_table_holds_a_live_connection)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(bind(l, (struct sockaddr *)&a, len) == 0 && listen(l, 1) == 0);
    CHECK(getsockname(l, (struct sockaddr *)&a, &len) == 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(connect(c, (struct sockaddr *)&a, len) == 0);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    struct sockaddr_in ca;
    socklen_t clen = sizeof ca;
    CHECK(getsockname(c, (struct sockaddr *)&ca, &clen) == 0);
    uint16_t sport = ntohs(a.sin_port), cport = ntohs(ca.sin_port);
    struct recon_set set = {0};
    char err[160] = "";
    struct trace_rec srv = rec4("127.0.0.1", sport, "127.0.0.1", cport, mono_ns());
    struct trace_rec cli = rec4("127.0.0.1", cport, "127.0.0.1", sport, mono_ns());
    CHECK_EQ_INT(dump_own(&set, err, sizeof err), 0);
    CHECK(set.ok && set.done_ns >= set.at_ns);
    CHECK_EQ_INT(recon_state(&set, &srv), TS_ESTABLISHED);
    CHECK_EQ_INT(recon_state(&set, &cli), TS_ESTABLISHED);
    CHECK(!recon_gone(&set, &cli));
    close(c);
    close(s);
    close(l);
    /* both ends closed: the client in TIME_WAIT, which no record is open
     * in (loopback's FINs may wait for ksoftirqd on a loaded machine) */
    for (int i = 0; i < 400; i++) {
        CHECK_EQ_INT(dump_own(&set, err, sizeof err), 0);
        if (recon_gone(&set, &cli) && recon_gone(&set, &srv))
            break;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    CHECK(recon_gone(&set, &cli));
    CHECK(recon_gone(&set, &srv));
    recon_free(&set);
}

TEST(dump_of_a_namespace_that_is_not_there)
{
    struct recon_set set = {0};
    char err[160] = "";
    CHECK_EQ_INT(recon_dump(&set, "/nonexistent/netns", mono_ns, err, sizeof err), -1);
    CHECK_EQ_STR(err, "entering /nonexistent/netns for the socket table failed");
    CHECK(!set.ok);
    recon_free(&set);
}
