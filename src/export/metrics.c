/* SPDX-License-Identifier: MIT */
/* Rendering the snapshot as Prometheus metric families. Label sets are
 * bounded: the top N of each grouping get their own series, the rest are
 * summed into one "other" series so a fleet's cardinality stays fixed. */
#include "export/metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export/aggregate.h"
#include "export/prom.h"

/* The states worth a per-role series (the rest are in closer_tcp_sockets). */
static const int role_states[] = {TS_ESTABLISHED, TS_SYN_SENT, TS_SYN_RECV, TS_FIN_WAIT1,
                                  TS_FIN_WAIT2, TS_TIME_WAIT, TS_CLOSE_WAIT, TS_LAST_ACK,
                                  TS_CLOSING};
#define NROLE_STATES (sizeof role_states / sizeof role_states[0])

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void write_states(struct prom *p, const struct agg *a)
{
    prom_family(p, "closer_tcp_sockets", "gauge", "TCP sockets by state.");
    for (int st = 1; st < TS_NEW_SYN_RECV; st++) /* NEW_SYN_RECV is counted as SYN_RECV */
        prom_sample(p, "", a->states[st], "state", tcp_state_label(st), NULL);
}

static void write_ports(struct prom *p, struct agg *a, unsigned top)
{
    agg_sort_ports(a, 0);
    prom_family(p, "closer_server_sockets", "gauge",
                "Sockets on local listening ports (or on a non-ephemeral local port several sockets share: a listener that is gone) by port and state (top ports by count; the rest in port=\"other\").");
    uint32_t other[TS_MAX] = {0};
    char port[8];
    for (size_t i = 0; i < a->nports; i++) {
        for (size_t k = 0; k < NROLE_STATES; k++) {
            int st = role_states[k];
            if (i >= top) {
                other[st] += a->ports[i].n[st];
                continue;
            }
            snprintf(port, sizeof port, "%u", a->ports[i].port);
            prom_sample(p, "", a->ports[i].n[st], "port", port, "state", tcp_state_label(st), NULL);
        }
    }
    for (size_t k = 0; k < NROLE_STATES; k++)
        prom_sample(p, "", other[role_states[k]], "port", "other", "state",
                    tcp_state_label(role_states[k]), NULL);
}

static void write_dests(struct prom *p, const struct snapshot *s, struct agg *a, unsigned top)
{
    /* Only the top N are named and ordered: with 300k distinct peers a full
     * sort and 300k formatted addresses were most of the scrape. */
    agg_top_dests(a, 0, top);
    prom_family(p, "closer_client_sockets", "gauge",
                "Sockets from non-listening local ports by destination and state (top destinations; the rest in destination=\"other\").");
    uint64_t other[TS_MAX] = {[TS_TIME_WAIT] = a->dests_other_tw};
    char name[64];
    for (size_t i = 0; i < a->ndests; i++) {
        if (i >= top) {
            for (size_t k = 0; k < NROLE_STATES; k++) other[role_states[k]] += a->dests[i].n[role_states[k]];
            continue;
        }
        agg_dest_name(&a->dests[i], name);
        for (size_t k = 0; k < NROLE_STATES; k++) {
            int st = role_states[k];
            prom_sample(p, "", a->dests[i].n[st], "destination", name, "state", tcp_state_label(st), NULL);
        }
    }
    for (size_t k = 0; k < NROLE_STATES; k++)
        prom_sample(p, "", other[role_states[k]], "destination", "other", "state",
                    tcp_state_label(role_states[k]), NULL);

    prom_family(p, "closer_ephemeral_ports", "gauge",
                "Size of the ephemeral port range (net.ipv4.ip_local_port_range).");
    prom_sample(p, "", snapshot_ephemeral_size(s), NULL);
    prom_family(p, "closer_ephemeral_ports_used", "gauge",
                "Sockets to a destination whose local port is in the ephemeral range (a destination runs out at closer_ephemeral_ports).");
    uint64_t rest = a->dests_other_tw; /* folded client TIME_WAIT: ephemeral ports */
    for (size_t i = 0; i < a->ndests; i++) {
        if (i >= top) {
            rest += a->dests[i].ephemeral_used;
            continue;
        }
        prom_sample(p, "", a->dests[i].ephemeral_used, "destination", agg_dest_name(&a->dests[i], name), NULL);
    }
    prom_sample(p, "", (double)rest, "destination", "other", NULL);
}

