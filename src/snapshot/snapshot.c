/* SPDX-License-Identifier: MIT */
#include "snapshot/snapshot.h"
#include "snapshot/owners_rec.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "kernel/diag.h"
#include "kernel/diagrec.h"
#include "kernel/proctcp.h"
#include "kernel/sysctl.h"
#include "snapshot/ssfilter.h"
#include "snapshot/evidence_take.h"
#include "snapshot/twfold.h"
#include "util/vec.h"

struct sock_vec {
    struct snapshot *s;
    size_t cap, acts_cap;
    uint32_t info_states;
    size_t fold_above;
};

static void listen_bit(uint8_t *bits, uint16_t port)
{
    bits[port >> 3] |= (uint8_t)(1u << (port & 7));
}

/* From here on TIME_WAIT is folded: the records kept so far go into the
 * fold too, and the tcp_info records follow their sockets' new indexes. */
static int start_folding(struct snapshot *s, const struct tw_fold_ctx *c)
{
    if (!(s->twf = calloc(1, sizeof *s->twf)))
        return -ENOMEM;
    size_t out = 0, a = 0, aout = 0;
    for (size_t i = 0; i < s->nsocks; i++) {
        bool tw = s->socks[i].state == TS_TIME_WAIT;
        /* acts is sorted by socket: a folded socket's record (a mutated
         * replay: minisockets carry no tcp_info) goes with it */
        for (; a < s->nacts && s->acts[a].sock <= i; a++)
            if (s->acts[a].sock == i && !tw)
                s->acts[aout++] = (struct sock_activity){(uint32_t)out, s->acts[a].a};
        if (tw) {
            int rc = tw_fold_add(s->twf, c, &s->socks[i]);
            if (rc)
                return rc;
            continue;
        }
        s->socks[out++] = s->socks[i];
    }
    s->nsocks = out;
    s->nacts = aout;
    return 0;
}

/* TIME_WAIT past fold_above sockets: counted, not kept (snapshot/twfold.h). */
static int fold(struct sock_vec *v, const struct tcp_sock *t)
{
    struct snapshot *s = v->s;
    struct tw_fold_ctx c = {s->sys.port_lo, s->sys.port_hi, s->listen_bits};
    if (!s->twf) {
        /* Without the ephemeral range no side can be told from ports: keep
         * the records (the readers then group them one by one). */
        if (s->nsocks + 1 <= v->fold_above || s->sys.port_lo < 0 || s->sys.port_hi < s->sys.port_lo)
            return 1;
        int rc = start_folding(s, &c);
        if (rc)
            return rc;
        /* Give back what the TIME_WAIT records took: the peak is here. */
        size_t keep = s->nsocks ? s->nsocks : 1;
        struct tcp_sock *smaller = realloc(s->socks, keep * sizeof *s->socks);
        if (smaller) {
            s->socks = smaller;
            v->cap = keep;
        }
    }
    return tw_fold_add(s->twf, &c, t);
}

static int collect(const struct tcp_sock *t, const struct tcp_activity *act, void *arg)
{
    struct sock_vec *v = arg;
    struct snapshot *s = v->s;
    if (t->state == TS_LISTEN)
        listen_bit(s->listen_bits, t->sport);
    if (v->fold_above && t->state == TS_TIME_WAIT) {
        int folded = fold(v, t);
        if (folded <= 0)
            return folded;
    }
    int rc = vec_reserve((void **)&s->socks, &v->cap, s->nsocks + 1, sizeof *s->socks, 4096);
    if (rc)
        return rc;
    /* Sockets arrive in order, so the activity records stay sorted. */
    if (act && t->state < 32 && (v->info_states & (1u << t->state))) {
        rc = vec_reserve((void **)&s->acts, &v->acts_cap, s->nacts + 1, sizeof *s->acts, 256);
        if (rc)
            return rc;
        s->acts[s->nacts++] = (struct sock_activity){(uint32_t)s->nsocks, *act};
    }
    s->socks[s->nsocks++] = *t;
    return 0;
}

/* Flushes and closes the recording; true (with err set) when any write
 * failed: ENOSPC on a full disk, /dev/full. */
