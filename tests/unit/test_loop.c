/* SPDX-License-Identifier: MIT */
/* The event loop and its timing wheel, on real fds and the real clock. */
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "loop/loop.h"
#include "loop/wheel.h"
#include "test.h"

static int fired[8], order[8], nfired;

static void on_timer(struct loop *l, struct timer *t)
{
    (void)l;
    extern struct timer timers[8];
    int i = (int)(t - timers);
    fired[i]++;
    order[nfired++] = i;
}
struct timer timers[8];

TEST(wheel_expires_in_deadline_order)
{
    struct wheel w;
    wheel_init(&w, 1000);
    nfired = 0;
    uint64_t at[] = {1005, 1001, 3000, 2025}; /* 2025: 1001 + 1024 */
    for (int i = 0; i < 4; i++) {
        timer_init(&timers[i], on_timer);
        timers[i].expires_ms = at[i];
        wheel_insert(&w, &timers[i]);
    }
    CHECK(wheel_pop_expired(&w, 1000) == NULL);
    CHECK_EQ_INT(wheel_next_timeout(&w, 1000), 1);
    CHECK(wheel_pop_expired(&w, 1001) == &timers[1]);
    CHECK(wheel_pop_expired(&w, 1001) == NULL); /* the far one in the same slot waits */
    CHECK(wheel_pop_expired(&w, 1010) == &timers[0]);
    CHECK(wheel_pop_expired(&w, 2024) == NULL);
    CHECK(wheel_pop_expired(&w, 2025) == &timers[3]);
    CHECK(wheel_pop_expired(&w, 2999) == NULL);
    CHECK(wheel_pop_expired(&w, 5000) == &timers[2]);
    CHECK(wheel_pop_expired(&w, 6000) == NULL);
}

TEST(wheel_cancel_and_rearm)
{
    struct wheel w;
    wheel_init(&w, 0);
    timer_init(&timers[0], on_timer);
    timers[0].expires_ms = 10;
    wheel_insert(&w, &timers[0]);
    CHECK(timer_armed(&timers[0]));
    wheel_remove(&w, &timers[0]);
    CHECK(!timer_armed(&timers[0]));
    wheel_remove(&w, &timers[0]); /* idempotent */
    CHECK(wheel_pop_expired(&w, 100) == NULL);
    CHECK_EQ_INT(wheel_next_timeout(&w, 100), WHEEL_MAX_SLEEP_MS);
}

/* Against a brute-force model: random arms, cancels and clock jumps (from
 * 1 ms to several revolutions); every pop is due, nothing due is left behind,
 * and the advertised timeout never sleeps past a deadline. */
TEST(wheel_matches_brute_force)
{
    enum { N = 64 };
    static struct timer ts[N];
    struct wheel w;
    uint64_t now = 5000, seed = 12345;
    wheel_init(&w, now);
    for (int i = 0; i < N; i++)
        timer_init(&ts[i], on_timer);
    int bad_pop = 0, left_behind = 0, late_timeout = 0, fired_n = 0;
    for (int step = 0; step < 20000; step++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(seed >> 33);
        struct timer *t = &ts[r % N];
        switch ((r >> 8) % 4) {
        case 0:
        case 1: {
            static const uint64_t span[] = {1, 10, 700, 1500, 5000, 60000};
            wheel_remove(&w, t);
            t->expires_ms = now + (r >> 12) % span[(r >> 10) % 6];
            wheel_insert(&w, t);
            break;
        }
        case 2: wheel_remove(&w, t); break;
        default: {
            int timeout = wheel_next_timeout(&w, now);
            uint64_t next = UINT64_MAX;
            for (int i = 0; i < N; i++)
                if (timer_armed(&ts[i]) && ts[i].expires_ms < next)
                    next = ts[i].expires_ms;
            if (next != UINT64_MAX && now + (uint64_t)timeout > (next > now ? next : now))
                late_timeout++;
            now += (r >> 12) % 3 ? (uint64_t)timeout : (r >> 14) % 5000;
            struct timer *p;
            while ((p = wheel_pop_expired(&w, now))) {
                bad_pop += p->expires_ms > now || timer_armed(p);
                fired_n++;
            }
            for (int i = 0; i < N; i++)
                left_behind += timer_armed(&ts[i]) && ts[i].expires_ms <= now;
        }
        }
    }
    CHECK_EQ_INT(bad_pop, 0);
    CHECK_EQ_INT(left_behind, 0);
    CHECK_EQ_INT(late_timeout, 0);
    CHECK(fired_n > 1000);
}

