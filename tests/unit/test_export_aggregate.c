/* SPDX-License-Identifier: MIT */
/* Grouping a hand-built snapshot: roles by listening port, destinations and
 * their ephemeral use, CLOSE_WAIT owners, TIME_WAIT ages, and the metric
 * families' bounded cardinality ("other" series). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "export/aggregate.h"
#include "export/metrics.h"
#include "test.h"

static struct snapshot snap;
static struct tcp_sock socks[256];
static struct fd_ref fds[8];
static struct proc_info procs[2];

static struct tcp_sock *add(int state, uint16_t sport, uint8_t dst_last, uint16_t dport)
{
    struct tcp_sock *t = &socks[snap.nsocks++];
    memset(t, 0, sizeof *t);
    t->family = AF_INET;
    t->state = (uint8_t)state;
    t->sport = sport;
    t->dport = dport;
    t->src[0] = 10, t->src[3] = 1;
    t->dst[0] = 10, t->dst[3] = dst_last;
    return t;
}

static void build(void)
{
    memset(&snap, 0, sizeof snap);
    snap.socks = socks;
    snap.fds = fds;
    snap.procs = procs;
    snap.owners_read = true;
    snap.sys = (struct sysctls){.port_lo = 40000, .port_hi = 40999, .fin_timeout = 60,
                                .tw_reuse = -1, .max_tw_buckets = -1, .max_syn_backlog = -1,
                                .timestamps = -1, .syncookies = -1, .somaxconn = -1,
                                .tw_recycle = -1, .orphan_retries = -1, .max_orphans = -1,
                                .synack_retries = -1};
    memset(&snap.ctr, 0xff, sizeof snap.ctr); /* all -1: absent */
    struct tcp_sock *l = add(TS_LISTEN, 80, 0, 0);
    l->rqueue = 3, l->wqueue = 511;
    for (int i = 0; i < 5; i++) add(TS_TIME_WAIT, 80, 2, (uint16_t)(50000 + i))->expires_ms = 59500; /* age 0.5 s */
    for (int i = 0; i < 2; i++) add(TS_TIME_WAIT, 80, 2, (uint16_t)(51000 + i))->expires_ms = 10000; /* age 50 s */
    add(TS_CLOSE_WAIT, 80, 3, 52000)->inode = 77;
    add(TS_CLOSE_WAIT, 80, 3, 52001)->inode = 78;
    add(TS_CLOSE_WAIT, 80, 3, 52002); /* in the accept queue: no owner */
    for (int i = 0; i < 4; i++) add(TS_TIME_WAIT, (uint16_t)(40000 + i), 9, 443)->expires_ms = 30000;
    add(TS_ESTABLISHED, 30000, 9, 443); /* not in the ephemeral range */
    add(TS_TIME_WAIT, 40100, 8, 5432)->expires_ms = 30000;
    procs[0] = (struct proc_info){.pid = 4242, .comm = "leaky"};
    snap.nprocs = 1;
    fds[0] = (struct fd_ref){.inode = 77, .pid = 4242, .fd = 5, .proc = 0};
    fds[1] = (struct fd_ref){.inode = 78, .pid = 4242, .fd = 6, .proc = 0};
    snap.nfds = 2;
    snapshot_reindex(&snap);
}

TEST(groups_by_role_destination_process_listener)
{
    build();
    struct agg a;
    CHECK_EQ_INT(agg_build(&a, &snap), 0);
    CHECK_EQ_INT(a.states[TS_TIME_WAIT], 12);
    CHECK_EQ_INT(a.states[TS_CLOSE_WAIT], 3);
    CHECK_EQ_INT(a.nports, 1);
    CHECK_EQ_INT(a.ports[0].port, 80);
    CHECK_EQ_INT(a.ports[0].n[TS_TIME_WAIT], 7);
    CHECK_EQ_INT(a.ports[0].n[TS_CLOSE_WAIT], 3);
    CHECK_EQ_INT(a.ndests, 2);
    agg_sort_dests(&a, TS_TIME_WAIT);
    char name[64];
    CHECK_EQ_STR(agg_dest_name(&a.dests[0], name), "10.0.0.9:443");
    CHECK_EQ_INT(a.dests[0].n[TS_TIME_WAIT], 4);
    CHECK_EQ_INT(a.dests[0].total, 5);
    CHECK_EQ_INT(a.dests[0].ephemeral_used, 4);
    CHECK_EQ_INT(a.nprocs, 1);
    CHECK_EQ_INT(a.procs[0].close_wait, 2);
    CHECK_EQ_INT(a.close_wait_unowned, 1);
    CHECK_EQ_INT(a.nlistens, 1);
    CHECK_EQ_INT(a.listens[0].queue, 3);
    CHECK_EQ_INT(a.listens[0].backlog, 511);
    /* Ages: 5 at 0.5 s, 5 at 30 s, 2 at 50 s; buckets are cumulative. */
    CHECK_EQ_INT(a.tw_count, 12);
    CHECK_EQ_INT(a.tw_buckets[0], 5);  /* le 1 */
    CHECK_EQ_INT(a.tw_buckets[5], 5);  /* le 20 */
    CHECK_EQ_INT(a.tw_buckets[6], 10); /* le 30 */
    CHECK_EQ_INT(a.tw_buckets[8], 12); /* le 50 */
    CHECK(a.tw_age_sum > 252.4 && a.tw_age_sum < 252.6);
    agg_free(&a);
}

