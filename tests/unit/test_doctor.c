/* SPDX-License-Identifier: MIT */
/* The doctor's rules on hand-built snapshots: each rule fires on the state it
 * names, with the numbers behind it, and stays quiet otherwise. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/doctor.h"
#include "kernel/proctask.h"
#include "test.h"

static struct snapshot snap;
static struct tcp_sock socks[12288];
static struct fd_ref fds[64];
static struct proc_info procs[4];
static struct sock_activity acts[256];

static void reset(void)
{
    memset(&snap, 0, sizeof snap);
    snap.socks = socks;
    snap.fds = fds;
    snap.procs = procs;
    snap.acts = acts;
    snap.nacts = 0;
    snap.owners_read = true;
    snap.sys = (struct sysctls){.fin_timeout = 60, .tw_reuse = 2, .max_tw_buckets = 262144,
                                .timestamps = 1, .syncookies = 1, .somaxconn = 4096,
                                .port_lo = 32768, .port_hi = 60999, .tw_recycle = -1};
    snap.ctr.tw_overflow = 0;
}

static struct tcp_sock *add(int state, uint16_t sport, uint16_t dport)
{
    struct tcp_sock *t = &socks[snap.nsocks++];
    memset(t, 0, sizeof *t);
    t->family = AF_INET;
    t->state = (uint8_t)state;
    t->sport = sport;
    t->dport = dport;
    t->src[0] = 10, t->src[3] = 1;
    t->dst[0] = 10, t->dst[3] = 2;
    return t;
}

static struct doctor_report rep;

static void analyze(void)
{
    snapshot_reindex(&snap);
    doctor_report_free(&rep);
    struct doctor_opts o = doctor_default_opts();
    if (doctor_analyze(&snap, &o, &rep) < 0)
        abort();
}

static const struct finding *find(const char *id, int nth)
{
    for (size_t i = 0; i < rep.n; i++)
        if (!strcmp(rep.items[i].id, id) && nth-- == 0)
            return &rep.items[i];
    return NULL;
}

static double fact(const struct finding *f, const char *key)
{
    return finding_fact_value(f, key, -12345);
}

TEST(server_time_wait_per_port_with_rates)
{
    reset();
    add(TS_LISTEN, 80, 0);
    add(TS_LISTEN, 443, 0);
    /* 30 on port 80: 10 closed in the last 10 s, 20 older. */
    for (int i = 0; i < 30; i++) {
        struct tcp_sock *t = add(TS_TIME_WAIT, 80, (uint16_t)(40000 + i));
        t->timer = TT_TIMEWAIT;
        t->expires_ms = i < 10 ? 55000 : 20000;
    }
    for (int i = 0; i < 5; i++)
        add(TS_TIME_WAIT, 443, (uint16_t)(41000 + i))->expires_ms = 59000;
    add(TS_ESTABLISHED, 80, 50000);
    analyze();
    const struct finding *f = find("server-time-wait", 0);
    CHECK(f);
    CHECK_EQ_INT(f->port, 80);
    CHECK_EQ_INT(f->count, 30);
    CHECK_EQ_INT(f->severity, SEV_INFO);
    CHECK(fact(f, "closes_per_s_60s") == 0.5);
    CHECK(fact(f, "closes_per_s_10s") == 1.0);
    CHECK(fact(f, "oldest_age_s") == 40.0);
    CHECK(fact(f, "established_on_port") == 1);
    f = find("server-time-wait", 1);
    CHECK(f && f->port == 443 && f->count == 5);
    CHECK(!find("server-time-wait", 2));
    CHECK(!find("client-port-pressure", 0));
    CHECK_EQ_INT(rep.tw_server, 35);
    CHECK_EQ_INT(doctor_exit_code(&rep), 0);
}

TEST(server_time_wait_warns_at_high_close_rate)
{
    reset();
    add(TS_LISTEN, 8080, 0);
    for (int i = 0; i < 4000; i++)
        add(TS_TIME_WAIT, 8080, (uint16_t)(30000 + i))->expires_ms = 30000;
    analyze();
    /* 4000 / 60 s = 66/s: below the default 100/s warning. */
    CHECK_EQ_INT(find("server-time-wait", 0)->severity, SEV_INFO);
}

