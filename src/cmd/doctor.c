/* SPDX-License-Identifier: MIT */
/* closer doctor: reads the snapshot, runs the rules, prints the findings.
 * Exit: 0 nothing above info, 1 warnings or worse, 2 usage/runtime error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cmd/cmd.h"
#include "doctor/doctor.h"
#include "doctor/rules_trace.h"
#include "doctor/multi.h"
#include "kernel/netns.h"
#include "snapshot/snapshot.h"
#include "trace/measure.h"
#include "util/cli.h"
#include "util/parse.h"

static void usage(void)
{
    printf("usage: closer doctor [options]\n\n"
           "Reads the kernel's TCP socket table, the owning processes (/proc/PID/fd and\n"
           "fdinfo), the sysctls and /proc/net/netstat, and explains who closes\n"
           "connections first, why TIME_WAIT / CLOSE_WAIT / SYN_RECV pile up, what it\n"
           "costs and what to change.\n\n"
           "  -N, --netns NS         analyse network namespace NS: NAME (/run/netns/NAME),\n"
           "                         a path (/proc/PID/ns/net, a bind mount), or pid:PID\n"
           "      --all-netns        every network namespace on the host (containers, pods,\n"
           "                         unshare --net, ip netns): one report, ranked by worst\n"
           "                         finding; each finding names its namespace\n"
           "      --json             JSON: {\"findings\":[{\"id\",\"severity\",\"count\",\"port\",\"pid\",...}]}\n"
           "  -v, --verbose          print the why and fix of the sysctl audit too\n"
           "      --color WHEN       auto (default: on a TTY), always, never\n"
           "      --proc             read /proc/net/tcp{,6} instead of netlink\n"
           "      --record FILE      save the raw netlink dump (with tcp_info) to FILE, and the\n"
           "                         owners and their process models to FILE.owners\n"
           "      --replay FILE      analyse a dump saved with --record (here or in states),\n"
           "                         with FILE.owners when it is there\n"
           "      --catalog          print the program catalogue (how each program is\n"
           "                         recognised, its knobs per finding) as Markdown\n"
           "      --confirm DUR      when CLOSE_WAIT is present, look again after DUR (default\n"
           "                         1s; 0 skips) and report only the ones that persist\n"
           "                         (with --all-netns every namespace is looked at again)\n"
           "      --close-wait-warn N   CLOSE_WAIT per group to warn (default 3)\n"
           "      --client-warn-pct N   ephemeral range used per destination to warn (default 50)\n"
           "      --pile N           FIN_WAIT2 / LAST_ACK count to warn (default 100)\n"
           "      --trace DUR        first trace closes for DUR (closer trace): who closed\n"
           "                         first per port and process, close() after the peer's FIN\n"
           "      --list-findings    print every finding id with its severities, the rule that\n"
           "                         decides it and its meaning (markdown), and exit\n"
           "  -h, --help             this text\n\n"
           "finding ids (--list-findings tells what each means):\n");
    finding_ids_print(stdout, false, 2, 78);
    printf("\nwith --trace DUR, also:\n");
    finding_ids_print(stdout, true, 2, 78);
    printf("\nexit status: 0 nothing above info, 1 warnings or worse, 2 usage or runtime error\n");
}

static int parse_threshold(const char *opt, const char *arg, unsigned *out)
{
    uint64_t v;
    if (parse_u64(arg, 1, 100000000, &v) < 0)
        return cli_bad_value("doctor", opt, arg, "a positive integer");
    *out = (unsigned)v;
    return 0;
}

static bool has_close_wait(const struct snapshot *s);

/* --confirm over every namespace: when any has CLOSE_WAIT, all are taken
 * again confirm_ms later and each later snapshot is compared with the
 * earlier one of the same namespace (inode); the later ones are analysed. */
