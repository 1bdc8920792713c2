/* SPDX-License-Identifier: MIT */
/* report.md (the plots themselves are lab/plot.c) and the JSON form of the
 * results. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lab/lab.h"
#include "util/json.h"

static const char *verdict(const struct lab_done *d)
{
    if (!d->res.ok)
        return "FAILED";
    return d->sc->truth ? "corrected" : "confirmed";
}

static void md_lines(FILE *f, const char *text, const char *prefix)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(f, "%s%.*s\n", prefix, (int)len, p);
        p += len + (nl ? 1 : 0);
    }
}

int lab_write_report(const char *dir, const struct lab_done *d, size_t n, char *err, size_t errlen)
{
    char path[4096];
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/report.md", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += d[i].res.ok;
    fprintf(f, "# closer lab report\n\n%zu scenarios, %zu as expected, %zu failed.\n\n", n, ok,
            n - ok);
    fprintf(f, "| scenario | verdict | seconds |\n|---|---|---|\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "| %s | %s | %.1f |\n", d[i].sc->name, verdict(&d[i]), d[i].res.seconds);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "\n## %s — %s\n\n**Claim:** %s\n\n", d[i].sc->name, verdict(&d[i]),
                d[i].sc->claim);
        if (d[i].sc->truth)
            fprintf(f, "**Correction:** %s\n\n", d[i].sc->truth);
        fprintf(f, "**Setup** (a script: run it as root to reproduce the scenario; remove with "
                   "`ip netns del %s; ip netns del %s`):\n\n```sh\n%s```\n\n**Measured:**\n\n",
                d[i].env.ns[0], d[i].env.ns[1], d[i].env.setup);
        md_lines(f, d[i].res.measured, "- ");
        if (!d[i].res.ok) {
            fprintf(f, "\n**Failed expectations:**\n\n");
            md_lines(f, d[i].res.failures, "- ");
        }
        snprintf(path, sizeof path, "%s/%s.svg", dir, d[i].sc->name);
        char title[160];
        snprintf(title, sizeof title, "%s — %s%s", d[i].sc->name, verdict(&d[i]),
                 d[i].sc->truth && d[i].res.ok ? " (the claim is a myth)" : "");
        if (lab_write_svg(path, &d[i].env, title) == 0)
            fprintf(f, "\n![socket states over time, client and server](%s.svg)\n",
                    d[i].sc->name);
        snprintf(path, sizeof path, "%s/%s.csv", dir, d[i].sc->name);
        if (lab_write_csv(path, &d[i].env) == 0)
            fprintf(f, "\nThe samples: [%s.csv](%s.csv) (sockets per state, per host, over time).\n",
                    d[i].sc->name, d[i].sc->name);
        if (d[i].env.nmarks)
            fprintf(f, "\nEvents marked on the plot:\n\n");
        for (int k = 0; k < d[i].env.nmarks; k++)
            fprintf(f, "%d. %.2f s: %s\n", k + 1, d[i].env.marks[k].t_ms / 1e3,
                    d[i].env.marks[k].label);
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "report.md: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void json_lines(struct json *j, const char *key, const char *text)
{
    json_arr_begin(j, key);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        json_strn(j, NULL, p, len);
        p += len + (nl ? 1 : 0);
    }
    json_arr_end(j);
}

void lab_write_json(FILE *out, const struct lab_done *d, size_t n)
{
    struct json j;
    json_init(&j, out, false); /* one line, as every other --json */
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", LAB_JSON_SCHEMA);
    size_t ok = 0;
    json_arr_begin(&j, "scenarios");
    for (size_t i = 0; i < n; i++) {
        ok += d[i].res.ok;
        json_obj_begin(&j, NULL);
        json_str(&j, "name", d[i].sc->name);
        json_bool(&j, "pass", d[i].res.ok);
        json_str(&j, "verdict", verdict(&d[i]));
        json_str(&j, "claim", d[i].sc->claim);
        if (d[i].sc->truth)
            json_str(&j, "correction", d[i].sc->truth);
        else
            json_null(&j, "correction");
        json_double(&j, "duration_s", d[i].res.seconds);
        json_lines(&j, "setup", d[i].env.setup);
        json_arr_begin(&j, "measurements");
        for (size_t k = 0; k < d[i].res.nvalues; k++) {
            const struct lab_value *v = &d[i].res.values[k];
            json_obj_begin(&j, NULL);
            json_str(&j, "name", v->name);
            json_double(&j, "value", v->value);
            json_str(&j, "unit", v->unit);
            json_obj_end(&j);
        }
        json_arr_end(&j);
        json_lines(&j, "notes", d[i].res.measured);
        json_lines(&j, "failures", d[i].res.failures);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_uint(&j, "passed", ok);
    json_uint(&j, "failed", n - ok);
    json_obj_end(&j);
    json_finish(&j);
}