TEST(client_port_pressure_against_range)
{
    reset();
    snap.sys.port_lo = 40000;
    snap.sys.port_hi = 40999; /* 1000 ports */
    for (int i = 0; i < 600; i++)
        add(TS_TIME_WAIT, (uint16_t)(40000 + i), 5432);
    for (int i = 0; i < 20; i++)
        add(TS_ESTABLISHED, (uint16_t)(40600 + i), 5432);
    /* Another destination, small: below the report threshold. */
    for (int i = 0; i < 5; i++)
        add(TS_TIME_WAIT, (uint16_t)(40700 + i), 6379);
    analyze();
    const struct finding *f = find("client-port-pressure", 0);
    CHECK(f);
    CHECK_EQ_STR(f->dest, "10.0.0.2:5432");
    CHECK_EQ_STR(f->source, "10.0.0.1");
    CHECK_EQ_INT(f->count, 600);
    CHECK(fact(f, "sockets") == 620);
    CHECK(fact(f, "range_used_pct") == 62.0);
    CHECK_EQ_INT(f->severity, SEV_WARNING);
    CHECK(!find("client-port-pressure", 1));
    CHECK(!find("server-time-wait", 0));
    CHECK(strstr(f->fix, "connection pool"));
    CHECK(strstr(f->fix, "tcp_timestamps"));
    CHECK_EQ_INT(doctor_exit_code(&rep), 1);
}

TEST(close_wait_three_classes)
{
    reset();
    add(TS_LISTEN, 8080, 0)->inode = 100;
    snap.nprocs = 2;
    procs[0] = (struct proc_info){.pid = 10, .comm = "web", .nfds = 9, .nepoll = 1};
    procs[1] = (struct proc_info){.pid = 20, .comm = "worker", .nfds = 5, .nepoll = 1};
    fds[snap.nfds++] = (struct fd_ref){.inode = 100, .pid = 10, .fd = 3, .proc = 0};
    /* 4 in the accept queue (no inode). */
    for (int i = 0; i < 4; i++)
        add(TS_CLOSE_WAIT, 8080, (uint16_t)(50000 + i))->rqueue = 10;
    /* 3 owned by web, not polled, EOF unread; 5 owned by worker, polled. */
    for (int i = 0; i < 3; i++) {
        struct tcp_sock *t = add(TS_CLOSE_WAIT, 8080, (uint16_t)(51000 + i));
        t->inode = (uint64_t)(200 + i);
        t->rqueue = 1;
        fds[snap.nfds++] = (struct fd_ref){.inode = (uint64_t)(200 + i), .pid = 10,
                                           .fd = 7 + i, .proc = 0};
    }
    for (int i = 0; i < 5; i++) {
        add(TS_CLOSE_WAIT, 8080, (uint16_t)(52000 + i))->inode = (uint64_t)(300 + i);
        fds[snap.nfds++] = (struct fd_ref){.inode = (uint64_t)(300 + i), .pid = 20,
                                           .fd = 20 - i, .proc = 1, .polled = true};
    }
    analyze();
    const struct finding *u = find("close-wait-unaccepted", 0);
    const struct finding *np = find("close-wait-not-polled", 0);
    const struct finding *nc = find("close-wait-not-closed", 0);
    CHECK(u && np && nc);
    CHECK_EQ_INT(u->count, 4);
    CHECK_EQ_INT(u->recv_q, 40);
    CHECK_EQ_INT(u->pid, 10); /* the listener's owner */
    CHECK_EQ_INT(np->count, 3);
    CHECK_EQ_INT(np->pid, 10);
    CHECK_EQ_INT(np->nfds, 3);
    CHECK_EQ_INT(np->fds[0], 7);
    CHECK_EQ_INT(nc->count, 5);
    CHECK_EQ_INT(nc->pid, 20);
    CHECK_EQ_STR(nc->comm, "worker");
    CHECK_EQ_INT(nc->fds[0], 16); /* sorted ascending */
    CHECK_EQ_INT(nc->port, 8080);
    CHECK_EQ_INT(nc->severity, SEV_WARNING);
    CHECK_EQ_INT(rep.close_wait_unaccepted, 4);
}

