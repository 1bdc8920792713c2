/* SPDX-License-Identifier: MIT */
/* A recorded scenario back as the struct lab_done the report writers take:
 * its result from lab.json (lab_rec.h), its samples from its CSV, its
 * events from report.md, its namespace names from its setup script. */
#ifndef CLOSER_TEST_LAB_REC_ENV_H
#define CLOSER_TEST_LAB_REC_ENV_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab.h"
#include "lab_rec.h"

/* The CSV column label -> TCP state (the labels plot.c writes). */
static int rec_state_of(const char *label, size_t len)
{
    for (int st = 1; st < TS_MAX; st++)
        if (strlen(tcp_state_label(st)) == len && !strncmp(tcp_state_label(st), label, len))
            return st;
    return -1;
}

/* LAB_DATA NAME.csv into e->series; -1 if unread or malformed. */
static int rec_series(const char *name, struct lab_env *e)
{
    char path[128], line[512];
    int cols[TS_MAX];
    size_t ncols = 0;
    snprintf(path, sizeof path, LAB_DATA "%.39s.csv", name);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f))
        return f ? fclose(f), -1 : -1;
    const char *p = line + strlen("host,t_s");
    while (*p == ',' && ncols < TS_MAX) {
        size_t len = strcspn(p + 1, ",\n");
        cols[ncols++] = rec_state_of(p + 1, len);
        p += 1 + len;
    }
    while (fgets(line, sizeof line, f)) {
        struct lab_series *s = &e->series[line[0] == 's' ? LAB_SERVER : LAB_CLIENT];
        struct lab_sample *smp = &s->s[s->n++];
        char *q = strchr(line, ',');
        smp->t_ms = (uint32_t)lround(strtod(q + 1, &q) * 1e3);
        for (size_t k = 0; k < ncols && *q == ','; k++)
            smp->count[cols[k]] = (uint32_t)strtoul(q + 1, &q, 10);
    }
    fclose(f);
    return 0;
}

/* The events under "## NAME — " in the recorded report.md. */
static void rec_marks(const char *name, struct lab_env *e)
{
    char head[64];
    const char *md = rec_file(LAB_DATA "report.md", NULL);
    snprintf(head, sizeof head, "\n## %.39s \xe2\x80\x94 ", name);
    const char *p = md ? strstr(md, head) : NULL;
    const char *end = p ? strstr(p + 1, "\n## ") : NULL;
    p = p ? strstr(p, "Events marked on the plot:\n\n") : NULL;
    if (!p || (end && p > end))
        return;
    p += strlen("Events marked on the plot:\n\n");
    int k;
    double t;
    int used;
    while (e->nmarks < LAB_MAX_MARKS && sscanf(p, "%d. %lf s: %n", &k, &t, &used) == 2) {
        struct lab_mark *m = &e->marks[e->nmarks++];
        const char *nl = strchr(p + used, '\n');
        size_t len = nl ? (size_t)(nl - p - used) : strlen(p + used);
        snprintf(m->label, sizeof m->label, "%.*s", (int)len, p + used);
        m->t_ms = (uint32_t)lround(t * 1e3);
        p = nl ? nl + 1 : p + strlen(p);
    }
}

/* "ip netns add NAME" lines of the setup: client first, then server. */
static void rec_netns(struct lab_env *e)
{
    const char *p = e->setup;
    for (int h = 0; h < 2 && (p = strstr(p, "\nip netns add ")); h++) {
        p += strlen("\nip netns add ");
        snprintf(e->ns[h], sizeof e->ns[h], "%.*s", (int)strcspn(p, "\n"), p);
    }
}

/* d from the recorded scenario name; -1 if any part is missing. */
static int rec_done(const char *name, struct lab_done *d)
{
    const struct rec_scen *s = rec_find(name);
    memset(d, 0, sizeof *d);
    if (!s || !(d->sc = lab_find(name)))
        return -1;
    d->res.ok = s->pass;
    d->res.seconds = s->seconds;
    snprintf(d->res.measured, sizeof d->res.measured, "%s", s->notes);
    d->res.measured_len = strlen(d->res.measured);
    snprintf(d->res.failures, sizeof d->res.failures, "%s", s->failures);
    d->res.failures_len = strlen(d->res.failures);
    for (size_t i = 0; i < s->nvalues && i < LAB_MAX_VALUES; i++) {
        struct lab_value *v = &d->res.values[d->res.nvalues++];
        snprintf(v->name, sizeof v->name, "%s", s->values[i].name);
        v->value = s->values[i].value;
        v->unit = s->values[i].unit;
    }
    snprintf(d->env.setup, sizeof d->env.setup, "%s", s->setup);
    d->env.setup_len = strlen(d->env.setup);
    rec_netns(&d->env);
    rec_marks(name, &d->env);
    return rec_series(name, &d->env);
}
#endif
