/* closer top: a live view of the host's TCP connections, refreshed every
 * interval; one line per interval (like vmstat) without a terminal. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "export/top_view.h"
#include "kernel/netns.h"
#include "snapshot/snapshot.h"
#include "trace/session.h"
#include "util/cli.h"
#include "util/parse.h"

static volatile sig_atomic_t resized, stopping;
static void on_winch(int sig) { (void)sig; resized = 1; }
static void on_stop(int sig) { (void)sig; stopping = 1; }

struct top_run {
    struct snapshot_opts so;
    struct top_view view;
    uint64_t interval_ms;
    uint64_t iterations; /* 0 = until stopped */
    char typed[8];
    size_t ntyped;
    int typing;
    struct trace_session *trace; /* --trace: closes/s by side, measured */
    uint64_t closes[5], shown[5];  /* by enum trace_first; shown: at the last line */
    char trace_line[160];          /* the screen's rates, once per snapshot */
};

static void on_trace_close(void *ctx, const struct trace_rec *rec)
{
    struct top_run *r = ctx;
    r->closes[rec->first < 5 ? rec->first : FIRST_ABORT]++;
}

/* Sleeps up to ms (or until stdin is readable when fd >= 0), reading the
 * trace rings as they fill. Returns poll's answer for stdin. */
