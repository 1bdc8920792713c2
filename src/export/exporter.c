/* SPDX-License-Identifier: MIT */
/* closer exporter's run (export/exporter.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "doctor/doctor.h"
#include "export/exporter.h"
#include "export/metrics_netns.h"
#include "export/trace_metrics.h"
#include "kernel/netns.h"
#include "loop/loop.h"
#include "trace/session.h"
#include "util/log.h"
#include "util/parse.h"

struct exporter {
    struct snapshot_opts so;
    struct metrics_opts mo;
    int doctor;
    struct trace_session *trace; /* --trace: NULL when off */
    struct trace_metrics *tm;
    int all_netns;
    unsigned top_netns;
    struct doctor_report cur; /* the namespace being rendered (--all-netns) */
};

/* --trace: each finished connection into the counters. */
static void on_trace_close(void *ctx, const struct trace_rec *r)
{
    struct exporter *e = ctx;
    struct tm_close c = {
        .role = r->role, .port = r->role == ROLE_OUTGOING ? r->rport : r->lport,
        .side = r->first == FIRST_LOCAL ? TM_LOCAL : r->first == FIRST_PEER ? TM_PEER
              : r->first == FIRST_RESET ? TM_RESET : TM_ABORT,
        .tw_here = r->tw == TW_LOCAL, .tw_peer = r->tw == TW_PEER,
        .rst_sent = (r->rst & RST_SENT) != 0, .rst_received = (r->rst & RST_RECEIVED) != 0,
        .close_after_fin_s = r->t_close_wait && r->t_last_ack >= r->t_close_wait
                                 ? (double)(r->t_last_ack - r->t_close_wait) / 1e9 : -1};
    tm_add(e->tm, &c);
}

static void on_trace_ring(struct loop *l, int fd, void *data, unsigned events)
{
    (void)l, (void)fd, (void)events;
    struct exporter *e = data;
    trace_step(e->trace, 0);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void findings_get(void *ctx, const struct snapshot *s, struct metrics_opts *mo)
{
    struct exporter *e = ctx;
    double t0 = mono_ms();
    mo->findings = NULL;
    mo->nfindings = 0;
    memset(&e->cur, 0, sizeof e->cur);
    struct doctor_opts dopt = doctor_default_opts();
    struct metrics_finding *fs = NULL;
    struct doctor_report *r = &e->cur;
    if (e->doctor && doctor_analyze(s, &dopt, r) == 0 && r->n && (fs = calloc(r->n, sizeof *fs))) {
        for (size_t i = 0; i < r->n; i++)
            fs[i] = (struct metrics_finding){r->items[i].id, severity_name(r->items[i].severity)};
        mo->findings = fs;
        mo->nfindings = r->n;
    }
    mo->findings_ms = mono_ms() - t0;
}

static void findings_done(void *ctx, struct metrics_opts *mo)
{
    struct exporter *e = ctx;
    free((void *)mo->findings);
    mo->findings = NULL;
    doctor_report_free(&e->cur);
}

/* --trace: the counters, after reading what the rings hold. */
static int write_trace(struct exporter *e, FILE *out, int rc)
{
    if (!e->trace)
        return rc;
    trace_step(e->trace, 0);
    e->tm->events = e->trace->tr.st.events;
    e->tm->lost = trace_lost(e->trace);
    tm_write(out, e->tm);
    return rc || ferror(out) ? -1 : 0;
}

static int render_all(struct exporter *e, FILE *out)
{
    struct multi_snapshot m;
    char err[256];
    if (multi_snapshot_take(&m, &e->so, err, sizeof err)) {
        log_error("exporter: %s", err);
        return -1;
    }
    struct netns_findings_fn fn = {findings_get, findings_done, e};
    int rc = metrics_write_netns(out, &m, &e->mo, e->top_netns, &fn);
    multi_snapshot_free(&m);
    return write_trace(e, out, rc);
}

static int render(void *ctx, FILE *out)
{
    struct exporter *e = ctx;
    if (e->all_netns)
        return render_all(e, out);
    struct snapshot s;
    char err[256];
    if (snapshot_take(&s, &e->so, err, sizeof err)) {
        log_error("exporter: snapshot: %s", err);
        return -1;
    }
    struct metrics_opts mo = e->mo;
    struct doctor_report r = {0};
    struct metrics_finding *fs = NULL;
    double t0 = mono_ms();
    if (e->doctor) {
        struct doctor_opts dopt = doctor_default_opts();
        if (doctor_analyze(&s, &dopt, &r) == 0 && r.n && (fs = calloc(r.n, sizeof *fs))) {
            for (size_t i = 0; i < r.n; i++)
                fs[i] = (struct metrics_finding){r.items[i].id, severity_name(r.items[i].severity)};
            mo.findings = fs;
            mo.nfindings = r.n;
        }
    }
    mo.findings_ms = mono_ms() - t0;
    int rc = write_trace(e, out, metrics_write(out, &s, &mo));
    free(fs);
    doctor_report_free(&r);
    snapshot_free(&s);
    return rc;
}

static int open_listener(const char *spec, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_hostport(spec, &ss, &len) < 0) {
        snprintf(err, errlen, "bad address '%s'", spec);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 511)) {
        snprintf(err, errlen, "listen on %s: %s", spec, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static void on_signal(struct loop *l, int fd, void *data, unsigned events)
{
    (void)data;
    (void)events;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof si) == (ssize_t)sizeof si) loop_stop(l);
}

