/* SPDX-License-Identifier: MIT */
/* The evidence beyond the socket table: tcp_info lookups, connection
 * direction, the second look at ownerless sockets, the process model of
 * the owners a rule looks at, the --confirm comparison and what keeps
 * processes hidden. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/diag.h"
#include "kernel/proctcp.h"
#include "kernel/sysctl.h"
#include "snapshot/evidence_take.h"
#include "snapshot/snapshot.h"
#include "util/vec.h"

const struct tcp_activity *snapshot_activity(const struct snapshot *s, const struct tcp_sock *t)
{
    if (!s->nacts || t < s->socks || t >= s->socks + s->nsocks)
        return NULL;
    uint32_t idx = (uint32_t)(t - s->socks);
    size_t lo = 0, hi = s->nacts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->acts[mid].sock < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nacts && s->acts[lo].sock == idx ? &s->acts[lo].a : NULL;
}

enum conn_direction snapshot_conn_direction(const struct snapshot *s, const struct tcp_sock *t)
{
    if (snapshot_is_listen_port(s, t->sport))
        return CONN_ACCEPTED;
    /* The listener may be gone (a restarted server): a fixed local port
     * talking to an ephemeral peer port is still the server's end. */
    if (!snapshot_port_ephemeral(s, t->sport) && snapshot_port_ephemeral(s, t->dport))
        return CONN_ACCEPTED;
    return CONN_OUTGOING;
}

const char *conn_direction_name(enum conn_direction d)
{
    return d == CONN_ACCEPTED ? "accepted" : "outgoing";
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool in_sorted(const uint64_t *v, size_t n, uint64_t key)
{
    return n && bsearch(&key, v, n, sizeof *v, cmp_u64) != NULL;
}

bool snapshot_sock_gone(const struct snapshot *s, const struct tcp_sock *t)
{
    return t->inode && in_sorted(s->gone, s->ngone, t->inode);
}

const struct proc_model *snapshot_model(const struct snapshot *s, uint32_t proc)
{
    return proc < s->nprocs && s->procs[proc].model.read ? &s->procs[proc].model : NULL;
}

uint64_t snapshot_sock_key(const struct tcp_sock *t)
{
    if (t->inode)
        return t->inode;
    /* FNV-1a over the 4-tuple; the top bit keeps it apart from inodes. */
    uint64_t h = 1469598103934665603ull;
    const uint8_t *parts[] = {t->src, t->dst};
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < 16; i++)
            h = (h ^ parts[p][i]) * 1099511628211ull;
    h = (h ^ t->sport) * 1099511628211ull;
    h = (h ^ t->dport) * 1099511628211ull;
    return h | (1ull << 63);
}

int snapshot_confirm(struct snapshot *later, const struct snapshot *earlier, double gap_s)
{
    size_t n = 0, cap = 0;
    uint64_t *keys = NULL;
    for (size_t i = 0; i < earlier->nsocks; i++) {
        if (earlier->socks[i].state != TS_CLOSE_WAIT)
            continue;
        if (vec_reserve((void **)&keys, &cap, n + 1, sizeof *keys, 64) < 0) {
            free(keys);
            return -1;
        }
        keys[n++] = snapshot_sock_key(&earlier->socks[i]);
    }
    if (n)
        qsort(keys, n, sizeof *keys, cmp_u64);
    free(later->cw_before);
    later->cw_before = keys;
    later->ncw_before = n;
    later->confirm_s = gap_s > 0 ? gap_s : 1e-9;
    return 0;
}

bool snapshot_cw_persisted(const struct snapshot *s, const struct tcp_sock *t)
{
    return s->confirm_s <= 0 || in_sorted(s->cw_before, s->ncw_before, snapshot_sock_key(t));
}

struct inode_set {
    uint64_t *v;
    size_t n, cap;
};

static int add_inode(const struct tcp_sock *t, const struct tcp_activity *act, void *arg)
{
    (void)act;
    struct inode_set *set = arg;
    if (!t->inode)
        return 0;
    int rc = vec_reserve((void **)&set->v, &set->cap, set->n + 1, sizeof *set->v, 256);
    if (!rc)
        set->v[set->n++] = t->inode;
    return rc;
}

static bool ownerless(const struct snapshot *s, const struct tcp_sock *t)
{
    const struct fd_ref *r;
    return t->inode && t->state != TS_TIME_WAIT && t->state < 32 &&
           !snapshot_owners(s, t->inode, &r);
}

