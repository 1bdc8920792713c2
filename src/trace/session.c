/* SPDX-License-Identifier: MIT */
#include "trace/session.h"
#include "trace/backend.h"
#include "kernel/netns.h"
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/nsfs.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* -N: the forms every closer command takes (kernel/netns.h). */
static int resolve_netns(const char *spec, uint64_t *ino, char *path, size_t plen, char *err, size_t errlen)
{
    struct netns_spec ns;
    if (netns_spec_parse(spec, &ns, err, errlen) < 0)
        return -1;
    int fd = netns_open(&ns, spec, err, errlen);
    if (fd < 0)
        return -1;
    /* a path that is not a network namespace would filter out everything */
    int type = ioctl(fd, NS_GET_NSTYPE);
    *ino = type == CLONE_NEWNET ? netns_fd_inode(fd) : 0;
    close(fd);
    if (type >= 0 && type != CLONE_NEWNET) {
        snprintf(err, errlen, "'%s' is not a network namespace", spec);
        return -1;
    }
    if (type < 0) {
        snprintf(err, errlen, "'%s' is not a namespace file (%s)", spec, strerror(errno));
        return -1;
    }
    snprintf(path, plen, "%s", ns.path);
    if (!*ino) {
        snprintf(err, errlen, "network namespace '%s': cannot read its inode", spec);
        return -1;
    }
    return 0;
}

/* The namespace's own addresses, for connections no process touched while
 * traced (reset before accept, timeouts): loopback is in every namespace,
 * so it never attributes. Read inside the namespace, then back. */
static void load_addrs(struct trace_session *s, const char *nspath)
{
    int self = -1, target = -1;
    if (nspath) {
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        target = open(nspath, O_RDONLY | O_CLOEXEC);
        if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0)
            goto out;
    }
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) == 0) {
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
            if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
                continue;
            uint8_t a[17] = {(uint8_t)i->ifa_addr->sa_family};
            if (a[0] == AF_INET) {
                memcpy(a + 1, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
                if (a[1] == 127)
                    continue;
            } else {
                struct in6_addr *v6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
                if (IN6_IS_ADDR_LOOPBACK(v6) || IN6_IS_ADDR_LINKLOCAL(v6))
                    continue;
                memcpy(a + 1, v6, 16);
            }
            void *na = realloc(s->addrs, (s->naddrs + 1) * sizeof *s->addrs);
            if (!na)
                break;
            s->addrs = na;
            memcpy(s->addrs[s->naddrs++], a, 17);
        }
        freeifaddrs(ifa);
    }
    if (nspath)
        (void)setns(self, CLONE_NEWNET);
out:
    if (self >= 0)
        close(self);
    if (target >= 0)
        close(target);
}

/* The `ip netns` names, read again when a record names a namespace made
 * after the last read (trace/nsnames.h); the session is const for its
 * readers, the names are a cache behind a pointer. */
const char *trace_netns_name(const struct trace_session *s, uint64_t ino)
{
    return s->names ? nsnames_get(s->names, ino, trace_now_ns()) : NULL;
}

static bool keep(struct trace_session *s, const struct trace_rec *r)
{
    if (s->o.port && r->lport != s->o.port && r->rport != s->o.port)
        return false;
    if (s->o.pid && r->pid != s->o.pid && r->owner_pid != s->o.pid)
        return false;
    if (s->netns) {
        uint64_t ns = r->netns;
        if (!ns && trace_own_addr(s, r))
            ns = s->netns;
        if (!ns) {
            s->sum.unattributed++;
            return false;
        }
        if (ns != s->netns)
            return false;
    }
    return true;
}

static void on_record(void *ctx, const struct trace_rec *r)
{
    struct trace_session *s = ctx;
    if (!keep(s, r))
        return;
    s->end_unseen += r->end_unseen;
    if (!s->o.no_summary)
        summary_add(&s->sum, r);
    if (s->sink)
        s->sink(s->sink_ctx, r);
}

static void on_nosock(void *ctx, const struct tev *ev)
{
    struct trace_session *s = ctx;
    if (s->o.port && ev->lport != s->o.port && ev->rport != s->o.port)
        return;
    /* No socket, no process: only the namespace's own addresses tell. */
    struct trace_rec r = {.family = ev->family};
    memcpy(r.laddr, ev->laddr, 16);
    if (s->netns && !trace_own_addr(s, &r))
        return;
    summary_nosock_rst(&s->sum, ev->reason);
}