/* Gauges, not a histogram: these are the sockets present now, so their
 * counts go down as TIME_WAIT expires, which a histogram's counters must
 * never do (rate() would read every expiry as a reset). */
static void write_tw_age(struct prom *p, const struct agg *a)
{
    prom_family(p, "closer_time_wait_sockets_by_age", "gauge",
                "TIME_WAIT sockets at most max_age_seconds old (60 s minus the timer left), cumulative.");
    char le[16];
    for (int b = 0; b < AGG_TW_BUCKETS; b++) {
        snprintf(le, sizeof le, "%g", agg_tw_bucket_le[b]);
        prom_sample(p, "", (double)a->tw_buckets[b], "max_age_seconds", le, NULL);
    }
    prom_family(p, "closer_time_wait_entries_per_second", "gauge",
                "Sockets that entered TIME_WAIT per second, averaged over the window (each stays 60 s).");
    for (int b = 0; b < AGG_TW_BUCKETS; b++)
        if (agg_tw_bucket_le[b] == 10)
            prom_sample(p, "", (double)a->tw_buckets[b] / 10, "window", "10s", NULL);
    prom_sample(p, "", (double)a->tw_count / 60, "window", "60s", NULL);
}

/* Whether owner="process" can be trusted. A process whose fds cannot be
 * read hides the owner of every socket it holds: its CLOSE_WAIT lands in
 * owner="none" and the CLOSE_WAIT alert, which filters on owner="process",
 * stays silent. So 1 only when owners were read and every process of the
 * namespace was readable; the count of the others by reason says what
 * cures it (node_exporter's node_scrape_collector_success, per cause). */
static void write_visibility(struct prom *p, const struct snapshot *s)
{
    prom_family(p, "closer_owners_visible", "gauge",
                "1 when every socket owner (process) could be read; 0 when owners were not read "
                "(--no-owners) or some processes could not be (see closer_processes_unreadable).");
    prom_sample(p, "", s->owners_read && !s->procs_denied, NULL);
    prom_family(p, "closer_processes_unreadable", "gauge",
                "Processes of this namespace (or of an unknown one) whose fds closer could not read, "
                "by reason: capability (CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH cure it), "
                "user_namespace, security_module (AppArmor, SELinux).");
    for (int r = OWNERS_HIDDEN_CAPABILITY; r < OWNERS_HIDDEN_NREASONS; r++)
        prom_sample(p, "", s->hidden_by == (enum owners_hidden_by)r ? s->procs_denied : 0,
                    "reason", owners_hidden_name((enum owners_hidden_by)r), NULL);
}

/* CLOSE_WAIT by process name, not pid: a pid label makes new series at every
 * restart, and the name is what an alert should say. */
static void write_close_wait(struct prom *p, const struct snapshot *s, struct agg *a, unsigned top)
{
    agg_sort_procs(a);
    struct named { const char *comm; uint64_t n; } *by = calloc(a->nprocs + 1, sizeof *by);
    size_t nby = 0;
    for (size_t i = 0; by && i < a->nprocs; i++) {
        size_t k = 0;
        while (k < nby && strcmp(by[k].comm, a->procs[i].comm))
            k++;
        if (k == nby)
            by[nby++].comm = a->procs[i].comm;
        by[k].n += a->procs[i].close_wait;
    }
    prom_family(p, "closer_close_wait_sockets", "gauge",
                "CLOSE_WAIT sockets by owning process name (owner=\"process\"; the rest summed in owner=\"other\"; owner=\"none\": unaccepted or owner not visible).");
    uint64_t rest = 0;
    for (size_t i = 0; i < nby; i++) { /* procs were sorted by count: names come in that order */
        if (i >= top) {
            rest += by[i].n;
            continue;
        }
        prom_sample(p, "", (double)by[i].n, "comm", by[i].comm, "owner", "process", NULL);
    }
    free(by);
    prom_sample(p, "", (double)rest, "comm", "", "owner", "other", NULL);
    prom_sample(p, "", a->close_wait_unowned, "comm", "", "owner", "none", NULL);
    write_visibility(p, s);
}

