/* SPDX-License-Identifier: MIT */
/* Drawing closer top: every line is cut to the terminal width and the
 * tables share the rows left, so a resize redraws cleanly. */
#include "export/top_view.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/json.h"
#include "util/textesc.h"

static const int shown_states[] = {TS_ESTABLISHED, TS_SYN_SENT, TS_SYN_RECV, TS_FIN_WAIT1,
                                   TS_FIN_WAIT2, TS_TIME_WAIT, TS_CLOSE_WAIT, TS_LAST_ACK,
                                   TS_CLOSING, TS_LISTEN};
#define NSHOWN (int)(sizeof shown_states / sizeof shown_states[0])

/* A table drawn into memory first, so the screen can place it in one
 * column or beside another on a wide terminal. Colour is kept per line, apart
 * from the text, so widths are counted on what is visible. */
#define BLOCK_LINES 128
#define LINE_MAX_W 200
enum tone { T_PLAIN, T_HEAD, T_WARN, T_BAD, T_TITLE };
struct block {
    int n, width;
    char text[BLOCK_LINES][LINE_MAX_W];
    unsigned char tone[BLOCK_LINES];
};

static void bline(struct block *b, enum tone t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bline(struct block *b, enum tone t, const char *fmt, ...)
{
    if (b->n >= BLOCK_LINES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->text[b->n], LINE_MAX_W, fmt, ap);
    va_end(ap);
    int w = (int)strlen(b->text[b->n]);
    b->width = w > b->width ? w : b->width;
    b->tone[b->n++] = (unsigned char)t;
}

static const char *tone_on(enum tone t)
{
    switch (t) {
    case T_HEAD: return "\033[1m";
    case T_WARN: return "\033[33m";
    case T_BAD: return "\033[1;31m";
    case T_TITLE: return "\033[7m";
    default: return "";
    }
}

struct screen {
    FILE *out;
    int rows, cols, used;
    bool color;
};

/* One screen line from up to two block lines (right may be NULL), cut to the
 * width; nothing once the screen is full. */
static void put(struct screen *sc, const struct block *l, int li, int lw, const struct block *r, int ri)
{
    if (sc->used >= sc->rows) return;
    int room = sc->cols > 0 ? sc->cols : LINE_MAX_W;
    const char *lt = li < l->n ? l->text[li] : "";
    enum tone ltone = li < l->n ? (enum tone)l->tone[li] : T_PLAIN;
    int n = (int)strlen(lt);
    if (n > room) n = room;
    if (sc->color && ltone != T_PLAIN) fputs(tone_on(ltone), sc->out);
    fwrite(lt, 1, (size_t)n, sc->out);
    if (sc->color && ltone != T_PLAIN) fputs("\033[0m", sc->out);
    if (r && ri < r->n && room > lw) {
        for (int k = n; k < lw && k < room; k++) fputc(' ', sc->out);
        int rn = (int)strlen(r->text[ri]);
        if (rn > room - lw) rn = room - lw;
        enum tone rt = (enum tone)r->tone[ri];
        if (sc->color && rt != T_PLAIN) fputs(tone_on(rt), sc->out);
        fwrite(r->text[ri], 1, (size_t)rn, sc->out);
        if (sc->color && rt != T_PLAIN) fputs("\033[0m", sc->out);
    }
    fputs("\033[K\r\n", sc->out);
    sc->used++;
}

static double rate(const uint32_t *prev, const struct agg *a, int st, double dt)
{
    return prev && dt > 0 ? ((double)a->states[st] - prev[st]) / dt : 0;
}

/* fold: states with no socket and no change share one line ("zero: SYN_SENT
 * ..."): on a small screen four always-zero rows cost the tables their rows. */
static void draw_states(struct block *b, const struct agg *a, const uint32_t *prev, double dt,
                        bool fold)
{
    char zero[LINE_MAX_W] = "";
    size_t zl = 0;
    bline(b, T_HEAD, "%-12s %10s %10s", "STATE", "SOCKETS", "DELTA/s");
    for (int i = 0; i < NSHOWN; i++) {
        int st = shown_states[i];
        double d = rate(prev, a, st, dt);
        if (fold && !a->states[st] && d == 0) {
            zl += (size_t)snprintf(zero + zl, sizeof zero - zl, "%s%s", zl ? " " : "zero: ", tcp_state_label(st));
            if (zl >= sizeof zero) zl = sizeof zero - 1;
            continue;
        }
        enum tone t = st == TS_CLOSE_WAIT && a->states[st] ? T_BAD
                    : (st == TS_TIME_WAIT || st == TS_SYN_RECV) && a->states[st] ? T_WARN : T_PLAIN;
        bline(b, t, "%-12s %10u %+10.1f", tcp_state_label(st), a->states[st], d);
    }
    if (zl) bline(b, T_PLAIN, "%s", zero);
}

static void draw_ports(struct block *b, struct agg *a, const struct top_view *v, int room)
{
    agg_sort_ports(a, v->sort_state);
    bline(b, T_HEAD, "%-8s %10s %10s %10s   (server side, by %s)", "PORT", "TIME_WAIT",
          "CLOSE_WAIT", "ESTAB", tcp_state_label(v->sort_state));
    for (size_t i = 0, shown = 0; i < a->nports && (int)shown < room; i++) {
        const struct agg_port *p = &a->ports[i];
        if (v->port && p->port != v->port) continue;
        bline(b, p->n[TS_CLOSE_WAIT] ? T_BAD : T_PLAIN, "%-8u %10u %10u %10u", p->port,
              p->n[TS_TIME_WAIT], p->n[TS_CLOSE_WAIT], p->n[TS_ESTABLISHED]);
        shown++;
    }
}

static void draw_dests(struct block *b, struct agg *a, const struct snapshot *s,
                       const struct top_view *v, int room)
{
    agg_sort_dests(a, v->sort_state);
    uint32_t eph = snapshot_ephemeral_size(s);
    bline(b, T_HEAD, "%-28s %10s %10s %12s   (client side)", "DESTINATION", "TIME_WAIT", "ESTAB",
          "EPHEMERAL");
    char name[64];
    for (size_t i = 0, shown = 0; i < a->ndests && (int)shown < room; i++) {
        const struct agg_dest *d = &a->dests[i];
        if (v->port && d->port != v->port) continue;
        double pct = eph ? 100.0 * d->ephemeral_used / eph : 0;
        /* Half the range is what connect() reaches for one destination. */
        bline(b, pct >= 40 ? T_BAD : pct >= 10 ? T_WARN : T_PLAIN, "%-28s %10u %10u %6u %4.1f%%",
              agg_dest_name(d, name), d->n[TS_TIME_WAIT], d->n[TS_ESTABLISHED], d->ephemeral_used, pct);
        shown++;
    }
}

static void draw_procs(struct block *b, struct agg *a, int room)
{
    agg_sort_procs(a);
    bline(b, T_HEAD, "%-8s %-16s %10s", "PID", "COMMAND", "CLOSE_WAIT");
    char comm[17]; /* the column: an escaped name is cut between characters */
    if (a->close_wait_unowned && room > 1) room--; /* its line below counts in room */
    for (size_t i = 0; i < a->nprocs && (int)i < room; i++)
        bline(b, a->procs[i].close_wait ? T_BAD : T_PLAIN, "%-8d %-16s %10u", (int)a->procs[i].pid,
              text_escape(comm, sizeof comm, a->procs[i].comm, 0), a->procs[i].close_wait);
    if (a->close_wait_unowned)
        bline(b, T_BAD, "%-8s %-16s %10u", "-", "(no owner)", a->close_wait_unowned);
}

static void draw_listens(struct block *b, const struct agg *a, const struct top_view *v, int room)
{
    bline(b, T_HEAD, "%-28s %8s %8s", "LISTEN", "QUEUE", "BACKLOG");
    char name[64];
    for (size_t i = 0, shown = 0; i < a->nlistens && (int)shown < room; i++) {
        const struct agg_listen *l = &a->listens[i];
        if (v->port && l->port != v->port) continue;
        bline(b, l->queue && l->queue >= l->backlog ? T_BAD : l->queue ? T_WARN : T_PLAIN,
              "%-28s %8u %8u", agg_listen_name(l, name), l->queue, l->backlog);
        shown++;
    }
}

static void draw_help(struct block *b)
{
    static const char *const text[] = {
        "closer top keys",
        "",
        "  t  sort ports and destinations by TIME_WAIT",
        "  c  sort by CLOSE_WAIT",
        "  e  sort by ESTAB",
        "  p  filter one port: type digits, Enter (Esc cancels)",
        "  n  with --all-netns: filter namespaces by text",
        "  a  all ports / namespaces again",
        "  ?  this help (any key closes it)",
        "  q  quit",
        "",
        "Colours: red = CLOSE_WAIT (a program that did not close), a full accept",
        "queue, or a destination using >= 40% of the ephemeral ports; yellow =",
        "TIME_WAIT, SYN_RECV, a non-empty accept queue, >= 10% of the ports.",
        "NO_COLOR or --color never turns colour off.",
    };
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        bline(b, i == 0 ? T_HEAD : T_PLAIN, "%s", text[i]);
}

/* Blocks one under the other, a blank line between. */
static void stack(struct block *into, const struct block *const *parts, int n)
{
    for (int k = 0; k < n; k++) {
        if (k) bline(into, T_PLAIN, "%s", "");
        for (int i = 0; i < parts[k]->n; i++) bline(into, (enum tone)parts[k]->tone[i], "%s", parts[k]->text[i]);
    }
}

/* Two columns when both fit side by side (the left tables are about 70
 * columns wide, the right ones about 70): a wide screen shows twice the rows
 * per table instead of leaving its right half empty. */
#define TWO_COLUMNS_MIN 140

void top_title(char *out, size_t cap, int cols, const char *left, const char *keys)
{
    static const char tail[] = "? help  q quit";
    int need = (int)(strlen(left) + 9 + strlen(keys) + 2 + strlen(tail));
    if (cols <= 0 || need <= cols) {
        snprintf(out, cap, "%s   keys: %s  %s", left, keys, tail);
        return;
    }
    /* The key list goes first, then the left part is cut: "? help" stays. */
    int room = cols - (int)strlen(tail) - 3;
    if (room < 0) room = 0;
    snprintf(out, cap, "%.*s   %s", room, left, tail);
}

/* Data rows each table could fill (with the port filter applied). */
static int ports_wanted(const struct agg *a, const struct top_view *v)
{
    int n = 0;
    for (size_t i = 0; i < a->nports; i++) n += !v->port || a->ports[i].port == v->port;
    return n;
}

static int listens_wanted(const struct agg *a, const struct top_view *v)
{
    int n = 0;
    for (size_t i = 0; i < a->nlistens; i++) n += !v->port || a->listens[i].port == v->port;
    return n;
}

static int dests_wanted(const struct agg *a, const struct top_view *v)
{
    int n = 0;
    for (size_t i = 0; i < a->ndests; i++) n += !v->port || a->dests[i].port == v->port;
    return n;
}

/* One column: the rows left after the states go to the tables that have
 * something to show, in the order ports, listeners, processes,
 * destinations; each gets a row first (header and blank line included),
 * then one more at a time in turn, so a small screen shows every table's
 * first rows instead of one table's tail. room[k] = 0: table k is left out. */
static void share_rows(int avail, const int *want, int *room, int n)
{
    for (int k = 0; k < n; k++) {
        room[k] = 0;
        if (want[k] > 0 && avail >= 3) {
            room[k] = 1;
            avail -= 3;
        }
    }
    for (bool more = true; more && avail > 0;) {
        more = false;
        for (int k = 0; k < n && avail > 0; k++)
            if (room[k] && room[k] < want[k]) {
                room[k]++;
                avail--;
                more = true;
            }
    }
}

/* One frame's blocks (~300 KiB): allocated per frame, never shared. */
struct frame {
    struct block head, st, ports, dests, procs, listens, left, right;
    struct block col[4]; /* one column's tables under the states */
};

static void draw_one_column(struct screen *sc, struct block *left, const struct block *st,
                            struct block t[4], struct agg *a, const struct snapshot *s,
                            const struct top_view *v)
{
    int want[4] = {ports_wanted(a, v), listens_wanted(a, v),
                   (int)a->nprocs + (a->close_wait_unowned ? 1 : 0), dests_wanted(a, v)};
    int room[4];
    share_rows(sc->rows - sc->used - st->n, want, room, 4);
    if (room[0]) draw_ports(&t[0], a, v, room[0]);
    if (room[1]) draw_listens(&t[1], a, v, room[1]);
    if (room[2]) draw_procs(&t[2], a, room[2]);
    if (room[3]) draw_dests(&t[3], a, s, v, room[3]);
    const struct block *parts[5] = {st};
    int np = 1;
    for (int k = 0; k < 4; k++)
        if (room[k]) parts[np++] = &t[k];
    stack(left, parts, np);
    for (int i = 0; i < left->n; i++) put(sc, left, i, 0, NULL, 0);
}

void top_draw(FILE *out, struct agg *a, const uint32_t *prev, const struct snapshot *s,
              const struct top_view *v)
{
    struct frame *f = calloc(1, sizeof *f);
    if (!f)
        return; /* out of memory: this frame is skipped, the next may draw */
    struct screen sc = {out, v->rows > 0 ? v->rows - 1 : 24, v->cols, 0, v->color};
    fputs("\033[H", out);
    char when[16];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
    char port[16] = "all";
    if (v->port) snprintf(port, sizeof port, "%u", v->port);
    char lpart[160], title[LINE_MAX_W];
    snprintf(lpart, sizeof lpart, "closer top %s  netns %s  sort %s  port %s", when,
             v->netns ? v->netns : "(current)", tcp_state_label(v->sort_state), port);
    top_title(title, sizeof title, v->cols, lpart, "t/c/e sort  p port  a all");
    bline(&f->head, T_TITLE, "%s", title);
    if (v->prompt) bline(&f->head, T_PLAIN, "port> %s", v->prompt);
    else bline(&f->head, T_PLAIN, "%s", "");
    for (int i = 0; i < f->head.n; i++) put(&sc, &f->head, i, 0, NULL, 0);
    if (v->help) {
        draw_help(&f->left);
        for (int i = 0; i < f->left.n; i++) put(&sc, &f->left, i, 0, NULL, 0);
        fputs("\033[J", out);
        fflush(out);
        free(f);
        return;
    }
    bool two = v->cols >= TWO_COLUMNS_MIN;
    draw_states(&f->st, a, prev, v->interval_s, !two);
    if (!two) {
        draw_one_column(&sc, &f->left, &f->st, f->col, a, s, v);
        fputs("\033[J", out);
        fflush(out);
        free(f);
        return;
    }
    /* Side by side: two tables per column under the states on the left. */
    int left_rows = sc.rows - sc.used;
    int room = (left_rows - f->st.n - 1) / 2 - 2;
    if (room < 1) room = 1;
    draw_ports(&f->ports, a, v, room);
    draw_dests(&f->dests, a, s, v, (left_rows - 1) / 2 - 2);
    draw_procs(&f->procs, a, (left_rows - 1) / 2 - 2);
    draw_listens(&f->listens, a, v, room);
    const struct block *lp[] = {&f->st, &f->ports, &f->listens}, *rp[] = {&f->dests, &f->procs};
    stack(&f->left, lp, 3);
    stack(&f->right, rp, 2);
    int lw = f->left.width + 3;
    int n = f->left.n > f->right.n ? f->left.n : f->right.n;
    for (int i = 0; i < n; i++) put(&sc, &f->left, i, lw, &f->right, i);
    fputs("\033[J", out); /* clear whatever an earlier, longer frame left */
    fflush(out);
    free(f);
}

void top_draw_help(FILE *out, const struct top_view *v, const char *title)
{
    struct screen sc = {out, v->rows > 0 ? v->rows - 1 : 24, v->cols, 0, v->color};
    struct block b = {0};
    bline(&b, T_TITLE, "%s", title);
    bline(&b, T_PLAIN, "%s", "");
    draw_help(&b);
    fputs("\033[H", out);
    for (int i = 0; i < b.n; i++) put(&sc, &b, i, 0, NULL, 0);
    fputs("\033[J", out);
    fflush(out);
}

void top_batch_header(FILE *out)
{
    fprintf(out, "%-8s %8s %8s %9s %10s %9s %8s %8s %9s %8s %8s\n", "time", "estab", "syn_recv",
            "time_wait", "close_wait", "fin_wait2", "last_ack", "listen", "accept_q", "tw/s",
            "cw/s");
}

void top_batch_line(FILE *out, const struct agg *a, const uint32_t *prev, double dt, double now)
{
    uint64_t acceptq = 0;
    for (size_t i = 0; i < a->nlistens; i++) acceptq += a->listens[i].queue;
    char when[16];
    time_t t = (time_t)now;
    strftime(when, sizeof when, "%H:%M:%S", localtime(&t));
    fprintf(out, "%-8s %8u %8u %9u %10u %9u %8u %8u %9llu %+8.1f %+8.1f\n", when,
            a->states[TS_ESTABLISHED], a->states[TS_SYN_RECV], a->states[TS_TIME_WAIT],
            a->states[TS_CLOSE_WAIT], a->states[TS_FIN_WAIT2], a->states[TS_LAST_ACK],
            a->states[TS_LISTEN], (unsigned long long)acceptq, rate(prev, a, TS_TIME_WAIT, dt),
            rate(prev, a, TS_CLOSE_WAIT, dt));
    fflush(out);
}

void top_json_counts(struct json *j, const struct agg *a, const uint32_t *prev, double dt)
{
    uint64_t acceptq = 0;
    for (size_t i = 0; i < a->nlistens; i++) acceptq += a->listens[i].queue;
    json_obj_begin(j, "states");
    for (int st = 1; st < TS_MAX; st++)
        if (st != TS_NEW_SYN_RECV)
            json_uint(j, tcp_state_name(st), a->states[st]);
    json_obj_end(j);
    json_uint(j, "accept_queue", acceptq);
    if (prev) {
        json_double(j, "time_wait_change_per_s", rate(prev, a, TS_TIME_WAIT, dt));
        json_double(j, "close_wait_change_per_s", rate(prev, a, TS_CLOSE_WAIT, dt));
    } else {
        json_null(j, "time_wait_change_per_s");
        json_null(j, "close_wait_change_per_s");
    }
}

/* top --batch --json: one closer.top/1 object per interval. Per-second
 * changes are null on the first line (nothing to compare with). */
void top_batch_json(FILE *out, const struct agg *a, const uint32_t *prev, double dt, double now,
                    const char *netns)
{
    struct json j;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", TOP_JSON_SCHEMA);
    json_double(&j, "taken_at", now);
    json_double(&j, "interval_s", dt);
    json_str(&j, "netns", netns);
    top_json_counts(&j, a, prev, dt);
    json_obj_end(&j);
    json_finish(&j);
    fflush(out);
}
