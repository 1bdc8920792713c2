/* SPDX-License-Identifier: MIT */
/* What a TIME_WAIT socket costs: TW_PILE of them made on the server's
 * loopback (the lab's own sockets: distinct 4-tuples, the server closing
 * first), counted per namespace by /proc/net/sockstat, priced by the slab
 * caches of /proc/slabinfo (host-wide: only each object's size is read
 * from it, never a count, since other programs churn the same caches). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel/sysctl.h"
#include "lab/judge.h"
#include "lab/scenarios.h"

/* 20,000 keeps the lab short (~3 s on a loaded 2-core machine; 100,000
 * took 15 s there): the cost per socket does not depend on the count, and
 * the report prices 100,000 from it. */
#define TW_PILE 20000
#define TW_PRICED 100000
#define TW_PORT 9100
#define PORTS_PER_ADDR 60000

/* Bytes one object takes in its slab: pages per slab over objects per
 * slab (the object's size plus its share of the slab's slack). */
int lab_slab_price(const char *slabinfo, const char *cache, long pagesize,
                   struct lab_slab_price *p)
{
    size_t n = strlen(cache);
    for (const char *l = slabinfo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, cache, n) || l[n] != ' ')
            continue;
        long active, num, objsize, perslab, pages;
        if (sscanf(l + n, "%ld %ld %ld %ld %ld", &active, &num, &objsize, &perslab, &pages) != 5 ||
            perslab <= 0)
            return -1;
        p->objsize = objsize;
        p->per_object = pages * pagesize / perslab;
        return 0;
    }
    return -1;
}

static void read_price(struct lab_env *e, void *cache, long long *v)
{
    (void)e;
    enum { SLABINFO_MAX = 1 << 17 };
    struct lab_slab_price p = {0, 0};
    char *buf = malloc(SLABINFO_MAX);
    v[0] = buf && proc_read_file("/proc/slabinfo", buf, SLABINFO_MAX) >= 0
               ? lab_slab_price(buf, cache, sysconf(_SC_PAGESIZE), &p)
               : -1;
    free(buf);
    v[1] = p.objsize;
    v[2] = p.per_object;
}

/* One cache's price, on the env's tape ("slab-price CACHE"). */
static int slab_price(struct lab_env *e, const char *cache, struct lab_slab_price *p)
{
    char key[64];
    long long v[3] = {-1, 0, 0};
    snprintf(key, sizeof key, "slab-price %s", cache);
    lab_step(e, key, read_price, (void *)cache, v, 3);
    p->objsize = (long)v[1];
    p->per_object = (long)v[2];
    return (int)v[0];
}

long lab_sockstat_tw(const char *sockstat)
{
    const char *p = strstr(sockstat, "TCP:");
    p = p ? strstr(p, " tw ") : NULL;
    return p ? strtol(p + 4, NULL, 10) : -1;
}

static void read_sockstat_tw(struct lab_env *e, void *arg, long long *v)
{
    (void)arg;
    char buf[1024];
    v[0] = -1;
    if (lab_enter(e, LAB_SERVER) < 0)
        return;
    if (proc_read_file("/proc/net/sockstat", buf, sizeof buf) >= 0)
        v[0] = lab_sockstat_tw(buf);
    lab_leave(e);
}

/* The server's TIME_WAIT by sockstat, on the tape ("sockstat-tw server"). */
static long sockstat_tw(struct lab_env *e)
{
    long long tw = -1;
    lab_step(e, "sockstat-tw server", read_sockstat_tw, NULL, &tw, 1);
    return (long)tw;
}

/* One connection: the client bound to its own (address, port), so no
 * 4-tuple repeats and no SYN ever meets an earlier TIME_WAIT. */
static int one_close(int lfd, int i)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1024 + i % PORTS_PER_ADDR)};
    a.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i / PORTS_PER_ADDR));
    struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(TW_PORT)};
    srv.sin_addr.s_addr = htonl(0x7f000001u);
    int s = -1;
    if (bind(c, (struct sockaddr *)&a, sizeof a) == 0 &&
        connect(c, (struct sockaddr *)&srv, sizeof srv) == 0)
        s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    int ok = s >= 0 ? 0 : -1;
    if (s >= 0)
        close(s); /* the server's FIN first: TIME_WAIT on the server side */
    close(c);
    return ok;
}

