/* SPDX-License-Identifier: MIT */
/* closer top's screens and the exporter over several namespaces, drawn from
 * socket tables recorded from real programs (tests/data/doctor, replayed
 * without root): the full-screen view at several terminal sizes, the help,
 * the batch lines and JSON, the per-namespace view, and the per-namespace
 * exposition with its "other" pool and unreadable namespaces. */
#include <stdlib.h>
#include <string.h>

#include "export/metrics_netns.h"
#include "export/top_netns.h"
#include "export/top_view.h"
#include "test.h"

#define DATA "tests/data/doctor/"

/* A recording replayed with its owners (FILE.owners), fixed sysctls. */
static bool replay(struct snapshot *s, const char *file)
{
    char err[256];
    memset(s, 0, sizeof *s);
    struct snapshot_opts o = {.replay = file, .owners = true};
    if (snapshot_take(s, &o, err, sizeof err) < 0) {
        printf("# %s\n", err);
        return false;
    }
    s->sys.port_lo = 32768;
    s->sys.port_hi = 60999;
    return true;
}

/* What a drawing function wrote, NUL-terminated (free it). */
struct capture {
    char *text;
    size_t len;
    FILE *f;
};

static FILE *cap_open(struct capture *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    return c->f;
}

static char *cap_close(struct capture *c)
{
    fclose(c->f);
    return c->text;
}

/* The longest line, escape sequences included: a bound on what was cut. */
static size_t widest_line(const char *t)
{
    size_t w = 0;
    for (const char *p = t; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        w = n > w ? n : w;
        p += n + (e ? 1 : 0);
    }
    return w;
}

static size_t count_lines(const char *t)
{
    size_t n = 0;
    for (; *t; t++)
        n += *t == '\n';
    return n;
}

struct frame {
    struct snapshot s;
    struct agg a;
    uint32_t prev[TS_MAX];
};

static bool frame_up(struct frame *fr, const char *file)
{
    if (!replay(&fr->s, file) || agg_build(&fr->a, &fr->s) < 0)
        return false;
    memcpy(fr->prev, fr->a.states, sizeof fr->prev);
    fr->prev[TS_TIME_WAIT] += 10; /* ten fewer one interval later: -5/s over 2 s */
    return true;
}

static void frame_down(struct frame *fr)
{
    agg_free(&fr->a);
    snapshot_free(&fr->s);
}

static char *draw(struct frame *fr, const struct top_view *v, bool with_prev)
{
    struct capture c;
    if (!cap_open(&c))
        return strdup("");
    top_draw(c.f, &fr->a, with_prev ? fr->prev : NULL, &fr->s, v);
    return cap_close(&c);
}

TEST(wide_screen_shows_every_table_side_by_side)
{
    struct frame fr;
    CHECK(frame_up(&fr, DATA "fork_apache_prefork_cgi_blocked.dump"));
    struct top_view v = {.rows = 60, .cols = 200, .sort_state = TS_TIME_WAIT, .interval_s = 2,
                         .netns = "4026531840", .color = true};
    char *t = draw(&fr, &v, true);
    bool ok = strstr(t, "closer top ") && strstr(t, "netns 4026531840") && strstr(t, "TIME_WAIT") &&
              strstr(t, "\033[7m") && strstr(t, "-5.0") && count_lines(t) <= 59;
    if (!ok)
        printf("# %s\n", t);
    free(t);
    frame_down(&fr);
    CHECK(ok);
}

/* 80x24 and smaller: one column, every line cut to the width, never more
 * rows than the terminal has; a port filter and a prompt line. */
TEST(small_screens_cut_lines_and_share_rows)
{
    struct frame fr;
    CHECK(frame_up(&fr, DATA "fork_apache_prefork_keepalive_off.dump"));
    static const int sizes[][2] = {{24, 80}, {12, 60}, {6, 40}, {3, 20}};
    bool ok = true;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && ok; i++) {
        struct top_view v = {.rows = sizes[i][0], .cols = sizes[i][1],
                             .sort_state = TS_CLOSE_WAIT, .interval_s = 1};
        char *t = draw(&fr, &v, i % 2);
        /* "\033[K\r" ends a cut line: the width plus four. */
        ok = widest_line(t) <= (size_t)sizes[i][1] + 16 && count_lines(t) <= (size_t)sizes[i][0];
        if (!ok)
            printf("# %dx%d:\n%s\n", sizes[i][0], sizes[i][1], t);
        free(t);
    }
    struct top_view v = {.rows = 30, .cols = 100, .sort_state = TS_ESTABLISHED, .port = 80,
                         .prompt = "80", .color = true};
    char *t = draw(&fr, &v, false);
    ok = ok && strstr(t, "port> 80") && strstr(t, "port 80");
    free(t);
    frame_down(&fr);
    CHECK(ok);
}