TEST(close_wait_hidden_owner_without_root)
{
    reset();
    snap.owners_read = true;
    add(TS_CLOSE_WAIT, 5000, 40000)->inode = 999;
    analyze();
    CHECK(find("close-wait-owner-hidden", 0));
    CHECK(!find("close-wait-not-polled", 0));
}

TEST(listen_overflow_and_syn_recv)
{
    reset();
    struct tcp_sock *l = add(TS_LISTEN, 80, 0);
    l->rqueue = 129;
    l->wqueue = 128;
    struct tcp_sock *ok = add(TS_LISTEN, 81, 0);
    ok->rqueue = 3;
    ok->wqueue = 128;
    for (int i = 0; i < 130; i++)
        add(TS_SYN_RECV, 80, (uint16_t)(30000 + i));
    snap.ctr.listen_overflows = 77;
    analyze();
    const struct finding *f = find("listen-overflow", 0);
    CHECK(f);
    CHECK_EQ_INT(f->port, 80);
    CHECK_EQ_INT(f->severity, SEV_CRITICAL);
    CHECK(fact(f, "ListenOverflows") == 77);
    CHECK(fact(f, "syn_recv") == 130);
    CHECK(!find("listen-overflow", 1));
    CHECK(find("syn-recv-pile", 0) && find("syn-recv-pile", 0)->count == 130);
}

TEST(tw_bucket_overflow_from_counter_and_cap)
{
    reset();
    snap.ctr.tw_overflow = 12;
    analyze();
    CHECK(find("tw-bucket-overflow", 0));
    CHECK_EQ_INT(find("tw-bucket-overflow", 0)->severity, SEV_WARNING);
    reset();
    snap.sys.max_tw_buckets = 100;
    for (int i = 0; i < 95; i++)
        add(TS_TIME_WAIT, 1000, (uint16_t)(2000 + i));
    analyze();
    CHECK_EQ_INT(find("tw-bucket-overflow", 0)->severity, SEV_CRITICAL);
    reset();
    analyze();
    CHECK(!find("tw-bucket-overflow", 0));
}

TEST(orphan_piles)
{
    reset();
    for (int i = 0; i < 150; i++)
        add(TS_FIN_WAIT2, 443, (uint16_t)(10000 + i));
    for (int i = 0; i < 99; i++)
        add(TS_LAST_ACK, 80, (uint16_t)(10000 + i));
    analyze();
    const struct finding *f = find("fin-wait-2-pile", 0);
    CHECK(f && f->count == 150 && f->port == 443);
    CHECK(fact(f, "orphaned") == 150);
    CHECK(!find("last-ack-pile", 0));
}

TEST(sysctl_audit_states_myths)
{
    reset();
    analyze();
    const struct finding *f = find("sysctl-tcp-fin-timeout", 0);
    CHECK(f && strstr(f->title, "not TIME_WAIT's"));
    f = find("sysctl-tcp-tw-recycle", 0);
    CHECK(f && strstr(f->title, "removed in Linux 4.12"));
    CHECK_EQ_INT(doctor_exit_code(&rep), 0);
    snap.sys.tw_reuse = 1;
    snap.sys.timestamps = 0;
    analyze();
    CHECK_EQ_INT(find("sysctl-tcp-tw-reuse", 0)->severity, SEV_WARNING);
    CHECK(find("sysctl-tcp-timestamps", 0));
    snap.sys.tw_recycle = 1;
    analyze();
    CHECK_EQ_INT(find("sysctl-tcp-tw-recycle", 0)->severity, SEV_CRITICAL);
    /* Critical findings sort first. */
    CHECK_EQ_STR(rep.items[0].id, "sysctl-tcp-tw-recycle");
}

