/* SPDX-License-Identifier: MIT */
#include "export/top_netns.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/json.h"

static int cmp_row(const void *a, const void *b, void *arg)
{
    const struct top_ns_row *x = a, *y = b;
    int st = *(const int *)arg;
    if (x->ok != y->ok)
        return x->ok ? -1 : 1;
    uint32_t xv = x->ok ? x->a.states[st] : 0, yv = y->ok ? y->a.states[st] : 0;
    if (xv != yv)
        return xv > yv ? -1 : 1;
    return (x->ns->inode > y->ns->inode) - (x->ns->inode < y->ns->inode);
}

/* Sorts rows by sort_state (a top view's column), descending (unreadable ones last). */
static void top_ns_sort(struct top_ns_row *rows, size_t n, int sort_state)
{
    if (n)
        qsort_r(rows, n, sizeof *rows, cmp_row, &sort_state);
}

bool top_ns_match(const struct top_ns_row *r, const char *filter)
{
    if (!filter || !*filter)
        return true;
    char inode[24];
    snprintf(inode, sizeof inode, "%llu", (unsigned long long)r->ns->inode);
    return strstr(inode, filter) || strstr(r->ns->name, filter) || strstr(r->who, filter) ||
           strstr(r->ns->owner.container, filter) || strstr(r->ns->owner.pod, filter) ||
           strstr(r->ns->comm, filter);
}

static double rate(const struct top_ns_row *r, int st, double dt)
{
    return r->prev && dt > 0 ? ((double)r->a.states[st] - r->prev[st]) / dt : 0;
}

static void line(FILE *out, int cols, int *used, int rows, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void line(FILE *out, int cols, int *used, int rows, const char *fmt, ...)
{
    if (*used >= rows)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (cols > 0 && (size_t)cols < sizeof buf)
        buf[cols] = 0;
    fprintf(out, "%s\033[K\r\n", buf);
    (*used)++;
}

/* The row's columns at a width: the owner column takes what the numbers
 * leave (12 to 28 characters); SYN_RECV and LISTEN go first when the width
 * is short, so tw/s and cw/s (what the view is for) stay at 80 columns. */
struct ns_cols {
    int owner;
    bool syn_listen;
};

static struct ns_cols fit_columns(int cols)
{
    /* NETNS(11) ESTAB(8) TIME_WAIT(9) CLOSE_WAIT(10) tw/s(8) cw/s(8), a
     * space before each but the first; SYN_RECV(8) LISTEN(6) the same. */
    const int base = 11 + 1 + 9 + 10 + 11 + 9 + 9, extra = 9 + 7;
    struct ns_cols c = {28, true};
    if (cols <= 0 || base + 1 + 28 + extra <= cols)
        return c;
    c.syn_listen = base + 1 + 28 + extra - cols <= 16 && cols - base - 1 - extra >= 12;
    c.owner = cols - base - 1 - (c.syn_listen ? extra : 0);
    if (c.owner > 28) c.owner = 28;
    if (c.owner < 12) c.owner = 12;
    return c;
}

static void row_line(FILE *out, const struct top_view *v, int *used, int max, struct ns_cols c,
                     const struct top_ns_row *r)
{
    char who[200];
    snprintf(who, sizeof who, "%s%s%s", r->ns->name, r->ns->name[0] ? " " : "", r->who);
    if (!r->ok) {
        line(out, v->cols, used, max, "%-11llu %-*.*s not read: %s", (unsigned long long)r->ns->inode,
             c.owner, c.owner, who, r->error);
        return;
    }
    const uint32_t *st = r->a.states;
    char mid[32] = "";
    if (c.syn_listen)
        snprintf(mid, sizeof mid, " %8u %6u", st[TS_SYN_RECV], st[TS_LISTEN]);
    line(out, v->cols, used, max, "%-11llu %-*.*s %8u %9u %10u%s %+8.1f %+8.1f",
         (unsigned long long)r->ns->inode, c.owner, c.owner, who, st[TS_ESTABLISHED],
         st[TS_TIME_WAIT], st[TS_CLOSE_WAIT], mid, rate(r, TS_TIME_WAIT, v->interval_s),
         rate(r, TS_CLOSE_WAIT, v->interval_s));
}

void top_ns_draw(FILE *out, struct top_ns_row *rows, size_t n, const struct top_view *v,
                 const char *filter)
{
    int used = 0, max = v->rows > 0 ? v->rows - 1 : 24;
    char when[16];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
    size_t ok = 0, sockets = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].ok) {
            ok++;
            sockets += rows[i].s->nsocks;
        }
    char left[256], title[320];
    snprintf(left, sizeof left, "closer top %s  %zu netns (%zu read)  %zu sockets  sort %s  filter %s",
             when, n, ok, sockets, tcp_state_label(v->sort_state), filter && *filter ? filter : "none");
    top_title(title, sizeof title, v->cols, left, "t/c/e sort  n filter  a all");
    if (v->help) {
        top_draw_help(out, v, title);
        return;
    }
    fputs("\033[H", out);
    line(out, v->cols, &used, max, "%s", title);
    if (v->prompt)
        line(out, v->cols, &used, max, "netns filter> %s", v->prompt);
    else
        line(out, v->cols, &used, max, "%s", "");
    top_ns_sort(rows, n, v->sort_state);
    struct ns_cols c = fit_columns(v->cols);
    char mid[32] = "";
    if (c.syn_listen)
        snprintf(mid, sizeof mid, " %8s %6s", "SYN_RECV", "LISTEN");
    line(out, v->cols, &used, max, "%-11s %-*s %8s %9s %10s%s %8s %8s", "NETNS", c.owner, "OWNER",
         "ESTAB", "TIME_WAIT", "CLOSE_WAIT", mid, "tw/s", "cw/s");
    for (size_t i = 0; i < n; i++)
        if (top_ns_match(&rows[i], filter))
            row_line(out, v, &used, max, c, &rows[i]);
    line(out, v->cols, &used, max, "%s", "");
    line(out, v->cols, &used, max, "a filter that matches one namespace shows its ports, "
                                   "destinations, processes and listeners");
    fputs("\033[J", out);
    fflush(out);
}