/* A reset a minisock sent after its connection's record went out (the
 * peer wrote after this side's close): with the connection's port, role
 * and process, when the connection is in scope (track.h). */
static void on_after_close_rst(void *ctx, const struct trace_rec *r)
{
    struct trace_session *s = ctx;
    if (s->o.no_summary || (s->o.port && r->lport != s->o.port && r->rport != s->o.port) ||
        (s->o.pid && r->pid != s->o.pid && r->owner_pid != s->o.pid))
        return;
    if (s->netns && (r->netns ? r->netns != s->netns : !trace_own_addr(s, r)))
        return;
    summary_after_close_rst(&s->sum, r);
}

static int open_formats(struct trace_session *s, char *err, size_t errlen)
{
    char dir[512];
    if (tracefs_locate(s->o.tracefs, dir, sizeof dir, err, errlen) < 0)
        return -1;
    for (int k = 0; k < TEV_KINDS; k++) {
        char e2[256];
        if (tracefs_read_format(dir, trace_tps[k].system, trace_tps[k].event, &s->fmt[k], e2,
                                sizeof e2) < 0 ||
            tev_layout(&s->fmt[k], k, &s->layout[k], e2, sizeof e2) < 0) {
            if (trace_tps[k].required) {
                snprintf(err, errlen, "%s", e2);
                tracefs_done(dir);
                return -1;
            }
            fprintf(stderr, "closer trace: %s; resets are seen only through state changes\n", e2);
            continue;
        }
        s->have[k] = true;
        for (unsigned f = 0; f < s->fmt[k].nfields; f++) {
            unsigned end = s->fmt[k].fields[f].offset + s->fmt[k].fields[f].size;
            if (end > s->entry_size[k])
                s->entry_size[k] = end;
        }
    }
    if (s->o.backend != TRACE_BACKEND_PERF) {
        static const char *const names[2] = {"softirq_entry", "softirq_exit"};
        struct tp_format *irq = malloc(sizeof *irq);
        char e2[256];
        for (int k = 0; irq && k < 2; k++)
            if (tracefs_read_format(dir, "irq", names[k], irq, e2, sizeof e2) == 0)
                s->softirq_ids[k] = irq->id;
        free(irq);
    }
    tracefs_done(dir);
    return 0;
}

/* CAP_PERFMON (38) or CAP_SYS_ADMIN (21) in the effective set, or a
 * perf_event_paranoid of -1, lets perf sample tracepoints. Checked first so
 * a user without them hears that, not a tracefs error. */
static int check_privilege(char *err, size_t errlen)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    unsigned long long eff = ~0ull;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "CapEff:", 7))
            eff = strtoull(line + 7, NULL, 16);
    if (f)
        fclose(f);
    int paranoid = 2;
    f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
    if (f) {
        if (fscanf(f, "%d", &paranoid) != 1)
            paranoid = 2;
        fclose(f);
    }
    if ((eff & (1ull << 38)) || (eff & (1ull << 21)) || paranoid <= -1)
        return 0;
    snprintf(err, errlen, "needs root or CAP_PERFMON (kernel.perf_event_paranoid is %d); "
             "run it with sudo, or: setcap cap_perfmon,cap_sys_admin+ep closer", paranoid);
    return -1;
}