static int confirm_all(struct multi_snapshot *m, const struct snapshot_opts *so, uint64_t ms,
                       char *err, size_t errlen)
{
    bool any = false;
    for (size_t i = 0; i < m->list.n && !any; i++)
        any = m->items[i].ok && has_close_wait(&m->items[i].snap);
    if (!any || !ms)
        return 0;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    struct multi_snapshot later;
    if (multi_snapshot_take(&later, so, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < later.list.n; i++) {
        struct ns_snapshot *n = &later.items[i];
        for (size_t j = 0; n->ok && j < m->list.n; j++) {
            const struct ns_snapshot *e = &m->items[j];
            if (e->ok && e->ns->inode == n->ns->inode &&
                snapshot_confirm(&n->snap, &e->snap, n->snap.taken_at - e->snap.taken_at) < 0) {
                snprintf(err, errlen, "out of memory");
                multi_snapshot_free(&later);
                return -1;
            }
        }
    }
    multi_snapshot_free(m);
    *m = later;
    return 0;
}

static int doctor_all_netns(const struct snapshot_opts *so, const struct doctor_opts *dopts,
                            const struct doctor_view *view, bool json, uint64_t confirm_ms)
{
    char err[256];
    struct multi_snapshot m;
    if (multi_snapshot_take(&m, so, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: %s\n", err);
        return EXIT_USAGE;
    }
    if (confirm_all(&m, so, confirm_ms, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: %s\n", err);
        multi_snapshot_free(&m);
        return EXIT_USAGE;
    }
    struct doctor_multi d;
    if (doctor_analyze_multi(&m, dopts, &d) < 0) {
        fprintf(stderr, "closer doctor: out of memory\n");
        multi_snapshot_free(&m);
        return EXIT_USAGE;
    }
    if (json)
        doctor_print_multi_json(stdout, &d, view);
    else
        doctor_print_multi_text(stdout, &d, view);
    /* Nothing could be read at all: a runtime error, not a clean bill. */
    int rc = d.entered ? doctor_multi_exit_code(&d) : EXIT_USAGE;
    if (!d.entered)
        fprintf(stderr, "closer doctor: no network namespace could be read\n");
    doctor_multi_free(&d);
    multi_snapshot_free(&m);
    return rc;
}

static bool has_close_wait(const struct snapshot *s)
{
    for (size_t i = 0; i < s->nsocks; i++)
        if (s->socks[i].state == TS_CLOSE_WAIT)
            return true;
    return false;
}

/* The second look of --confirm: a CLOSE_WAIT that is there DUR later too
 * is a leak; one that came and went is a connection being closed. The
 * second snapshot is the one analysed (and recorded). */
static int look_again(struct snapshot **first, const struct snapshot_opts *so, uint64_t ms,
                      char *err, size_t errlen)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    struct snapshot *later = malloc(sizeof *later);
    if (!later || snapshot_take(later, so, err, errlen) < 0) {
        if (!later)
            snprintf(err, errlen, "out of memory");
        free(later);
        snapshot_free(*first);
        free(*first);
        return EXIT_USAGE;
    }
    int rc = snapshot_confirm(later, *first, later->taken_at - (*first)->taken_at);
    snapshot_free(*first);
    free(*first);
    *first = later;
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        snapshot_free(later);
        free(later);
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_doctor(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"netns", required_argument, 0, 'N'},    {"json", no_argument, 0, 'j'},
        {"verbose", no_argument, 0, 'v'},        {"color", required_argument, 0, 'C'},
        {"proc", no_argument, 0, 'P'},           {"replay", required_argument, 0, 'R'},
        {"close-wait-warn", required_argument, 0, 'w'},
        {"client-warn-pct", required_argument, 0, 'c'},
        {"pile", required_argument, 0, 'p'},     {"help", no_argument, 0, 'h'},
        {"trace", required_argument, 0, 'T'},
        {"all-netns", no_argument, 0, 'A'},
        {"record", required_argument, 0, 'r'},   {"confirm", required_argument, 0, 'f'},
        {"catalog", no_argument, 0, 'K'},
        {"list-findings", no_argument, 0, 'L'},
        {0, 0, 0, 0}};
    /* tcp_info for the states whose rules read idle times and segment
     * counts; the process model of whoever holds them. */
    const uint32_t evidence_states = 1u << TS_ESTABLISHED | 1u << TS_CLOSE_WAIT |
                                     1u << TS_FIN_WAIT1 | 1u << TS_FIN_WAIT2 |
                                     1u << TS_LAST_ACK | 1u << TS_CLOSING;
    struct snapshot_opts so = {.owners = true, .info_states = evidence_states,
                               .model_states = evidence_states | 1u << TS_LISTEN,
                               .fold_above = SNAPSHOT_FOLD_ABOVE};
    uint64_t confirm_ms = 1000;
    struct doctor_opts dopts = doctor_default_opts();
    struct doctor_view view = {.color = isatty(STDOUT_FILENO)};
    bool json = false, all = false;
    uint64_t trace_ms = 0;
    struct measured_closes measured = {0};
    int c, rc;
    cli_begin();
    while ((c = getopt_long(argc, argv, ":N:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'N': view.netns = optarg; break;
        case 'j': json = true; break;
        case 'A': all = true; break;
        case 'K': catalog_print_markdown(stdout); return cli_finish_stdout(0);
        case 'v': view.verbose = true; break;
        case 'C':
            if (!strcmp(optarg, "always"))
                view.color = true;
            else if (!strcmp(optarg, "never"))
                view.color = false;
            else if (strcmp(optarg, "auto") != 0)
                return cli_bad_value("doctor", "--color", optarg, "auto, always or never");
            break;
        case 'P': so.force_proc = true; break;
        case 'R': so.replay = optarg; break;
        case 'r': so.record = optarg; break;
        case 'f':
            if (parse_duration_ms(optarg, &confirm_ms) < 0 || confirm_ms > 600000)
                return cli_bad_value("doctor", "--confirm", optarg,
                                     "a duration up to 10m, e.g. 1s, 500ms, 0");
            break;
        case 'w':
            if ((rc = parse_threshold("--close-wait-warn", optarg, &dopts.close_wait_warn)))
                return rc;
            break;
        case 'c':
            if ((rc = parse_threshold("--client-warn-pct", optarg, &dopts.client_warn_pct)))
                return rc;
            break;
        case 'p':
            if ((rc = parse_threshold("--pile", optarg, &dopts.orphan_pile)))
                return rc;
            break;
        case 'T':
            if (parse_duration_ms(optarg, &trace_ms) < 0 || trace_ms == 0)
                return cli_bad_value("doctor", "--trace", optarg, "a duration above 0 like 10s");
            break;
        case 'h': usage(); return 0;
        case 'L': finding_kinds_markdown(stdout); return cli_finish_stdout(0);
        default: return cli_bad_option("doctor", c, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "closer doctor: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (all && (view.netns || so.replay || so.force_proc || so.record || trace_ms)) {
        fprintf(stderr, "closer doctor: --all-netns does not go with %s\n",
                view.netns ? "-N/--netns" : so.replay ? "--replay" : so.record ? "--record"
                : so.force_proc ? "--proc" : "--trace");
        return EXIT_USAGE;
    }
    if (all)
        return doctor_all_netns(&so, &dopts, &view, json, confirm_ms);
    char err[512];
    if (trace_ms && so.replay) {
        fprintf(stderr, "closer doctor: --trace measures the live kernel, not a replay\n");
        return EXIT_USAGE;
    }
    if (trace_ms) {
        if (isatty(STDERR_FILENO))
            fprintf(stderr, "closer doctor: tracing closes for %.1f s...\n", trace_ms / 1000.0);
        if (trace_measure(view.netns, trace_ms, &measured, err, sizeof err) < 0) {
            fprintf(stderr, "closer doctor: --trace: %s\n", err);
            return EXIT_USAGE;
        }
    }
    if (trace_ms)
        dopts.measured = &measured; /* lifetimes decide a TIME_WAIT cause */
    so.look_again_tw = dopts.client_min_sockets;
    if (view.netns && netns_enter(view.netns, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: %s\n", err);
        return EXIT_USAGE;
    }
    struct snapshot *s = malloc(sizeof *s);
    if (!s || snapshot_take(s, &so, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: %s\n", s ? err : "out of memory");
        free((void *)measured.rows);
        free((void *)measured.lives);
        free(s);
        return EXIT_USAGE;
    }
    if (confirm_ms && !so.replay && has_close_wait(s) && (rc = look_again(&s, &so, confirm_ms, err,
                                                                           sizeof err))) {
        fprintf(stderr, "closer doctor: %s\n", err);
        free((void *)measured.rows);
        free((void *)measured.lives);
        return rc;
    }
    struct doctor_report r;
    if (doctor_analyze(s, &dopts, &r) < 0 || (trace_ms && rules_trace(&measured, &r) < 0)) {
        fprintf(stderr, "closer doctor: out of memory\n");
        free((void *)measured.rows);
        free((void *)measured.lives);
        snapshot_free(s);
        free(s);
        return EXIT_USAGE;
    }
    /* Under `ip netns exec NAME` the namespace has a name: its bind mount. */
    char here[64];
    if (!view.netns && !so.replay && netns_self_name("/run/netns", here, sizeof here) == 0)
        view.netns = here;
    if (json)
        doctor_print_json(stdout, s, &r, &view);
    else
        doctor_print_text(stdout, s, &r, &view);
    rc = doctor_exit_code(&r);
    free((void *)measured.rows);
    free((void *)measured.lives);
    doctor_report_free(&r);
    snapshot_free(s);
    free(s);
    return rc;
}
