/* SPDX-License-Identifier: MIT */
/* closer lab: list the scenarios, run some or all, print verdicts, write
 * report.md + SVG plots or JSON. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lab/run.h"
#include "util/cli.h"
#include "util/optab.h"

/* Every option once: parsed, and printed by --help (the man page and the
 * shell completion are generated from that text). */
static const struct optab lab_optab[] = {
    {"all", 'a', NULL, 'a', "run every scenario"},
    {"report", 'r', "DIR", 'r', "write DIR/report.md and one SVG plot per scenario"},
    {"json", 0, NULL, 'j', "results as JSON on stdout"},
    {"help", 'h', NULL, 'h', ""},

    {0}};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: closer lab list\n"
            "       closer lab run (NAME... | --all) [--report DIR] [--json]\n\n"
            "Every claim about TIME_WAIT and CLOSE_WAIT as an experiment on the real kernel:\n"
            "each scenario makes two network namespaces (client " LAB_CLIENT_IP ", server "
            LAB_SERVER_IP ")\n"
            "joined by a veth pair, runs real closer serve / load / doctor processes in them,\n"
            "samples both socket tables, and reports the claim, the setup, the measured\n"
            "numbers and a verdict (confirmed, corrected, or FAILED). Needs root.\n\n");
    optab_print(out, lab_optab, 21);
    fprintf(out, "\nexit status: 0 every scenario as expected, 1 one failed, 2 usage error, not root\n"
                 "or interrupted\n");
}

int cmd_lab(int argc, char **argv)
{
    bool all = false, as_json = false;
    const char *report = NULL;
    struct optab_getopt g;
    int c;
    optab_build(lab_optab, &g);
    cli_begin();
    while ((c = optab_next(&g, argc, argv)) != -1) {
        switch (c) {
        case 'a': all = true; break;
        case 'r': report = optarg; break;
        case 'j': as_json = true; break;
        case 'h': usage(stdout); return 0;
        default: return cli_bad_option("lab", c, argv);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[optind++];
    if (!strcmp(verb, "list")) {
        if (optind < argc)
            return cli_bad_value("lab", "list", argv[optind], "no arguments");
        lab_list();
        return 0;
    }
    if (strcmp(verb, "run") != 0)
        return cli_bad_value("lab", "command", verb, "list or run");
    const struct lab_scenario *todo[64];
    size_t n = 0;
    if (all) {
        if (optind < argc)
            return cli_bad_value("lab", "--all", argv[optind], "no names with --all");
        for (size_t i = 0; i < lab_nscenarios && n < 64; i++)
            todo[n++] = &lab_scenarios[i];
    }
    for (; optind < argc && n < 64; optind++) {
        const struct lab_scenario *sc = lab_find(argv[optind]);
        if (!sc)
            return cli_bad_value("lab", "scenario", argv[optind], "see 'closer lab list'");
        todo[n++] = sc;
    }
    if (!n) {
        fprintf(stderr, "closer lab: run needs scenario names or --all\n");
        return EXIT_USAGE;
    }
    char err[512];
    int rc = lab_run_many(todo, n, report, as_json, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "closer lab: %s\n", err);
    return rc < 0 ? EXIT_USAGE : rc;
}
