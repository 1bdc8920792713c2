/* SPDX-License-Identifier: MIT */
/* Looking again for the program behind a client TIME_WAIT pile. TIME_WAIT
 * has no owner, and a program that connects per request holds each
 * connection for milliseconds: gone by the /proc walk. For each
 * destination with a pile and no owned open connection, the socket table
 * is read again for up to a quarter of a second, each process of this
 * network namespace right after a read that shows such a connection; a
 * process found
 * holding a connection there (being opened or in use) is named, with how
 * often it was seen. A process that only holds CLOSE_WAIT there is not
 * the one closing first and is never named. */
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
#define LOOK_MS 250
/* Each read walks the kernel's whole connection table (TIME_WAIT included)
 * even when it keeps few: past this many sockets a few reads would cost
 * more than the whole analysis, so a big table is not looked at again. */
#define LOOK_MAX_SOCKETS 100000
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
    size_t n = 0, out = 0;
    for (size_t i = 0; i < s->nsocks && n < 64; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (!client_tw(s, t))
            continue;
        size_t k = 0;
        while (k < n && !same_dest(&cand[k], t))
            k++;
        if (k == n) {
            cand[n] = (struct dest_owner){.family = t->family, .dport = t->dport};
            memcpy(cand[n++].dst, t->dst, 16);
        }
        cand[k].seen++; /* TIME_WAIT count, for now */
    }
    for (size_t k = 0; k < n && out < MAX_DESTS; k++) {
        if (cand[k].seen < min)
            continue;
        bool owned = false;
        const struct fd_ref *r;
        for (size_t i = 0; i < s->nsocks && !owned; i++)
            owned = in_use(s->socks[i].state) && same_dest(&cand[k], &s->socks[i]) &&
                    snapshot_owners(s, s->socks[i].inode, &r);
        if (!owned) {
            d[out] = cand[k];
            d[out++].seen = 0;
        }
    }
    return out;
}

struct look {
    struct dest_owner *d;
    size_t nd;
    uint64_t inodes[256];
    size_t idx[256]; /* the destination of each inode */
    size_t n, total;
};

static int collect(const struct tcp_sock *t, const struct tcp_activity *act, void *arg)
{
    (void)act;
    struct look *l = arg;
    l->total++;
    if (!in_use(t->state) || !t->inode || l->n == 256)
        return 0;
    for (size_t k = 0; k < l->nd; k++)
        if (same_dest(&l->d[k], t)) {
            l->inodes[l->n] = t->inode;
            l->idx[l->n++] = k;
            break;
        }
    return 0;
}

/* Adds proc (from a fresh /proc walk) to the snapshot's processes, with
 * its model read now, while it still runs. */
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

/* Counts a process found holding sockets of l's destinations. */
static int credit(struct snapshot *s, struct look *l, const struct procfd_table *t, bool *seen)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < t->nfds; i++)
        for (size_t j = 0; j < l->n; j++) {
            struct dest_owner *d = &l->d[l->idx[j]];
            if (t->fds[i].inode != l->inodes[j] || (d->looks_seen && d->pid != t->fds[i].pid))
                continue;
            if (!d->looks_seen && !d->sockets)
                rc = adopt(s, &t->procs[t->fds[i].proc], &d->proc);
            d->pid = t->fds[i].pid;
            d->sockets++;
            if (!seen[l->idx[j]]) {
                seen[l->idx[j]] = true;
                d->looks_seen++;
            }
        }
    return rc;
}

static void dump(struct look *l)
{
    int intr = 0;
    l->n = l->total = 0;
    if (diag_dump_tcp(1u << TS_ESTABLISHED | 1u << TS_SYN_SENT, false, collect, l, NULL, &intr) < 0)
        l->n = 0;
}

/* One look. A connection made per request lives a millisecond, shorter
 * than a walk of every process's fds: so the table is read again right
 * before each process of this namespace is read (a small table: a
 * fraction of a millisecond), and only when it holds such a connection.
 * A big table is read once and the walk matched against it. */
static int one_look(struct snapshot *s, struct look *l, const pid_t *pids, size_t npids)
{
    bool seen[MAX_DESTS] = {0};
    int rc = 0;
    dump(l);
    if (l->total > 5000 || !npids) {
        if (!l->n)
            return 0;
        struct procfd_table t = {0};
        rc = procfd_scan("/proc", &t);
        if (!rc)
            rc = credit(s, l, &t, seen);
        procfd_free(&t);
        return rc == -ENOMEM ? rc : 0;
    }
    for (size_t i = 0; i < npids && rc != -ENOMEM; i++) {
        if (i)
            dump(l);
        if (!l->n)
            continue;
        struct procfd_table t = {0};
        rc = procfd_scan_pid("/proc", pids[i], &t);
        if (!rc)
            rc = credit(s, l, &t, seen);
        if (!rc && t.nfds && !seen[0]) { /* a connection opened since the read */
            dump(l);
            rc = credit(s, l, &t, seen);
        }
        procfd_free(&t);
    }
    return rc == -ENOMEM ? rc : 0;
}

int evidence__dest_looks(struct snapshot *s, unsigned min_tw)
{
    struct dest_owner d[MAX_DESTS];
    size_t nd = min_tw && s->nsocks <= LOOK_MAX_SOCKETS ? pick_dests(s, min_tw, d) : 0;
    if (!nd)
        return 0;
    struct look l = {.d = d, .nd = nd};
    pid_t pids[256];
    size_t npids = procfd_netns_pids("/proc", pids, 256);
    unsigned looks = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (bool all = false; !all && looks < MAX_LOOKS; looks++) {
        int rc = one_look(s, &l, pids, npids);
        if (rc < 0)
            return rc;
        all = true;
        for (size_t k = 0; k < nd; k++)
            all &= d[k].looks_seen > 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >= LOOK_MS)
            break;
    }
    s->dest_owners = malloc(nd * sizeof *s->dest_owners);
    if (!s->dest_owners)
        return -ENOMEM;
    for (size_t k = 0; k < nd; k++) {
        d[k].looks = looks;
        if (d[k].looks_seen)
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