int evidence__second_look(struct snapshot *s)
{
    uint32_t states = 0;
    size_t n = 0;
    for (size_t i = 0; i < s->nsocks; i++)
        if (ownerless(s, &s->socks[i])) {
            states |= 1u << s->socks[i].state;
            n++;
        }
    if (!n)
        return 0;
    struct inode_set alive = {0};
    int intr = 0, rc;
    if (s->source == SNAP_NETLINK) {
        rc = diag_dump_tcp(states, false, add_inode, &alive, NULL, &intr);
    } else {
        rc = proctcp_read("/proc/net/tcp", AF_INET, states, add_inode, &alive);
        if (!rc || rc == -ENOENT)
            rc = proctcp_read("/proc/net/tcp6", AF_INET6, states, add_inode, &alive);
        if (rc == -ENOENT)
            rc = 0;
    }
    if (rc < 0) { /* no second look: every ownerless socket stays "hidden" */
        free(alive.v);
        return rc == -ENOMEM ? rc : 0;
    }
    if (alive.n)
        qsort(alive.v, alive.n, sizeof *alive.v, cmp_u64);
    size_t cap = 0;
    for (size_t i = 0; i < s->nsocks && !rc; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (!ownerless(s, t) || in_sorted(alive.v, alive.n, t->inode))
            continue;
        rc = vec_reserve((void **)&s->gone, &cap, s->ngone + 1, sizeof *s->gone, 64);
        if (!rc)
            s->gone[s->ngone++] = t->inode;
    }
    free(alive.v);
    if (s->ngone)
        qsort(s->gone, s->ngone, sizeof *s->gone, cmp_u64);
    return rc;
}

void evidence__read_models(struct snapshot *s, uint32_t states)
{
    if (!states || !s->nprocs)
        return;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        const struct fd_ref *r;
        if (t->state >= 32 || !(states & (1u << t->state)))
            continue;
        size_t n = snapshot_owners(s, t->inode, &r);
        for (size_t k = 0; k < n; k++) {
            struct proc_info *p = &s->procs[r[k].proc];
            if (!p->model.read && proctask_read("/proc", p->pid, &p->model) < 0)
                p->model.read = false; /* gone: rules fall back to the generic advice */
        }
    }
}

/* A capability in the effective set (CAP_SYS_PTRACE 19: what /proc/PID/fd
 * of another user's or a non-dumpable process asks for, ptrace read mode;
 * CAP_DAC_READ_SEARCH 2: opening another user's fd directory, mode 0500). */
static bool has_cap(int bit)
{
    char text[4096];
    long n = proc_read_file("/proc/self/status", text, sizeof text);
    const char *p = n > 0 ? strstr(text, "CapEff:") : NULL;
    return p && (strtoull(p + 7, NULL, 16) >> bit & 1);
}

/* The initial user namespace has a fixed inode (PROC_USER_INIT_INO); a
 * full identity uid_map does not prove it (a child namespace may map all). */
static bool in_initial_userns(void)
{
    struct stat st;
    return stat("/proc/self/ns/user", &st) < 0 || st.st_ino == 0xEFFFFFFDu;
}

const char *owners_hidden_name(enum owners_hidden_by r)
{
    static const char *const names[OWNERS_HIDDEN_NREASONS] = {
        "none", "capability", "user_namespace", "security_module"};
    return (unsigned)r < OWNERS_HIDDEN_NREASONS ? names[r] : "none";
}

void evidence__visibility(struct snapshot *s)
{
    char *out = s->visibility_limit;
    size_t len = sizeof s->visibility_limit;
    out[0] = 0;
    s->hidden_by = OWNERS_HIDDEN_NONE;
    if (!s->procs_denied)
        return;
    if (!in_initial_userns()) {
        s->hidden_by = OWNERS_HIDDEN_USER_NAMESPACE;
        snprintf(out, len, "closer runs inside a user namespace: processes of users outside it "
                           "stay hidden even from its root");
    } else if (!has_cap(19)) {
        s->hidden_by = OWNERS_HIDDEN_CAPABILITY;
        snprintf(out, len, "closer lacks CAP_SYS_PTRACE (uid %d): other users' and non-dumpable "
                           "processes stay hidden; run it as root", (int)geteuid());
    } else if (!has_cap(2) && !has_cap(1)) { /* DAC_OVERRIDE opens them too */
        s->hidden_by = OWNERS_HIDDEN_CAPABILITY;
        snprintf(out, len, "closer lacks CAP_DAC_READ_SEARCH (uid %d): other users' fd "
                           "directories stay closed; run it as root", (int)geteuid());
    } else {
        s->hidden_by = OWNERS_HIDDEN_SECURITY_MODULE;
        snprintf(out, len, "root with CAP_SYS_PTRACE was refused: a security module "
                           "(AppArmor, SELinux) denies ptrace read access; see the audit log");
    }
}
