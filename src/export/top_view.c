/* Drawing closer top: every line is cut to the terminal width and the
 * tables share the rows left, so a resize redraws cleanly. */
#include "export/top_view.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "util/json.h"

static const int shown_states[] = {TS_ESTABLISHED, TS_SYN_SENT, TS_SYN_RECV, TS_FIN_WAIT1,
                                   TS_FIN_WAIT2, TS_TIME_WAIT, TS_CLOSE_WAIT, TS_LAST_ACK,
                                   TS_CLOSING, TS_LISTEN};
#define NSHOWN (int)(sizeof shown_states / sizeof shown_states[0])

struct screen {
    FILE *out;
    int rows, cols, used;
};

/* One line, cut to the width; nothing once the screen is full. */
static void line(struct screen *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct screen *sc, const char *fmt, ...)
{
    if (sc->used >= sc->rows) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (sc->cols > 0 && (size_t)sc->cols < sizeof buf) buf[sc->cols] = 0;
    fprintf(sc->out, "%s\033[K\r\n", buf);
    sc->used++;
}

static double rate(const uint32_t *prev, const struct agg *a, int st, double dt)
{
    return prev && dt > 0 ? ((double)a->states[st] - prev[st]) / dt : 0;
}

static void draw_states(struct screen *sc, const struct agg *a, const uint32_t *prev, double dt)
{
    line(sc, "%-12s %10s %10s", "STATE", "SOCKETS", "DELTA/s");
    for (int i = 0; i < NSHOWN; i++) {
        int st = shown_states[i];
        line(sc, "%-12s %10u %+10.1f", tcp_state_label(st), a->states[st], rate(prev, a, st, dt));
    }
}

static void draw_ports(struct screen *sc, struct agg *a, const struct top_view *v, int room)
{
    agg_sort_ports(a, v->sort_state);
    line(sc, "%-8s %10s %10s %10s   (server side, by %s)", "PORT", "TIME_WAIT", "CLOSE_WAIT",
         "ESTAB", tcp_state_label(v->sort_state));
    for (size_t i = 0, shown = 0; i < a->nports && (int)shown < room; i++) {
        const struct agg_port *p = &a->ports[i];
        if (v->port && p->port != v->port) continue;
        line(sc, "%-8u %10u %10u %10u", p->port, p->n[TS_TIME_WAIT], p->n[TS_CLOSE_WAIT],
             p->n[TS_ESTABLISHED]);
        shown++;
    }
}

static void draw_dests(struct screen *sc, struct agg *a, const struct snapshot *s,
                       const struct top_view *v, int room)
{
    agg_sort_dests(a, v->sort_state);
    uint32_t eph = snapshot_ephemeral_size(s);
    line(sc, "%-28s %10s %10s %12s   (client side)", "DESTINATION", "TIME_WAIT", "ESTAB",
         "EPHEMERAL");
    char name[64];
    for (size_t i = 0, shown = 0; i < a->ndests && (int)shown < room; i++) {
        const struct agg_dest *d = &a->dests[i];
        if (v->port && d->port != v->port) continue;
        double pct = eph ? 100.0 * d->ephemeral_used / eph : 0;
        line(sc, "%-28s %10u %10u %6u %4.1f%%", agg_dest_name(d, name), d->n[TS_TIME_WAIT],
             d->n[TS_ESTABLISHED], d->ephemeral_used, pct);
        shown++;
    }
}

static void draw_procs(struct screen *sc, struct agg *a, int room)
{
    agg_sort_procs(a);
    line(sc, "%-8s %-16s %10s", "PID", "COMMAND", "CLOSE_WAIT");
    for (size_t i = 0; i < a->nprocs && (int)i < room; i++)
        line(sc, "%-8d %-16s %10u", (int)a->procs[i].pid, a->procs[i].comm, a->procs[i].close_wait);
    if (a->close_wait_unowned) line(sc, "%-8s %-16s %10u", "-", "(no owner)", a->close_wait_unowned);
}

static void draw_listens(struct screen *sc, const struct agg *a, const struct top_view *v, int room)
{
    line(sc, "%-28s %8s %8s", "LISTEN", "QUEUE", "BACKLOG");
    char name[64];
    for (size_t i = 0, shown = 0; i < a->nlistens && (int)shown < room; i++) {
        const struct agg_listen *l = &a->listens[i];
        if (v->port && l->port != v->port) continue;
        line(sc, "%-28s %8u %8u", agg_listen_name(l, name), l->queue, l->backlog);
        shown++;
    }
}

void top_draw(FILE *out, struct agg *a, const uint32_t *prev, const struct snapshot *s,
              const struct top_view *v)
{
    struct screen sc = {out, v->rows > 0 ? v->rows - 1 : 24, v->cols, 0};
    fputs("\033[H", out);
    char when[16];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
    char port[16] = "all";
    if (v->port) snprintf(port, sizeof port, "%u", v->port);
    line(&sc, "closer top %s  netns %s  sort %s  port %s   keys: t/c/e sort  p port  a all  q quit",
         when, v->netns ? v->netns : "(current)", tcp_state_label(v->sort_state), port);
    if (v->prompt) line(&sc, "port> %s", v->prompt);
    else line(&sc, "%s", "");
    draw_states(&sc, a, prev, v->interval_s);
    /* What is left is shared by the four tables, each with its header. */
    int room = (sc.rows - sc.used) / 4 - 2;
    if (room < 1) room = 1;
    line(&sc, "%s", "");
    draw_ports(&sc, a, v, room);
    line(&sc, "%s", "");
    draw_dests(&sc, a, s, v, room);
    line(&sc, "%s", "");
    draw_procs(&sc, a, room);
    line(&sc, "%s", "");
    draw_listens(&sc, a, v, room);
    fputs("\033[J", out); /* clear whatever an earlier, longer frame left */
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

/* top --batch --json: one closer.top/1 object per interval. Per-second
 * changes are null on the first line (nothing to compare with). */
void top_batch_json(FILE *out, const struct agg *a, const uint32_t *prev, double dt, double now,
                    const char *netns)
{
    uint64_t acceptq = 0;
    for (size_t i = 0; i < a->nlistens; i++) acceptq += a->listens[i].queue;
    struct json j;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", TOP_JSON_SCHEMA);
    json_double(&j, "taken_at", now);
    json_double(&j, "interval_s", dt);
    json_str(&j, "netns", netns);
    json_obj_begin(&j, "states");
    for (int st = 1; st < TS_MAX; st++)
        if (st != TS_NEW_SYN_RECV)
            json_uint(&j, tcp_state_name(st), a->states[st]);
    json_obj_end(&j);
    json_uint(&j, "accept_queue", acceptq);
    if (prev) {
        json_double(&j, "time_wait_change_per_s", rate(prev, a, TS_TIME_WAIT, dt));
        json_double(&j, "close_wait_change_per_s", rate(prev, a, TS_CLOSE_WAIT, dt));
    } else {
        json_null(&j, "time_wait_change_per_s");
        json_null(&j, "close_wait_change_per_s");
    }
    json_obj_end(&j);
    json_finish(&j);
    fflush(out);
}
