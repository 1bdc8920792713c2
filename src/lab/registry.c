/* SPDX-License-Identifier: MIT */
/* The scenario registry and the run wrapper. The result helpers and the
 * steps the scenarios share are in steps.c, so that the scenarios listed
 * here never call back into this file. */
#include "lab/lab.h"

#include <string.h>
#include <time.h>

#include "lab/scenarios.h"

const struct lab_scenario lab_scenarios[] = {
    LAB_SCENARIOS_CLOSE
    LAB_SCENARIOS_KEEPALIVE
    LAB_SCENARIOS_FAULT
    LAB_SCENARIOS_KERNEL
};
const size_t lab_nscenarios = sizeof lab_scenarios / sizeof lab_scenarios[0];

const struct lab_scenario *lab_find(const char *name)
{
    for (size_t i = 0; i < lab_nscenarios; i++)
        if (!strcmp(lab_scenarios[i].name, name))
            return &lab_scenarios[i];
    return NULL;
}

/* The setup script's last line: what the socket tables held when the
 * scenario ended, for whoever runs the script to compare (tests/lab.sh
 * does). A setup with the lab's own sockets says the script stops short. */
static void setup_end(struct lab_env *e)
{
    const struct lab_series *c = &e->series[LAB_CLIENT], *s = &e->series[LAB_SERVER];
    if (!c->n || !s->n)
        return;
    const struct lab_sample *lc = &c->s[c->n - 1], *ls = &s->s[s->n - 1];
    lab_setup_note(e, "%s: server TIME_WAIT=%u CLOSE_WAIT=%u, client TIME_WAIT=%u CLOSE_WAIT=%u",
                   e->engine ? "at the end, with the lab's own sockets this script does not make"
                             : "at the end",
                   ls->count[TS_TIME_WAIT], ls->count[TS_CLOSE_WAIT], lc->count[TS_TIME_WAIT],
                   lc->count[TS_CLOSE_WAIT]);
}

void lab_run_scenario(const struct lab_scenario *sc, struct lab_env *e, struct lab_result *r)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    memset(r, 0, sizeof *r);
    r->ok = true;
    if (lab_env_up(e, sc->name) < 0) {
        lab_expect(r, false, "harness: %s", e->err);
    } else {
        if (sc->run(e, r) < 0)
            lab_expect(r, false, "harness: %s", e->err);
        if (lab_interrupted)
            lab_expect(r, false, "interrupted");
        lab_sample(e);
        setup_end(e);
        lab_env_down(e);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    r->seconds = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
}
