/* SPDX-License-Identifier: MIT */
/* Looking again for the program behind a client TIME_WAIT pile. TIME_WAIT
 * has no owner, and a program that connects per request holds each
 * connection for milliseconds: gone by the /proc walk. For each
 * destination with a pile and no owned open connection, the socket table
 * and the fds of this network namespace's processes are read in turn for
 * up to 0.4 s; the process that held most of the
 * connections seen there (being opened or in use) is named, with how many.
 * A process that only holds CLOSE_WAIT there is not the one closing first
 * and is never named. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/diag.h"
#include "kernel/procfd.h"
#include "snapshot/evidence_take.h"
#include "snapshot/snapshot.h"
#include "util/vec.h"

/* Passes over this namespace's processes, for at most LOOK_MS. */
#define MAX_LOOKS 2000
#define LOOK_MS 400
/* Each read walks the kernel's whole connection table (TIME_WAIT included)
 * even when it keeps few: past this many sockets a few reads would cost
 * more than the whole analysis, so a big table is not looked at again. */
#define LOOK_MAX_SOCKETS SNAPSHOT_FOLD_ABOVE
#define MAX_DESTS 16

static bool same_dest(const struct dest_owner *d, const struct tcp_sock *t)
{
    return d->family == t->family && d->dport == t->dport && !memcmp(d->dst, t->dst, 16);
}

static bool client_tw(const struct snapshot *s, const struct tcp_sock *t)
{
    return t->state == TS_TIME_WAIT && !snapshot_is_listen_port(s, t->sport) &&
           snapshot_port_ephemeral(s, t->sport);
}

static bool in_use(int state)
{
    return state == TS_ESTABLISHED || state == TS_SYN_SENT;
}

/* The destinations worth a look: at least min client TIME_WAIT, no owned
 * connection being opened or in use. At most MAX_DESTS (the biggest first
 * would need a sort; the first found are enough for a report). */
static size_t pick_dests(const struct snapshot *s, unsigned min, struct dest_owner *d)
{
    struct dest_owner cand[64];
    unsigned tw[64] = {0};
    size_t n = 0, out = 0;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (!client_tw(s, t))
            continue;
        size_t k = 0;
        while (k < n && !same_dest(&cand[k], t))
            k++;
        if (k == 64)
            continue; /* the first 64 destinations are counted in full */
        if (k == n) {
            cand[n] = (struct dest_owner){.family = t->family, .dport = t->dport};
            memcpy(cand[n++].dst, t->dst, 16);
        }
        tw[k]++;
    }
    for (size_t k = 0; k < n && out < MAX_DESTS; k++) {
        if (tw[k] < min)
            continue;
        bool owned = false;
        const struct fd_ref *r;
        for (size_t i = 0; i < s->nsocks && !owned; i++)
            owned = in_use(s->socks[i].state) && same_dest(&cand[k], &s->socks[i]) &&
                    snapshot_owners(s, s->socks[i].inode, &r);
        if (!owned)
            d[out++] = cand[k];
    }
    return out;
}

/* What the window saw: every connection to a destination in any read
 * (its inode), and every socket fd of every process of the namespace in
 * any walk. Inodes are never reused while a socket lives, so a process
 * whose fds ever held an inode some read showed towards a destination is
 * the one that opened it: the socket need only live across one read and
 * one walk of its process, not both at one instant. */
struct seen_conn {
    uint64_t inode;
    uint32_t dest;
};
struct seen_fd {
    uint64_t inode;
    uint32_t cand; /* index into the candidates */
};
struct look {
    const struct dest_owner *d;
    size_t nd;
    struct seen_conn *conns;
    size_t nconns, ccap;
    struct seen_fd *fds;
    size_t nfds, fcap;
    int err;
};

#define MAX_SEEN (1u << 16)

static int collect(const struct tcp_sock *t, const struct tcp_activity *act, void *arg)
{
    (void)act;
    struct look *l = arg;
    if (!in_use(t->state) || !t->inode)
        return 0;
    for (size_t k = 0; k < l->nd; k++) {
        if (!same_dest(&l->d[k], t))
            continue;
        if (l->nconns < MAX_SEEN &&
            vec_reserve((void **)&l->conns, &l->ccap, l->nconns + 1, sizeof *l->conns, 256) == 0)
            l->conns[l->nconns++] = (struct seen_conn){t->inode, (uint32_t)k};
        break;
    }
    return 0;
}

static void read_table(struct look *l)
{
    int intr = 0;
    diag_dump_tcp(1u << TS_ESTABLISHED | 1u << TS_SYN_SENT, false, collect, l, NULL, &intr);
}

/* One walk of candidate c: its socket fds, and what /proc says of it. */
static void walk(struct look *l, pid_t pid, uint32_t c, struct proc_info *info)
{
    struct procfd_table t = {0};
    if (procfd_scan_pid("/proc", pid, &t) == 0 && t.nprocs) {
        info[c] = t.procs[0];
        for (size_t i = 0; i < t.nfds && l->nfds < MAX_SEEN; i++) {
            if (vec_reserve((void **)&l->fds, &l->fcap, l->nfds + 1, sizeof *l->fds, 256) < 0) {
                l->err = -ENOMEM;
                break;
            }
            l->fds[l->nfds++] = (struct seen_fd){t.fds[i].inode, c};
        }
    }
    procfd_free(&t);
}

static int by_conn_inode(const void *a, const void *b)
{
    const struct seen_conn *x = a, *y = b;
    return (x->inode > y->inode) - (x->inode < y->inode);
}