/* The same model at every horizon: many timers from 1 ms to beyond the
 * horizon, clock jumps from 1 ms to hours (a loop that slept long), so
 * every level's moves, late moves and clamping are exercised. */
TEST(wheel_matches_brute_force_at_every_horizon)
{
    enum { N = 1024 };
    static struct timer ts[N];
    static struct wheel w;
    uint64_t now = 123456789, seed = 777;
    wheel_init(&w, now);
    for (int i = 0; i < N; i++)
        timer_init(&ts[i], on_timer);
    int bad_pop = 0, left_behind = 0, late_timeout = 0, fired_n = 0, clamped = 0;
    static const uint64_t span[] = {2, 70, 5000, 300000, 20000000, 4000000000ull,
                                    1ull << 45, UINT64_MAX / 2};
    static const uint64_t jump[] = {1, 63, 4097, 262145, 40000000};
    for (int step = 0; step < 60000; step++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = seed >> 20;
        struct timer *t = &ts[r % N];
        switch ((r >> 10) % 8) {
        case 0: case 1: case 2: case 3:
            wheel_remove(&w, t);
            t->expires_ms = now + (r >> 13) % span[(r >> 40) % 8];
            if (t->expires_ms < now) /* wrapped: a deadline "in the past" */
                t->expires_ms = now - 5;
            wheel_insert(&w, t);
            clamped += t->expires_ms > now + WHEEL_HORIZON_MS;
            break;
        case 4: wheel_remove(&w, t); break;
        default: {
            int timeout = wheel_next_timeout(&w, now);
            uint64_t next = UINT64_MAX;
            for (int i = 0; i < N; i++)
                if (timer_armed(&ts[i]) && ts[i].expires_ms < next)
                    next = ts[i].expires_ms;
            if (next != UINT64_MAX && now + (uint64_t)timeout > (next > now ? next : now))
                late_timeout++;
            now += (r >> 14) % 4 ? (uint64_t)timeout : (r >> 16) % jump[(r >> 30) % 5];
            struct timer *p;
            while ((p = wheel_pop_expired(&w, now))) {
                bad_pop += p->expires_ms > now || timer_armed(p);
                fired_n++;
            }
            for (int i = 0; i < N; i++)
                left_behind += timer_armed(&ts[i]) && ts[i].expires_ms <= now;
        }
        }
    }
    CHECK_EQ_INT(bad_pop, 0);
    CHECK_EQ_INT(left_behind, 0);
    CHECK_EQ_INT(late_timeout, 0);
    CHECK_EQ_INT(clamped, 0);
    CHECK(fired_n > 5000);
}

/* Bounded work per loop iteration, counted in timers moved between levels
 * (no clock): 200k timers 60-75 s out, the loop sleeping as
 * wheel_next_timeout says. Without pacing a 4 s slot (~55k timers) moved in
 * one iteration. Each timer moves at most once per level. */
TEST(wheel_moves_are_paced)
{
    enum { N = 200000 };
    struct timer *ts = calloc(N, sizeof *ts);
    static struct wheel w;
    uint64_t now = 5000000, seed = 99;
    wheel_init(&w, now);
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        timer_init(&ts[i], on_timer);
        ts[i].expires_ms = now + 60000 + (seed >> 33) % 15000;
        wheel_insert(&w, &ts[i]);
    }
    uint64_t worst_moves = 0, worst_pops = 0, iterations = 0, popped = 0;
    while (popped < N && iterations < 10000000) {
        now += (uint64_t)wheel_next_timeout(&w, now);
        uint64_t m0 = w.moves, pops = 0;
        while (wheel_pop_expired(&w, now))
            pops++;
        popped += pops;
        iterations++;
        if (w.moves - m0 > worst_moves)
            worst_moves = w.moves - m0;
        if (pops > worst_pops)
            worst_pops = pops;
    }
    free(ts);
    printf("  paced: %llu iterations, worst %llu moves and %llu pops in one, %llu moves in all\n",
           (unsigned long long)iterations, (unsigned long long)worst_moves,
           (unsigned long long)worst_pops, (unsigned long long)w.moves);
    CHECK_EQ_INT(popped, N);
    CHECK(worst_moves <= 4 * WHEEL_PACE); /* a share per level */
    CHECK(w.moves <= 2ull * N); /* level 2 -> 1 -> 0 */
    CHECK(worst_pops <= 200);   /* ~13 due per ms */
}