static bool record_failed(struct diagrec *rec, const char *path, char *err, size_t errlen)
{
    errno = 0;
    int e = rec->err;
    if (!e && (fflush(rec->f) != 0 || ferror(rec->f)))
        e = errno ? errno : EIO;
    if (fclose(rec->f) != 0 && !e)
        e = errno ? errno : EIO;
    if (e)
        snprintf(err, errlen, "record %s: %s", path, strerror(e));
    return e != 0;
}

/* Drops the fold. */
static void snapshot__unfold(struct snapshot *s)
{
    if (s->twf)
        tw_fold_free(s->twf);
    free(s->twf);
    s->twf = NULL;
    memset(s->listen_bits, 0, sizeof s->listen_bits);
}

static int read_sockets(struct snapshot *s, const struct snapshot_opts *o, char *err, size_t errlen)
{
    uint32_t states = o->states ? o->states : TS_ALL_MASK;
    /* SYN_RECV requests live as NEW_SYN_RECV minisockets in the kernel. */
    if (states & (1u << TS_SYN_RECV))
        states |= 1u << TS_NEW_SYN_RECV;
    /* Listeners are always read: the listening-port index says which side
     * a socket is on and whether an inode-0 socket sits in an accept queue.
     * Views filter them out again (sock_filter); there are few of them. */
    states |= 1u << TS_LISTEN;
    struct sock_vec v = {.s = s, .info_states = o->info_states, .fold_above = o->fold_above};
    int rc;
    if (o->replay) {
        char why[200];
        rc = diagrec_replay(o->replay, collect, &v, why, sizeof why);
        if (rc < 0)
            snprintf(err, errlen, "replay %s: %s", o->replay, why);
        snprintf(s->source_note, sizeof s->source_note,
                 "replayed from %s: sysctls and counters are this host's, owners unknown",
                 o->replay);
        s->source = SNAP_NETLINK;
        return rc < 0 ? -1 : 0;
    }
    if (!o->force_proc) {
        struct diagrec r = {0}, *rec = NULL;
        if (o->record) {
            if (!(r.f = fopen(o->record, "wbe"))) {
                snprintf(err, errlen, "record %s: %s", o->record, strerror(errno));
                return -1;
            }
            rec = &r;
        }
        int intr = 0;
        /* A recording keeps tcp_info too, so a replay analyses the same. */
        rc = diag_dump_tcp(states, o->info_states || rec, collect, &v, rec, &intr);
        if (intr)
            snprintf(s->source_note, sizeof s->source_note,
                     "the socket table changed during the dump (NLM_F_DUMP_INTR): counts may be "
                     "off by the churn");
        /* A recording that could not be written is an error of its own
         * (exit 2), never a reason to fall back to /proc. */
        if (rec && record_failed(rec, o->record, err, errlen))
            return -1;
        if (!rc && o->detail && (rc = diag_detail_dump(states, &s->details, &s->ndetails)) < 0) {
            snprintf(err, errlen, "tcp_info and socket memory (ss -i, -m): %s", strerror(-rc));
            return -1;
        }
        if (!rc) {
            s->source = SNAP_NETLINK;
            return 0;
        }
        s->source_note[0] = 0;
        if (rc == -ENOMEM) {
            snprintf(err, errlen, "out of memory reading the socket table");
            return -1;
        }
        snprintf(s->source_note, sizeof s->source_note,
                 "netlink sock_diag unavailable (%s); read /proc/net/tcp{,6}", strerror(-rc));
        s->nsocks = s->nacts = 0;
        snapshot__unfold(s);
    } else {
        snprintf(s->source_note, sizeof s->source_note, "read /proc/net/tcp{,6} (forced)");
    }
    s->source = SNAP_PROC;
    rc = proctcp_read("/proc/net/tcp", AF_INET, states, collect, &v);
    if (!rc || rc == -ENOENT)
        rc = proctcp_read("/proc/net/tcp6", AF_INET6, states, collect, &v);
    if (rc == -ENOENT) /* IPv6 disabled */
        rc = 0;
    if (rc < 0)
        snprintf(err, errlen, "cannot read the socket table: %s", strerror(-rc));
    return rc < 0 ? -1 : 0;
}

/* FILE.owners beside a recording (snapshot/owners_rec.c). */
static int record_owners(const struct snapshot *s, const char *record, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.owners", record);
    int rc = owners_record(s, path);
    if (rc < 0)
        snprintf(err, errlen, "record %s: %s", path, strerror(-rc));
    return rc;
}

