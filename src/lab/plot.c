/* SPDX-License-Identifier: MIT */
/* The lab's pictures: socket states over time on both hosts as an SVG (step
 * lines, since a count jumps between samples; titled axes with round ticks;
 * the scenario's events as marked vertical lines) and the same samples as
 * CSV beside it, for anyone who wants to plot them another way. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lab/lab.h"

static const struct {
    int state;
    const char *color;
} plotted[] = {
    {TS_ESTABLISHED, "#2b7bba"}, {TS_TIME_WAIT, "#d62728"}, {TS_CLOSE_WAIT, "#ff7f0e"},
    {TS_FIN_WAIT1, "#9467bd"},   {TS_FIN_WAIT2, "#8c564b"}, {TS_LAST_ACK, "#2ca02c"},
    {TS_SYN_SENT, "#17becf"},    {TS_CLOSING, "#7f7f7f"},
};
#define NPLOT (sizeof plotted / sizeof plotted[0])

enum { SVG_W = 800, PLOT_X = 70, PLOT_W = 560, PANEL_H = 170, LEGEND_X = 650 };

/* A round step (1, 2 or 5 times a power of ten) giving about `want` ticks. */
static double nice_step(double range, int want)
{
    double raw = range / want, mag = pow(10, floor(log10(raw)));
    double n = raw / mag;
    return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

static uint32_t series_max(const struct lab_series *s, size_t k)
{
    uint32_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->s[i].count[plotted[k].state] > m)
            m = s->s[i].count[plotted[k].state];
    return m;
}

static void y_axis(FILE *f, int y0, double ymax, double ystep)
{
    for (double v = 0; v <= ymax + ystep / 2; v += ystep) {
        double y = y0 + PANEL_H - v * PANEL_H / ymax;
        fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#e4e4e4'/>\n", PLOT_X, y,
                PLOT_X + PLOT_W, y);
        fprintf(f, "<text x='%d' y='%.1f' font-size='11' text-anchor='end'>%g</text>\n",
                PLOT_X - 5, y + 4, v);
    }
    fprintf(f, "<text transform='translate(%d,%d) rotate(-90)' font-size='12' "
               "text-anchor='middle'>sockets</text>\n", PLOT_X - 42, y0 + PANEL_H / 2);
}

static void x_axis(FILE *f, int y0, double tmax_s, double tstep)
{
    for (double t = 0; t <= tmax_s + tstep / 1000; t += tstep) {
        double x = PLOT_X + t * PLOT_W / tmax_s;
        fprintf(f, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#e4e4e4'/>\n", x, y0, x,
                y0 + PANEL_H);
        fprintf(f, "<text x='%.1f' y='%d' font-size='11' text-anchor='middle'>%g</text>\n", x,
                y0 + PANEL_H + 14, t);
    }
}

/* One host: grid, step lines (wider ones drawn first, so series that share
 * a value stay visible as nested bands), legend with each series' peak. */
static void panel(FILE *f, const struct lab_series *s, const char *title, int y0, double tmax_s)
{
    uint32_t cmax = 1;
    for (size_t k = 0; k < NPLOT; k++)
        if (series_max(s, k) > cmax)
            cmax = series_max(s, k);
    double ystep = nice_step(cmax, 4);
    if (ystep < 1)
        ystep = 1;
    double ymax = ceil(cmax / ystep) * ystep;
    /* beside the plot, above its legend: the event badges over the plot
     * never reach it */
    fprintf(f, "<text x='%d' y='%d' font-size='13' font-weight='bold'>%s</text>\n", LEGEND_X,
            y0 - 8, title);
    y_axis(f, y0, ymax, ystep);
    x_axis(f, y0, tmax_s, nice_step(tmax_s, 8));
    fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#888'/>\n", PLOT_X,
            y0, PLOT_W, PANEL_H);
    int drawn = 0, legend_y = y0 + 12;
    const int legend_step = 17;
    for (size_t k = 0; k < NPLOT; k++) {
        uint32_t peak = series_max(s, k);
        if (!peak || !s->n)
            continue;
        double width = 4.5 - 1.0 * drawn++;
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='%.1f' stroke-opacity='0.85' "
                   "stroke-linejoin='round' points='", plotted[k].color, width < 1.5 ? 1.5 : width);
        double prev_y = 0;
        for (size_t i = 0; i < s->n; i++) {
            double x = PLOT_X + s->s[i].t_ms / 1e3 * PLOT_W / tmax_s;
            double y = y0 + PANEL_H - s->s[i].count[plotted[k].state] * PANEL_H / ymax;
            if (i)
                fprintf(f, "%.1f,%.1f ", x, prev_y); /* hold the last value until this sample */
            fprintf(f, "%.1f,%.1f ", x, y);
            prev_y = y;
        }
        fprintf(f, "'/>\n<text x='%d' y='%d' font-size='12' fill='%s'>%s (max %u)</text>\n",
                LEGEND_X, legend_y, plotted[k].color, tcp_state_label(plotted[k].state), peak);
        legend_y += legend_step;
    }
    fprintf(f, "<text x='%d' y='%d' font-size='11' fill='#888'>%s</text>\n", LEGEND_X, legend_y,
            drawn ? "others: 0 throughout" : "no sockets");
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