static char *render(unsigned top)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct metrics_finding fs[] = {{"client-time-wait", "warning"}, {"client-time-wait", "warning"},
                                   {"close-wait-leak", "critical"}};
    struct metrics_opts o = {.top_ports = top, .top_destinations = top, .top_processes = top,
                             .top_listeners = top,
                             .findings = fs, .nfindings = 3};
    if (metrics_write(f, &snap, &o)) abort();
    fclose(f);
    return buf;
}

TEST(metrics_bounded_by_top_n_rest_in_other)
{
    build();
    char *full = render(10), *one = render(1);
    CHECK(strstr(full, "closer_client_sockets{destination=\"10.0.0.8:5432\",state=\"TIME_WAIT\"} 1\n"));
    CHECK(strstr(full, "closer_client_sockets{destination=\"other\",state=\"TIME_WAIT\"} 0\n"));
    /* With one destination shown, the smaller one is summed into "other". */
    CHECK(strstr(one, "closer_client_sockets{destination=\"10.0.0.9:443\",state=\"TIME_WAIT\"} 4\n"));
    CHECK(!strstr(one, "10.0.0.8:5432"));
    CHECK(strstr(one, "closer_client_sockets{destination=\"other\",state=\"TIME_WAIT\"} 1\n"));
    CHECK(strstr(full, "closer_server_sockets{port=\"80\",state=\"CLOSE_WAIT\"} 3\n"));
    CHECK(strstr(full, "closer_close_wait_sockets{comm=\"leaky\",owner=\"process\"} 2\n"));
    CHECK(strstr(full, "closer_close_wait_sockets{comm=\"\",owner=\"none\"} 1\n"));
    CHECK(strstr(full, "closer_tcp_sockets{state=\"TIME_WAIT\"} 12\n"));
    CHECK(strstr(full, "closer_time_wait_sockets_by_age{max_age_seconds=\"60\"} 12\n"));
    CHECK(strstr(full, "closer_time_wait_entries_per_second{window=\"60s\"} 0.2"));
    CHECK(!strstr(full, "pid="));
    CHECK(strstr(full, "closer_listen_queue_length{listen=\"10.0.0.1:80\"} 3\n"));
    CHECK(strstr(full, "closer_listen_queue_length{listen=\"other\"} 0\n"));
    CHECK(strstr(full, "closer_listen_backlog{listen=\"other\"} 0\n"));
    CHECK(strstr(full, "closer_listeners 1\n"));
    CHECK(strstr(full, "closer_ephemeral_ports 1000\n"));
    CHECK(strstr(full, "closer_ephemeral_ports_used{destination=\"10.0.0.9:443\"} 4\n"));
    CHECK(strstr(full, "closer_doctor_findings{id=\"client-time-wait\",severity=\"warning\"} 2\n"));
    CHECK(strstr(full, "closer_doctor_findings{id=\"close-wait-leak\",severity=\"critical\"} 1\n"));
    CHECK(strstr(full, "closer_sysctl{name=\"net.ipv4.tcp_fin_timeout\"} 60\n"));
    CHECK(!strstr(full, "tcp_max_tw_buckets")); /* -1: absent, not exported */
    CHECK(!strstr(full, "closer_tcp_listen_overflows_total")); /* absent counter */
    free(full);
    free(one);
}

/* A server that is gone while its TIME_WAIT runs out: nothing listens on
 * 8080, every peer is distinct. One port, not one destination per peer; a
 * lone socket on a fixed non-ephemeral port stays a client's. */
