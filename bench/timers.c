/* SPDX-License-Identifier: MIT */
/* Timer benchmark driver (bench/timers.sh). Three timer stores behind one
 * interface, the same timers and deadlines for each:
 *   wheel    closer's hierarchical wheel (src/loop/wheel.c)
 *   farlist  the wheel it replaced (bench/timers_farlist.h): the anchor
 *   heap     a binary min-heap (libuv's and Go's choice): a second anchor
 * Timers sit in one array but are armed in a random order, so a slot's
 * list jumps around memory as connections' timers do.
 *
 *   timers sim N RUNS   virtual clock, two scenarios per store:
 *     steady  deadlines spread over 0-75 s (connections that went idle at
 *             different times), run until all fired
 *     burst   all deadlines 60-75 s (armed together), run until all fired;
 *             "idle" is the minute before the first deadline
 *     Every loop iteration is a wake-up: sleep as next_timeout says, then
 *     pop everything due; its work is timed with the thread's CPU clock
 *     (other processes on the machine do not count).
 *   timers real N SECONDS  the real loop (loop_timer_arm, epoll): N timers
 *     60-75 s out, SECONDS of wall time idle; prints the CPU used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "loop/loop.h"
#include "loop/wheel.h"
#include "timers_farlist.h"

static uint64_t thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* ---- binary heap anchor ---- */
static struct timer **heap;
static size_t heap_n;
static uint32_t *heap_pos; /* per timer index: position + 1, 0 = not armed */
static struct timer *base;

static void heap_set(size_t i, struct timer *t)
{
    heap[i] = t;
    heap_pos[t - base] = (uint32_t)i + 1;
}
static void heap_up(size_t i)
{
    struct timer *t = heap[i];
    while (i > 0 && heap[(i - 1) / 2]->expires_ms > t->expires_ms) {
        heap_set(i, heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(i, t);
}
static void heap_down(size_t i)
{
    struct timer *t = heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap_n)
            break;
        if (c + 1 < heap_n && heap[c + 1]->expires_ms < heap[c]->expires_ms)
            c++;
        if (heap[c]->expires_ms >= t->expires_ms)
            break;
        heap_set(i, heap[c]);
        i = c;
    }
    heap_set(i, t);
}
static void heap_remove(struct timer *t)
{
    uint32_t p = heap_pos[t - base];
    if (!p)
        return;
    size_t i = p - 1;
    heap_pos[t - base] = 0;
    struct timer *last = heap[--heap_n];
    if (i < heap_n) {
        heap_set(i, last);
        heap_up(i);
        heap_down(heap_pos[last - base] - 1);
    }
}
static void heap_insert(struct timer *t)
{
    heap_remove(t);
    heap_set(heap_n++, t);
    heap_up(heap_n - 1);
}

/* ---- one interface over the three ---- */
enum store { WHEEL, FARLIST, HEAP, NSTORES };
static const char *store_name[] = {"wheel (closer)", "far list (old)", "binary heap"};
static struct wheel *wh;
static struct farlist *fl;

static void s_init(enum store s, uint64_t now, size_t n)
{
    if (s == WHEEL)
        wheel_init(wh, now);
    else if (s == FARLIST)
        farlist_init(fl, now);
    else {
        heap_n = 0;
        memset(heap_pos, 0, n * sizeof *heap_pos);
    }
}
static void s_arm(enum store s, struct timer *t, uint64_t at)
{
    if (s == WHEEL) {
        wheel_remove(wh, t);
        t->expires_ms = at;
        wheel_insert(wh, t);
    } else if (s == FARLIST) {
        farlist_remove(fl, t);
        t->expires_ms = at;
        farlist_insert(fl, t);
    } else {
        heap_remove(t);
        t->expires_ms = at;
        heap_insert(t);
    }
}
static struct timer *s_pop(enum store s, uint64_t now)
{
    if (s == WHEEL)
        return wheel_pop_expired(wh, now);
    if (s == FARLIST)
        return farlist_pop_expired(fl, now);
    if (!heap_n || heap[0]->expires_ms > now)
        return NULL;
    struct timer *t = heap[0];
    heap_remove(t);
    return t;
}
static int s_timeout(enum store s, uint64_t now)
{
    if (s == WHEEL)
        return wheel_next_timeout(wh, now);
    if (s == FARLIST)
        return farlist_next_timeout(fl, now);
    if (!heap_n)
        return WHEEL_MAX_SLEEP_MS;
    uint64_t at = heap[0]->expires_ms;
    return at <= now ? 0 : at - now > WHEEL_MAX_SLEEP_MS ? WHEEL_MAX_SLEEP_MS : (int)(at - now);
}