int trace_open(struct trace_session *s, const struct trace_opts *o, trace_sink sink, void *ctx,
               char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->o = *o;
    if (!s->o.ring_pages) {
        /* 64 MiB in all, 1..16 MiB per CPU: measured on 2 CPUs at ~100k
         * events/s with the reader starved by a load average of 10, 4 MiB
         * rings lost events and 16 MiB ones none (bench/trace.sh). */
        long ncpu = sysconf(_SC_NPROCESSORS_CONF), page = sysconf(_SC_PAGESIZE);
        size_t per = (size_t)(64u << 20) / (size_t)(ncpu > 0 ? ncpu : 1);
        per = per > (16u << 20) ? 16u << 20 : per < (1u << 20) ? 1u << 20 : per;
        unsigned pages = 1;
        while ((size_t)pages * 2 * (size_t)page <= per)
            pages *= 2;
        s->o.ring_pages = pages;
    }
    if (!s->o.max_conns)
        s->o.max_conns = 1 << 20;
    s->sink = sink;
    s->sink_ctx = ctx;
    char nspath[sizeof ((struct netns_spec *)0)->path];
    if (o->netns) {
        if (resolve_netns(o->netns, &s->netns, nspath, sizeof nspath, err, errlen) < 0)
            return -1;
    } else if (!o->all_netns) {
        s->netns = netns_inode("/proc/self/ns/net");
    }
    if (check_privilege(err, errlen) < 0 || open_formats(s, err, errlen) < 0)
        return -1;
    if (s->netns)
        load_addrs(s, o->netns ? nspath : NULL);
    if ((s->names = malloc(sizeof *s->names)) != NULL)
        nsnames_init(s->names, NULL, trace_now_ns());
    if (trace_recon_init(s, o->netns ? nspath : NULL) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (trace_backend_open(s, err, errlen) < 0)
        return -1;
    return trace_start(s, err, errlen);
}

int trace_start(struct trace_session *s, char *err, size_t errlen)
{
    pcache_init(&s->pc, NULL);
    pcache_seed(&s->pc);
    tracker_init(&s->tr, &s->pc, s->o.max_conns, on_record, on_nosock, s);
    s->tr.after_close_rst = on_after_close_rst;
    if (merge_init(&s->mg, (unsigned)s->perf.ncpu) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    summary_init(&s->sum, s->have[TEV_SEND_RST] ? &s->fmt[TEV_SEND_RST] : NULL);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    s->start_ns = trace_now_ns();
    s->mono_to_real_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec - s->start_ns;
    return 0;
}

static void collect(void *ctx, const struct prec *r)
{
    struct trace_session *s = ctx;
    struct mitem *b = merge_slot(&s->mg);
    if (!b) {
        s->perf.lost++; /* counted, never silent */
        return;
    }
    b->time = r->time_ns;
    b->kind = r->kind;
    b->pid = r->pid;
    b->ppid = r->ppid;
    b->tid = r->tid;
    b->ptid = r->ptid;
    b->netns = r->netns;
    if (r->kind == PREC_COMM)
        memcpy(b->comm, r->comm, sizeof b->comm);
    if (r->kind == PREC_SAMPLE) {
        if (r->raw_len < 2)
            return;
        uint16_t type;
        memcpy(&type, r->raw, 2);
        int k = 0;
        while (k < TEV_KINDS && !(s->have[k] && s->layout[k].id == type))
            k++;
        if (k == TEV_KINDS || tev_decode(&s->layout[k], r->raw, r->raw_len, &b->ev) < 0)
            return;
        b->ev.time_ns = r->time_ns;
        b->ev.pid = r->pid;
        b->ev.tid = r->tid;
        s->received++;
    }
    merge_push(&s->mg);
}

static void step_read(struct trace_session *s);
static void count_undelivered(struct trace_session *s, bool exact);

void trace_step(struct trace_session *s, int timeout_ms)
{
    if (timeout_ms > 0)
        perf_wait(&s->perf, timeout_ms);
    uint64_t now = trace_now_ns();
    if (now - s->last_count_ns >= 1000000000ull) {
        s->last_count_ns = now;
        count_undelivered(s, false);
    } else {
        step_read(s);
    }
    trace_recon_step(s);
}

static void apply(void *ctx, const struct mitem *b)
{
    struct trace_session *s = ctx;
    switch (b->kind) {
    case PREC_SAMPLE: tracker_event(&s->tr, &b->ev); break;
    case PREC_COMM: pcache_exec(&s->pc, b->pid, b->tid, b->comm); break;
    case PREC_FORK: pcache_fork(&s->pc, b->ppid, b->ptid, b->pid, b->tid); break;
    case PREC_NETNS: pcache_netns(&s->pc, b->pid, b->tid, b->netns); break;
    case PREC_EXIT: pcache_exit(&s->pc, b->tid); break;
    }
}

/* Every ring drained, then the records every ring has been read past go
 * to the tracker in time order (trace/merge.h); `all` once the rings are
 * stopped. */
static void read_rings(struct trace_session *s, bool all)
{
    for (int cpu = 0; cpu < s->perf.ncpu; cpu++) {
        if (!s->perf.rings[cpu].base)
            continue;
        merge_ring_begin(&s->mg, (unsigned)cpu, trace_now_ns());
        perf_read_ring(&s->perf, cpu, collect, s);
        merge_ring_end(&s->mg);
    }
    if (all)
        merge_emit_all(&s->mg, apply, s);
    else
        merge_emit(&s->mg, apply, s);
}

static void step_read(struct trace_session *s)
{
    read_rings(s, false);
    /* a reset traced right after its CLOSE arrives within microseconds */
    uint64_t w = s->mg.watermark;
    tracker_flush(&s->tr, w > 20000000ull ? w - 20000000ull : 0);
}

/* Events the kernel never handed over, read with the rings: for BPF, the
 * programs it skipped (bpf_tracer_misses); for perf, its counts read before
 * the rings are drained against the samples received after: what it
 * counted and never sampled (a lower bound: later events' samples are
 * received too). */
static void count_undelivered(struct trace_session *s, bool exact)
{
    if (s->backend == TRACE_BACKEND_BPF) {
        if (exact)
            perf_disable(&s->perf);
        if (exact)
            read_rings(s, true);
        else
            step_read(s);
        bpf_tracer_misses(&s->bpf, &s->undelivered, &s->bpf_failed);
        return;
    }
    if (exact)
        perf_disable(&s->perf); /* the counts stop: exact once drained */
    uint64_t counted = perf_counted(&s->perf);
    if (exact)
        read_rings(s, true);
    else
        step_read(s);
    if (counted > s->received && counted - s->received > s->undelivered)
        s->undelivered = counted - s->received;
}

static void count_close_wait(void *ctx, const struct trace_rec *r)
{
    struct trace_session *s = ctx;
    if (!r->t_close_wait || r->t_last_ack)
        return;
    if (s->o.port && r->lport != s->o.port && r->rport != s->o.port)
        return;
    if (s->netns) {
        /* a record no process touched belongs here only if this
         * namespace's table holds it in CLOSE_WAIT */
        uint64_t ns = trace_rec_netns(s, r);
        const struct recon_set *set = trace_recon_set(s, s->netns);
        if (!ns && set && recon_state(set, r) == TS_CLOSE_WAIT)
            ns = s->netns;
        if (ns != s->netns)
            return;
    }
    s->sum.close_wait_open++;
    uint64_t age = trace_now_ns() - r->t_close_wait;
    if (age > s->sum.close_wait_oldest_ns)
        s->sum.close_wait_oldest_ns = age;
}

void trace_finish(struct trace_session *s)
{
    trace_recon_take(s); /* before the rings stop: every end before it is read */
    count_undelivered(s, true);
    trace_recon_apply(s);
    tracker_flush_all(&s->tr);
    s->sum.close_wait_open = 0;
    s->sum.close_wait_oldest_ns = 0;
    tracker_each_open(&s->tr, count_close_wait, s);
}

void trace_close(struct trace_session *s)
{
    perf_close(&s->perf);
    if (s->backend == TRACE_BACKEND_BPF)
        bpf_tracer_close(&s->bpf);
    tracker_free(&s->tr);
    pcache_free(&s->pc);
    summary_free(&s->sum);
    merge_free(&s->mg);
    for (size_t i = 0; i < s->nrns; i++)
        recon_free(&s->rns[i].set);
    free(s->rns);
    free(s->addrs);
    if (s->names)
        nsnames_free(s->names);
    free(s->names);
}

void trace_scope(const struct trace_session *s, char *buf, size_t len)
{
    if (s->o.netns)
        snprintf(buf, len, "network namespace %s", s->o.netns);
    else if (s->netns)
        snprintf(buf, len, "this network namespace");
    else
        snprintf(buf, len, "all network namespaces");
}

void trace_fmt_time(const struct trace_session *s, uint64_t mono_ns, char *buf, size_t len, bool iso)
{
    uint64_t real = mono_ns + s->mono_to_real_ns;
    time_t sec = (time_t)(real / 1000000000ull);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[32];
    strftime(base, sizeof base, iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
    if (iso)
        snprintf(buf, len, "%s.%06lluZ", base, (unsigned long long)(real % 1000000000ull / 1000));
    else
        snprintf(buf, len, "%s.%03llu", base, (unsigned long long)(real % 1000000000ull / 1000000));
}