TEST(listener_gone_is_still_server_side)
{
    memset(&snap, 0, sizeof snap);
    snap.socks = socks;
    snap.sys.port_lo = 40000, snap.sys.port_hi = 40999;
    for (int i = 0; i < 50; i++)
        add(TS_TIME_WAIT, 8080, (uint8_t)(10 + i), (uint16_t)(50000 + i))->expires_ms = 30000;
    add(TS_ESTABLISHED, 30000, 9, 443);       /* fixed port, one socket: a client */
    add(TS_TIME_WAIT, 40001, 9, 443);         /* ephemeral: a client */
    snapshot_reindex(&snap);
    struct agg a;
    CHECK_EQ_INT(agg_build(&a, &snap), 0);
    CHECK_EQ_INT(a.nports, 1);
    CHECK_EQ_INT(a.ports[0].port, 8080);
    CHECK_EQ_INT(a.ports[0].n[TS_TIME_WAIT], 50);
    CHECK_EQ_INT(a.ndests, 1);
    CHECK_EQ_INT(a.dests[0].total, 2);
    agg_free(&a);
    /* Range unknown: no guessing, every peer is a destination. */
    snap.sys.port_lo = snap.sys.port_hi = -1;
    CHECK_EQ_INT(agg_build(&a, &snap), 0);
    CHECK_EQ_INT(a.nports, 0);
    CHECK_EQ_INT(a.ndests, 51);
    agg_free(&a);
}

/* The sort key is the state each call names: the same destinations come
 * in another order when sorted by ESTABLISHED than by their total. */
TEST(sort_dests_by_the_state_asked_for)
{
    build();
    for (int i = 0; i < 3; i++) add(TS_ESTABLISHED, (uint16_t)(40200 + i), 8, 5432);
    snapshot_reindex(&snap);
    struct agg a;
    char name[64];
    CHECK_EQ_INT(agg_build(&a, &snap), 0);
    CHECK_EQ_INT(a.ndests, 2);
    agg_sort_dests(&a, TS_ESTABLISHED); /* 8:5432 has 3, 9:443 has 1 */
    CHECK_EQ_STR(agg_dest_name(&a.dests[0], name), "10.0.0.8:5432");
    agg_sort_dests(&a, 0); /* totals: 9:443 has 5, 8:5432 has 4 */
    CHECK_EQ_STR(agg_dest_name(&a.dests[0], name), "10.0.0.9:443");
    agg_free(&a);
}

/* agg_top_dests puts the same k destinations first, in the same order, as a
 * full sort, and keeps every destination (the rest only unordered). */
TEST(top_dests_matches_full_sort)
{
    static struct tcp_sock many[3000];
    memset(&snap, 0, sizeof snap);
    snap.socks = many;
    snap.sys.port_lo = 1024, snap.sys.port_hi = 65535;
    unsigned seed = 7;
    for (size_t i = 0; i < 3000; i++) {
        struct tcp_sock *t = &many[snap.nsocks++];
        memset(t, 0, sizeof *t);
        t->family = AF_INET;
        t->state = (seed = seed * 1103515245 + 12345) >> 16 & 1 ? TS_TIME_WAIT : TS_ESTABLISHED;
        t->sport = (uint16_t)(2000 + i);
        t->dst[0] = 10, t->dst[3] = (uint8_t)((seed >> 8) % 200); /* repeats: counts differ */
        t->dport = (uint16_t)(80 + (seed >> 20) % 3);
    }
    snapshot_reindex(&snap);
    for (int st = 0; st <= TS_TIME_WAIT; st += TS_TIME_WAIT) {
        struct agg full, part;
        CHECK_EQ_INT(agg_build(&full, &snap), 0);
        CHECK_EQ_INT(agg_build(&part, &snap), 0);
        CHECK(full.ndests > 100);
        agg_sort_dests(&full, st);
        agg_top_dests(&part, st, 10);
        CHECK_EQ_INT(part.ndests, full.ndests);
        for (size_t i = 0; i < 10; i++)
            CHECK(!memcmp(&part.dests[i], &full.dests[i], sizeof full.dests[i]));
        for (size_t i = 0; i + 1 < 10; i++) /* by the state asked for, not another */
            CHECK(st ? part.dests[i].n[st] >= part.dests[i + 1].n[st]
                     : part.dests[i].total >= part.dests[i + 1].total);
        uint64_t sum_full = 0, sum_part = 0;
        for (size_t i = 0; i < full.ndests; i++)
            sum_full += full.dests[i].total, sum_part += part.dests[i].total;
        CHECK_EQ_INT(sum_part, sum_full);
        agg_free(&full);
        agg_free(&part);
    }
}