TEST(server_time_wait_listener_gone_is_reported)
{
    reset();
    /* A restarted server: 2000 TIME_WAIT on port 8080, nothing listens. */
    for (int i = 0; i < 2000; i++)
        add(TS_TIME_WAIT, 8080, (uint16_t)(33000 + i))->expires_ms = 50000;
    /* Port in the ephemeral range, listener gone: shared by many peers. */
    for (int i = 0; i < 40; i++)
        add(TS_TIME_WAIT, 40000, (uint16_t)(33000 + i))->expires_ms = 50000;
    /* Port 9443, listener gone, macOS/Windows clients (ports above this
     * host's range). */
    for (int i = 0; i < 30; i++)
        add(TS_TIME_WAIT, 9443, (uint16_t)(61000 + i))->expires_ms = 50000;
    /* A client's own TIME_WAIT (ephemeral local, server's port as peer). */
    for (int i = 0; i < 3; i++)
        add(TS_TIME_WAIT, (uint16_t)(45000 + i), 80)->expires_ms = 50000;
    /* A client bound to port 5000 (not ephemeral) talking to 3 servers:
     * neither a server nor a pile. */
    for (int i = 0; i < 3; i++)
        add(TS_TIME_WAIT, 5000, (uint16_t)(80 + i))->expires_ms = 50000;
    analyze();
    const struct finding *f = find("server-time-wait", 0);
    CHECK(f && f->port == 8080 && f->count == 2000);
    CHECK(fact(f, "listener") == 0);
    CHECK(strstr(f->title, "no listener now"));
    CHECK(strstr(f->fix, "SO_REUSEADDR"));
    f = find("server-time-wait", 1);
    CHECK(f && f->port == 40000 && f->count == 40);
    f = find("server-time-wait", 2);
    CHECK(f && f->port == 9443 && f->count == 30);
    CHECK(!find("server-time-wait", 3));
    CHECK_EQ_INT(rep.tw_server, 2070);
    CHECK_EQ_INT(rep.tw_server_gone, 2070);
    CHECK_EQ_INT(rep.tw_client, 3);
    CHECK_EQ_INT(rep.tw_other, 3);
}

TEST(server_time_wait_peak_rate_over_one_second)
{
    reset();
    add(TS_LISTEN, 80, 0);
    /* ab: 2000 closes within 0.24 s, 20 s ago. */
    for (int i = 0; i < 2000; i++)
        add(TS_TIME_WAIT, 80, (uint16_t)(33000 + i))->expires_ms = 40000 - (uint32_t)(i % 240);
    /* Plus a trickle: one every 2 s. */
    for (int i = 0; i < 20; i++)
        add(TS_TIME_WAIT, 80, (uint16_t)(36000 + i))->expires_ms = 59000 - (uint32_t)i * 2000;
    analyze();
    const struct finding *f = find("server-time-wait", 0);
    CHECK(f && f->count == 2020);
    CHECK(fact(f, "peak_closes_per_s_1s") == 2000);
    CHECK(fact(f, "peak_age_s") >= 20.0 && fact(f, "peak_age_s") < 20.3);
    CHECK(fact(f, "closes_per_s_60s") > 33 && fact(f, "closes_per_s_60s") < 34);
    CHECK(strstr(f->title, "peak 2000 closes in 1 s"));
    /* No ESTABLISHED connection to learn from: undecided, and it says so. */
    CHECK_EQ_STR(f->cause, "undecided");
    CHECK(strstr(f->why, "no ESTABLISHED connection is left"));
}

