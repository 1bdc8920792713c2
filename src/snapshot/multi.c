/* SPDX-License-Identifier: MIT */
#include "snapshot/multi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kernel/netns.h"
#include "snapshot/evidence_take.h"

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Enters e, takes its snapshot without owners, comes back to self. Returns
 * -1 only when coming back failed (then nothing after can be trusted). */
static int take_one(struct ns_snapshot *n, const struct snapshot_opts *o, int self, char *err,
                    size_t errlen)
{
    char what[96];
    snprintf(what, sizeof what, "%llu", (unsigned long long)n->ns->inode);
    struct snapshot_opts so = *o;
    so.owners = false;
    so.record = NULL;
    if (so.fold_above && so.fold_above < MULTI_FOLD_ABOVE)
        so.fold_above = MULTI_FOLD_ABOVE;
    if (n->ns->inode == netns_fd_inode(self)) {
        /* Where we are already: no setns (which needs CAP_SYS_ADMIN even here). */
        n->ok = snapshot_take(&n->snap, &so, n->error, sizeof n->error) == 0;
        return 0;
    }
    int fd = open(n->ns->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(n->error, sizeof n->error, "%s: %s%s", n->ns->path, strerror(errno),
                 errno == ENOENT ? " (its processes exited)" : "");
        return 0;
    }
    if (netns_fd_inode(fd) != n->ns->inode) {
        /* The pid was reused by a process of another namespace. */
        snprintf(n->error, sizeof n->error, "gone: %s now names another namespace", n->ns->path);
        close(fd);
        return 0;
    }
    int rc = netns_setns(fd, what, n->error, sizeof n->error);
    close(fd);
    if (rc < 0)
        return 0;
    n->ok = snapshot_take(&n->snap, &so, n->error, sizeof n->error) == 0;
    if (netns_setns(self, "(back to the starting one)", err, errlen) < 0) {
        if (n->ok)
            snapshot_free(&n->snap);
        n->ok = false;
        return -1;
    }
    return 0;
}

/* Does the snapshot have sockets the /proc walk found no owner for? */
static bool has_ownerless(const struct snapshot *s)
{
    const struct fd_ref *r;
    for (size_t i = 0; i < s->nsocks; i++)
        if (s->socks[i].inode && s->socks[i].state != TS_TIME_WAIT &&
            !snapshot_owners(s, s->socks[i].inode, &r))
            return true;
    return false;
}

/* The inode of /proc/PID/net/tcp for a process of namespace e (0: none
 * to ask): what tells a refused process's namespace when its ns/net link
 * is refused too (a security module: pid 1 under AppArmor). */
static uint64_t net_tcp_of(const struct netns_entry *e)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/net/tcp", (int)e->pid);
    return e->pid > 0 && stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* Which namespace a refused process lives in: an index into m's list, or
 * -1 when it cannot be told (then it counts in every one). */
static long denied_home(const struct multi_snapshot *m, const uint64_t *net_tcp,
                        const struct denied_where *w)
{
    for (size_t i = 0; i < m->list.n; i++)
        if ((w->ns && w->ns == m->list.items[i].inode) ||
            (!w->ns && w->net_tcp && w->net_tcp == net_tcp[i]))
            return (long)i;
    return -1;
}

/* Per namespace, the refused processes that live there or whose namespace
 * cannot be told: the scan's own split (denied / denied_elsewhere) is by
 * closer's namespace, which says nothing of a pod's. */
static void denied_per_ns(struct multi_snapshot *m)
{
    const struct procfd_table *t = &m->owners;
    if (t->ndenied_ns != (size_t)t->denied + t->denied_elsewhere)
        return; /* the list ran short of memory: keep the scan's split */
    uint64_t *net_tcp = calloc(m->list.n ? m->list.n : 1, sizeof *net_tcp);
    uint32_t *here = calloc(m->list.n + 1, sizeof *here);
    for (size_t i = 0; net_tcp && here && i < m->list.n; i++)
        net_tcp[i] = net_tcp_of(&m->list.items[i]);
    for (size_t k = 0; net_tcp && here && k < t->ndenied_ns; k++) {
        long h = denied_home(m, net_tcp, &t->denied_ns[k]);
        here[h < 0 ? m->list.n : (size_t)h]++;
    }
    for (size_t i = 0; net_tcp && here && i < m->list.n; i++) {
        struct snapshot *s = &m->items[i].snap;
        s->procs_denied = here[i] + here[m->list.n];
        s->procs_denied_elsewhere = (uint32_t)t->ndenied_ns - s->procs_denied;
    }
    free(net_tcp);
    free(here);
}

