/* report.md, one SVG plot of socket states over time per scenario, and the
 * JSON form of the results. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lab/lab.h"
#include "util/json.h"

static const struct {
    int state;
    const char *color;
} plotted[] = {
    {TS_ESTABLISHED, "#2b7bba"}, {TS_TIME_WAIT, "#d62728"}, {TS_CLOSE_WAIT, "#ff7f0e"},
    {TS_FIN_WAIT1, "#9467bd"},   {TS_FIN_WAIT2, "#8c564b"}, {TS_LAST_ACK, "#2ca02c"},
};
#define NPLOT (sizeof plotted / sizeof plotted[0])

static void svg_panel(FILE *f, const struct lab_series *s, const char *title, int y0,
                      uint32_t tmax)
{
    const int x0 = 60, w = 620, h = 150;
    uint32_t cmax = 1;
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < NPLOT; k++)
            if (s->s[i].count[plotted[k].state] > cmax)
                cmax = s->s[i].count[plotted[k].state];
    fprintf(f, "<text x='%d' y='%d' font-size='13'>%s</text>\n", x0, y0 - 6, title);
    fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#999'/>\n", x0, y0,
            w, h);
    fprintf(f, "<text x='%d' y='%d' font-size='11' text-anchor='end'>%u</text>\n", x0 - 4, y0 + 10,
            cmax);
    fprintf(f, "<text x='%d' y='%d' font-size='11' text-anchor='end'>0</text>\n", x0 - 4, y0 + h);
    for (size_t k = 0; k < NPLOT; k++) {
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='",
                plotted[k].color);
        for (size_t i = 0; i < s->n; i++)
            fprintf(f, "%.1f,%.1f ", x0 + (double)s->s[i].t_ms * w / tmax,
                    y0 + h - (double)s->s[i].count[plotted[k].state] * h / cmax);
        fprintf(f, "'/>\n");
    }
}

int lab_write_svg(const char *path, const struct lab_env *e)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    uint32_t tmax = 1;
    for (int h = 0; h < 2; h++)
        if (e->series[h].n && e->series[h].s[e->series[h].n - 1].t_ms > tmax)
            tmax = e->series[h].s[e->series[h].n - 1].t_ms;
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='720' height='440' "
               "font-family='sans-serif'>\n<rect width='720' height='440' fill='white'/>\n");
    svg_panel(f, &e->series[LAB_CLIENT], "client (" LAB_CLIENT_IP ")", 30, tmax);
    svg_panel(f, &e->series[LAB_SERVER], "server (" LAB_SERVER_IP ")", 220, tmax);
    fprintf(f, "<text x='60' y='388' font-size='11'>0 s</text><text x='680' y='388' "
               "font-size='11' text-anchor='end'>%.1f s</text>\n", tmax / 1e3);
    for (size_t k = 0; k < NPLOT; k++)
        fprintf(f, "<text x='%zu' y='420' font-size='12' fill='%s'>%s</text>\n", 60 + k * 105,
                plotted[k].color, tcp_state_label(plotted[k].state));
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}

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
        fprintf(f, "**Setup:**\n\n```\n%s```\n\n**Measured:**\n\n", d[i].env.setup);
        md_lines(f, d[i].res.measured, "- ");
        if (!d[i].res.ok) {
            fprintf(f, "\n**Failed expectations:**\n\n");
            md_lines(f, d[i].res.failures, "- ");
        }
        snprintf(path, sizeof path, "%s/%s.svg", dir, d[i].sc->name);
        if (lab_write_svg(path, &d[i].env) == 0)
            fprintf(f, "\n![socket states over time, client and server](%s.svg)\n",
                    d[i].sc->name);
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
    json_init(&j, out, true);
    json_obj_begin(&j, NULL);
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
        json_double(&j, "seconds", d[i].res.seconds);
        json_lines(&j, "setup", d[i].env.setup);
        json_lines(&j, "measured", d[i].res.measured);
        json_lines(&j, "failures", d[i].res.failures);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_uint(&j, "passed", ok);
    json_uint(&j, "failed", n - ok);
    json_obj_end(&j);
    json_finish(&j);
}