void top_ns_batch_header(FILE *out)
{
    fprintf(out, "%-11s %-24s ", "netns", "owner");
    top_batch_header(out);
}

void top_ns_batch_line(FILE *out, const struct top_ns_row *r, double dt, double now)
{
    /* One word, so columns stay fields for awk: "pod:UID,containerd:ID". */
    char who[200];
    size_t k = 0;
    snprintf(who, sizeof who, "%s%s%s", r->ns->name, r->ns->name[0] ? "/" : "", r->who);
    for (size_t i = 0; who[i]; i++) {
        if (who[i] == ',' && who[i + 1] == ' ')
            continue;
        who[k++] = who[i] == ' ' ? (i && who[i - 1] == ',' ? ',' : ':') : who[i];
    }
    who[k] = 0;
    fprintf(out, "%-11llu %-24s ", (unsigned long long)r->ns->inode, who);
    if (!r->ok) {
        fprintf(out, "not read: %s\n", r->error);
        return;
    }
    top_batch_line(out, &r->a, r->prev, dt, now);
}

/* --all-netns --batch --json: one closer.top-netns/1 object per interval,
 * a row per namespace (that matches filter) carrying its namespace as
 * states --all-netns --json does; a namespace not read has its error and
 * null counts. */
void top_ns_batch_json(FILE *out, const struct top_ns_row *rows, size_t n, const char *filter,
                       double dt, double now)
{
    struct json j;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", TOP_NETNS_JSON_SCHEMA);
    json_double(&j, "taken_at", now);
    json_double(&j, "interval_s", dt);
    json_arr_begin(&j, "namespaces");
    for (size_t i = 0; i < n; i++) {
        const struct top_ns_row *r = &rows[i];
        if (!top_ns_match(r, filter))
            continue;
        json_obj_begin(&j, NULL);
        json_obj_begin(&j, "netns");
        netns_entry_json_fields(&j, r->ns);
        json_obj_end(&j);
        json_str(&j, "error", r->ok ? NULL : r->error);
        if (r->ok) {
            top_json_counts(&j, &r->a, r->prev, dt);
        } else {
            json_null(&j, "states");
            json_null(&j, "accept_queue");
            json_null(&j, "time_wait_change_per_s");
            json_null(&j, "close_wait_change_per_s");
        }
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);
    json_finish(&j);
    fflush(out);
}
