/* SPDX-License-Identifier: MIT */
/* closer doctor: reads the snapshot, runs the rules, prints the findings.
 * Exit: 0 nothing above info, 1 warnings or worse, 2 usage/runtime error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cmd/cmd.h"
#include "doctor/doctor.h"
#include "doctor/rules_trace.h"
#include "doctor/run.h"
#include "trace/measure.h"
#include "util/cli.h"
#include "util/optab.h"
#include "util/parse.h"

/* Every option once: parsed, and printed by --help (man page and shell
 * completion are generated from that text). The two thresholds whose names
 * reach the help column start with a space: three spaces, as doctor has
 * always printed them. */
static const struct optab doctor_opts_tab[] = {
    {"netns", 'N', "NS", 'N', "analyse network namespace NS: NAME (/run/netns/NAME),\n"
                              "a path (/proc/PID/ns/net, a bind mount), or pid:PID"},
    {"all-netns", 0, NULL, 'A', "every network namespace on the host (containers, pods,\n"
                                "unshare --net, ip netns): one report, ranked by worst\n"
                                "finding; each finding names its namespace"},
    {"json", 0, NULL, 'j', "JSON: {\"findings\":[{\"id\",\"severity\",\"count\",\"port\",\"pid\",...}]}"},
    {"verbose", 'v', NULL, 'v', "print the why and fix of the sysctl audit too"},
    {"color", 0, "WHEN", 'C', "auto (default: on a TTY), always, never"},
    {"proc", 0, NULL, 'P', "read /proc/net/tcp{,6} instead of netlink"},
    {"record", 0, "FILE", 'r', "save the raw netlink dump (with tcp_info) to FILE, and the\n"
                               "owners and their process models to FILE.owners"},
    {"replay", 0, "FILE", 'R', "analyse a dump saved with --record (here or in states),\n"
                               "with FILE.owners when it is there"},
    {"catalog", 0, NULL, 'K', "print the program catalogue (how each program is\n"
                              "recognised, its knobs per finding) as Markdown"},
    {"confirm", 0, "DUR", 'f', "when CLOSE_WAIT is present, look again after DUR (default\n"
                               "1s; 0 skips) and report only the ones that persist\n"
                               "(with --all-netns every namespace is looked at again)"},
    {"close-wait-warn", 0, "N", 'w', " CLOSE_WAIT per group to warn (default 3)"},
    {"client-warn-pct", 0, "N", 'c', " ephemeral range used per destination to warn (default 50)"},
    {"pile", 0, "N", 'p', "FIN_WAIT2 / LAST_ACK count to warn (default 100)"},
    {"trace", 0, "DUR", 'T', "first trace closes for DUR (closer trace): who closed\n"
                             "first per port and process, close() after the peer's FIN"},
    {"list-findings", 0, NULL, 'L', "print every finding id with its severities, the rule that\n"
                                    "decides it and its meaning (markdown), and exit"},
    {"help", 'h', NULL, 'h', "this text"},
    {0}};

static void usage(void)
{
    printf("usage: closer doctor [options]\n\n"
           "Reads the kernel's TCP socket table, the owning processes (/proc/PID/fd and\n"
           "fdinfo), the sysctls and /proc/net/netstat, and explains who closes\n"
           "connections first, why TIME_WAIT / CLOSE_WAIT / SYN_RECV pile up, what it\n"
           "costs and what to change.\n\n");
    optab_print(stdout, doctor_opts_tab, 25);
    printf("\nfinding ids (--list-findings tells what each means):\n");
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
    return -1;
}

static int parse_color(const char *arg, bool *color)
{
    if (!strcmp(arg, "always"))
        *color = true;
    else if (!strcmp(arg, "never"))
        *color = false;
    else if (strcmp(arg, "auto") != 0)
        return cli_bad_value("doctor", "--color", arg, "auto, always or never");
    return -1;
}

/* One option into q; -1 to go on, else the exit status the command ends
 * with (--help, --catalog, --list-findings, a bad value). */
