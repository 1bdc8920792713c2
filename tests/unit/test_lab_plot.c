/* SPDX-License-Identifier: MIT */
/* The lab's pictures (lab/plot.c): the SVG's structure over recorded
 * samples (one step line and one legend peak per state a host ever held,
 * one badge per event, balanced elements), its axes, its escaping, and the
 * panels of a host that held nothing; the CSV beside it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/lab.h"
#include "lab_rec_env.h"
#include "test.h"

static struct lab_done d;
static char path[64];

static void remove_file(void)
{
    if (path[0])
        unlink(path);
}

/* e as SVG (or CSV) into a temporary file, read back (static buffer). */
static const char *drawn(const struct lab_env *e, const char *title, bool csv)
{
    static char buf[1 << 18];
    static bool registered;
    if (!registered)
        registered = atexit(remove_file) == 0;
    snprintf(path, sizeof path, "/tmp/closer-test-plot-%d", (int)getpid());
    if ((csv ? lab_write_csv(path, e) : lab_write_svg(path, e, title)) < 0)
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static uint32_t peak(const struct lab_series *s, int state)
{
    uint32_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        m = s->s[i].count[state] > m ? s->s[i].count[state] : m;
    return m;
}

static const int plotted[] = {TS_ESTABLISHED, TS_TIME_WAIT, TS_CLOSE_WAIT, TS_FIN_WAIT1,
                              TS_FIN_WAIT2,   TS_LAST_ACK,  TS_SYN_SENT,   TS_CLOSING};

/* Every recorded scenario's plot: a line and a "(max N)" per state a host
 * held (N its peak in the samples), a badge per event, tags balanced. */
TEST(recorded_plots_draw_each_held_state_with_its_peak)
{
    CHECK(rec_find("close-header"));
    for (size_t i = 0; i < REC_MAX && rec_all[i].name[0]; i++) {
        CHECK_EQ_INT(rec_done(rec_all[i].name, &d), 0);
        const char *svg = drawn(&d.env, d.sc->name, false);
        CHECK(svg);
        int lines = 0;
        for (int h = 0; h < 2; h++)
            for (size_t k = 0; k < sizeof plotted / sizeof plotted[0]; k++) {
                uint32_t m = peak(&d.env.series[h], plotted[k]);
                char legend[64];
                snprintf(legend, sizeof legend, ">%s (max %u)</text>",
                         tcp_state_label(plotted[k]), m);
                lines += m > 0;
                if (m && !strstr(svg, legend)) {
                    printf("    %s: no legend %s\n", d.sc->name, legend);
                    CHECK(false);
                }
            }
        CHECK_EQ_INT(count(svg, "<polyline "), lines);
        CHECK_EQ_INT(count(svg, "<circle "), d.env.nmarks);
        CHECK_EQ_INT(count(svg, "<text "), count(svg, "</text>"));
        CHECK(!strncmp(svg, "<svg xmlns='http://www.w3.org/2000/svg'", 39));
        CHECK(strstr(svg, "</svg>\n") == svg + strlen(svg) - 7);
        CHECK(strstr(svg, ">sockets</text>"));
        CHECK(strstr(svg, ">time since the namespaces were up (s)</text>"));
    }
}

static void one_sample(struct lab_series *s, uint32_t t_ms, int state, uint32_t n)
{
    struct lab_sample *smp = &s->s[s->n++];
    memset(smp, 0, sizeof *smp);
    smp->t_ms = t_ms;
    smp->count[state] = n;
}

/* Round ticks: 0..200 sockets by 50, 0..10 s by 2. */
TEST(axes_have_round_ticks)
{
    memset(&d, 0, sizeof d);
    one_sample(&d.env.series[LAB_SERVER], 0, TS_TIME_WAIT, 0);
    one_sample(&d.env.series[LAB_SERVER], 10000, TS_TIME_WAIT, 200);
    const char *svg = drawn(&d.env, "t", false);
    CHECK(svg);
    const char *y[] = {">0</text>", ">50</text>", ">100</text>", ">150</text>", ">200</text>"};
    for (int i = 0; i < 5; i++)
        CHECK(strstr(svg, y[i]));
    CHECK(!strstr(svg, ">250</text>"));
    const char *x[] = {">2</text>", ">4</text>", ">6</text>", ">8</text>", ">10</text>"};
    for (int i = 0; i < 5; i++)
        CHECK(strstr(svg, x[i]));
    /* a step line: the old value held until the next sample */
    CHECK(strstr(svg, "points='70.0,248.0 630.0,248.0 630.0,78.0 '"));
    CHECK(strstr(svg, ">TIME_WAIT (max 200)</text>"));
    CHECK(strstr(svg, "client 198.18.0.1: no sockets in these states at any sample"));
}

TEST(title_and_event_labels_are_escaped)
{
    memset(&d, 0, sizeof d);
    one_sample(&d.env.series[LAB_CLIENT], 500, TS_ESTABLISHED, 1);
    d.env.nmarks = 1;
    d.env.marks[0].t_ms = 250;
    snprintf(d.env.marks[0].label, sizeof d.env.marks[0].label, "load -n 5 <&> done");
    const char *svg = drawn(&d.env, "a<b & c>d", false);
    CHECK(svg);
    CHECK(strstr(svg, ">a&lt;b &amp; c&gt;d</text>"));
    CHECK(strstr(svg, ">1. 0.25 s: load -n 5 &lt;&amp;&gt; done</text>"));
    CHECK_EQ_INT(count(svg, "<"), count(svg, ">"));
}

/* Events at one moment stack their badges up to three rows; more share
 * the top row. */
TEST(badges_of_events_at_one_moment_stack_in_rows)
{
    memset(&d, 0, sizeof d);
    one_sample(&d.env.series[LAB_SERVER], 1000, TS_CLOSE_WAIT, 3);
    d.env.nmarks = 5;
    for (int i = 0; i < 5; i++) {
        d.env.marks[i].t_ms = 500;
        snprintf(d.env.marks[i].label, sizeof d.env.marks[i].label, "event %d", i);
    }
    const char *svg = drawn(&d.env, "t", false);
    CHECK(svg);
    CHECK_EQ_INT(count(svg, "cy='70'"), 1);
    CHECK_EQ_INT(count(svg, "cy='54'"), 1);
    CHECK_EQ_INT(count(svg, "cy='38'"), 1);
    CHECK_EQ_INT(count(svg, "cy='22'"), 2);
    CHECK_EQ_INT(count(svg, "stroke-dasharray='4,3'"), 5);
}

/* Nothing sampled: the server's panel stays as the frame, both hosts say
 * they held nothing, and the plot covers at least 0.1 s. */
TEST(nothing_sampled_keeps_one_empty_frame)
{
    memset(&d, 0, sizeof d);
    const char *svg = drawn(&d.env, "empty", false);
    CHECK(svg);
    CHECK_EQ_INT(count(svg, "<rect "), 2); /* the background and one panel */
    CHECK_EQ_INT(count(svg, "<polyline "), 0);
    CHECK(strstr(svg, ">no sockets</text>"));
    CHECK(strstr(svg, "client 198.18.0.1: no sockets in these states at any sample"));
    CHECK(!strstr(svg, "server 198.18.0.2: no sockets in these states"));
    CHECK(strstr(svg, ">0.1</text>"));
    const char *csv = drawn(&d.env, NULL, true);
    CHECK(csv);
    CHECK_EQ_STR(csv, "host,t_s,ESTAB,TIME_WAIT,CLOSE_WAIT,FIN_WAIT1,FIN_WAIT2,LAST_ACK,"
                      "SYN_SENT,CLOSING\n");
}

TEST(both_hosts_with_sockets_get_two_panels)
{
    memset(&d, 0, sizeof d);
    one_sample(&d.env.series[LAB_CLIENT], 100, TS_FIN_WAIT2, 1);
    one_sample(&d.env.series[LAB_SERVER], 100, TS_LAST_ACK, 1);
    const char *svg = drawn(&d.env, "t", false);
    CHECK(svg);
    CHECK_EQ_INT(count(svg, "<rect "), 3);
    CHECK(strstr(svg, ">client 198.18.0.1</text>"));
    CHECK(strstr(svg, ">server 198.18.0.2</text>"));
    CHECK_EQ_INT(count(svg, "others: 0 throughout"), 2);
    const char *csv = drawn(&d.env, NULL, true);
    CHECK(csv);
    CHECK(strstr(csv, "\nclient,0.100,0,0,0,0,1,0,0,0\nserver,0.100,0,0,0,0,0,1,0,0\n"));
}

TEST(unwritable_path_fails)
{
    memset(&d, 0, sizeof d);
    CHECK_EQ_INT(lab_write_svg("/nonexistent-dir/x.svg", &d.env, "t"), -1);
    CHECK_EQ_INT(lab_write_csv("/nonexistent-dir/x.csv", &d.env), -1);
}