TEST(help_replaces_the_tables)
{
    struct frame fr;
    CHECK(frame_up(&fr, DATA "fork_puma_saturated_request_cap.dump"));
    struct top_view v = {.rows = 40, .cols = 120, .sort_state = TS_TIME_WAIT, .help = true};
    char *t = draw(&fr, &v, false);
    bool ok = !strstr(t, "CLOSE_WAIT by process") && count_lines(t) > 5;
    free(t);
    struct capture c;
    CHECK(cap_open(&c));
    top_draw_help(c.f, &v, "the title");
    t = cap_close(&c);
    ok = ok && strstr(t, "the title") && count_lines(t) > 5;
    free(t);
    frame_down(&fr);
    CHECK(ok);
}

TEST(title_keeps_the_way_to_help)
{
    char out[256];
    top_title(out, sizeof out, 120, "closer top 12:00:00", "t/c/e sort");
    CHECK(strstr(out, "keys: t/c/e sort") && strstr(out, "? help  q quit"));
    top_title(out, sizeof out, 30, "closer top 12:00:00  netns (current)  sort TIME_WAIT", "t/c/e");
    CHECK(strstr(out, "? help  q quit"));
    CHECK(strlen(out) <= 30);
    top_title(out, sizeof out, 5, "left", "keys");
    CHECK(strstr(out, "? help"));
}

TEST(batch_lines_and_json_count_states)
{
    struct frame fr;
    CHECK(frame_up(&fr, DATA "ab_burst_nginx.dump"));
    struct capture c;
    CHECK(cap_open(&c));
    top_batch_header(c.f);
    top_batch_line(c.f, &fr.a, NULL, 1, 0);
    top_batch_line(c.f, &fr.a, fr.prev, 2, 0);
    top_batch_json(c.f, &fr.a, NULL, 1, 1700000000.5, "host");
    top_batch_json(c.f, &fr.a, fr.prev, 2, 1700000002.5, NULL);
    char *t = cap_close(&c), tw[32];
    snprintf(tw, sizeof tw, "\"TIME_WAIT\":%u", fr.a.states[TS_TIME_WAIT]);
    bool ok = strstr(t, "time_wait") && strstr(t, "+0.0") && strstr(t, "-5.0") &&
              strstr(t, "\"schema\":\"closer.top/1\"") && strstr(t, tw) &&
              strstr(t, "\"time_wait_change_per_s\":null") &&
              strstr(t, "\"time_wait_change_per_s\":-5") && fr.a.states[TS_TIME_WAIT] > 100;
    if (!ok)
        printf("# %s\n", t);
    free(t);
    frame_down(&fr);
    CHECK(ok);
}

/* --- closer top --all-netns --- */

static struct netns_entry entries[4];
static struct frame nsfr[3];

