/* SPDX-License-Identifier: MIT */
/* closer top's run (export/top_run.h): snapshots every interval drawn on the
 * terminal (raw keys, redrawn on keys and resizes), or one line / JSON
 * object per interval without one. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "export/top_netns.h"
#include "export/top_run.h"
#include "kernel/netns.h"
#include "snapshot/multi.h"
#include "trace/session.h"
#include "util/cli.h"
#include "util/parse.h"

static volatile sig_atomic_t resized, stopping;
static void on_winch(int sig) { (void)sig; resized = 1; }
static void on_stop(int sig) { (void)sig; stopping = 1; }

struct top_state {
    struct snapshot_opts so;
    struct top_view view;
    uint64_t interval_ms;
    uint64_t iterations; /* 0 = until stopped */
    char typed[64];
    size_t ntyped;
    int typing;          /* 1: a port, 2: a namespace filter */
    bool all_netns;
    bool json;           /* --batch --json: one closer.top/1 object per interval */
    char filter[64];     /* --all-netns: namespaces whose label contains this */
    struct trace_session *trace; /* --trace: closes/s by side, measured */
    uint64_t closes[5], shown[5];  /* by enum trace_first; shown: at the last line */
    char trace_line[160];          /* the screen's rates, once per snapshot */
};

static void on_trace_close(void *ctx, const struct trace_rec *rec)
{
    struct top_state *r = ctx;
    r->closes[rec->first < 5 ? rec->first : FIRST_ABORT]++;
}

/* Sleeps up to ms (or until stdin is readable when fd >= 0), reading the
 * trace rings as they fill. Returns poll's answer for stdin. */
static int wait_tracing(struct top_state *r, int fd, uint64_t ms)
{
    if (!r->trace) {
        /* usleep's 32-bit microseconds and poll's int milliseconds wrap:
         * --delay 4294968ms slept 0.7 ms. */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (fd >= 0)
            return poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms);
        struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL); /* a signal ends it early, as before */
        return 0;
    }
    uint64_t end = trace_now_ns() + ms * 1000000ull;
    for (uint64_t now; (now = trace_now_ns()) < end;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t left = (end - now) / 1000000 + 1;
        int n = fd >= 0 ? poll(&pfd, 1, 0) : 0;
        if (n != 0)
            return n;
        trace_step(r->trace, (int)(left < 100 ? left : 100));
    }
    trace_step(r->trace, 0);
    return 0;
}

/* "closes/s  local 12.0  peer 3.0  reset 0.0" since the last call. */
static void trace_rates(struct top_state *r, char *buf, size_t len, double interval_s)
{
    double d[5];
    for (int i = 0; i < 5; i++) {
        d[i] = interval_s > 0 ? (double)(r->closes[i] - r->shown[i]) / interval_s : 0;
        r->shown[i] = r->closes[i];
    }
    snprintf(buf, len, "closes/s (traced)  local %.1f  peer %.1f  reset %.1f  abort %.1f%s", d[FIRST_LOCAL],
             d[FIRST_PEER], d[FIRST_RESET], d[FIRST_ABORT], trace_lost(r->trace) ? "  (events lost)" : "");
}

/* One interval's data: one namespace, or every one (--all-netns) with the
 * states of the one before kept per inode for the deltas. */
struct ns_prev {
    uint64_t inode;
    uint32_t states[TS_MAX];
};

struct frame {
    struct snapshot s;
    struct agg a;
    struct multi_snapshot m;
    struct top_ns_row *rows;
    size_t n;
};

static int take(struct top_state *r, struct snapshot *s, struct agg *a)
{
    char err[256];
    if (snapshot_take(s, &r->so, err, sizeof err)) {
        fprintf(stderr, "closer top: %s\n", err);
        return -1;
    }
    if (agg_build(a, s)) {
        snapshot_free(s);
        fprintf(stderr, "closer top: out of memory\n");
        return -1;
    }
    return 0;
}

static void frame_free(struct top_state *r, struct frame *f)
{
    if (!r->all_netns) {
        agg_free(&f->a);
        snapshot_free(&f->s);
        return;
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->rows[i].ok)
            agg_free(&f->rows[i].a);
    free(f->rows);
    multi_snapshot_free(&f->m);
}