/* Each event: a dashed line through the panels, its number in a badge
 * above them (badges that would touch go one row up), and its text in the
 * legend under the time axis, one line each: labels never cross a panel,
 * a title or each other. */
static void events(FILE *f, const struct lab_env *e, int top, int bottom, int legend_y,
                   double tmax_s)
{
    double row_end[4] = {-1e9, -1e9, -1e9, -1e9};
    for (int i = 0; i < e->nmarks; i++) {
        double x = PLOT_X + e->marks[i].t_ms / 1e3 * PLOT_W / tmax_s;
        int row = 0;
        while (row < 3 && x - 9 < row_end[row])
            row++;
        row_end[row] = x + 9;
        int by = top - 8 - 16 * row;
        fprintf(f, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#444' "
                   "stroke-dasharray='4,3'/>\n", x, by + 6, x, bottom);
        fprintf(f, "<circle cx='%.1f' cy='%d' r='7' fill='white' stroke='#444'/>\n", x, by);
        fprintf(f, "<text x='%.1f' y='%d' font-size='10' text-anchor='middle' fill='#444'>%d</text>\n",
                x, by + 4, i + 1);
        fprintf(f, "<text x='%d' y='%d' font-size='11' fill='#444'>%d. %.2f s: ", PLOT_X,
                legend_y + 15 * i, i + 1, e->marks[i].t_ms / 1e3);
        xml_text(f, e->marks[i].label);
        fprintf(f, "</text>\n");
    }
}

static double duration_s(const struct lab_env *e)
{
    uint32_t tmax = 100;
    for (int h = 0; h < 2; h++)
        if (e->series[h].n && e->series[h].s[e->series[h].n - 1].t_ms > tmax)
            tmax = e->series[h].s[e->series[h].n - 1].t_ms;
    for (int i = 0; i < e->nmarks; i++)
        if (e->marks[i].t_ms > tmax)
            tmax = e->marks[i].t_ms;
    return tmax / 1e3;
}

static bool has_sockets(const struct lab_series *s)
{
    for (size_t k = 0; k < NPLOT; k++)
        if (series_max(s, k))
            return true;
    return false;
}

int lab_write_svg(const char *path, const struct lab_env *e, const char *title)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    static const char *const names[2] = {"client " LAB_CLIENT_IP, "server " LAB_SERVER_IP};
    double tmax_s = duration_s(e);
    /* A host that never held a socket in a plotted state gets a line, not
     * an empty panel; with neither, the server's panel stays as the frame. */
    bool show[2] = {has_sockets(&e->series[0]), has_sockets(&e->series[1])};
    if (!show[0] && !show[1])
        show[1] = true;
    int npanels = show[0] + show[1];
    const int badges = 3 * 16, top = 30 + badges, gap = 44;
    int panels_end = top + npanels * PANEL_H + (npanels - 1) * gap;
    int axis_y = panels_end + 34, notes_y = axis_y + 20;
    int notes = !show[0] + !show[1];
    int legend_y = notes_y + 15 * notes + 8;
    int h = legend_y + 15 * e->nmarks + 10;
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
               "font-family='sans-serif'>\n<rect width='%d' height='%d' fill='white'/>\n",
            SVG_W, h, SVG_W, h);
    fprintf(f, "<text x='%d' y='20' font-size='15' font-weight='bold'>", PLOT_X);
    xml_text(f, title);
    fprintf(f, "</text>\n");
    int y = top;
    for (int k = 0; k < 2; k++)
        if (show[k]) {
            panel(f, &e->series[k], names[k], y, tmax_s);
            y += PANEL_H + gap;
        }
    for (int k = 0, n = 0; k < 2; k++)
        if (!show[k])
            fprintf(f, "<text x='%d' y='%d' font-size='11' fill='#888'>%s: no sockets in these "
                       "states at any sample</text>\n", PLOT_X, notes_y + 15 * n++, names[k]);
    events(f, e, top, panels_end, legend_y, tmax_s);
    fprintf(f, "<text x='%d' y='%d' font-size='12' text-anchor='middle'>time since the "
               "namespaces were up (s)</text>\n", PLOT_X + PLOT_W / 2, axis_y);
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}

int lab_write_csv(const char *path, const struct lab_env *e)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    static const char *host[2] = {"client", "server"};
    fprintf(f, "host,t_s");
    for (size_t k = 0; k < NPLOT; k++)
        fprintf(f, ",%s", tcp_state_label(plotted[k].state));
    fprintf(f, "\n");
    for (int h = 0; h < 2; h++)
        for (size_t i = 0; i < e->series[h].n; i++) {
            fprintf(f, "%s,%.3f", host[h], e->series[h].s[i].t_ms / 1e3);
            for (size_t k = 0; k < NPLOT; k++)
                fprintf(f, ",%u", e->series[h].s[i].count[plotted[k].state]);
            fprintf(f, "\n");
        }
    return fclose(f) == 0 ? 0 : -1;
}
