/* SPDX-License-Identifier: MIT */
/* The scenario registry, the run wrapper and the steps scenarios share. */
#include "lab/lab.h"

#include <stdarg.h>
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

static void append(char *buf, size_t cap, size_t *len, const char *fmt, va_list ap)
{
    if (*len >= cap - 2)
        return;
    int n = vsnprintf(buf + *len, cap - *len - 1, fmt, ap);
    if (n < 0)
        return;
    *len += (size_t)n;
    if (*len > cap - 2)
        *len = cap - 2;
    buf[(*len)++] = '\n';
    buf[*len] = 0;
}

void lab_measured(struct lab_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(r->measured, sizeof r->measured, &r->measured_len, fmt, ap);
    va_end(ap);
}

void lab_value(struct lab_result *r, const char *name, double value, const char *unit)
{
    if (r->nvalues >= LAB_MAX_VALUES)
        return;
    struct lab_value *v = &r->values[r->nvalues++];
    snprintf(v->name, sizeof v->name, "%s%s", r->value_prefix, name);
    for (char *c = v->name; *c; c++) /* snake_case: "no-accept" (a fault name) -> "no_accept" */
        if (*c == '-')
            *c = '_';
    v->value = value;
    v->unit = unit;
}

bool lab_expect(struct lab_result *r, bool cond, const char *fmt, ...)
{
    if (cond)
        return true;
    r->ok = false;
    va_list ap;
    va_start(ap, fmt);
    append(r->failures, sizeof r->failures, &r->failures_len, fmt, ap);
    va_end(ap);
    return false;
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

pid_t lab_serve(struct lab_env *e, struct lab_result *r, const char *const extra[])
{
    char *argv[32] = {"closer", "serve", "--listen", LAB_SERVER_IP ":8080", "--workers", "1",
                      "--return", "200", "ok"};
    int n = 9;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    pid_t pid = lab_spawn(e, LAB_SERVER, argv);
    if (pid < 0 || lab_wait_listen(e, LAB_SERVER, LAB_PORT) < 0) {
        lab_expect(r, false, "closer serve did not start: %s", e->err);
        return -1;
    }
    lab_mark(e, -1, "closer serve listening");
    return pid;
}

int lab_load(struct lab_env *e, const char *const args[], char *out, size_t outlen)
{
    char *argv[32] = {"closer", "load", "--json"};
    int n = 3;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    /* The mark names the run by its options (the URL is always the lab's). */
    char what[48] = "load";
    size_t len = strlen(what);
    for (int i = 0; args[i] && len < sizeof what - 1; i++)
        if (strncmp(args[i], "http://", 7))
            len += (size_t)snprintf(what + len, sizeof what - len, " %s", args[i]);
    lab_mark(e, -1, "%s", what);
    int rc = lab_run(e, LAB_CLIENT, argv, out, outlen, 30000);
    lab_mark(e, -1, "load done");
    return rc;
}
