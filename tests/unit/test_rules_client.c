/* SPDX-License-Identifier: MIT */
/* client-port-pressure's words from the evidence: open connections are
 * not churn, an owner is named only from connections being opened or in
 * use, and a pile without a visible owner says why. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/doctor.h"
#include "test.h"

static struct snapshot snap;
static struct tcp_sock socks[1200];
static struct fd_ref fds[1200];
static struct proc_info procs[2];
static struct doctor_report rep;

static void reset(void)
{
    memset(&snap, 0, sizeof snap);
    memset(procs, 0, sizeof procs);
    snap.socks = socks;
    snap.fds = fds;
    snap.procs = procs;
    snap.owners_read = true;
    snap.sys = (struct sysctls){.fin_timeout = 60, .tw_reuse = 0, .max_tw_buckets = 262144,
                                .timestamps = 1, .syncookies = 1, .somaxconn = 4096,
                                .port_lo = 40000, .port_hi = 40999, .tw_recycle = -1};
}

static struct tcp_sock *add(int state, uint16_t sport, uint16_t dport)
{
    struct tcp_sock *t = &socks[snap.nsocks++];
    memset(t, 0, sizeof *t);
    t->family = AF_INET;
    t->state = (uint8_t)state;
    t->sport = sport;
    t->dport = dport;
    t->src[0] = 127, t->src[3] = 1;
    t->dst[0] = 10, t->dst[3] = 2;
    return t;
}

static void own(struct tcp_sock *t, uint32_t proc)
{
    t->inode = 1000 + snap.nsocks;
    fds[snap.nfds++] = (struct fd_ref){.inode = t->inode, .pid = procs[proc].pid,
                                       .fd = 10 + (int)snap.nfds, .proc = proc};
}

static void process(uint32_t i, pid_t pid, const char *comm)
{
    procs[i] = (struct proc_info){.pid = pid, .nepoll = 1};
    snprintf(procs[i].comm, sizeof procs[i].comm, "%s", comm);
    procs[i].model.read = true;
    snprintf(procs[i].model.cmdline, sizeof procs[i].model.cmdline, "%s", comm);
    snap.nprocs = i + 1 > snap.nprocs ? i + 1 : snap.nprocs;
}

static const struct finding *analyze(void)
{
    snapshot_reindex(&snap);
    doctor_report_free(&rep);
    struct doctor_opts o = doctor_default_opts();
    if (doctor_analyze(&snap, &o, &rep) < 0)
        abort();
    for (size_t i = 0; i < rep.n; i++)
        if (!strcmp(rep.items[i].id, "client-port-pressure"))
            return &rep.items[i];
    return NULL;
}

/* wrk -c200: 200 persistent connections, no TIME_WAIT. */
TEST(persistent_connections_are_not_churn)
{
    reset();
    process(0, 50, "wrk");
    for (int i = 0; i < 200; i++)
        own(add(TS_ESTABLISHED, (uint16_t)(40000 + i), 8080), 0);
    const struct finding *f = analyze();
    CHECK(f);
    CHECK_EQ_STR(f->program, "wrk");
    CHECK(strstr(f->why, "open connections (200 ESTABLISHED, only 0 in TIME_WAIT)"));
    CHECK(strstr(f->fix, "Nothing to change while the range has room"));
    CHECK(!strstr(f->fix, "connection per request"));
    CHECK_EQ_INT(f->severity, SEV_INFO);
}

/* A pile from a program that finished, beside another program that only
 * holds CLOSE_WAIT to the same server: that one is not named. */
TEST(close_wait_holder_is_not_the_closer)
{
    reset();
    process(0, 60, "python3");
    for (int i = 0; i < 300; i++)
        add(TS_TIME_WAIT, (uint16_t)(40000 + i), 8080);
    for (int i = 0; i < 3; i++)
        own(add(TS_CLOSE_WAIT, (uint16_t)(40500 + i), 8080), 0);
    const struct finding *f = analyze();
    CHECK(f);
    CHECK_EQ_INT(f->pid, 0);
    CHECK(!f->program);
    CHECK(strstr(f->why, "run doctor while the traffic flows"));
}

/* Open connections whose owner this user cannot see: say so, never
 * "no open socket is left". */
TEST(open_but_unowned_says_why)
{
    reset();
    for (int i = 0; i < 300; i++)
        add(TS_TIME_WAIT, (uint16_t)(40000 + i), 8080);
    for (int i = 0; i < 18; i++)
        add(TS_ESTABLISHED, (uint16_t)(40500 + i), 8080)->inode = (uint64_t)(5000 + i);
    const struct finding *f = analyze();
    CHECK(f);
    CHECK(!strstr(f->why, "No open socket"));
    CHECK(strstr(f->why, "no owner closer could read"));
}

/* The protocol from the port alone: the program's own knob for it, and
 * its any-protocol one, since the port is only a guess. */
TEST(protocol_guessed_from_the_port_says_so)
{
    reset();
    process(0, 70, "nginx");
    for (int i = 0; i < 300; i++)
        add(TS_TIME_WAIT, (uint16_t)(40000 + i), 9000);
    own(add(TS_ESTABLISHED, 40900, 9000), 0);
    const struct finding *f = analyze();
    CHECK(f);
    CHECK_EQ_STR(f->protocol, "fastcgi");
    CHECK_EQ_STR(f->protocol_from, "port");
    CHECK(strstr(f->fix, "fastcgi_keep_conn on"));
    CHECK(strstr(f->fix, "a guess from port 9000"));
    CHECK(strstr(f->fix, "proxy_http_version 1.1"));
}