static int take_option(int c, char **argv, struct doctor_req *q, uint64_t *trace_ms)
{
    switch (c) {
    case 'N': q->view.netns = optarg; return -1;
    case 'j': q->json = true; return -1;
    case 'A': q->all_netns = true; return -1;
    case 'K': catalog_print_markdown(stdout); return cli_finish_stdout(0);
    case 'v': q->view.verbose = true; return -1;
    case 'C': return parse_color(optarg, &q->view.color);
    case 'P': q->snap.force_proc = true; return -1;
    case 'R': q->snap.replay = optarg; return -1;
    case 'r': q->snap.record = optarg; return -1;
    case 'f':
        if (parse_duration_ms(optarg, &q->confirm_ms) < 0 || q->confirm_ms > 600000)
            return cli_bad_value("doctor", "--confirm", optarg,
                                 "a duration up to 10m, e.g. 1s, 500ms, 0");
        return -1;
    case 'w': return parse_threshold("--close-wait-warn", optarg, &q->opts.close_wait_warn);
    case 'c': return parse_threshold("--client-warn-pct", optarg, &q->opts.client_warn_pct);
    case 'p': return parse_threshold("--pile", optarg, &q->opts.orphan_pile);
    case 'T':
        if (parse_duration_ms(optarg, trace_ms) < 0 || *trace_ms == 0)
            return cli_bad_value("doctor", "--trace", optarg, "a duration above 0 like 10s");
        return -1;
    case 'h': usage(); return 0;
    case 'L': finding_kinds_markdown(stdout); return cli_finish_stdout(0);
    default: return cli_bad_option("doctor", c, argv);
    }
}

/* Arguments and options that do not go together; 0 or EXIT_USAGE. */
static int check_args(int argc, char **argv, const struct doctor_req *q, uint64_t trace_ms)
{
    const struct snapshot_opts *so = &q->snap;
    if (optind < argc) {
        fprintf(stderr, "closer doctor: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (q->all_netns && (q->view.netns || so->replay || so->force_proc || so->record || trace_ms)) {
        fprintf(stderr, "closer doctor: --all-netns does not go with %s\n",
                q->view.netns ? "-N/--netns" : so->replay ? "--replay" : so->record ? "--record"
                : so->force_proc ? "--proc" : "--trace");
        return EXIT_USAGE;
    }
    if (trace_ms && so->replay) {
        fprintf(stderr, "closer doctor: --trace measures the live kernel, not a replay\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* --trace DUR: closer trace first, its closes then decide with the rules. */
static int trace_first(const char *netns, uint64_t trace_ms, struct measured_closes *m)
{
    char err[512];
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "closer doctor: tracing closes for %.1f s...\n", trace_ms / 1000.0);
    if (trace_measure(netns, trace_ms, m, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: --trace: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_doctor(int argc, char **argv)
{
    struct doctor_req q = {.opts = doctor_default_opts(), .confirm_ms = 1000,
                           .view = {.color = isatty(STDOUT_FILENO)}};
    struct measured_closes measured = {0};
    struct optab_getopt g;
    uint64_t trace_ms = 0;
    char err[512];
    int c, rc = -1;
    optab_build(doctor_opts_tab, &g);
    cli_begin();
    while (rc < 0 && (c = optab_next(&g, argc, argv)) != -1)
        rc = take_option(c, argv, &q, &trace_ms);
    if (rc >= 0)
        return rc;
    if ((rc = check_args(argc, argv, &q, trace_ms)))
        return rc;
    if (trace_ms && (rc = trace_first(q.view.netns, trace_ms, &measured)))
        return rc;
    if (trace_ms)
        q.opts.measured = &measured; /* lifetimes decide a TIME_WAIT cause */
    rc = doctor_run(&q, stdout, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "closer doctor: %s\n", err);
    free((void *)measured.rows);
    free((void *)measured.lives);
    return rc < 0 ? EXIT_USAGE : rc;
}