static bool ns_rows(struct top_ns_row *rows)
{
    static const char *const files[3] = {DATA "ab_burst_nginx.dump",
                                         DATA "fork_apache_prefork_cgi_blocked.dump",
                                         DATA "pg_pool.dump"};
    memset(entries, 0, sizeof entries);
    entries[0] = (struct netns_entry){.inode = 4026531840, .pid = 1, .nprocs = 90, .host = true,
                                      .comm = "systemd"};
    entries[1] = (struct netns_entry){.inode = 4026532801, .pid = 300, .nprocs = 4,
                                      .name = "web", .comm = "apache2"};
    snprintf(entries[1].owner.runtime, sizeof entries[1].owner.runtime, "containerd");
    snprintf(entries[1].owner.container, sizeof entries[1].owner.container, "0123456789abcdef");
    snprintf(entries[1].owner.pod, sizeof entries[1].owner.pod, "1d2c3b4a-0000-1111-2222-333344445555");
    entries[2] = (struct netns_entry){.inode = 4026532999, .pid = 400, .nprocs = 1, .comm = "postgres"};
    entries[3] = (struct netns_entry){.inode = 4026533100, .mounted = true, .name = "gone"};
    for (int i = 0; i < 3; i++)
        if (!frame_up(&nsfr[i], files[i]))
            return false;
    for (int i = 0; i < 4; i++) {
        rows[i] = (struct top_ns_row){.ns = &entries[i], .ok = i < 3};
        netns_entry_who(&entries[i], rows[i].who, sizeof rows[i].who);
        if (i < 3) {
            rows[i].a = nsfr[i].a;
            rows[i].s = &nsfr[i].s;
            rows[i].prev = i == 1 ? nsfr[i].prev : NULL;
        } else {
            rows[i].error = "setns: Operation not permitted";
        }
    }
    return true;
}

static void ns_rows_down(void)
{
    for (int i = 0; i < 3; i++)
        frame_down(&nsfr[i]);
}

static char *ns_draw(struct top_ns_row *rows, const struct top_view *v, const char *filter)
{
    struct capture c;
    if (!cap_open(&c))
        return strdup("");
    top_ns_draw(c.f, rows, 4, v, filter);
    return cap_close(&c);
}

TEST(netns_rows_sort_filter_and_fit)
{
    struct top_ns_row rows[4];
    CHECK(ns_rows(rows));
    bool ok = true;
    static const int widths[] = {200, 100, 80, 60, 0};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0] && ok; i++) {
        struct top_view v = {.rows = 20, .cols = widths[i], .sort_state = TS_TIME_WAIT,
                             .interval_s = 2, .prompt = i == 1 ? "web" : NULL};
        char *t = ns_draw(rows, &v, i == 1 ? "web" : NULL);
        ok = strstr(t, "NETNS") && (!widths[i] || widest_line(t) <= (size_t)widths[i] + 8) &&
             (i == 1 ? !strstr(t, "4026532999") && strstr(t, "netns filter> web")
                     : strstr(t, "not read: setns") && strstr(t, "4026532999"));
        if (!ok)
            printf("# width %d:\n%s\n", widths[i], t);
        free(t);
    }
    /* Sorted by the state asked for, the unreadable one last. */
    top_ns_sort(rows, 4, TS_TIME_WAIT);
    ok = ok && rows[3].ns == &entries[3] && rows[0].a.states[TS_TIME_WAIT] >= rows[1].a.states[TS_TIME_WAIT];
    ok = ok && top_ns_match(&rows[0], "") && top_ns_match(&rows[0], NULL);
    for (int i = 0; i < 4; i++)
        if (rows[i].ns == &entries[1])
            ok = ok && top_ns_match(&rows[i], "1d2c3b4a") && top_ns_match(&rows[i], "0123456789ab") &&
                 top_ns_match(&rows[i], "32801") && !top_ns_match(&rows[i], "nomatch");
    struct top_view v = {.rows = 20, .cols = 100, .help = true};
    char *t = ns_draw(rows, &v, NULL);
    ok = ok && !strstr(t, "NETNS") && count_lines(t) > 3;
    free(t);
    ns_rows_down();
    CHECK(ok);
}

TEST(netns_batch_lines_and_json)
{
    struct top_ns_row rows[4];
    CHECK(ns_rows(rows));
    struct capture c;
    CHECK(cap_open(&c));
    top_ns_batch_header(c.f);
    for (int i = 0; i < 4; i++)
        top_ns_batch_line(c.f, &rows[i], 2, 1700000000);
    top_ns_batch_json(c.f, rows, 4, NULL, 2, 1700000000);
    top_ns_batch_json(c.f, rows, 4, "postgres", 2, 1700000002);
    char *t = cap_close(&c);
    bool ok = strstr(t, "netns") && strstr(t, "owner") && strstr(t, "not read: setns") &&
              strstr(t, "web/") && !strstr(t, "web/pod 1d2c") &&
              strstr(t, "\"schema\":\"closer.top-netns/1\"") && strstr(t, "\"states\":null") &&
              strstr(t, "\"error\":\"setns: Operation not permitted\"");
    /* The filtered object has only postgres's namespace. */
    const char *last = strrchr(t, '{') ? strstr(t, "1700000002") : NULL;
    ok = ok && last && !strstr(last, "4026532801") && strstr(last, "4026532999");
    if (!ok)
        printf("# %s\n", t);
    free(t);
    ns_rows_down();
    CHECK(ok);
}

