/* SPDX-License-Identifier: MIT */
/* closer exporter: the socket table, the doctor's findings and the kernel's
 * TCP counters as Prometheus metrics on /metrics, until SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "doctor/doctor.h"
#include "export/scrape.h"
#include "export/metrics.h"
#include "export/trace_metrics.h"
#include "export/metrics_netns.h"
#include "kernel/netns.h"
#include "loop/loop.h"
#include "snapshot/snapshot.h"
#include "trace/session.h"
#include "util/cli.h"
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

static void usage(void)
{
    printf("usage: closer exporter [options]\n\n"
           "Serves /metrics in the Prometheus text format (0.0.4) and / (a link\n"
           "to it); answers GET and HEAD only. Runs until SIGTERM or SIGINT.\n\n"
           "  -l, --listen ADDR:PORT     where to listen (default :9337)\n"
           "  -N, --netns NS             export namespace NS: NAME (/run/netns/NAME), a\n"
           "                             path (/proc/PID/ns/net), or pid:PID; the\n"
           "                             listening socket stays in the current one\n"
           "      --all-netns            every network namespace on the host, each series\n"
           "                             labelled netns=\"INODE\" (container=, pod= where\n"
           "                             known); needs root (setns), see contrib/\n"
           "      --top-netns N          namespaces with their own series, by sockets\n"
           "                             (default 20); the rest are summed in netns=\"other\"\n"
           "      --top-ports N          server ports with their own series (default 10)\n"
           "      --top-destinations N   client destinations with their own series (10)\n"
           "      --top-processes N      CLOSE_WAIT owners with their own series (10)\n"
           "      --top-listeners N      listeners with their own queue and backlog series,\n"
           "                             fullest queue first (20); the rest in listen=\"other\"\n"
           "      --no-owners            do not walk /proc for socket owners (cheaper;\n"
           "                             CLOSE_WAIT by process then shows pid=\"none\")\n"
           "      --no-doctor            do not export closer_doctor_findings\n"
           "      --trace                also trace closes (closer trace): closer_trace_closes_total\n"
           "                             {port,role,side}, resets, TIME_WAIT side, and the\n"
           "                             close-after-FIN histogram (root, or CAP_PERFMON\n"
           "                             with CAP_BPF; CAP_PERFMON alone: perf sampling)\n"
           "      --cache DURATION       scrapes within this share a snapshot (500ms)\n"
           "      --timeout DURATION     per connection: deadline for the request head,\n"
           "                             and each body read, write and keep-alive idle (10s)\n"
           "      --max-conns N          concurrent connections (256); at the cap the\n"
           "                             oldest idle or slow one is closed for a new one\n"
           "  -h, --help                 this text\n\n"
           "exit status: 0 stopped by a signal, 2 usage or runtime error\n");
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

static int parse_count(const char *opt, const char *arg, unsigned *out)
{
    uint64_t v;
    if (parse_u64(arg, 0, 100000, &v) < 0) return cli_bad_value("exporter", opt, arg, "a count 0-100000");
    *out = (unsigned)v;
    return 0;
}

static int serve(int lfd, struct exporter *e, const struct scrape_opts *ho)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    struct loop *l = loop_new();
    char err[256];
    struct scrape *h = l && sfd >= 0 ? scrape_start(l, lfd, ho, render, e, err, sizeof err) : NULL;
    if (!h) {
        fprintf(stderr, "closer exporter: %s\n", l && sfd >= 0 ? err : "cannot start the event loop");
        if (l) loop_free(l);
        if (sfd >= 0) close(sfd);
        close(lfd);
        return EXIT_USAGE;
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
    return rc ? EXIT_USAGE : 0;
}

int cmd_exporter(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, 0, 'l'},    {"netns", required_argument, 0, 'N'},
        {"top-ports", required_argument, 0, 'P'}, {"top-destinations", required_argument, 0, 'D'},
        {"top-processes", required_argument, 0, 'R'}, {"no-owners", no_argument, 0, 'o'},
        {"no-doctor", no_argument, 0, 'd'},       {"cache", required_argument, 0, 'c'},
        {"timeout", required_argument, 0, 't'},   {"max-conns", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},            {"all-netns", no_argument, 0, 'A'},
        {"top-netns", required_argument, 0, 'T'}, {"trace", no_argument, 0, 'X'},
        {"top-listeners", required_argument, 0, 'L'},
        {0, 0, 0, 0}};
    struct exporter e = {.so = {.owners = true}, .doctor = 1, .top_netns = 20,
                         .mo = {.top_ports = 10, .top_destinations = 10, .top_processes = 10,
                                .top_listeners = 20}};
    struct scrape_opts ho = {.cache_ms = 500, .timeout_ms = 10000, .max_conns = 256};
    const char *listen_spec = ":9337", *netns = NULL;
    int c, rc;
    unsigned max_conns = 0;
    bool want_trace = false;
    cli_begin();
    while ((c = getopt_long(argc, argv, ":l:N:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': listen_spec = optarg; break;
        case 'N': netns = optarg; break;
        case 'A': e.all_netns = 1; break;
        case 'T':
            if ((rc = parse_count("--top-netns", optarg, &e.top_netns))) return rc;
            if (!e.top_netns) return cli_bad_value("exporter", "--top-netns", optarg, "at least 1");
            break;
        case 'P': if ((rc = parse_count("--top-ports", optarg, &e.mo.top_ports))) return rc; break;
        case 'D': if ((rc = parse_count("--top-destinations", optarg, &e.mo.top_destinations))) return rc; break;
        case 'R': if ((rc = parse_count("--top-processes", optarg, &e.mo.top_processes))) return rc; break;
        case 'L': if ((rc = parse_count("--top-listeners", optarg, &e.mo.top_listeners))) return rc; break;
        case 'o': e.so.owners = false; break;
        case 'd': e.doctor = 0; break;
        case 'X': want_trace = true; break;
        case 'c':
            if (parse_duration_ms(optarg, &ho.cache_ms) < 0)
                return cli_bad_value("exporter", "--cache", optarg, "a duration, e.g. 500ms");
            break;
        case 't':
            if (parse_duration_ms(optarg, &ho.timeout_ms) < 0 || !ho.timeout_ms)
                return cli_bad_value("exporter", "--timeout", optarg, "a duration, e.g. 10s");
            break;
        case 'm':
            if ((rc = parse_count("--max-conns", optarg, &max_conns))) return rc;
            if (!max_conns) return cli_bad_value("exporter", "--max-conns", optarg, "at least 1");
            ho.max_conns = max_conns;
            break;
        case 'h': usage(); return 0;
        default: return cli_bad_option("exporter", c, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "closer exporter: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (netns && e.all_netns) {
        fprintf(stderr, "closer exporter: --all-netns does not go with -N/--netns\n");
        return EXIT_USAGE;
    }
    char err[256];
    /* Bind first: the listener stays reachable from where Prometheus runs. */
    int lfd = open_listener(listen_spec, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "closer exporter: %s\n", err);
        return EXIT_USAGE;
    }
    if (netns && netns_enter(netns, err, sizeof err)) {
        fprintf(stderr, "closer exporter: %s\n", err);
        close(lfd);
        return EXIT_USAGE;
    }
    struct trace_session ts;
    struct trace_metrics tm = {0};
    if (want_trace) {
        /* the namespace entered above is "this one" for the tracer */
        struct trace_opts to = {.no_summary = true, .all_netns = e.all_netns != 0};
        if (trace_open(&ts, &to, on_trace_close, &e, err, sizeof err) < 0) {
            fprintf(stderr, "closer exporter: --trace: %s\n", err);
            trace_close(&ts);
            close(lfd);
            return EXIT_USAGE;
        }
        e.trace = &ts;
        e.tm = &tm;
    }
    rc = serve(lfd, &e, &ho);
    if (e.trace)
        trace_close(e.trace);
    return rc;
}