static int replay_owners(struct snapshot *s, const char *replay, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.owners", replay);
    int rc = owners_replay(s, path, err, errlen);
    if (rc == 0)
        snprintf(s->source_note, sizeof s->source_note,
                 "replayed from %s with its owners: sysctls and counters are this host's",
                 replay);
    return rc < 0 ? -1 : 0;
}

static void read_sysctls(struct sysctls *y)
{
    y->fin_timeout = sysctl_read("net/ipv4/tcp_fin_timeout", NULL);
    y->tw_reuse = sysctl_read("net/ipv4/tcp_tw_reuse", NULL);
    y->tw_reuse_delay = sysctl_read("net/ipv4/tcp_tw_reuse_delay", NULL);
    y->max_tw_buckets = sysctl_read("net/ipv4/tcp_max_tw_buckets", NULL);
    y->max_syn_backlog = sysctl_read("net/ipv4/tcp_max_syn_backlog", NULL);
    y->timestamps = sysctl_read("net/ipv4/tcp_timestamps", NULL);
    y->syncookies = sysctl_read("net/ipv4/tcp_syncookies", NULL);
    y->somaxconn = sysctl_read("net/core/somaxconn", NULL);
    y->port_lo = sysctl_read("net/ipv4/ip_local_port_range", &y->port_hi);
    y->tw_recycle = sysctl_read("net/ipv4/tcp_tw_recycle", NULL);
    y->orphan_retries = sysctl_read("net/ipv4/tcp_orphan_retries", NULL);
    y->max_orphans = sysctl_read("net/ipv4/tcp_max_orphans", NULL);
    y->synack_retries = sysctl_read("net/ipv4/tcp_synack_retries", NULL);
}

static void read_counters(struct tcp_counters *c)
{
    char text[16384];
    long n = proc_read_file("/proc/net/netstat", text, sizeof text);
    const char *t = n > 0 ? text : "";
    c->listen_overflows = netstat_lookup(t, "TcpExt", "ListenOverflows");
    c->listen_drops = netstat_lookup(t, "TcpExt", "ListenDrops");
    c->tw_overflow = netstat_lookup(t, "TcpExt", "TCPTimeWaitOverflow");
    c->tw = netstat_lookup(t, "TcpExt", "TW");
    c->tw_recycled = netstat_lookup(t, "TcpExt", "TWRecycled");
    c->tw_killed = netstat_lookup(t, "TcpExt", "TWKilled");
    c->abort_on_close = netstat_lookup(t, "TcpExt", "TCPAbortOnClose");
    c->abort_on_data = netstat_lookup(t, "TcpExt", "TCPAbortOnData");
    c->abort_on_linger = netstat_lookup(t, "TcpExt", "TCPAbortOnLinger");
    c->abort_on_memory = netstat_lookup(t, "TcpExt", "TCPAbortOnMemory");
    c->abort_on_timeout = netstat_lookup(t, "TcpExt", "TCPAbortOnTimeout");
    c->syncookies_sent = netstat_lookup(t, "TcpExt", "SyncookiesSent");
    c->syncookies_recv = netstat_lookup(t, "TcpExt", "SyncookiesRecv");
    c->syncookies_failed = netstat_lookup(t, "TcpExt", "SyncookiesFailed");
    c->reqq_full_do_cookies = netstat_lookup(t, "TcpExt", "TCPReqQFullDoCookies");
    c->reqq_full_drop = netstat_lookup(t, "TcpExt", "TCPReqQFullDrop");
    n = proc_read_file("/proc/net/snmp", text, sizeof text);
    t = n > 0 ? text : "";
    c->active_opens = netstat_lookup(t, "Tcp", "ActiveOpens");
    c->passive_opens = netstat_lookup(t, "Tcp", "PassiveOpens");
    c->estab_resets = netstat_lookup(t, "Tcp", "EstabResets");
    c->curr_estab = netstat_lookup(t, "Tcp", "CurrEstab");
}

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void snapshot_reindex(struct snapshot *s)
{
    memset(s->listen_bits, 0, sizeof s->listen_bits);
    for (size_t i = 0; i < s->nsocks; i++)
        if (s->socks[i].state == TS_LISTEN)
            listen_bit(s->listen_bits, s->socks[i].sport);
}