static const uint32_t *prev_of(const struct ns_prev *p, size_t np, uint64_t inode)
{
    for (size_t i = 0; i < np; i++)
        if (p[i].inode == inode)
            return p[i].states;
    return NULL;
}

static int take_all(struct top_state *r, struct frame *f, const struct ns_prev *prev, size_t np)
{
    char err[256];
    if (multi_snapshot_take(&f->m, &r->so, err, sizeof err)) {
        fprintf(stderr, "closer top: %s\n", err);
        return -1;
    }
    f->n = f->m.list.n;
    f->rows = calloc(f->n ? f->n : 1, sizeof *f->rows);
    for (size_t i = 0; f->rows && i < f->n; i++) {
        struct top_ns_row *row = &f->rows[i];
        const struct ns_snapshot *ns = &f->m.items[i];
        row->ns = ns->ns;
        netns_entry_who(ns->ns, row->who, sizeof row->who);
        row->error = ns->error;
        row->s = &ns->snap;
        row->prev = prev_of(prev, np, ns->ns->inode);
        if (ns->ok && agg_build(&row->a, &ns->snap)) {
            f->n = i;
            frame_free(r, f);
            f->rows = NULL;
            break;
        }
        row->ok = ns->ok;
    }
    if (!f->rows) {
        fprintf(stderr, "closer top: out of memory\n");
        return -1;
    }
    return 0;
}

/* Remembers this frame's states per namespace for the next deltas. */
static void keep_prev(const struct frame *f, struct ns_prev **prev, size_t *np)
{
    struct ns_prev *p = realloc(*prev, (f->n ? f->n : 1) * sizeof *p);
    if (!p)
        return;
    *prev = p;
    *np = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->rows[i].ok) {
            p[*np].inode = f->rows[i].ns->inode;
            memcpy(p[*np].states, f->rows[i].a.states, sizeof p->states);
            (*np)++;
        }
}

/* With --trace, batch text adds the closes/s line (JSON leaves it out). */
static void batch_trace_line(struct top_state *r, uint64_t i)
{
    if (!r->trace || r->json)
        return;
    char line[160];
    trace_rates(r, line, sizeof line, i ? r->interval_ms / 1e3 : 0);
    printf("  %s\n", line);
}

static int run_batch_all(struct top_state *r)
{
    struct ns_prev *prev = NULL;
    size_t np = 0;
    int rc = 0;
    if (!r->json)
        top_ns_batch_header(stdout);
    for (uint64_t i = 0; !stopping && (!r->iterations || i < r->iterations); i++) {
        if (i)
            wait_tracing(r, -1, r->interval_ms);
        struct frame f;
        if (take_all(r, &f, prev, np)) {
            rc = -1;
            break;
        }
        double now = (double)time(NULL);
        if (r->json)
            top_ns_batch_json(stdout, f.rows, f.n, r->filter, r->interval_ms / 1e3, now);
        for (size_t k = 0; k < f.n && !r->json; k++)
            if (top_ns_match(&f.rows[k], r->filter))
                top_ns_batch_line(stdout, &f.rows[k], r->interval_ms / 1e3, now);
        batch_trace_line(r, i);
        fflush(stdout);
        keep_prev(&f, &prev, &np);
        frame_free(r, &f);
        if (ferror(stdout)) { /* the reader left (0) or a write error (2) */
            rc = cli_stdout_gone() ? 0 : -1;
            break;
        }
    }
    free(prev);
    return rc;
}

static int run_batch(struct top_state *r)
{
    if (r->all_netns)
        return run_batch_all(r);
    uint32_t prev[TS_MAX];
    int have_prev = 0;
    if (!r->json)
        top_batch_header(stdout);
    for (uint64_t i = 0; !stopping && (!r->iterations || i < r->iterations); i++) {
        if (i)
            wait_tracing(r, -1, r->interval_ms);
        struct snapshot s;
        struct agg a;
        if (take(r, &s, &a)) return -1;
        if (r->json)
            top_batch_json(stdout, &a, have_prev ? prev : NULL, r->interval_ms / 1e3, s.taken_at,
                           r->view.netns);
        else
            top_batch_line(stdout, &a, have_prev ? prev : NULL, r->interval_ms / 1e3, s.taken_at);
        batch_trace_line(r, i);
        memcpy(prev, a.states, sizeof prev);
        have_prev = 1;
        agg_free(&a);
        snapshot_free(&s);
        if (ferror(stdout)) return cli_stdout_gone() ? 0 : -1; /* reader left: 0 */
    }
    return 0;
}

