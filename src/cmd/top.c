/* SPDX-License-Identifier: MIT */
/* closer top: a live view of the host's TCP connections, refreshed every
 * interval; one line per interval (like vmstat) without a terminal. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "export/top_run.h"
#include "util/cli.h"
#include "util/optab.h"
#include "util/parse.h"

/* Every option once: parsed, and printed by --help (the man page and the
 * shell completion are generated from that text). --delay is --interval's
 * old name: the same id. */
static const struct optab top_optab[] = {
    {"batch", 'b', NULL, 'b', "one line per interval, no screen control"},
    {"json", 0, NULL, 'j', "batch mode, one JSON object per interval (closer.top/1)"},
    {"color", 0, "WHEN", 'C', "auto (default: on a terminal, unless NO_COLOR is set),\n"
        "always or never"},
    {"iterations", 'n', "N", 'n', "stop after N intervals (default: until stopped)"},
    {"duration", 'd', "DUR", 'd', "stop after DUR (DUR / interval intervals, at least 1)"},
    {"interval", 'i', "DUR", 'i', "time between screens (default 1s)"},
    {"delay", 0, "DUR", 'i', "the old name of --interval, kept"},
    {"port", 0, "PORT", 'p', "only this port in the tables (-p is --processes in\n"
        "states, as in ss: one meaning per short flag)"},
    {"netns", 'N', "NS", 'N', "watch namespace NS: NAME (/run/netns/NAME), a path\n"
        "(/proc/PID/ns/net), or pid:PID"},
    {"all-netns", 0, NULL, 'A', "every network namespace: one row each (inode, owner,\n"
        "states, TIME_WAIT and CLOSE_WAIT per second); key n\n"
        "filters, a filter matching one namespace shows its\n"
        "tables; in batch mode one line per namespace;\n"
        "with --json one object per interval, a row per\n"
        "namespace (closer.top-netns/1)"},
    {"netns-filter", 0, "TEXT", 'F', "with --all-netns: only namespaces whose inode,\n"
        "name or owner (container, pod, command) contains TEXT"},
    {"no-owners", 0, NULL, 'o', "do not walk /proc (no CLOSE_WAIT by process)"},
    {"trace", 0, NULL, 'T', "also closes/s by side (local, peer, reset) measured with\n"
        "closer trace's tracepoints (root or CAP_PERFMON)"},
    {"help", 'h', NULL, 'h', "this text"},

    {0}};

static void usage(void)
{
    printf("usage: closer top [options]\n\n"
           "A live view of TCP connections: state counts with per-second deltas,\n"
           "top listening ports by TIME_WAIT / CLOSE_WAIT, top destinations by\n"
           "TIME_WAIT against the ephemeral range, top processes by CLOSE_WAIT,\n"
           "listen queues. Keys: t, c, e sort by TIME_WAIT, CLOSE_WAIT, ESTAB;\n"
           "p then digits and Enter filter by port; a all ports; ? help; q quit.\n"
           "A screen of 140 columns or more shows the tables in two columns.\n"
           "Without a terminal (or with --batch) prints one line per interval.\n\n");
    optab_print(stdout, top_optab, 25);
    printf("\nexit status: 0 ok, 2 usage or runtime error\n");
}

/* One option into o: 0, an exit code, or -1 after --help. */
static int parse_opt(int c, char **argv, struct top_opts *o)
{
    switch (c) {
    case 'b': o->batch = true; return 0;
    case 'j': o->json = true; return 0;
    case 'C':
        if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never"))
            return cli_bad_value("top", "--color", optarg, "auto, always or never");
        o->color = optarg;
        return 0;
    case 'n':
        if (parse_u64(optarg, 1, UINT32_MAX, &o->iterations) < 0)
            return cli_bad_value("top", "--iterations", optarg, "a count >= 1");
        return 0;
    case 'i':
        if (parse_duration_ms(optarg, &o->interval_ms) < 0 || o->interval_ms < 100)
            return cli_bad_value("top", "--interval", optarg, "a duration >= 100ms, e.g. 1s");
        return 0;
    case 'd':
        if (parse_duration_ms(optarg, &o->duration_ms) < 0 || o->duration_ms == 0)
            return cli_bad_value("top", "--duration", optarg, "a duration, e.g. 30s or 2m30s");
        return 0;
    case 'p':
        if (parse_port(optarg, &o->view.port) < 0)
            return cli_bad_value("top", "--port", optarg, "a port 1-65535");
        return 0;
    case 'N': o->netns = optarg; return 0;
    case 'o': o->so.owners = false; return 0;
    case 'A': o->all_netns = true; return 0;
    case 'T': o->trace = true; return 0;
    case 'F':
        if (strlen(optarg) >= sizeof o->filter)
            return cli_bad_value("top", "--netns-filter", optarg, "at most 63 characters");
        snprintf(o->filter, sizeof o->filter, "%s", optarg);
        return 0;
    case 'h': usage(); return -1;
    default: return cli_bad_option("top", c, argv);
    }
}

int cmd_top(int argc, char **argv)
{
    struct top_opts o = {.so = {.owners = true}, .interval_ms = 1000, .view = {.sort_state = TS_TIME_WAIT},
                         .color = "auto"};
    struct optab_getopt g;
    int c, rc;
    optab_build(top_optab, &g);
    cli_begin();
    while ((c = optab_next(&g, argc, argv)) != -1)
        if ((rc = parse_opt(c, argv, &o)))
            return rc < 0 ? 0 : rc;
    if (optind < argc) {
        fprintf(stderr, "closer top: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (o.all_netns && o.netns) {
        fprintf(stderr, "closer top: --all-netns does not go with -N/--netns\n");
        return EXIT_USAGE;
    }
    if (o.filter[0] && !o.all_netns) {
        fprintf(stderr, "closer top: --netns-filter needs --all-netns\n");
        return EXIT_USAGE;
    }
    char err[256];
    if (top_run(&o, err, sizeof err) < 0) {
        if (err[0])
            fprintf(stderr, "closer top: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}