TEST(client_port_pressure_names_nginx_and_its_fix)
{
    reset();
    snap.sys.port_lo = 40000;
    snap.sys.port_hi = 40999;
    snap.sys.tw_reuse = 0;
    snap.nprocs = 2;
    procs[0] = (struct proc_info){.pid = 77, .comm = "nginx", .nfds = 9, .nepoll = 1};
    procs[1] = (struct proc_info){.pid = 88, .comm = "curl", .nfds = 3};
    for (int i = 0; i < 990; i++)
        add(TS_TIME_WAIT, (uint16_t)(40000 + i), 9000);
    for (int i = 0; i < 10; i++) {
        struct tcp_sock *t = add(TS_ESTABLISHED, (uint16_t)(40990 + i), 9000);
        t->inode = (uint64_t)(500 + i);
        fds[snap.nfds++] = (struct fd_ref){.inode = t->inode, .pid = i < 9 ? 77 : 88,
                                           .fd = 20 + i, .proc = i < 9 ? 0 : 1};
    }
    analyze();
    const struct finding *f = find("client-port-pressure", 0);
    CHECK(f);
    CHECK_EQ_INT(f->pid, 77);
    CHECK_EQ_STR(f->comm, "nginx");
    CHECK_EQ_STR(f->program, "nginx");
    CHECK_EQ_STR(f->runtime, "native");
    CHECK(fact(f, "owner_sockets") == 9);
    CHECK(fact(f, "range_used_pct") == 100);
    CHECK_EQ_INT(f->severity, SEV_CRITICAL);
    CHECK(strstr(f->title, "connect() fails now (EADDRNOTAVAIL)"));
    CHECK(strstr(f->fix, "keepalive 32"));
    CHECK(strstr(f->fix, "proxy_http_version 1.1"));
    CHECK(strstr(f->fix, "proxy_set_header Connection \"\""));
    CHECK(strstr(f->why, "curl (pid 88"));
    /* With tcp_tw_reuse for this destination a full range is not a failure. */
    snap.sys.tw_reuse = 1;
    analyze();
    f = find("client-port-pressure", 0);
    CHECK(f && !strstr(f->title, "fails now") && strstr(f->title, "the range is full"));
    /* HAProxy gets its own knob; an unknown program the generic fix. */
    snprintf(procs[0].comm, sizeof procs[0].comm, "haproxy");
    analyze();
    CHECK(strstr(find("client-port-pressure", 0)->fix, "http-server-close"));
    snprintf(procs[0].comm, sizeof procs[0].comm, "myapp");
    analyze();
    CHECK(strstr(find("client-port-pressure", 0)->fix, "connection pool"));
    CHECK_EQ_STR(find("client-port-pressure", 0)->program, "native");
    /* The process model, when read, decides over the name: a Go binary. */
    procs[0].model = (struct proc_model){.read = true, .go = true};
    analyze();
    f = find("client-port-pressure", 0);
    CHECK(strstr(f->fix, "MaxIdleConnsPerHost"));
    CHECK_EQ_STR(f->runtime, "go");
    CHECK(fact(f, "owner_processes") == 2);
}

TEST(syn_advice_knows_syncookies_and_syn_sent_clients)
{
    reset();
    snap.sys.max_syn_backlog = 4096;
    snap.sys.synack_retries = 5;
    snap.ctr.syncookies_sent = 42;
    snap.ctr.reqq_full_do_cookies = 40;
    struct tcp_sock *l = add(TS_LISTEN, 80, 0);
    l->src[0] = 127, l->src[3] = 1;
    l->rqueue = 129;
    l->wqueue = 128;
    for (int i = 0; i < 130; i++)
        add(TS_SYN_RECV, 80, (uint16_t)(30000 + i));
    for (int i = 0; i < 7; i++) {
        struct tcp_sock *t = add(TS_SYN_SENT, (uint16_t)(35000 + i), 80);
        memset(t->dst, 0, 16);
        t->dst[0] = 127, t->dst[3] = 1;
    }
    analyze();
    const struct finding *f = find("listen-overflow", 0);
    CHECK(f && fact(f, "syn_sent_local_clients") == 7);
    CHECK(strstr(f->title, "in this network namespace"));
    CHECK(!strstr(f->title, "since boot"));
    CHECK(strstr(f->why, "drops new SYNs"));
    CHECK(strstr(f->why, "7 client sockets on this host sit in SYN_SENT"));
    f = find("syn-recv-pile", 0);
    CHECK(f && fact(f, "SyncookiesSent") == 42 && fact(f, "TCPReqQFullDoCookies") == 40);
    CHECK(strstr(f->fix, "bounded by the listen backlog (128"));
    CHECK(strstr(f->fix, "not by tcp_max_syn_backlog=4096"));
    snap.sys.syncookies = 0;
    analyze();
    f = find("syn-recv-pile", 0);
    CHECK(f && strstr(f->fix, "TCPReqQFullDrop") && strstr(f->fix, "3/4 of tcp_max_syn_backlog"));
}