static int by_fd(const void *a, const void *b)
{
    const struct seen_fd *x = a, *y = b;
    if (x->inode != y->inode)
        return x->inode < y->inode ? -1 : 1;
    return (x->cand > y->cand) - (x->cand < y->cand);
}

/* Adds the process to the snapshot's, with its model read now, while it
 * still runs. */
static int adopt(struct snapshot *s, const struct proc_info *p, uint32_t *index)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == p->pid) {
            *index = (uint32_t)i;
            if (!s->procs[i].model.read)
                proctask_read("/proc", p->pid, &s->procs[i].model);
            return 0;
        }
    struct proc_info *np = realloc(s->procs, (s->nprocs + 1) * sizeof *np);
    if (!np)
        return -ENOMEM;
    s->procs = np;
    np[s->nprocs] = *p;
    if (proctask_read("/proc", p->pid, &np[s->nprocs].model) < 0)
        np[s->nprocs].model.read = false;
    *index = (uint32_t)s->nprocs++;
    return 0;
}

/* Per destination, the candidate holding most of its connections seen. */
static int credit(struct snapshot *s, struct look *l, struct dest_owner *d, size_t ncand,
                  const struct proc_info *info)
{
    if (!l->nconns || !l->nfds)
        return 0;
    qsort(l->conns, l->nconns, sizeof *l->conns, by_conn_inode);
    if (l->nfds)
        qsort(l->fds, l->nfds, sizeof *l->fds, by_fd);
    uint32_t *count = calloc(l->nd * ncand + 1, sizeof *count);
    if (!count)
        return -ENOMEM;
    uint64_t last = 0;
    uint32_t last_c = UINT32_MAX;
    for (size_t i = 0; i < l->nfds; i++) {
        struct seen_conn key = {l->fds[i].inode, 0};
        const struct seen_conn *c =
            bsearch(&key, l->conns, l->nconns, sizeof *l->conns, by_conn_inode);
        if (!c || (c->inode == last && l->fds[i].cand == last_c))
            continue; /* not a destination's, or the same socket seen again */
        last = c->inode, last_c = l->fds[i].cand;
        count[c->dest * ncand + l->fds[i].cand]++;
    }
    int rc = 0;
    for (size_t k = 0; k < l->nd && !rc; k++) {
        uint32_t best = 0, bc = 0;
        for (uint32_t c = 0; c < ncand; c++)
            if (count[k * ncand + c] > best)
                best = count[k * ncand + c], bc = c;
        if (!best)
            continue;
        d[k].pid = info[bc].pid;
        d[k].sockets = best;
        rc = adopt(s, &info[bc], &d[k].proc);
    }
    free(count);
    return rc;
}

/* Leaves out the processes listening on a destination's port here (the
 * server of a local destination never holds the client's end): fewer
 * walks per pass, more passes. Keeps them all if nothing else is left. */
static size_t serving_not(const struct snapshot *s, const struct dest_owner *d, size_t nd,
                          pid_t *pids, size_t n)
{
    pid_t serving[64];
    size_t ns = 0;
    for (size_t j = 0; j < s->nsocks; j++) {
        const struct tcp_sock *t = &s->socks[j];
        const struct fd_ref *r;
        size_t nr = t->state == TS_LISTEN ? snapshot_owners(s, t->inode, &r) : 0;
        for (size_t k = 0; k < nd && nr; k++)
            for (size_t q = 0; t->sport == d[k].dport && q < nr && ns < 64; q++)
                serving[ns++] = r[q].pid;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool serves = false;
        for (size_t q = 0; q < ns && !serves; q++)
            serves = serving[q] == pids[i];
        if (!serves)
            pids[kept++] = pids[i];
    }
    return kept ? kept : n;
}

int evidence__dest_looks(struct snapshot *s, unsigned min_tw)
{
    struct dest_owner d[MAX_DESTS];
    size_t nd = min_tw && snapshot_total(s) <= LOOK_MAX_SOCKETS ? pick_dests(s, min_tw, d) : 0;
    if (!nd)
        return 0;
    pid_t pids[256];
    size_t npids = serving_not(s, d, nd, pids, procfd_netns_pids("/proc", pids, 256));
    struct proc_info *info = calloc(npids + 1, sizeof *info);
    struct look l = {.d = d, .nd = nd};
    unsigned passes = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (; info && !l.err && passes < MAX_LOOKS; passes++) {
        /* the table and each process in turn: a connection of a millisecond
         * is caught when one read and one walk of its process fall in it */
        for (size_t i = 0; i < npids && !l.err; i++) {
            read_table(&l);
            walk(&l, pids[i], (uint32_t)i, info);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >= LOOK_MS)
            break;
    }
    int rc = !info || l.err ? -ENOMEM : credit(s, &l, d, npids, info);
    free(l.conns);
    free(l.fds);
    free(info);
    if (rc < 0)
        return rc;
    s->dest_owners = malloc(nd * sizeof *s->dest_owners);
    if (!s->dest_owners)
        return -ENOMEM;
    for (size_t k = 0; k < nd; k++) {
        d[k].looks = passes + (passes < MAX_LOOKS);
        if (d[k].sockets)
            s->dest_owners[s->ndest_owners++] = d[k];
    }
    return 0;
}

const struct dest_owner *snapshot_dest_owner(const struct snapshot *s, int family,
                                             const uint8_t dst[16], uint16_t dport)
{
    for (size_t i = 0; i < s->ndest_owners; i++) {
        const struct dest_owner *d = &s->dest_owners[i];
        if (d->family == family && d->dport == dport && !memcmp(d->dst, dst, 16))
            return d;
    }
    return NULL;
}