static int wait_tracing(struct top_run *r, int fd, uint64_t ms)
{
    if (!r->trace) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        return fd >= 0 ? poll(&pfd, 1, (int)ms) : (usleep((useconds_t)(ms * 1000)), 0);
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
static void trace_rates(struct top_run *r, char *buf, size_t len, double interval_s)
{
    double d[5];
    for (int i = 0; i < 5; i++) {
        d[i] = interval_s > 0 ? (double)(r->closes[i] - r->shown[i]) / interval_s : 0;
        r->shown[i] = r->closes[i];
    }
    snprintf(buf, len, "closes/s (traced)  local %.1f  peer %.1f  reset %.1f  abort %.1f%s", d[FIRST_LOCAL],
             d[FIRST_PEER], d[FIRST_RESET], d[FIRST_ABORT], r->trace->perf.lost ? "  (events lost)" : "");
}

static void usage(void)
{
    printf("usage: closer top [options]\n\n"
           "A live view of TCP connections: state counts with per-second deltas,\n"
           "top listening ports by TIME_WAIT / CLOSE_WAIT, top destinations by\n"
           "TIME_WAIT against the ephemeral range, top processes by CLOSE_WAIT,\n"
           "listen queues. Keys: t, c, e sort by TIME_WAIT, CLOSE_WAIT, ESTAB;\n"
           "p then digits and Enter filter by port; a all ports; q quit.\n"
           "Without a terminal (or with --batch) prints one line per interval.\n\n"
           "  -b, --batch            one line per interval, no screen control\n"
           "  -n, --iterations N     stop after N intervals (default: until stopped)\n"
           "  -d, --delay DURATION   interval (default 1s)\n"
           "  -p, --port PORT        only this port in the tables\n"
           "  -N, --netns NAME       watch namespace NAME (/run/netns/NAME)\n"
           "      --no-owners        do not walk /proc (no CLOSE_WAIT by process)\n"
           "      --trace            also closes/s by side (local, peer, reset) measured with\n"
           "                         closer trace's tracepoints (root or CAP_PERFMON)\n"
           "  -h, --help             this text\n\n"
           "exit status: 0 ok, 2 usage or runtime error\n");
}

static int take(struct top_run *r, struct snapshot *s, struct agg *a)
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

static int run_batch(struct top_run *r)
{
    uint32_t prev[TS_MAX];
    int have_prev = 0;
    top_batch_header(stdout);
    for (uint64_t i = 0; !stopping && (!r->iterations || i < r->iterations); i++) {
        if (i)
            wait_tracing(r, -1, r->interval_ms);
        struct snapshot s;
        struct agg a;
        if (take(r, &s, &a)) return EXIT_USAGE;
        top_batch_line(stdout, &a, have_prev ? prev : NULL, r->interval_ms / 1e3, s.taken_at);
        if (r->trace) {
            char line[160];
            trace_rates(r, line, sizeof line, i ? r->interval_ms / 1e3 : 0);
            printf("  %s\n", line);
        }
        memcpy(prev, a.states, sizeof prev);
        have_prev = 1;
        agg_free(&a);
        snapshot_free(&s);
        if (ferror(stdout)) return EXIT_USAGE;
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
static int on_key(struct top_run *r, char k)
{
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
    switch (k) {
    case 'q': case 'Q': return 1;
    case 't': r->view.sort_state = TS_TIME_WAIT; break;
    case 'c': r->view.sort_state = TS_CLOSE_WAIT; break;
    case 'e': r->view.sort_state = TS_ESTABLISHED; break;
    case 'a': r->view.port = 0; break;
    case 'p': r->typing = 1; r->ntyped = 0; r->typed[0] = 0; break;
    }
    return 0;
}

static int run_screen(struct top_run *r)
{
    struct termios saved, raw;
    tcgetattr(STDIN_FILENO, &saved);
    raw = saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    struct sigaction sa = {.sa_handler = on_winch};
    sigaction(SIGWINCH, &sa, NULL);
    fputs("\033[?1049h\033[?25l\033[2J", stdout);
    uint32_t prev[TS_MAX];
    int have_prev = 0, rc = 0, quit = 0;
    struct snapshot s;
    struct agg a;
    while (!quit && !stopping) {
        if (take(r, &s, &a)) {
            rc = EXIT_USAGE;
            break;
        }
        uint64_t due = (uint64_t)(s.taken_at * 1000) + r->interval_ms;
        if (r->trace)
            trace_rates(r, r->trace_line, sizeof r->trace_line, have_prev ? r->interval_ms / 1e3 : 0);
        for (;;) { /* redraw on keys and resizes until the next snapshot is due */
            term_size(&r->view);
            r->view.prompt = r->typing ? r->typed : NULL;
            top_draw(stdout, &a, have_prev ? prev : NULL, &s, &r->view);
            if (r->trace) {
                printf("\033[%d;1H\033[2K%s", r->view.rows, r->trace_line);
                fflush(stdout);
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
            if (now >= due || quit || stopping) break;
            int n = wait_tracing(r, STDIN_FILENO, due - now);
            if (n < 0 && errno != EINTR) break;
            char k;
            while (n > 0 && read(STDIN_FILENO, &k, 1) == 1 && !quit) quit = on_key(r, k);
            if (n == 0) break;
        }
        memcpy(prev, a.states, sizeof prev);
        have_prev = 1;
        agg_free(&a);
        snapshot_free(&s);
    }
    fputs("\033[?25h\033[?1049l", stdout);
    fflush(stdout);
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return rc;
}

int cmd_top(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"batch", no_argument, 0, 'b'}, {"iterations", required_argument, 0, 'n'},
        {"delay", required_argument, 0, 'd'}, {"port", required_argument, 0, 'p'},
        {"netns", required_argument, 0, 'N'}, {"no-owners", no_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'}, {"trace", no_argument, 0, 'T'}, {0, 0, 0, 0}};
    struct top_run r = {.so = {.owners = true}, .interval_ms = 1000,
                        .view = {.sort_state = TS_TIME_WAIT}};
    int batch = 0, c, want_trace = 0;
    const char *netns = NULL;
    cli_begin();
    while ((c = getopt_long(argc, argv, ":bn:d:p:N:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': batch = 1; break;
        case 'n':
            if (parse_u64(optarg, 1, UINT32_MAX, &r.iterations) < 0)
                return cli_bad_value("top", "--iterations", optarg, "a count >= 1");
            break;
        case 'd':
            if (parse_duration_ms(optarg, &r.interval_ms) < 0 || r.interval_ms < 100)
                return cli_bad_value("top", "--delay", optarg, "a duration >= 100ms, e.g. 1s");
            break;
        case 'p':
            if (parse_port(optarg, &r.view.port) < 0)
                return cli_bad_value("top", "--port", optarg, "a port 1-65535");
            break;
        case 'N': netns = optarg; break;
        case 'o': r.so.owners = false; break;
        case 'T': want_trace = 1; break;
        case 'h': usage(); return 0;
        default: return cli_bad_option("top", c, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "closer top: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    char err[256];
    if (netns && netns_enter(netns, err, sizeof err)) {
        fprintf(stderr, "closer top: %s\n", err);
        return EXIT_USAGE;
    }
    r.view.interval_s = r.interval_ms / 1e3;
    r.view.netns = netns;
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct trace_session ts;
    if (want_trace) {
        struct trace_opts to = {.no_summary = true}; /* this (entered) namespace */
        if (trace_open(&ts, &to, on_trace_close, &r, err, sizeof err) < 0) {
            fprintf(stderr, "closer top: --trace: %s\n", err);
            trace_close(&ts);
            return EXIT_USAGE;
        }
        r.trace = &ts;
    }
    int rc = batch || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO) ? run_batch(&r) : run_screen(&r);
    if (r.trace)
        trace_close(r.trace);
    return rc;
}