/* The sockets, TIME_WAIT folded when the table is big; read again
 * unfolded in the rare case the fold could not be exact (a port began to
 * listen after TIME_WAIT of its own were folded). */
static int read_table(struct snapshot *s, const struct snapshot_opts *o, char *err, size_t errlen)
{
    if (read_sockets(s, o, err, errlen) < 0)
        return -1;
    snapshot_reindex(s);
    if (!s->twf)
        return 0;
    tw_fold_check(s->twf, s->listen_bits);
    if (!s->twf->inexact)
        return 0;
    struct snapshot_opts exact = *o;
    exact.fold_above = 0;
    snapshot__unfold(s);
    free(s->socks);
    free(s->acts);
    free(s->details);
    s->socks = NULL;
    s->acts = NULL;
    s->details = NULL;
    s->nsocks = s->nacts = s->ndetails = 0;
    if (read_sockets(s, &exact, err, errlen) < 0)
        return -1;
    snapshot_reindex(s);
    return 0;
}

int snapshot_take(struct snapshot *s, const struct snapshot_opts *o, char *err, size_t errlen)
{
    double t0 = now_s(CLOCK_MONOTONIC);
    memset(s, 0, sizeof *s);
    s->taken_at = now_s(CLOCK_REALTIME);
    /* Before the sockets: folding TIME_WAIT needs the ephemeral range. */
    read_sysctls(&s->sys);
    if (read_table(s, o, err, errlen) < 0) {
        snapshot_free(s);
        return -1;
    }
    read_counters(&s->ctr);
    if (o->owners && !o->replay) {
        struct procfd_table t = {0};
        int rc = procfd_scan("/proc", &t);
        if (rc < 0) {
            snprintf(err, errlen, "cannot read /proc: %s", strerror(-rc));
            procfd_free(&t);
            snapshot_free(s);
            return -1;
        }
        s->fds = t.fds;
        s->nfds = t.nfds;
        s->procs = t.procs;
        s->nprocs = t.nprocs;
        s->procs_denied = t.denied;
        s->procs_denied_elsewhere = t.denied_elsewhere;
        memcpy(s->denied_list, t.denied_list, sizeof s->denied_list);
        free(t.denied_ns); /* one namespace: denied already counts its own */
        s->owners_read = true;
        if (evidence__second_look(s) == -ENOMEM) {
            snprintf(err, errlen, "out of memory");
            snapshot_free(s);
            return -1;
        }
        evidence__read_models(s, o->model_states);
        evidence__visibility(s);
        if (evidence__dest_looks(s, o->look_again_tw) == -ENOMEM) {
            snprintf(err, errlen, "out of memory");
            snapshot_free(s);
            return -1;
        }
        if (o->record && record_owners(s, o->record, err, errlen) < 0) {
            snapshot_free(s);
            return -1;
        }
    }
    if (o->owners && o->replay && replay_owners(s, o->replay, err, errlen) < 0) {
        snapshot_free(s);
        return -1;
    }
    s->took_ms = (now_s(CLOCK_MONOTONIC) - t0) * 1000;
    return 0;
}

void snapshot_free(struct snapshot *s)
{
    snapshot__unfold(s);
    free(s->socks);
    free(s->fds);
    free(s->procs);
    free(s->acts);
    free(s->details);
    s->details = NULL;
    s->ndetails = 0;
    free(s->gone);
    free(s->cw_before);
    free(s->dest_owners);
    s->socks = NULL;
    s->fds = NULL;
    s->procs = NULL;
    s->acts = NULL;
    s->gone = s->cw_before = NULL;
    s->dest_owners = NULL;
    s->ndest_owners = 0;
    s->nsocks = s->nfds = s->nprocs = s->nacts = s->ngone = s->ncw_before = 0;
}

bool sock_filter_match(const struct sock_filter *f, const struct tcp_sock *s)
{
    int state = s->state == TS_NEW_SYN_RECV ? TS_SYN_RECV : s->state;
    /* A state byte past the mask's width (a mutated replay) matches no
     * filter; shifting by it would be undefined. */
    if (f->states && (state >= 32 || !(f->states & (1u << state))))
        return false;
    if (f->family && f->family != s->family)
        return false;
    if (f->sport && f->sport != s->sport)
        return false;
    if (f->dport && f->dport != s->dport)
        return false;
    return !f->expr || ssf_match(f->expr, s);
}
