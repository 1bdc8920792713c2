/* SPDX-License-Identifier: MIT */
/* closer exporter: the socket table, the doctor's findings and the kernel's
 * TCP counters as Prometheus metrics on /metrics, until SIGTERM. */
#include <stdio.h>

#include "cmd/cmd.h"
#include "export/exporter.h"
#include "util/cli.h"
#include "util/optab.h"
#include "util/parse.h"

/* Every option once: parsed, and printed by --help (the man page and the
 * shell completion are generated from that text). */
static const struct optab exporter_optab[] = {
    {"listen", 'l', "ADDR:PORT", 'l', "where to listen (default :9337)"},
    {"netns", 'N', "NS", 'N', "export namespace NS: NAME (/run/netns/NAME), a\n"
        "path (/proc/PID/ns/net), or pid:PID; the\n"
        "listening socket stays in the current one"},
    {"all-netns", 0, NULL, 'A', "every network namespace on the host, each series\n"
        "labelled netns=\"INODE\" (container=, pod= where\n"
        "known); needs root (setns), see contrib/"},
    {"top-netns", 0, "N", 'T', "namespaces with their own series, by sockets\n"
        "(default 20); the rest are summed in netns=\"other\""},
    {"top-ports", 0, "N", 'P', "server ports with their own series (default 10)"},
    {"top-destinations", 0, "N", 'D', "client destinations with their own series (10)"},
    {"top-processes", 0, "N", 'R', "CLOSE_WAIT owners with their own series (10)"},
    {"top-listeners", 0, "N", 'L', "listeners with their own queue and backlog series,\n"
        "fullest queue first (20); the rest in listen=\"other\""},
    {"no-owners", 0, NULL, 'o', "do not walk /proc for socket owners (cheaper;\n"
        "CLOSE_WAIT by process then shows pid=\"none\")"},
    {"no-doctor", 0, NULL, 'd', "do not export closer_doctor_findings"},
    {"trace", 0, NULL, 'X', "also trace closes (closer trace): closer_trace_closes_total\n"
        "{port,role,side}, resets, TIME_WAIT side, and the\n"
        "close-after-FIN histogram (root, or CAP_PERFMON\n"
        "with CAP_BPF; CAP_PERFMON alone: perf sampling)"},
    {"cache", 0, "DURATION", 'c', "scrapes within this share a snapshot (500ms)"},
    {"timeout", 0, "DURATION", 't', "per connection: deadline for the request head,\n"
        "and each body read, write and keep-alive idle (10s)"},
    {"max-conns", 0, "N", 'm', "concurrent connections (256); at the cap the\n"
        "oldest idle or slow one is closed for a new one"},
    {"help", 'h', NULL, 'h', "this text"},

    {0}};

static void usage(void)
{
    printf("usage: closer exporter [options]\n\n"
           "Serves /metrics in the Prometheus text format (0.0.4) and / (a link\n"
           "to it); answers GET and HEAD only. Runs until SIGTERM or SIGINT.\n\n");
    optab_print(stdout, exporter_optab, 29);
    printf("\nexit status: 0 stopped by a signal, 2 usage or runtime error\n");
}

static int parse_count(const char *opt, const char *arg, unsigned *out)
{
    uint64_t v;
    if (parse_u64(arg, 0, 100000, &v) < 0) return cli_bad_value("exporter", opt, arg, "a count 0-100000");
    *out = (unsigned)v;
    return 0;
}

/* The options that take a count, with where each goes. */
static int count_opt(int c, const char *arg, struct exporter_opts *e)
{
    unsigned max_conns = 0;
    int rc;
    switch (c) {
    case 'T':
        if ((rc = parse_count("--top-netns", arg, &e->top_netns))) return rc;
        return e->top_netns ? 0 : cli_bad_value("exporter", "--top-netns", arg, "at least 1");
    case 'P': return parse_count("--top-ports", arg, &e->mo.top_ports);
    case 'D': return parse_count("--top-destinations", arg, &e->mo.top_destinations);
    case 'R': return parse_count("--top-processes", arg, &e->mo.top_processes);
    case 'L': return parse_count("--top-listeners", arg, &e->mo.top_listeners);
    default: /* 'm' */
        if ((rc = parse_count("--max-conns", arg, &max_conns))) return rc;
        if (!max_conns) return cli_bad_value("exporter", "--max-conns", arg, "at least 1");
        e->ho.max_conns = max_conns;
        return 0;
    }
}

/* One option into e: 0, an exit code, or -1 after --help. */
static int parse_opt(int c, char **argv, struct exporter_opts *e)
{
    switch (c) {
    case 'l': e->listen = optarg; return 0;
    case 'N': e->netns = optarg; return 0;
    case 'A': e->all_netns = true; return 0;
    case 'T': case 'P': case 'D': case 'R': case 'L': case 'm': return count_opt(c, optarg, e);
    case 'o': e->so.owners = false; return 0;
    case 'd': e->doctor = false; return 0;
    case 'X': e->trace = true; return 0;
    case 'c':
        if (parse_duration_ms(optarg, &e->ho.cache_ms) < 0)
            return cli_bad_value("exporter", "--cache", optarg, "a duration, e.g. 500ms");
        return 0;
    case 't':
        if (parse_duration_ms(optarg, &e->ho.timeout_ms) < 0 || !e->ho.timeout_ms)
            return cli_bad_value("exporter", "--timeout", optarg, "a duration, e.g. 10s");
        return 0;
    case 'h': usage(); return -1;
    default: return cli_bad_option("exporter", c, argv);
    }
}

int cmd_exporter(int argc, char **argv)
{
    struct exporter_opts e = {.listen = ":9337", .so = {.owners = true}, .doctor = true, .top_netns = 20,
                              .mo = {.top_ports = 10, .top_destinations = 10, .top_processes = 10,
                                     .top_listeners = 20},
                              .ho = {.cache_ms = 500, .timeout_ms = 10000, .max_conns = 256}};
    struct optab_getopt g;
    int c, rc;
    optab_build(exporter_optab, &g);
    cli_begin();
    while ((c = optab_next(&g, argc, argv)) != -1)
        if ((rc = parse_opt(c, argv, &e)))
            return rc < 0 ? 0 : rc;
    if (optind < argc) {
        fprintf(stderr, "closer exporter: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (e.netns && e.all_netns) {
        fprintf(stderr, "closer exporter: --all-netns does not go with -N/--netns\n");
        return EXIT_USAGE;
    }
    char err[256];
    if (exporter_run(&e, err, sizeof err) < 0) {
        if (err[0])
            fprintf(stderr, "closer exporter: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}