/* Fullest accept queue first (the listeners an alert is about), then the
 * larger backlog, then the port: a stable order between scrapes. */
static int by_queue(const void *x, const void *y)
{
    const struct agg_listen *a = x, *b = y;
    if (a->queue != b->queue)
        return a->queue > b->queue ? -1 : 1;
    if (a->backlog != b->backlog)
        return a->backlog > b->backlog ? -1 : 1;
    return a->port != b->port ? (a->port < b->port ? -1 : 1) : memcmp(a->addr, b->addr, 16);
}

/* One series per listener would let any user who can listen() blow up the
 * monitoring's cardinality (18,000 listeners: 36,093 series): the top N
 * listeners by queue have their own, the rest are summed in listen="other"
 * (always written, so the family's series count is fixed at N + 1). */
static void write_listen(struct prom *p, struct agg *a, unsigned top)
{
    char name[64];
    if (a->nlistens) /* qsort(NULL, 0) is undefined */
        qsort(a->listens, a->nlistens, sizeof *a->listens, by_queue);
    uint64_t queue = 0, backlog = 0;
    for (size_t i = top; i < a->nlistens; i++)
        queue += a->listens[i].queue, backlog += a->listens[i].backlog;
    size_t n = a->nlistens < top ? a->nlistens : top;
    prom_family(p, "closer_listen_queue_length", "gauge",
                "Connections waiting in a listener's accept queue (top listeners by queue; the rest summed in listen=\"other\").");
    for (size_t i = 0; i < n; i++)
        prom_sample(p, "", a->listens[i].queue, "listen", agg_listen_name(&a->listens[i], name), NULL);
    prom_sample(p, "", (double)queue, "listen", "other", NULL);
    prom_family(p, "closer_listen_backlog", "gauge",
                "A listener's accept queue limit (backlog; listen=\"other\": the sum over the rest).");
    for (size_t i = 0; i < n; i++)
        prom_sample(p, "", a->listens[i].backlog, "listen", agg_listen_name(&a->listens[i], name), NULL);
    prom_sample(p, "", (double)backlog, "listen", "other", NULL);
    prom_family(p, "closer_listeners", "gauge", "Listening sockets, all of them (with or without their own series).");
    prom_sample(p, "", (double)a->nlistens, NULL);
}

static void write_findings(struct prom *p, const struct metrics_opts *o)
{
    prom_family(p, "closer_doctor_findings", "gauge",
                "Findings of closer doctor by id and severity (see closer doctor for why and the fix).");
    for (size_t i = 0; i < o->nfindings; i++) {
        /* The sysctl audit is always there at info: a series that is always
         * 1 says nothing (doctor shows it). */
        if (!strncmp(o->findings[i].id, "sysctl-", 7) && !strcmp(o->findings[i].severity, "info"))
            continue;
        /* One series per (id, severity): count the first of each pair only. */
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(o->findings[j].id, o->findings[i].id) &&
                   !strcmp(o->findings[j].severity, o->findings[i].severity);
        if (seen) continue;
        unsigned n = 0;
        for (size_t j = i; j < o->nfindings; j++)
            n += !strcmp(o->findings[j].id, o->findings[i].id) &&
                 !strcmp(o->findings[j].severity, o->findings[i].severity);
        prom_sample(p, "", n, "id", o->findings[i].id, "severity", o->findings[i].severity, NULL);
    }
}

struct counter_row { const char *name, *kernel_name, *help; long long value; };

