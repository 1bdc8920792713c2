/* SPDX-License-Identifier: MIT */
/* One epoll event loop per thread, with a hashed timing wheel.
 * Shared by the server, the load generator, the prober and the exporter.
 * Timers live in a hierarchical wheel whose work per loop iteration stays
 * small at any number of timers and any horizon (loop/wheel.h).
 *
 * Error convention: functions returning int give 0 on success, -errno on
 * failure. Callbacks may close their own fd or free their timer's owner;
 * the loop re-checks registrations after every callback, so a stale event
 * for a closed fd is dropped (never delivered to a reused fd's new owner
 * within the same batch). */
#ifndef CLOSER_LOOP_H
#define CLOSER_LOOP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

enum {
    LOOP_READ = 1u << 0,
    LOOP_WRITE = 1u << 1,
    LOOP_EDGE = 1u << 2,  /* edge-triggered registration (EPOLLET) */
    LOOP_HUP = 1u << 3,   /* reported only: EPOLLHUP / EPOLLRDHUP */
    LOOP_ERROR = 1u << 4, /* reported only: EPOLLERR */
};

typedef void (*loop_io_fn)(struct loop *l, int fd, void *data, unsigned events);

/* Intrusive timer: embed it in the object it times (container_of back). */
struct timer;
typedef void (*timer_fn)(struct loop *l, struct timer *t);
struct timer {
    struct timer *next, *prev; /* wheel slot list; NULL when not armed */
    uint64_t expires_ms;       /* absolute, loop clock */
    timer_fn fn;
    uint16_t wheel_pos;        /* private: the wheel's level and slot */
};

struct loop *loop_new(void);
void loop_free(struct loop *l);

int loop_add(struct loop *l, int fd, unsigned mask, loop_io_fn fn, void *data);
/* Registers fd without telling epoll yet: a caller that will try the fd at
 * once (a fresh connection whose request has usually arrived) often
 * finishes with it before it ever needs to wait, and then saves the
 * EPOLL_CTL_ADD and the kernel's epoll bookkeeping at close. loop_mod only
 * records the mask until loop_commit adds fd with it (no-op once added or
 * after loop_del/loop_forget). */
int loop_add_deferred(struct loop *l, int fd, unsigned mask, loop_io_fn fn, void *data);
int loop_commit(struct loop *l, int fd);
int loop_mod(struct loop *l, int fd, unsigned mask);
int loop_del(struct loop *l, int fd); /* call before close(fd) */
/* Drops fd's registration without epoll_ctl, for a caller that closes fd
 * right after (close() leaves the epoll set by itself when fd was never
 * dup'ed): one system call less per connection. */
int loop_forget(struct loop *l, int fd);

void timer_init(struct timer *t, timer_fn fn);
/* (Re)arms t to fire once, delay_ms from now (at most ~35,000 years).
 * O(1), and O(1) amortised work per timer until it fires, at any delay. */
void loop_timer_arm(struct loop *l, struct timer *t, uint64_t delay_ms);
/* Like loop_timer_arm, but leaves an armed timer alone when its deadline
 * is within slack_ms of the new one (nginx re-arms lazily within 300 ms):
 * an idle timeout pushed back on every write then costs a compare. The
 * timer may fire up to slack_ms early or late. */
void loop_timer_arm_lazy(struct loop *l, struct timer *t, uint64_t delay_ms, uint64_t slack_ms);
void loop_timer_cancel(struct loop *l, struct timer *t); /* no-op if idle */
static inline bool timer_armed(const struct timer *t) { return t->prev != 0; }

/* Monotonic milliseconds, cached once per loop iteration. */
uint64_t loop_now_ms(const struct loop *l);
/* Monotonic nanoseconds, read now (for latency measurement). */
uint64_t loop_clock_ns(void);

/* Asks the loop to give back the unused tail of its fd table before its
 * next wait (after a burst of connections has gone), then free heap pages
 * to the kernel (malloc_trim): callers free their own memory first. */
void loop_compact(struct loop *l);
/* Entries in the fd table (for tests and benches: what compaction keeps). */
size_t loop_fd_capacity(const struct loop *l);

/* Runs until loop_stop(); returns 0, or -errno if epoll_wait fails. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