static void term_size(struct top_view *v)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
        v->rows = ws.ws_row;
        v->cols = ws.ws_col;
    } else {
        v->rows = 24;
        v->cols = 80;
    }
}

/* Returns 1 to quit. */
static int on_key(struct top_state *r, char k)
{
    if (r->typing == 2) {
        if (k > ' ' && k < 127 && r->ntyped < sizeof r->filter - 1) r->typed[r->ntyped++] = k;
        else if ((k == 127 || k == 8) && r->ntyped) r->ntyped--;
        else if (k == '\r' || k == '\n' || k == 27) {
            r->typed[r->ntyped] = 0;
            if (k != 27) memcpy(r->filter, r->typed, sizeof r->filter);
            r->typing = 0;
        }
        r->typed[r->ntyped] = 0;
        return 0;
    }
    if (r->typing) {
        if (k >= '0' && k <= '9' && r->ntyped < 5) r->typed[r->ntyped++] = k;
        else if ((k == 127 || k == 8) && r->ntyped) r->ntyped--;
        else if (k == '\r' || k == '\n' || k == 27) {
            uint16_t port;
            r->typed[r->ntyped] = 0;
            if (k != 27) r->view.port = parse_port(r->typed, &port) == 0 ? port : 0;
            r->typing = 0;
        }
        r->typed[r->ntyped] = 0;
        return 0;
    }
    if (r->view.help && k != 'q' && k != 'Q') { /* any key closes the help */
        r->view.help = false;
        return 0;
    }
    switch (k) {
    case 'q': case 'Q': return 1;
    case '?': case 'h': r->view.help = true; break;
    case 't': r->view.sort_state = TS_TIME_WAIT; break;
    case 'c': r->view.sort_state = TS_CLOSE_WAIT; break;
    case 'e': r->view.sort_state = TS_ESTABLISHED; break;
    case 'a': r->view.port = 0; r->filter[0] = 0; break;
    case 'n':
        if (r->all_netns) { r->typing = 2; r->ntyped = 0; r->typed[0] = 0; }
        break;
    case 'p': r->typing = 1; r->ntyped = 0; r->typed[0] = 0; break;
    }
    return 0;
}

/* Every namespace as rows; a filter that leaves one readable namespace
 * shows that namespace's own tables. */
static void draw_all(struct top_state *r, struct frame *f)
{
    struct top_ns_row *one = NULL;
    size_t matches = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->rows[i].ok && r->filter[0] && top_ns_match(&f->rows[i], r->filter)) {
            one = &f->rows[i];
            matches++;
        }
    if (matches == 1) {
        char label[200];
        netns_entry_label(one->ns, label, sizeof label);
        struct top_view v = r->view;
        v.netns = label;
        top_draw(stdout, &one->a, one->prev, one->s, &v);
        return;
    }
    top_ns_draw(stdout, f->rows, f->n, &r->view, r->filter);
}

/* Raw keys without echo; SIGWINCH noted. */
static void term_raw(struct termios *saved)
{
    struct termios raw;
    tcgetattr(STDIN_FILENO, saved);
    raw = *saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    struct sigaction sa = {.sa_handler = on_winch};
    sigaction(SIGWINCH, &sa, NULL);
}

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One snapshot on screen: redrawn on keys and resizes until the next one
 * is due. Returns 1 when a key asked to quit. */
static int show_frame(struct top_state *r, struct frame *f, const uint32_t *prev, bool last)
{
    uint64_t due = realtime_ms() + r->interval_ms;
    int quit = 0;
    if (r->trace)
        trace_rates(r, r->trace_line, sizeof r->trace_line, prev ? r->interval_ms / 1e3 : 0);
    for (;;) {
        term_size(&r->view);
        r->view.prompt = r->typing ? r->typed : NULL;
        if (r->all_netns)
            draw_all(r, f);
        else
            top_draw(stdout, &f->a, prev, &f->s, &r->view);
        if (r->trace) {
            printf("\033[%d;1H\033[2K%s", r->view.rows, r->trace_line);
            fflush(stdout);
        }
        uint64_t now = realtime_ms();
        if (now >= due || quit || stopping || last) break; /* the last: no wait after it */
        int n = wait_tracing(r, STDIN_FILENO, due - now);
        if (n < 0 && errno != EINTR) break;
        char k;
        while (n > 0 && read(STDIN_FILENO, &k, 1) == 1 && !quit) quit = on_key(r, k);
        if (n == 0) break;
    }
    return quit;
}

