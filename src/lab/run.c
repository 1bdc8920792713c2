/* SPDX-License-Identifier: MIT */
/* closer lab's verbs (lab/run.h): list, and run scenarios in turn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/run.h"
#include "lab/tape.h"
#include "util/cli.h"

void lab_list(void)
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

/* CLOSER_LAB_RECORD=DIR: every scenario's calls on DIR/NAME.tape
 * (lab/tape.h), the recordings the unit tests replay. NULL without it. */
static FILE *open_tape(const char *name)
{
    const char *dir = getenv("CLOSER_LAB_RECORD");
    if (!dir || !*dir)
        return NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.tape", dir, name);
    return fopen(path, "w");
}

int lab_run_many(const struct lab_scenario **todo, size_t n, const char *report, bool as_json, char *err,
                 size_t errlen)
{
    if (geteuid() != 0) {
        snprintf(err, errlen, "needs root (it creates network namespaces, veth pairs and "
                              "sets sysctls in them); run it with sudo");
        return -1;
    }
    struct lab_done *done = calloc(n, sizeof *done);
    if (!done) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    err[0] = 0;
    lab_signals_install();
    cli_stdout_stops(&lab_interrupted); /* closer lab run --all | head -3: stop there */
    size_t ran = 0, failed = 0;
    for (; ran < n && !lab_interrupted; ran++) {
        done[ran].sc = todo[ran];
        struct lab_tape tape = {.out = open_tape(todo[ran]->name)};
        done[ran].env.tape = tape.out ? &tape : NULL;
        done[ran].env.seq = (int)ran; /* each scenario its own names, 1.. */
        lab_run_scenario(todo[ran], &done[ran].env, &done[ran].res);
        done[ran].env.tape = NULL;
        if (tape.out)
            fclose(tape.out);
        failed += !done[ran].res.ok;
        if (!as_json)
            print_text(&done[ran]);
    }
    if (as_json)
        lab_write_json(stdout, done, ran);
    int rc = failed ? 1 : 0;
    if (report && lab_write_report(report, done, ran, err, errlen) < 0) {
        rc = -1;
    } else if (report && !as_json) {
        printf("report: %s/report.md\n", report);
    }
    if (!as_json)
        printf("%zu scenarios: %zu as expected, %zu failed\n", ran, ran - failed, failed);
    free(done);
    if (lab_interrupted && !cli_stdout_gone()) {
        size_t len = strlen(err);
        snprintf(err + len, errlen - len, "%sinterrupted; namespaces and processes removed",
                 len ? "\ncloser lab: " : "");
        return -1;
    }
    return rc;
}