/* What snapshot_take adds once owners are known, for one namespace: the
 * second look at ownerless sockets (a dump, so inside the namespace), the
 * process models and the visibility note (the host's /proc, from home). */
static int add_evidence(struct ns_snapshot *n, const struct snapshot_opts *o, int self, char *err,
                        size_t errlen)
{
    struct snapshot *s = &n->snap;
    if (has_ownerless(s)) {
        bool home = n->ns->inode == netns_fd_inode(self);
        int fd = home ? -1 : open(n->ns->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        char what[32], why[200];
        snprintf(what, sizeof what, "%llu", (unsigned long long)n->ns->inode);
        /* Not entered again (gone meanwhile): no second look, as when the
         * second dump fails in snapshot_take. */
        if (home || (fd >= 0 && netns_fd_inode(fd) == n->ns->inode &&
                     netns_setns(fd, what, why, sizeof why) == 0)) {
            int rc = evidence__second_look(s);
            if (!home && netns_setns(self, "(back to the starting one)", err, errlen) < 0) {
                close(fd);
                return -1;
            }
            if (rc == -ENOMEM) {
                snprintf(err, errlen, "out of memory");
                if (fd >= 0)
                    close(fd);
                return -1;
            }
        }
        if (fd >= 0)
            close(fd);
    }
    evidence__read_models(s, o->model_states);
    evidence__visibility(s);
    return 0;
}

int multi_snapshot_take(struct multi_snapshot *m, const struct snapshot_opts *o, char *err,
                        size_t errlen)
{
    double t0 = mono_ms();
    memset(m, 0, sizeof *m);
    if (nsdiscover("/proc", "/run/netns", &m->list, err, errlen) < 0)
        return -1;
    int self = netns_self(err, errlen);
    if (self < 0) {
        nsdiscover_free(&m->list);
        return -1;
    }
    m->items = calloc(m->list.n ? m->list.n : 1, sizeof *m->items);
    if (!m->items) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->list.n; i++) {
        m->items[i].ns = &m->list.items[i];
        if (take_one(&m->items[i], o, self, err, errlen) < 0)
            goto fail;
    }
    if (o->owners) {
        int rc = procfd_scan("/proc", &m->owners);
        if (rc < 0) {
            snprintf(err, errlen, "cannot read /proc: %s", strerror(-rc));
            goto fail;
        }
        for (size_t i = 0; i < m->list.n; i++) {
            struct snapshot *s = &m->items[i].snap;
            if (!m->items[i].ok)
                continue;
            s->fds = m->owners.fds;
            s->nfds = m->owners.nfds;
            s->procs = m->owners.procs;
            s->nprocs = m->owners.nprocs;
            s->procs_denied = m->owners.denied;
            s->procs_denied_elsewhere = m->owners.denied_elsewhere;
            memcpy(s->denied_list, m->owners.denied_list, sizeof s->denied_list);
            s->owners_read = true;
        }
        denied_per_ns(m);
        for (size_t i = 0; i < m->list.n; i++)
            if (m->items[i].ok && add_evidence(&m->items[i], o, self, err, errlen) < 0)
                goto fail;
    }
    close(self);
    self = -1;
    m->took_ms = mono_ms() - t0;
    return 0;
fail:
    if (self >= 0)
        close(self);
    multi_snapshot_free(m);
    return -1;
}

void multi_snapshot_free(struct multi_snapshot *m)
{
    for (size_t i = 0; m->items && i < m->list.n; i++) {
        struct snapshot *s = &m->items[i].snap;
        if (!m->items[i].ok)
            continue;
        /* The owner tables are shared: freed once below. */
        s->fds = NULL;
        s->procs = NULL;
        s->nfds = s->nprocs = 0;
        snapshot_free(s);
    }
    free(m->items);
    m->items = NULL;
    procfd_free(&m->owners);
    nsdiscover_free(&m->list);
}
