/* closer doctor: reads the snapshot, runs the rules, prints the findings.
 * Exit: 0 nothing above info, 1 warnings or worse, 2 usage/runtime error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "doctor/doctor.h"
#include "doctor/rules_trace.h"
#include "kernel/netns.h"
#include "snapshot/snapshot.h"
#include "util/cli.h"
#include "util/parse.h"

static void usage(void)
{
    printf("usage: closer doctor [options]\n\n"
           "Reads the kernel's TCP socket table, the owning processes (/proc/PID/fd and\n"
           "fdinfo), the sysctls and /proc/net/netstat, and explains who closes\n"
           "connections first, why TIME_WAIT / CLOSE_WAIT / SYN_RECV pile up, what it\n"
           "costs and what to change.\n\n"
           "  -N, --netns NAME       analyse network namespace NAME (/run/netns/NAME)\n"
           "      --json             JSON: {\"findings\":[{\"id\",\"severity\",\"count\",\"port\",\"pid\",...}]}\n"
           "  -v, --verbose          print the why and fix of the sysctl audit too\n"
           "      --color WHEN       auto (default: on a TTY), always, never\n"
           "      --proc             read /proc/net/tcp{,6} instead of netlink\n"
           "      --replay FILE      analyse a dump saved with 'closer states --record'\n"
           "      --close-wait-warn N   CLOSE_WAIT per group to warn (default 3)\n"
           "      --client-warn-pct N   ephemeral range used per destination to warn (default 50)\n"
           "      --pile N           FIN_WAIT2 / LAST_ACK count to warn (default 100)\n"
           "      --trace DUR        first trace closes for DUR (closer trace): who closed\n"
           "                         first per port and process, close() after the peer's FIN\n"
           "  -h, --help             this text\n\n"
           "finding ids: server-time-wait client-port-pressure close-wait-unaccepted\n"
           "  close-wait-not-polled close-wait-not-closed close-wait-owner-hidden\n"
           "  listen-overflow syn-recv-pile fin-wait-2-pile last-ack-pile\n"
           "  tw-bucket-overflow sysctl-*; with --trace: trace-who-closes trace-slow-close\n"
           "  trace-resets trace-lost-events\n\n"
           "exit status: 0 nothing above info, 1 warnings or worse, 2 usage or runtime error\n");
}

static int parse_threshold(const char *opt, const char *arg, unsigned *out)
{
    uint64_t v;
    if (parse_u64(arg, 1, 100000000, &v) < 0)
        return cli_bad_value("doctor", opt, arg, "a positive integer");
    *out = (unsigned)v;
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
        {0, 0, 0, 0}};
    struct snapshot_opts so = {.owners = true};
    struct doctor_opts dopts = doctor_default_opts();
    struct doctor_view view = {.color = isatty(STDOUT_FILENO)};
    bool json = false;
    uint64_t trace_ms = 0;
    struct measured_closes measured = {0};
    int c, rc;
    cli_begin();
    while ((c = getopt_long(argc, argv, ":N:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'N': view.netns = optarg; break;
        case 'j': json = true; break;
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
        default: return cli_bad_option("doctor", c, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "closer doctor: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
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
    if (view.netns && netns_enter(view.netns, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: %s\n", err);
        return EXIT_USAGE;
    }
    struct snapshot *s = malloc(sizeof *s);
    if (!s || snapshot_take(s, &so, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: %s\n", s ? err : "out of memory");
        free((void *)measured.rows);
        free(s);
        return EXIT_USAGE;
    }
    struct doctor_report r;
    if (doctor_analyze(s, &dopts, &r) < 0 || (trace_ms && rules_trace(&measured, &r) < 0)) {
        fprintf(stderr, "closer doctor: out of memory\n");
        free((void *)measured.rows);
        snapshot_free(s);
        free(s);
        return EXIT_USAGE;
    }
    if (json)
        doctor_print_json(stdout, s, &r, &view);
    else
        doctor_print_text(stdout, s, &r, &view);
    rc = doctor_exit_code(&r);
    free((void *)measured.rows);
    doctor_report_free(&r);
    snapshot_free(s);
    free(s);
    return rc;
}