static void write_counters(struct prom *p, const struct tcp_counters *c)
{
    const struct counter_row rows[] = {
        {"listen_overflows", "TcpExt:ListenOverflows", "Accept queue full: SYN or ACK dropped.", c->listen_overflows},
        {"listen_drops", "TcpExt:ListenDrops", "Connection requests dropped at a listener (any reason).", c->listen_drops},
        {"time_wait_overflow", "TcpExt:TCPTimeWaitOverflow", "TIME_WAIT not created: tcp_max_tw_buckets reached.", c->tw_overflow},
        {"time_wait", "TcpExt:TW", "Sockets that finished TIME_WAIT (fast timer).", c->tw},
        {"time_wait_recycled", "TcpExt:TWRecycled", "TIME_WAIT sockets reused for a new connection.", c->tw_recycled},
        {"time_wait_killed", "TcpExt:TWKilled", "TIME_WAIT sockets killed early.", c->tw_killed},
        {"abort_on_close", "TcpExt:TCPAbortOnClose", "RST sent on close() with unread data.", c->abort_on_close},
        {"abort_on_data", "TcpExt:TCPAbortOnData", "RST sent on data after close.", c->abort_on_data},
        {"abort_on_linger", "TcpExt:TCPAbortOnLinger", "RST sent because of SO_LINGER 0 / linger timeout.", c->abort_on_linger},
        {"active_opens", "Tcp:ActiveOpens", "Connections opened by connect().", c->active_opens},
        {"passive_opens", "Tcp:PassiveOpens", "Connections accepted from a listener.", c->passive_opens},
        {"estab_resets", "Tcp:EstabResets", "Established connections reset.", c->estab_resets},
    };
    char name[96], help[200];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].value < 0) continue; /* absent in this kernel */
        snprintf(name, sizeof name, "closer_tcp_%s_total", rows[i].name);
        snprintf(help, sizeof help, "%s (%s)", rows[i].help, rows[i].kernel_name);
        prom_family(p, name, "counter", help);
        prom_sample(p, "", (double)rows[i].value, NULL);
    }
}

static void write_sysctls(struct prom *p, const struct sysctls *y)
{
    const struct { const char *name; long v; } rows[] = {
        {"net.ipv4.tcp_fin_timeout", y->fin_timeout},
        {"net.ipv4.tcp_tw_reuse", y->tw_reuse},
        {"net.ipv4.tcp_max_tw_buckets", y->max_tw_buckets},
        {"net.ipv4.tcp_max_syn_backlog", y->max_syn_backlog},
        {"net.ipv4.tcp_timestamps", y->timestamps},
        {"net.ipv4.tcp_syncookies", y->syncookies},
        {"net.core.somaxconn", y->somaxconn},
        {"net.ipv4.ip_local_port_range_low", y->port_lo},
        {"net.ipv4.ip_local_port_range_high", y->port_hi},
        {"net.ipv4.tcp_orphan_retries", y->orphan_retries},
        {"net.ipv4.tcp_max_orphans", y->max_orphans},
        {"net.ipv4.tcp_synack_retries", y->synack_retries},
    };
    prom_family(p, "closer_sysctl", "gauge", "TCP sysctls that govern closing (absent ones are not exported).");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].v >= 0) prom_sample(p, "", (double)rows[i].v, "name", rows[i].name, NULL);
}

static void write_build_info(struct prom *p)
{
    prom_family(p, "closer_build_info", "gauge",
                "Always 1; the labels say which closer build answers (version, compiler).");
    prom_sample(p, "", 1, "version", CLOSER_VERSION, "compiler", __VERSION__, NULL);
}

int metrics_write(FILE *out, const struct snapshot *s, const struct metrics_opts *o)
{
    double t0 = now_ms();
    struct agg a;
    if (agg_build(&a, s)) return -1;
    struct prom p;
    prom_init(&p, out);
    write_build_info(&p);
    write_states(&p, &a);
    write_ports(&p, &a, o->top_ports);
    write_dests(&p, s, &a, o->top_destinations);
    write_tw_age(&p, &a);
    write_close_wait(&p, s, &a, o->top_processes);
    write_listen(&p, &a, o->top_listeners);
    write_findings(&p, o);
    write_counters(&p, &s->ctr);
    write_sysctls(&p, &s->sys);
    agg_free(&a);
    prom_family(&p, "closer_snapshot_duration_seconds", "gauge", "Time to read the sockets, owners, sysctls and counters.");
    prom_sample(&p, "", s->took_ms / 1e3, NULL);
    prom_family(&p, "closer_scrape_duration_seconds", "gauge",
                "Time to build this exposition: snapshot, doctor and rendering.");
    prom_sample(&p, "", (s->took_ms + o->findings_ms + (now_ms() - t0)) / 1e3, NULL);
    return ferror(out) ? -1 : 0;
}