static int run_screen(struct top_state *r)
{
    struct termios saved;
    term_raw(&saved);
    /* With -n or -d the last screen is the answer: draw on the normal
     * screen so it stays there after the exit (the alternate screen would
     * take it away). */
    bool alt = !r->iterations;
    fputs(alt ? "\033[?1049h\033[?25l\033[2J" : "\033[?25l\033[2J", stdout);
    uint32_t prev[TS_MAX];
    int have_prev = 0, rc = 0, quit = 0;
    struct ns_prev *nsprev = NULL;
    size_t np = 0;
    struct frame f;
    for (uint64_t frames = 0; !quit && !stopping && (!r->iterations || frames < r->iterations); frames++) {
        bool last = r->iterations && frames + 1 == r->iterations;
        if (r->all_netns ? take_all(r, &f, nsprev, np) : take(r, &f.s, &f.a)) {
            rc = -1;
            break;
        }
        quit = show_frame(r, &f, have_prev ? prev : NULL, last);
        if (r->all_netns)
            keep_prev(&f, &nsprev, &np);
        else
            memcpy(prev, f.a.states, sizeof prev);
        have_prev = 1;
        frame_free(r, &f);
    }
    free(nsprev);
    fputs(alt ? "\033[?25h\033[?1049l" : "\033[?25h", stdout);
    fflush(stdout);
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return rc;
}

/* no-color.org: NO_COLOR set and not empty turns colour off; --color
 * always wins over it, as in ls and grep. */
static bool want_color(const char *color)
{
    const char *no_color = getenv("NO_COLOR");
    return !strcmp(color, "always") ||
           (!strcmp(color, "auto") && !(no_color && *no_color) && isatty(STDOUT_FILENO));
}

/* The run state from the options, after the namespace is entered. */
static void run_init(struct top_state *r, const struct top_opts *o)
{
    *r = (struct top_state){.so = o->so, .view = o->view, .interval_ms = o->interval_ms,
                          .iterations = o->iterations, .all_netns = o->all_netns, .json = o->json};
    /* top reads the aggregates only: TIME_WAIT folded as the dump is read
     * (with --all-netns, in the big namespaces: snapshot/multi.h) */
    r->so.fold_above = 1;
    memcpy(r->filter, o->filter, sizeof r->filter);
    if (o->duration_ms && !r->iterations) /* -n wins when both are given */
        r->iterations = o->duration_ms / r->interval_ms ? o->duration_ms / r->interval_ms : 1;
    r->view.interval_s = r->interval_ms / 1e3;
    r->view.netns = o->netns;
    r->view.color = want_color(o->color);
}

int top_run(const struct top_opts *o, char *err, size_t errlen)
{
    if (o->netns && netns_enter(o->netns, err, errlen))
        return -1;
    struct top_state r;
    run_init(&r, o);
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    cli_stdout_stops(&stopping); /* closer top -b | head -1 ends as Ctrl-C */
    struct trace_session ts;
    if (o->trace) {
        /* this (entered) namespace, or every one with --all-netns */
        struct trace_opts to = {.no_summary = true, .all_netns = r.all_netns};
        char terr[256];
        if (trace_open(&ts, &to, on_trace_close, &r, terr, sizeof terr) < 0) {
            snprintf(err, errlen, "--trace: %s", terr);
            trace_close(&ts);
            return -1;
        }
        r.trace = &ts;
    }
    /* JSON is for programs: never the screen */
    bool batch = o->batch || r.json || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO);
    int rc = batch ? run_batch(&r) : run_screen(&r);
    if (r.trace)
        trace_close(r.trace);
    if (rc < 0)
        err[0] = 0; /* said on stderr as it happened */
    return rc;
}