static struct loop *L;
static int reads, stale_seen;

static void stop_cb(struct loop *l, struct timer *t)
{
    (void)t;
    loop_stop(l);
}

static void on_read(struct loop *l, int fd, void *data, unsigned events)
{
    (void)data;
    char buf[16];
    if (events & LOOP_READ) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0)
            reads++;
        if (n == 0) {
            loop_del(l, fd);
            close(fd);
        }
    }
}

TEST(loop_delivers_io_and_timers)
{
    L = loop_new();
    CHECK(L);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    CHECK_EQ_INT(loop_add(L, sv[0], LOOP_READ, on_read, NULL), 0);
    CHECK(write(sv[1], "x", 1) == 1);
    struct timer stop;
    timer_init(&stop, stop_cb);
    loop_timer_arm(L, &stop, 50);
    /* Timers count from the loop's cached clock (as libuv's uv_now), not
     * from the moment of the call: a busy machine may run this line later. */
    uint64_t t0_ms = loop_now_ms(L);
    reads = 0;
    CHECK_EQ_INT(loop_run(L), 0);
    uint64_t took_ms = loop_clock_ns() / 1000000 - t0_ms;
    CHECK_EQ_INT(reads, 1);
    CHECK(took_ms >= 49);
    close(sv[1]);
    timer_init(&stop, stop_cb);
    loop_timer_arm(L, &stop, 20);
    CHECK_EQ_INT(loop_run(L), 0); /* EOF closes sv[0] inside the callback */
    CHECK_EQ_INT(loop_del(L, sv[0]), -ENOENT);
    loop_free(L);
    (void)stale_seen;
}

/* Lazy re-arm: within the slack the deadline stays; beyond it (either
 * way) it moves; an idle timer is always armed. */
TEST(lazy_rearm_skips_small_moves)
{
    L = loop_new();
    struct timer t;
    timer_init(&t, stop_cb);
    loop_timer_arm_lazy(L, &t, 1000, 300);
    CHECK(timer_armed(&t));
    uint64_t first = t.expires_ms;
    CHECK_EQ_INT(first, loop_now_ms(L) + 1000);
    loop_timer_arm_lazy(L, &t, 1300, 300);
    CHECK_EQ_INT(t.expires_ms, first);
    loop_timer_arm_lazy(L, &t, 700, 300);
    CHECK_EQ_INT(t.expires_ms, first);
    loop_timer_arm_lazy(L, &t, 1301, 300);
    CHECK_EQ_INT(t.expires_ms, first + 301);
    loop_timer_arm_lazy(L, &t, 10, 300);
    CHECK_EQ_INT(t.expires_ms, loop_now_ms(L) + 10);
    loop_timer_cancel(L, &t);
    CHECK(!timer_armed(&t));
    loop_free(L);
}

/* A callback that closes another fd whose event is in the same batch and
 * registers a new fd under the same number: the stale event must not reach
 * the number's new owner. Both fds are readable before the loop runs, so
 * one epoll_wait returns both; whichever comes first replaces the other.
 * The replacement has nothing to read, so any call to it is the stale
 * event. */
static int pair_fd[2], replaced_calls, replaced_ok;
static void on_replaced(struct loop *l, int fd, void *data, unsigned ev)
{
    (void)l, (void)fd, (void)data, (void)ev;
    replaced_calls++;
}
static void closer_cb(struct loop *l, int fd, void *data, unsigned ev)
{
    (void)data, (void)ev;
    char b;
    while (read(fd, &b, 1) > 0)
        ;
    int other = fd == pair_fd[0] ? pair_fd[1] : pair_fd[0];
    if (other < 0)
        return;
    pair_fd[0] = pair_fd[1] = -1;
    loop_del(l, other);
    close(other);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
        return;
    /* Take the closed number for sure (socketpair usually reuses it). */
    int nfd = sv[0] == other ? sv[0] : dup2(sv[0], other);
    replaced_ok = nfd == other && loop_add(l, nfd, LOOP_READ, on_replaced, NULL) == 0;
}