/* Serves until a signal; consumes lfd. */
static int serve(int lfd, struct exporter *e, const struct scrape_opts *ho, char *err, size_t errlen)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    struct loop *l = loop_new();
    struct scrape *h = l && sfd >= 0 ? scrape_start(l, lfd, ho, render, e, err, errlen) : NULL;
    if (!h) {
        if (!l || sfd < 0)
            snprintf(err, errlen, "cannot start the event loop");
        if (l) loop_free(l);
        if (sfd >= 0) close(sfd);
        close(lfd);
        return -1;
    }
    loop_add(l, sfd, LOOP_READ, on_signal, NULL);
    for (int cpu = 0; e->trace && cpu < e->trace->perf.ncpu; cpu++)
        if (e->trace->perf.rings[cpu].base)
            loop_add(l, e->trace->perf.rings[cpu].fd, LOOP_READ, on_trace_ring, e);
    int rc = loop_run(l);
    log_info("exporter: stopping after %llu scrapes", scrape_count(h));
    loop_del(l, sfd);
    close(sfd);
    scrape_stop(h);
    loop_free(l);
    if (rc)
        err[0] = 0; /* the loop failed: nothing more to say, as before */
    return rc ? -1 : 0;
}

/* After the listener: the namespace, then the tracer in it ("this one"
 * for the tracer), then the loop. Consumes lfd. */
static int run_bound(const struct exporter_opts *o, struct exporter *e, int lfd, char *err, size_t errlen)
{
    if (o->netns && netns_enter(o->netns, err, errlen)) {
        close(lfd);
        return -1;
    }
    struct trace_session ts;
    struct trace_metrics tm = {0};
    if (o->trace) {
        struct trace_opts to = {.no_summary = true, .all_netns = o->all_netns};
        char terr[256];
        if (trace_open(&ts, &to, on_trace_close, e, terr, sizeof terr) < 0) {
            snprintf(err, errlen, "--trace: %s", terr);
            trace_close(&ts);
            close(lfd);
            return -1;
        }
        e->trace = &ts;
        e->tm = &tm;
    }
    int rc = serve(lfd, e, &o->ho, err, errlen);
    if (e->trace)
        trace_close(e->trace);
    return rc;
}

int exporter_run(const struct exporter_opts *o, char *err, size_t errlen)
{
    struct exporter e = {.so = o->so, .mo = o->mo, .doctor = o->doctor, .all_netns = o->all_netns,
                         .top_netns = o->top_netns};
    /* Every TIME_WAIT folded as the dump is read (snapshot/twfold.h): a
     * scrape's peak memory stays flat however big the table; with
     * --all-netns, in the big namespaces only (snapshot/multi.h). */
    e.so.fold_above = 1;
    /* Bind first: the listener stays reachable from where Prometheus runs. */
    int lfd = open_listener(o->listen, err, errlen);
    if (lfd < 0)
        return -1;
    return run_bound(o, &e, lfd, err, errlen);
}