/* An accepted ESTABLISHED connection on port with tcp_info. */
static void estab_with(uint16_t port, uint16_t peer, uint32_t segs_in, uint32_t segs_out,
                       uint32_t idle_recv_ms, uint32_t idle_sent_ms)
{
    struct tcp_sock *t = add(TS_ESTABLISHED, port, peer);
    acts[snap.nacts++] = (struct sock_activity){
        .sock = (uint32_t)(t - socks),
        .a = {.data_segs_in = segs_in, .data_segs_out = segs_out,
              .last_data_recv_ms = idle_recv_ms, .last_data_sent_ms = idle_sent_ms}};
}

/* The same in a closing state (the server sent its FIN: FIN_WAIT1/2). */
static void closing_with(int state, uint16_t port, uint16_t peer, uint32_t segs_in,
                         uint32_t idle_recv_ms)
{
    struct tcp_sock *t = add(state, port, peer);
    acts[snap.nacts++] = (struct sock_activity){
        .sock = (uint32_t)(t - socks),
        .a = {.data_segs_in = segs_in, .data_segs_out = segs_in,
              .last_data_recv_ms = idle_recv_ms, .last_data_sent_ms = idle_recv_ms}};
}

static void tw_pile(uint16_t port, int n)
{
    for (int i = 0; i < n; i++)
        add(TS_TIME_WAIT, port, (uint16_t)(33000 + i))->expires_ms = 50000;
}

/* Apache with KeepAlive Off at thousands of requests a second: at any
 * moment almost no connection is ESTABLISHED (each lives one request and
 * then lingers in FIN_WAIT2 after Apache's shutdown()), so the connections
 * being closed decide; a cap and an idle timeout the same way. */
TEST(server_time_wait_cause_from_the_closing_connections)
{
    reset();
    add(TS_LISTEN, 80, 0);
    tw_pile(80, 2000);
    estab_with(80, 49999, 0, 0, 0, 0);
    for (int i = 0; i < 6; i++)
        closing_with(i % 2 ? TS_FIN_WAIT2 : TS_FIN_WAIT1, 80, (uint16_t)(50000 + i), 1, 0);
    analyze();
    const struct finding *f = find("server-time-wait", 0);
    CHECK_EQ_STR(f->cause, "no keep-alive");
    CHECK(strstr(f->why, "6 connections are being closed by the server right now"));
    CHECK(fact(f, "closing_connections") == 6);
    /* closing at a cap: busy, many requests each */
    reset();
    add(TS_LISTEN, 80, 0);
    tw_pile(80, 2000);
    for (int i = 0; i < 6; i++)
        closing_with(TS_FIN_WAIT2, 80, (uint16_t)(50000 + i), 20, 0);
    analyze();
    CHECK_EQ_STR(find("server-time-wait", 0)->cause, "request cap");
    /* closing after an idle time */
    reset();
    add(TS_LISTEN, 80, 0);
    tw_pile(80, 200);
    for (int i = 0; i < 6; i++)
        closing_with(TS_FIN_WAIT2, 80, (uint16_t)(50000 + i), 3, 5000);
    analyze();
    f = find("server-time-wait", 0);
    CHECK_EQ_STR(f->cause, "idle timeout");
    CHECK(fact(f, "max_idle_s") == 5);
    /* two closing connections are too few */
    reset();
    add(TS_LISTEN, 80, 0);
    tw_pile(80, 2000);
    for (int i = 0; i < 2; i++)
        closing_with(TS_FIN_WAIT2, 80, (uint16_t)(50000 + i), 1, 0);
    analyze();
    CHECK_EQ_STR(find("server-time-wait", 0)->cause, "undecided");
}