/* --- the exporter with --all-netns --- */

static unsigned findings_got, findings_done;
static const struct metrics_finding one_finding[] = {{"tw-pile", "warn"}};

static void get_findings(void *ctx, const struct snapshot *s, struct metrics_opts *o)
{
    (void)ctx, (void)s;
    findings_got++;
    o->findings = one_finding;
    o->nfindings = 1;
    o->findings_ms = 1.5;
}

static void done_findings(void *ctx, struct metrics_opts *o)
{
    (void)ctx, (void)o;
    findings_done++;
}

static bool multi_up(struct multi_snapshot *m)
{
    static const char *const files[] = {DATA "ab_burst_nginx.dump", DATA "pg_pool.dump",
                                        DATA "kv_redis_py_pool.dump"};
    memset(m, 0, sizeof *m);
    m->list.n = 4;
    m->list.items = calloc(4, sizeof *m->list.items);
    m->items = calloc(4, sizeof *m->items);
    if (!m->list.items || !m->items)
        return false;
    for (size_t i = 0; i < 4; i++) {
        m->list.items[i] = (struct netns_entry){.inode = 4026532000 + i, .nprocs = 1};
        snprintf(m->list.items[i].comm, sizeof m->list.items[i].comm, "prog%zu", i);
        m->items[i].ns = &m->list.items[i];
        if (i < 3 && !(m->items[i].ok = replay(&m->items[i].snap, files[i])))
            return false;
    }
    snprintf(m->list.items[0].owner.container, sizeof m->list.items[0].owner.container, "abc123");
    snprintf(m->list.items[0].owner.pod, sizeof m->list.items[0].owner.pod, "pod-uid");
    snprintf(m->items[3].error, sizeof m->items[3].error, "setns: Operation not permitted");
    m->took_ms = 12;
    return true;
}

static void multi_down(struct multi_snapshot *m)
{
    for (size_t i = 0; i < 3; i++)
        snapshot_free(&m->items[i].snap);
    free(m->items);
    free(m->list.items);
}

static char *exposition(const struct multi_snapshot *m, unsigned top, const struct netns_findings_fn *fn)
{
    struct metrics_opts o = {.top_ports = 5, .top_destinations = 5, .top_processes = 5,
                             .top_listeners = 5};
    struct capture c;
    if (!cap_open(&c))
        return strdup("");
    int rc = metrics_write_netns(c.f, m, &o, top, fn);
    char *t = cap_close(&c);
    if (rc) {
        free(t);
        return strdup("(failed)");
    }
    return t;
}

TEST(netns_exposition_shows_top_and_pools_the_rest)
{
    struct multi_snapshot m;
    CHECK(multi_up(&m));
    findings_got = findings_done = 0;
    struct netns_findings_fn fn = {get_findings, done_findings, NULL};
    char *t = exposition(&m, 1, &fn);
    bool ok = strstr(t, "{netns=\"other\"") && strstr(t, "closer_netns{status=\"shown\"} 1") &&
              strstr(t, "closer_netns{status=\"pooled\"} 2") &&
              strstr(t, "closer_netns{status=\"unreadable\"} 1") &&
              strstr(t, "reason=\"setns: Operation not permitted\"") &&
              strstr(t, "closer_netns_info{") && strstr(t, "closer_netns_scan_seconds 0.012") &&
              findings_got == 2 && findings_done == 2;
    if (!ok)
        printf("# %s\n", t);
    free(t);
    /* Every readable one shown: no pool, the labels of its owner. */
    t = exposition(&m, 10, NULL);
    ok = ok && !strstr(t, "{netns=\"other\"") && strstr(t, "closer_netns{status=\"shown\"} 3") &&
         strstr(t, "container=\"abc123\"") && strstr(t, "pod=\"pod-uid\"");
    if (!ok)
        printf("# %s\n", t);
    free(t);
    multi_down(&m);
    CHECK(ok);
}
