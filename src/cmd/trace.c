/* SPDX-License-Identifier: MIT */
/* closer trace: who closed each TCP connection, measured by the kernel's
 * tracepoints (BPF programs generated at run time, or perf sampling), with
 * the process that did it. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "trace/live.h"
#include "util/cli.h"
#include "util/optab.h"
#include "util/parse.h"

/* Every option once: parsed, and printed by --help (the man page and the
 * shell completion are generated from that text). */
static const struct optab trace_optab[] = {
    {"duration", 'd', "DUR", 'd', "stop after DUR (e.g. 30s); default: until Ctrl-C"},
    {"summary", 's', "DUR", 's', "no live lines: trace DUR, then print the summary per\n"
        "port and per process"},
    {"json", 0, NULL, 'j', "JSON lines: one per connection, a summary line last"},
    {"port", 0, "PORT", 'p', "only connections with this local or peer port"},
    {"pid", 0, "PID", 'P', "only connections this process closed or opened"},
    {"netns", 'N', "NAME", 'N', "only this network namespace (/run/netns/NAME, a path,\n"
        "or pid:PID); default: the namespace closer runs in"},
    {"all-netns", 0, NULL, 'A', "every namespace (events carry their namespace)"},
    {"buffer", 0, "SIZE", 'b', "ring buffer per CPU (default 64m / CPUs, 1m..16m);\n"
        "raise it if events are lost"},
    {"max-conns", 0, "N", 'm', "open connections followed at once (1048576)"},
    {"backend", 0, "B", 'B', "auto (default): bpf when the kernel allows it, else\n"
        "perf; bpf: BPF programs copy every event; perf: perf\n"
        "sampling only, which some kernels skip for events in\n"
        "softirq on an idle CPU (counted as lost)"},
    {"tracefs", 0, "DIR", 'T', "tracefs to read formats from (default: found or\n"
        "mounted privately)"},
    {"no-header", 'H', NULL, 'H', "no header line"},
    {"help", 'h', NULL, 'h', "this text"},

    {0}};

static void usage(void)
{
    printf("usage: closer trace [options]\n\n"
           "Follows every TCP connection to its end through the kernel's tracepoints\n"
           "(sock:inet_sock_set_state, tcp:tcp_send_reset, tcp:tcp_receive_reset), read\n"
           "with perf_event_open and small BPF programs closer generates itself (no\n"
           "compiler, no libbpf). One line per finished connection: who closed first\n"
           "(local, peer, reset), the process that closed (pid, comm), the lifetime, how\n"
           "long the program sat in CLOSE_WAIT before close(), where TIME_WAIT landed.\n"
           "Needs root or CAP_PERFMON. Ctrl-C prints the summary so far.\n\n");
    optab_print(stdout, trace_optab, 23);
    printf("\nexit status: 0 ok, 2 usage or runtime error (no privilege, no tracefs, a\n"
           "tracepoint this kernel lacks)\n");
}

/* --buffer SIZE: the largest power of two pages within it. */
static int parse_buffer(const char *arg, unsigned *pages_out)
{
    long page = 4096;
    uint64_t v;
    if (parse_size(arg, &v) < 0 || v < 8192 || v > (1ull << 30))
        return cli_bad_value("trace", "--buffer", arg, "a size from 8k to 1g");
    unsigned pages = 1;
    while ((uint64_t)pages * 2 * (uint64_t)page <= v)
        pages *= 2;
    *pages_out = pages;
    return 0;
}

static int parse_backend(const char *arg, int *out)
{
    if (!strcmp(arg, "auto"))
        *out = TRACE_BACKEND_AUTO;
    else if (!strcmp(arg, "bpf"))
        *out = TRACE_BACKEND_BPF;
    else if (!strcmp(arg, "perf"))
        *out = TRACE_BACKEND_PERF;
    else
        return cli_bad_value("trace", "--backend", arg, "auto, bpf or perf");
    return 0;
}

/* One option into o or lo: 0, an exit code, or -1 after --help. */
static int parse_opt(int c, char **argv, struct trace_opts *o, struct trace_live_opts *lo)
{
    uint64_t v;
    switch (c) {
    case 'd':
    case 's':
        if (parse_duration_ms(optarg, &lo->duration_ms) < 0 || lo->duration_ms == 0)
            return cli_bad_value("trace", c == 'd' ? "--duration" : "--summary", optarg,
                                 "a duration above 0 like 500ms, 30s, 5m");
        if (c == 's')
            lo->stream = false;
        return 0;
    case 'j': lo->json = true; return 0;
    case 'p':
        return parse_port(optarg, &o->port) < 0 ? cli_bad_value("trace", "--port", optarg, "1..65535") : 0;
    case 'P':
        if (parse_u64(optarg, 1, 0x3fffffff, &v) < 0)
            return cli_bad_value("trace", "--pid", optarg, "a process id");
        o->pid = (int32_t)v;
        return 0;
    case 'N': o->netns = optarg; return 0;
    case 'A': o->all_netns = true; return 0;
    case 'b': return parse_buffer(optarg, &o->ring_pages);
    case 'm':
        if (parse_u64(optarg, 16, 1ull << 26, &v) < 0)
            return cli_bad_value("trace", "--max-conns", optarg, "16..67108864");
        o->max_conns = (size_t)v;
        return 0;
    case 'T': o->tracefs = optarg; return 0;
    case 'B': return parse_backend(optarg, &o->backend);
    case 'H': lo->header = false; return 0;
    case 'h': usage(); return -1;
    default: return cli_bad_option("trace", c, argv);
    }
}

int cmd_trace(int argc, char **argv)
{
    struct trace_opts o = {0};
    struct trace_live_opts lo = {.stream = true, .header = true};
    struct optab_getopt g;
    int c, rc;
    optab_build(trace_optab, &g);
    cli_begin();
    while ((c = optab_next(&g, argc, argv)) != -1)
        if ((rc = parse_opt(c, argv, &o, &lo)))
            return rc < 0 ? 0 : rc;
    if (optind < argc) {
        fprintf(stderr, "closer trace: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (o.netns && o.all_netns) {
        fprintf(stderr, "closer trace: -N and --all-netns exclude each other\n");
        return EXIT_USAGE;
    }
    char err[512];
    if (trace_live(&o, &lo, err, sizeof err) < 0) {
        fprintf(stderr, "closer trace: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}
