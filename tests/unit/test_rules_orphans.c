/* SPDX-License-Identifier: MIT */
/* fin-wait-2-pile and last-ack-pile on hand-built snapshots; a FIN_WAIT2
 * whose peer is on this host names the process that holds the peer's
 * CLOSE_WAIT instead of sending the reader to another host. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/doctor.h"
#include "test.h"

static struct snapshot snap;
static struct tcp_sock socks[512];
static struct fd_ref fds[256];
static struct proc_info procs[4];
static struct doctor_report rep;

static void reset(void)
{
    memset(&snap, 0, sizeof snap);
    snap.socks = socks;
    snap.fds = fds;
    snap.procs = procs;
    snap.owners_read = true;
    snap.sys = (struct sysctls){.fin_timeout = 60, .tw_reuse = 2, .max_tw_buckets = 262144,
                                .timestamps = 1, .syncookies = 1, .somaxconn = 4096,
                                .port_lo = 32768, .port_hi = 60999, .tw_recycle = -1};
}

/* A socket from 127.0.0.1:sport to 127.0.0.1:dport (or 10.0.0.2:dport). */
static struct tcp_sock *add(int state, uint16_t sport, uint16_t dport, bool remote)
{
    struct tcp_sock *t = &socks[snap.nsocks++];
    memset(t, 0, sizeof *t);
    t->family = AF_INET;
    t->state = (uint8_t)state;
    t->sport = sport;
    t->dport = dport;
    t->src[0] = 127, t->src[3] = 1;
    if (remote)
        t->dst[0] = 10, t->dst[3] = 2;
    else
        t->dst[0] = 127, t->dst[3] = 1;
    return t;
}

static const struct finding *fin_wait_2(void)
{
    snapshot_reindex(&snap);
    doctor_report_free(&rep);
    struct doctor_opts o = doctor_default_opts();
    if (doctor_analyze(&snap, &o, &rep) < 0)
        abort();
    for (size_t i = 0; i < rep.n; i++)
        if (rep.items[i].kind == F_FIN_WAIT_2_PILE)
            return &rep.items[i];
    return NULL;
}

/* 100 clients of a server on port 5432 closed first: 60 of the servers'
 * ends are here (50 held by db, 10 by a second process), 40 are remote. */
TEST(fin_wait_2_names_the_local_peers_owner)
{
    reset();
    snap.nprocs = 2;
    procs[0] = (struct proc_info){.pid = 42, .comm = "db"};
    procs[1] = (struct proc_info){.pid = 43, .comm = "db2"};
    for (int i = 0; i < 100; i++) {
        bool remote = i >= 60;
        add(TS_FIN_WAIT2, (uint16_t)(40000 + i), 5432, remote);
        if (remote)
            continue;
        struct tcp_sock *p = add(TS_CLOSE_WAIT, 5432, (uint16_t)(40000 + i), false);
        p->inode = (uint64_t)(1000 + i);
        fds[snap.nfds++] = (struct fd_ref){.inode = p->inode, .pid = i < 50 ? 42 : 43,
                                           .fd = 10 + i, .proc = i < 50 ? 0 : 1};
    }
    const struct finding *f = fin_wait_2();
    CHECK(f);
    CHECK_EQ_INT(f->count, 100);
    CHECK(finding_fact_value(f, "peers_on_host", -1) == 60);
    CHECK(strstr(f->peer_on_host, "60 of 100 on this host, e.g. 127.0.0.1:5432 in CLOSE_WAIT "
                                  "held by pid 42 (db)") == f->peer_on_host);
    CHECK_EQ_INT(f->far_state, TS_CLOSE_WAIT);
    CHECK_EQ_INT(f->far_ep.port, 5432);
    CHECK(strstr(f->fix, "60 of the peers are on this host, in CLOSE_WAIT: pid 42 (db) holds 50 "
                         "of them, 1 other process the rest"));
    CHECK(strstr(f->fix, "The other 40 are not closing either"));

    /* All of them here, one of them still in the accept queue. */
    reset();
    snap.nprocs = 1;
    procs[0] = (struct proc_info){.pid = 42, .comm = "db"};
    for (int i = 0; i < 100; i++) {
        add(TS_FIN_WAIT2, (uint16_t)(40000 + i), 5432, false);
        struct tcp_sock *p = add(TS_CLOSE_WAIT, 5432, (uint16_t)(40000 + i), false);
        if (i == 0)
            continue;
        p->inode = (uint64_t)(1000 + i);
        fds[snap.nfds++] = (struct fd_ref){.inode = p->inode, .pid = 42, .fd = 10 + i};
    }
    f = fin_wait_2();
    CHECK(f);
    CHECK(strstr(f->fix, "The peers are on this host, in CLOSE_WAIT: pid 42 (db) holds 99 of them; "
                         "1 is not accepted yet."));
    CHECK(!strstr(f->fix, "run closer doctor"));
}

/* Peers elsewhere: the advice is to look at them there. */
TEST(fin_wait_2_remote_peers)
{
    reset();
    for (int i = 0; i < 100; i++)
        add(TS_FIN_WAIT2, 443, (uint16_t)(10000 + i), true);
    const struct finding *f = fin_wait_2();
    CHECK(f);
    CHECK(finding_fact_value(f, "peers_on_host", -1) == 0);
    CHECK_EQ_STR(f->peer_on_host, "");
    CHECK(strstr(f->fix, "run closer doctor there"));
}