struct result {
    double arm_ns, rearm_ns;  /* per operation */
    double worst_us, p99_us;  /* per wake-up */
    double idle_cpu_pct;      /* burst: CPU in the minute before the first deadline */
    double ns_per_fired;      /* all wake-ups' CPU / timers fired */
    uint64_t wakeups;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One scenario on one store: arm all (in the order given), re-arm all once
 * to the same deadlines (the cost of activity on every connection), then
 * wake up as the store says until everything fired. */
static struct result run(enum store s, struct timer *ts, const uint32_t *order,
                         const uint64_t *at, size_t n, uint64_t idle_until)
{
    struct result r = {0};
    uint64_t now = 1000000000ull;
    s_init(s, now, n);
    for (size_t i = 0; i < n; i++)
        timer_init(&ts[i], NULL);
    uint64_t t0 = thread_ns();
    for (size_t i = 0; i < n; i++)
        s_arm(s, &ts[order[i]], now + at[order[i]]);
    r.arm_ns = (double)(thread_ns() - t0) / (double)n;
    t0 = thread_ns();
    for (size_t i = 0; i < n; i++)
        s_arm(s, &ts[order[i]], now + at[order[i]]);
    r.rearm_ns = (double)(thread_ns() - t0) / (double)n;
    size_t cap = 1 << 20, nw = 0, fired = 0;
    uint64_t *tick_ns = malloc(cap * sizeof *tick_ns), total = 0, idle = 0;
    uint64_t start = now;
    while (fired < n) {
        now += (uint64_t)s_timeout(s, now);
        uint64_t w0 = thread_ns();
        while (s_pop(s, now))
            fired++;
        uint64_t d = thread_ns() - w0;
        total += d;
        if (now < start + idle_until)
            idle += d;
        if (nw < cap)
            tick_ns[nw++] = d;
        if (d > r.worst_us * 1000)
            r.worst_us = (double)d / 1000;
    }
    qsort(tick_ns, nw, sizeof *tick_ns, cmp_u64);
    r.p99_us = nw ? (double)tick_ns[nw * 99 / 100] / 1000 : 0;
    r.wakeups = nw;
    r.idle_cpu_pct = idle_until ? (double)idle / 1e6 / (double)idle_until * 100 : 0;
    r.ns_per_fired = (double)total / (double)n;
    free(tick_ns);
    return r;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int sim(size_t n, int runs)
{
    struct timer *ts = calloc(n, sizeof *ts);
    uint32_t *order = malloc(n * sizeof *order);
    uint64_t *at = malloc(n * sizeof *at);
    wh = calloc(1, sizeof *wh);
    fl = calloc(1, sizeof *fl);
    heap = malloc(n * sizeof *heap);
    heap_pos = calloc(n, sizeof *heap_pos);
    base = ts;
    if (!ts || !order || !at || !wh || !fl || !heap || !heap_pos)
        return 1;
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) { /* random arm order */
        size_t j = next_rand() % (i + 1);
        uint32_t x = order[i];
        order[i] = order[j], order[j] = x;
    }
    static const char *scen[] = {"steady", "burst"};
    for (int sc = 0; sc < 2; sc++) {
        for (size_t i = 0; i < n; i++)
            at[i] = sc == 0 ? next_rand() % 75000 : 60000 + next_rand() % 15000;
        uint64_t idle_until = sc == 0 ? 0 : 60000;
        double f[NSTORES][7][16];
        struct result last[NSTORES];
        for (int k = 0; k < runs && k < 16; k++)
            for (int s = 0; s < NSTORES; s++) { /* interleaved: drift hits all */
                struct result r = run((enum store)s, ts, order, at, n, idle_until);
                double v[7] = {r.arm_ns, r.rearm_ns, r.worst_us, r.p99_us, r.idle_cpu_pct,
                               r.ns_per_fired, (double)r.wakeups};
                for (int m = 0; m < 7; m++)
                    f[s][m][k] = v[m];
                last[s] = r;
            }
        (void)last;
        printf("%s", sc == 0 ? "" : "\n");
        printf("-- %s: %zu timers due in %s, median of %d runs\n", scen[sc], n,
               sc == 0 ? "0-75 s" : "60-75 s (idle minute first)", runs);
        printf("%-16s %9s %9s %12s %10s %10s %12s %8s\n", "store", "arm ns", "rearm ns",
               "worst tick", "p99 tick", "idle CPU", "ns/fired", "wakeups");
        double med[NSTORES][7];
        for (int s = 0; s < NSTORES; s++) {
            for (int m = 0; m < 7; m++)
                med[s][m] = median(f[s][m], runs < 16 ? runs : 16);
            printf("%-16s %9.0f %9.0f %9.3f ms %7.1f us %9.3f%% %12.0f %8.0f\n", store_name[s],
                   med[s][0], med[s][1], med[s][2] / 1000, med[s][3], med[s][4], med[s][5],
                   med[s][6]);
        }
        printf("ratios (wheel / anchor): worst tick %.4fx far list, %.2fx heap; ns per fired "
               "%.2fx far list, %.2fx heap; arm %.2fx heap\n",
               med[WHEEL][2] / med[FARLIST][2], med[WHEEL][2] / med[HEAP][2],
               med[WHEEL][5] / med[FARLIST][5], med[WHEEL][5] / med[HEAP][5],
               med[WHEEL][0] / med[HEAP][0]);
        printf("summary: timers %s %zu: worst tick %.3f ms (goal <= 1 ms) = %.4fx the old far "
               "list (%.1f ms), %.2fx a binary heap%s\n", scen[sc], n, med[WHEEL][2] / 1000,
               med[WHEEL][2] / med[FARLIST][2], med[FARLIST][2] / 1000,
               med[WHEEL][2] / med[HEAP][2], "");
        if (sc == 1)
            printf("summary: timers burst %zu: CPU in the idle minute %.3f%% of a core "
                   "(far list %.3f%%, heap %.3f%%)\n", n, med[WHEEL][4], med[FARLIST][4],
                   med[HEAP][4]);
    }
    return 0;
}

/* ---- real time: the loop itself, idle ---- */
static void stop_cb(struct loop *l, struct timer *t)
{
    (void)t;
    loop_stop(l);
}
static void never_cb(struct loop *l, struct timer *t) { (void)l, (void)t; }

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static int real(size_t n, int secs)
{
    struct loop *l = loop_new();
    struct timer *ts = calloc(n, sizeof *ts), stop;
    if (!l || !ts)
        return 1;
    for (size_t i = 0; i < n; i++) {
        timer_init(&ts[i], never_cb);
        loop_timer_arm(l, &ts[i], 60000 + next_rand() % 15000);
    }
    timer_init(&stop, stop_cb);
    loop_timer_arm(l, &stop, (uint64_t)secs * 1000);
    double c0 = cpu_s();
    uint64_t w0 = loop_clock_ns();
    loop_run(l);
    double cpu = cpu_s() - c0, wall = (double)(loop_clock_ns() - w0) / 1e9;
    printf("-- real loop: %zu timers 60-75 s out, %.1f s idle: %.4f s CPU = %.3f%% of a core\n",
           n, wall, cpu, cpu / wall * 100);
    printf("summary: timers real %zu: idle loop CPU %.3f%% of a core over %.1f s\n", n,
           cpu / wall * 100, wall);
    loop_free(l);
    free(ts);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "sim"))
        return sim(strtoull(argv[2], NULL, 10), atoi(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "real"))
        return real(strtoull(argv[2], NULL, 10), atoi(argv[3]));
    fprintf(stderr, "usage: timers sim N RUNS | timers real N SECONDS\n");
    return 2;
}
