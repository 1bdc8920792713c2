/* closer doctor: reads the snapshot, runs the rules, prints the findings.
 * Exit: 0 nothing above info, 1 warnings or worse, 2 usage/runtime error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "doctor/doctor.h"
#include "doctor/multi.h"
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
           "  -N, --netns NS         analyse network namespace NS: NAME (/run/netns/NAME),\n"
           "                         a path (/proc/PID/ns/net, a bind mount), or pid:PID\n"
           "      --all-netns        every network namespace on the host (containers, pods,\n"
           "                         unshare --net, ip netns): one report, ranked by worst\n"
           "                         finding; each finding names its namespace\n"
           "      --json             JSON: {\"findings\":[{\"id\",\"severity\",\"count\",\"port\",\"pid\",...}]}\n"
           "  -v, --verbose          print the why and fix of the sysctl audit too\n"
           "      --color WHEN       auto (default: on a TTY), always, never\n"
           "      --proc             read /proc/net/tcp{,6} instead of netlink\n"
           "      --replay FILE      analyse a dump saved with 'closer states --record'\n"
           "      --close-wait-warn N   CLOSE_WAIT per group to warn (default 3)\n"
           "      --client-warn-pct N   ephemeral range used per destination to warn (default 50)\n"
           "      --pile N           FIN_WAIT2 / LAST_ACK count to warn (default 100)\n"
           "  -h, --help             this text\n\n"
           "finding ids: server-time-wait client-port-pressure close-wait-unaccepted\n"
           "  close-wait-not-polled close-wait-not-closed close-wait-owner-hidden\n"
           "  listen-overflow syn-recv-pile fin-wait-2-pile last-ack-pile\n"
           "  tw-bucket-overflow sysctl-*\n\n"
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

static int doctor_all_netns(const struct snapshot_opts *so, const struct doctor_opts *dopts,
                            const struct doctor_view *view, bool json)
{
    char err[256];
    struct multi_snapshot m;
    if (multi_snapshot_take(&m, so, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: %s\n", err);
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

int cmd_doctor(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"netns", required_argument, 0, 'N'},    {"json", no_argument, 0, 'j'},
        {"verbose", no_argument, 0, 'v'},        {"color", required_argument, 0, 'C'},
        {"proc", no_argument, 0, 'P'},           {"replay", required_argument, 0, 'R'},
        {"close-wait-warn", required_argument, 0, 'w'},
        {"client-warn-pct", required_argument, 0, 'c'},
        {"pile", required_argument, 0, 'p'},     {"help", no_argument, 0, 'h'},
        {"all-netns", no_argument, 0, 'A'},
        {0, 0, 0, 0}};
    struct snapshot_opts so = {.owners = true};
    struct doctor_opts dopts = doctor_default_opts();
    struct doctor_view view = {.color = isatty(STDOUT_FILENO)};
    bool json = false, all = false;
    int c, rc;
    cli_begin();
    while ((c = getopt_long(argc, argv, ":N:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'N': view.netns = optarg; break;
        case 'j': json = true; break;
        case 'A': all = true; break;
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
        case 'h': usage(); return 0;
        default: return cli_bad_option("doctor", c, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "closer doctor: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (all && (view.netns || so.replay || so.force_proc)) {
        fprintf(stderr, "closer doctor: --all-netns does not go with %s\n",
                view.netns ? "-N/--netns" : so.replay ? "--replay" : "--proc");
        return EXIT_USAGE;
    }
    if (all)
        return doctor_all_netns(&so, &dopts, &view, json);
    char err[256];
    if (view.netns && netns_enter(view.netns, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: %s\n", err);
        return EXIT_USAGE;
    }
    struct snapshot *s = malloc(sizeof *s);
    if (!s || snapshot_take(s, &so, err, sizeof err) < 0) {
        fprintf(stderr, "closer doctor: %s\n", s ? err : "out of memory");
        free(s);
        return EXIT_USAGE;
    }
    struct doctor_report r;
    if (doctor_analyze(s, &dopts, &r) < 0) {
        fprintf(stderr, "closer doctor: out of memory\n");
        snapshot_free(s);
        free(s);
        return EXIT_USAGE;
    }
    if (json)
        doctor_print_json(stdout, s, &r, &view);
    else
        doctor_print_text(stdout, s, &r, &view);
    rc = doctor_exit_code(&r);
    doctor_report_free(&r);
    snapshot_free(s);
    free(s);
    return rc;
}
