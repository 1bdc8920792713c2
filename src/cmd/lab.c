/* SPDX-License-Identifier: MIT */
/* closer lab: list the scenarios, run some or all, print verdicts, write
 * report.md + SVG plots or JSON. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "lab/lab.h"
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

static int list(void)
{
    /* A myth is printed as one, with what is true beside it: one line a
     * scenario, whatever it claims. */
    for (size_t i = 0; i < lab_nscenarios; i++) {
        const struct lab_scenario *sc = &lab_scenarios[i];
        if (sc->truth)
            printf("%-20s MYTH: \"%s\" Truth: %s\n", sc->name, sc->claim, sc->truth);
        else
            printf("%-20s %s\n", sc->name, sc->claim);
    }
    return 0;
}

static void print_text(const struct lab_done *d)
{
    const char *v = !d->res.ok ? "FAILED" : d->sc->truth ? "corrected" : "confirmed";
    printf("%s: %s (%.1f s)\n  claim: %s\n", d->sc->name, v, d->res.seconds, d->sc->claim);
    if (d->sc->truth)
        printf("  truth: %s\n", d->sc->truth);
    for (const char *p = d->res.measured; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("  - %.*s\n", len, p);
        p += len + (nl ? 1 : 0);
    }
    for (const char *p = d->res.failures; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("  ! %.*s\n", len, p);
        p += len + (nl ? 1 : 0);
    }
    fflush(stdout);
}

static int run(const struct lab_scenario **todo, size_t n, const char *report, bool as_json)
{
    if (geteuid() != 0) {
        fprintf(stderr, "closer lab: needs root (it creates network namespaces, veth pairs and "
                        "sets sysctls in them); run it with sudo\n");
        return EXIT_USAGE;
    }
    struct lab_done *done = calloc(n, sizeof *done);
    if (!done) {
        fprintf(stderr, "closer lab: out of memory\n");
        return EXIT_USAGE;
    }
    lab_signals_install();
    cli_stdout_stops(&lab_interrupted); /* closer lab run --all | head -3: stop there */
    size_t ran = 0, failed = 0;
    for (; ran < n && !lab_interrupted; ran++) {
        done[ran].sc = todo[ran];
        lab_run_scenario(todo[ran], &done[ran].env, &done[ran].res);
        failed += !done[ran].res.ok;
        if (!as_json)
            print_text(&done[ran]);
    }
    if (as_json)
        lab_write_json(stdout, done, ran);
    int rc = failed ? 1 : 0;
    char err[256];
    if (report && lab_write_report(report, done, ran, err, sizeof err) < 0) {
        fprintf(stderr, "closer lab: %s\n", err);
        rc = EXIT_USAGE;
    } else if (report && !as_json) {
        printf("report: %s/report.md\n", report);
    }
    if (!as_json)
        printf("%zu scenarios: %zu as expected, %zu failed\n", ran, ran - failed, failed);
    free(done);
    if (lab_interrupted && !cli_stdout_gone()) {
        fprintf(stderr, "closer lab: interrupted; namespaces and processes removed\n");
        return EXIT_USAGE;
    }
    return rc;
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
    if (!strcmp(verb, "list"))
        return optind == argc ? list() : cli_bad_value("lab", "list", argv[optind], "no arguments");
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
    return run(todo, n, report, as_json);
}