TEST(server_time_wait_cause_from_the_open_connections)
{
    /* ab (HTTP/1.0): every open connection carried one request. */
    reset();
    add(TS_LISTEN, 80, 0);
    tw_pile(80, 500);
    for (int i = 0; i < 6; i++)
        estab_with(80, (uint16_t)(50000 + i), (uint32_t)(i % 2), 0, 1, 1);
    analyze();
    const struct finding *f = find("server-time-wait", 0);
    CHECK_EQ_STR(f->cause, "no keep-alive");
    CHECK(strstr(f->title, "cause: no keep-alive"));
    CHECK(strstr(f->why, "None of the 6 ESTABLISHED connections"));
    CHECK(strstr(f->fix, "Connection: keep-alive"));
    CHECK(fact(f, "single_request_connections") == 6);

    /* keepalive_requests 20 under wrk: busy, several requests each. */
    reset();
    add(TS_LISTEN, 80, 0);
    tw_pile(80, 300);
    for (int i = 0; i < 16; i++)
        estab_with(80, (uint16_t)(50000 + i), (uint32_t)(5 + i % 16), 20, 2, 2);
    analyze();
    f = find("server-time-wait", 0);
    CHECK_EQ_STR(f->cause, "request cap");
    CHECK(fact(f, "max_requests_per_connection") == 20);
    CHECK(strstr(f->fix, "keepalive_requests"));
    /* The same busy connections with no closes to explain: no verdict. */
    reset();
    add(TS_LISTEN, 80, 0);
    tw_pile(80, 5);
    for (int i = 0; i < 16; i++)
        estab_with(80, (uint16_t)(50000 + i), (uint32_t)(5 + i % 16), 20, 2, 2);
    analyze();
    CHECK_EQ_STR(find("server-time-wait", 0)->cause, "undecided");

    /* Idle keep-alive connections (keepalive_timeout 3s). */
    reset();
    add(TS_LISTEN, 80, 0);
    tw_pile(80, 20);
    for (int i = 0; i < 8; i++)
        estab_with(80, (uint16_t)(50000 + i), 1, 1, 1500 + (uint32_t)i * 150,
                   1500 + (uint32_t)i * 150);
    analyze();
    f = find("server-time-wait", 0);
    CHECK_EQ_STR(f->cause, "idle timeout");
    CHECK(fact(f, "max_idle_s") == 2.55);
    CHECK(strstr(f->fix, "keepalive_timeout"));

    /* Two connections are too few to decide. */
    reset();
    add(TS_LISTEN, 80, 0);
    tw_pile(80, 20);
    estab_with(80, 50000, 1, 1, 1, 1);
    estab_with(80, 50001, 1, 1, 1, 1);
    analyze();
    f = find("server-time-wait", 0);
    CHECK_EQ_STR(f->cause, "undecided");
    CHECK(strstr(f->why, "2 ESTABLISHED connections on the port (2 with tcp_info) are too few"));
}

/* A big pile takes the histogram path: the same peak as counting by hand. */
TEST(server_time_wait_peak_of_a_big_pile)
{
    reset();
    add(TS_LISTEN, 80, 0);
    uint32_t ages[10000];
    int n = 0;
    for (int i = 0; i < 6000; i++) /* a burst 20.0-20.6 s ago */
        ages[n++] = 20000 + (uint32_t)(i % 600);
    for (int i = 0; i < 4000; i++) /* one every 10 ms over 40 s */
        ages[n++] = (uint32_t)i * 10;
    for (int i = 0; i < n; i++)
        add(TS_TIME_WAIT, 80, (uint16_t)(1024 + i))->expires_ms = 60000 - ages[i];
    unsigned want = 0;
    for (uint32_t lo = 0; lo <= 60000; lo++) {
        unsigned in = 0;
        for (int i = 0; i < n; i++)
            in += ages[i] >= lo && ages[i] < lo + 1000;
        if (in > want)
            want = in;
    }
    analyze();
    const struct finding *f = find("server-time-wait", 0);
    CHECK(f && f->count == 10000);
    CHECK_EQ_INT((unsigned)fact(f, "peak_closes_per_s_1s"), want);
    CHECK(fact(f, "peak_age_s") >= 19.4 && fact(f, "peak_age_s") <= 20.0);
}