TEST(stale_events_are_dropped)
{
    L = loop_new();
    int a[2], b[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b) == 0);
    pair_fd[0] = a[0];
    pair_fd[1] = b[0];
    CHECK_EQ_INT(loop_add(L, a[0], LOOP_READ, closer_cb, NULL), 0);
    CHECK_EQ_INT(loop_add(L, b[0], LOOP_READ, closer_cb, NULL), 0);
    CHECK(write(a[1], "x", 1) == 1);
    CHECK(write(b[1], "y", 1) == 1);
    struct timer stop;
    timer_init(&stop, stop_cb);
    loop_timer_arm(L, &stop, 30);
    replaced_calls = replaced_ok = 0;
    CHECK_EQ_INT(loop_run(L), 0);
    CHECK(replaced_ok);             /* the number was reused and registered */
    CHECK_EQ_INT(replaced_calls, 0); /* and the old fd's event never reached it */
    close(a[1]), close(b[1]);
    loop_free(L);
}

/* loop_forget + close: the fd leaves epoll with the close, its events stop,
 * and the number can be registered again (loop_add would fail with EEXIST
 * if the kernel still had it). */
static int forgotten_calls;
static void on_forgotten(struct loop *l, int fd, void *data, unsigned ev)
{
    (void)l, (void)fd, (void)data, (void)ev;
    forgotten_calls++;
}

TEST(forget_then_close_leaves_epoll)
{
    L = loop_new();
    int a[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a);
    CHECK_EQ_INT(loop_add(L, a[0], LOOP_READ, on_forgotten, NULL), 0);
    CHECK_EQ_INT(loop_forget(L, a[0]), 0);
    CHECK_EQ_INT(loop_forget(L, a[0]), -ENOENT);
    int num = a[0];
    close(a[0]);
    int b[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b);
    int fd = b[0] == num ? b[0] : (dup2(b[0], num) == num ? num : -1);
    CHECK_EQ_INT(fd, num);
    CHECK_EQ_INT(loop_add(L, fd, LOOP_READ, on_forgotten, NULL), 0);
    send(a[1], "x", 1, MSG_NOSIGNAL); /* the old peer: nobody hears it */
    struct timer stop;
    timer_init(&stop, stop_cb);
    loop_timer_arm(L, &stop, 20);
    forgotten_calls = 0;
    loop_run(L);
    CHECK_EQ_INT(forgotten_calls, 0);
    write(b[1], "y", 1);
    loop_timer_arm(L, &stop, 20);
    loop_run(L);
    CHECK(forgotten_calls >= 1);
    loop_free(L);
    close(a[1]), close(b[1]), close(fd);
    if (b[0] != num)
        close(b[0]);
}

static int compact_reads;
static void count_read(struct loop *l, int fd, void *data, unsigned events)
{
    (void)data;
    char b[8];
    if ((events & LOOP_READ) && read(fd, b, sizeof b) > 0 && ++compact_reads == 2)
        loop_stop(l);
}

static void stop_soon(struct loop *l, struct timer *t) { (void)t; loop_stop(l); }

/* After a burst, the fd table shrinks to what is still registered, and
 * registrations below and above the new end keep working. */
TEST(compact_gives_back_the_fd_table)
{
    struct loop *l = loop_new();
    CHECK(l);
    enum { PAIRS = 300 };
    int sv[PAIRS][2];
    for (int i = 0; i < PAIRS; i++) {
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]) == 0);
        CHECK_EQ_INT(loop_add(l, sv[i][0], LOOP_READ, count_read, NULL), 0);
    }
    CHECK(loop_fd_capacity(l) > (size_t)sv[PAIRS - 1][0]);
    for (int i = 1; i < PAIRS; i++) {
        loop_del(l, sv[i][0]);
        close(sv[i][0]);
        close(sv[i][1]);
    }
    loop_compact(l);
    struct timer t;
    timer_init(&t, stop_soon);
    loop_timer_arm(l, &t, 1);
    CHECK_EQ_INT(loop_run(l), 0);
    CHECK_EQ_INT(loop_fd_capacity(l), 64);
    int again[2]; /* a new fd above the shrunk table's end is added and served */
    int spare[100];
    for (int i = 0; i < 100; i++)
        spare[i] = dup(0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, again) == 0);
    CHECK(again[0] >= 64);
    CHECK_EQ_INT(loop_add(l, again[0], LOOP_READ, count_read, NULL), 0);
    compact_reads = 0;
    CHECK(write(sv[0][1], "a", 1) == 1 && write(again[1], "b", 1) == 1);
    loop_timer_arm(l, &t, 2000); /* a bound, not a measurement */
    CHECK_EQ_INT(loop_run(l), 0);
    CHECK_EQ_INT(compact_reads, 2);
    for (int i = 0; i < 100; i++)
        close(spare[i]);
    close(again[0]);
    close(again[1]);
    close(sv[0][0]);
    close(sv[0][1]);
    loop_free(l);
}