static int make_pile(struct lab_env *e, int n)
{
    if (lab_enter(e, LAB_SERVER) < 0)
        return -1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(TW_PORT)};
    srv.sin_addr.s_addr = htonl(0x7f000001u);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&srv, sizeof srv) < 0 || listen(lfd, 64) < 0) {
        snprintf(e->err, sizeof e->err, "listen 127.0.0.1:%d: %s", TW_PORT, strerror(errno));
        lab_leave(e);
        return -1;
    }
    lab_leave(e);
    int made = 0;
    for (int i = 0; i < n && !lab_interrupted; i++) {
        if (i % 2000 == 0) {
            lab_sample(e);
            if (lab_enter(e, LAB_SERVER) < 0)
                break;
        }
        if (one_close(lfd, i) == 0)
            made++;
        if (i % 2000 == 1999)
            lab_leave(e);
    }
    lab_leave(e);
    close(lfd);
    return made;
}

static void pile_step(struct lab_env *e, void *n, long long *v) { v[0] = make_pile(e, *(int *)n); }

int lab_sc_tw_memory(struct lab_env *e, struct lab_result *r)
{
    char cap[16];
    snprintf(cap, sizeof cap, "%d", 2 * TW_PILE);
    if (lab_sysctl(e, LAB_SERVER, "net/ipv4/tcp_max_tw_buckets", cap) < 0)
        return -1;
    lab_setup_engine(e, "server, on its loopback: %d connections from 127.0.0.2.. (a port each) "
                     "to a listener on 127.0.0.1:%d, the server closing each first", TW_PILE, TW_PORT);
    lab_mark(e, -1, "%d connections, the server closing first", TW_PILE);
    char key[32];
    int n = TW_PILE;
    long long made = -1;
    snprintf(key, sizeof key, "pile %d", n);
    lab_step(e, key, pile_step, &n, &made, 1);
    if (made < 0)
        return -1;
    lab_mark(e, -1, "pile made");
    lab_watch(e, 300, 100);
    long tw = sockstat_tw(e);
    struct lab_tw_memory_obs o = {.pile = TW_PILE, .made = (int)made, .server_tw = tw, .err = e->err};
    if (slab_price(e, "tw_sock_TCP", &o.tw_sock) < 0 || slab_price(e, "TCP", &o.full_sock) < 0) {
        snprintf(e->err, sizeof e->err, "/proc/slabinfo: no tw_sock_TCP or TCP cache (root?)");
        return -1;
    }
    lab_judge_tw_memory(r, &o);
    return 0;
}

void lab_judge_tw_memory(struct lab_result *r, const struct lab_tw_memory_obs *o)
{
    const struct lab_slab_price *twp = &o->tw_sock, *full = &o->full_sock;
    long tw = o->server_tw;
    int made = o->made;
    double pile_mb = tw * (double)twp->per_object / 1e6;
    lab_measured(r, "%d connections closed by the server first: TIME_WAIT in its namespace "
                 "(/proc/net/sockstat tw) %ld", made, tw);
    lab_measured(r, "a TIME_WAIT socket is one tw_sock_TCP slab object: %ld bytes (%ld with its "
                 "share of the slab); a full TCP socket is one TCP object: %ld bytes (%ld), %.1fx "
                 "as much, before its socket inode, file and buffers", twp->objsize,
                 twp->per_object, full->objsize, full->per_object,
                 (double)full->per_object / (double)twp->per_object);
    lab_measured(r, "the pile of %ld TIME_WAIT: %.1f MB of kernel memory; %d would be %.1f MB "
                 "(as full sockets %.1f MB)", tw, pile_mb, TW_PRICED,
                 TW_PRICED * (double)twp->per_object / 1e6,
                 TW_PRICED * (double)full->per_object / 1e6);
    lab_value(r, "connections", made, "connections");
    lab_value(r, "server_time_wait", (double)tw, "sockets");
    lab_value(r, "tw_sock_bytes", (double)twp->per_object, "bytes");
    lab_value(r, "full_sock_bytes", (double)full->per_object, "bytes");
    lab_value(r, "pile_bytes", tw * (double)twp->per_object, "bytes");
    lab_value(r, "priced_100k_bytes", TW_PRICED * (double)twp->per_object, "bytes");
    lab_expect(r, made == o->pile, "only %d of %d connections made: %s", made, o->pile,
               o->err ? o->err : "");
    lab_expect(r, tw == made, "TIME_WAIT %ld for %d server-closed connections", tw, made);
    lab_expect(r, twp->per_object * 4 <= full->per_object, "a TIME_WAIT socket costs %ld bytes, "
               "not a quarter of a full socket's %ld", twp->per_object, full->per_object);
}
