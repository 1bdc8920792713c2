/* SPDX-License-Identifier: MIT */
/* closer: the dispatch table. Exact-match lookup of the subcommand. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/cli.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"doctor", cmd_doctor, "explain TIME_WAIT / CLOSE_WAIT / SYN_RECV piles and what to change"},
    {"states", cmd_states, "the TCP socket table (like ss -tan), with owners and timers"},
    {"load", cmd_load, "drive a server with any closing pattern; latency, errors, who closed"},
    {"probe", cmd_probe, "measure how a server treats connections: keep-alive, cap, idle timeout"},
    {"exporter", cmd_exporter, "Prometheus /metrics: sockets by state, port, destination, process; findings"},
    {"top", cmd_top, "a live view: states with deltas, top ports, destinations, processes"},
    {"serve", cmd_serve, "an epoll HTTP/1.1 server that gets closing right (nginx's knobs)"},
    {"trace", cmd_trace, "who closed each connection, from kernel tracepoints, with the process"},
    {"lab", cmd_lab, "every claim about TIME_WAIT / CLOSE_WAIT, reproduced in namespaces"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: closer <command> [options]\n\n"
                 "closer explains who closes TCP connections behind HTTP, why\n"
                 "TIME_WAIT and CLOSE_WAIT pile up, and what to change.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-9s %s\n", "help", "this text; 'closer <command> --help' for a command");
    fprintf(out, "\nexit status: 0 ok, 1 problems found (doctor) or a check failed, 2 usage or runtime error\n");
}

int main(int argc, char **argv)
{
    /* A closed stdout (closer doctor | head) must be a quiet end, not a
     * death; a peer's close an EPIPE on its socket. */
    cli_watch_stdout();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            char *sub[] = {argv[2], "--help", NULL};
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (!strcmp(argv[2], commands[i].name))
                    return commands[i].fn(2, sub);
            fprintf(stderr, "closer: unknown command '%s'\n", argv[2]);
            return EXIT_USAGE;
        }
        usage(stdout);
        return cli_finish_stdout(0);
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("closer %s\n", CLOSER_VERSION);
        return cli_finish_stdout(0);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return cli_finish_stdout(commands[i].fn(argc - 1, argv + 1));
    fprintf(stderr, "closer: unknown command '%s'\nTry 'closer help'.\n", name);
    return EXIT_USAGE;
}
