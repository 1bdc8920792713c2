/* SPDX-License-Identifier: MIT */
/* epoll event loop with a hierarchical timing wheel (see loop.h).
 *
 * Registrations live in a table indexed by fd. Each fd carries a generation
 * number; events from one epoll_wait batch whose generation no longer
 * matches (the fd was closed and maybe reused by a callback earlier in the
 * batch) are dropped, as nginx does with its instance bit. */
#include "loop/loop.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "loop/wheel.h"

#define LOOP_BATCH 256

struct reg {
    loop_io_fn fn;
    void *data;
    uint32_t gen;   /* bumped on every add/del */
    unsigned mask;
    bool active;
    bool in_epoll;  /* false while a deferred add is not committed */
};

struct loop {
    int epfd;
    bool stop;
    bool compact;   /* shrink regs before the next wait (loop_compact) */
    uint64_t now_ms;
    struct reg *regs;
    size_t nregs;
    struct wheel wheel;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t loop_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct loop *loop_new(void)
{
    struct loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    l->now_ms = mono_ms();
    wheel_init(&l->wheel, l->now_ms);
    return l;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    close(l->epfd);
    free(l->regs);
    free(l);
}

static int ensure_reg(struct loop *l, int fd)
{
    if ((size_t)fd < l->nregs)
        return 0;
    size_t n = l->nregs ? l->nregs : 64;
    while (n <= (size_t)fd)
        n *= 2;
    struct reg *r = realloc(l->regs, n * sizeof *r);
    if (!r)
        return -ENOMEM;
    memset(r + l->nregs, 0, (n - l->nregs) * sizeof *r);
    l->regs = r;
    l->nregs = n;
    return 0;
}

static uint32_t to_epoll(unsigned mask)
{
    /* A mask of 0 keeps the fd registered but silent (only EPOLLERR and
     * EPOLLHUP, which epoll always reports). */
    uint32_t ev = 0;
    if (mask & LOOP_READ)
        ev |= EPOLLIN | EPOLLRDHUP;
    if (mask & LOOP_WRITE)
        ev |= EPOLLOUT;
    if (mask & LOOP_EDGE)
        ev |= EPOLLET;
    return ev;
}

/* data.u64 = fd | generation << 32, so a stale event is recognisable. */
static int ctl(struct loop *l, int op, int fd, unsigned mask)
{
    struct epoll_event ev = {.events = to_epoll(mask)};
    ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)l->regs[fd].gen << 32;
    return epoll_ctl(l->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int loop_add_deferred(struct loop *l, int fd, unsigned mask, loop_io_fn fn, void *data)
{
    if (fd < 0)
        return -EBADF;
    int rc = ensure_reg(l, fd);
    if (rc)
        return rc;
    struct reg *r = &l->regs[fd];
    r->gen++;
    r->fn = fn;
    r->data = data;
    r->mask = mask;
    r->active = true;
    r->in_epoll = false;
    return 0;
}

int loop_add(struct loop *l, int fd, unsigned mask, loop_io_fn fn, void *data)
{
    int rc = loop_add_deferred(l, fd, mask, fn, data);
    return rc ? rc : loop_commit(l, fd);
}

int loop_commit(struct loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nregs || !l->regs[fd].active)
        return -ENOENT;
    struct reg *r = &l->regs[fd];
    if (r->in_epoll)
        return 0;
    int rc = ctl(l, EPOLL_CTL_ADD, fd, r->mask);
    r->in_epoll = rc == 0;
    r->active = rc == 0;
    return rc;
}

int loop_mod(struct loop *l, int fd, unsigned mask)
{
    if (fd < 0 || (size_t)fd >= l->nregs || !l->regs[fd].active)
        return -ENOENT;
    struct reg *r = &l->regs[fd];
    if (r->mask == mask)
        return 0;
    r->mask = mask;
    return r->in_epoll ? ctl(l, EPOLL_CTL_MOD, fd, mask) : 0;
}

int loop_del(struct loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nregs || !l->regs[fd].active)
        return -ENOENT;
    struct reg *r = &l->regs[fd];
    r->active = false;
    r->gen++;
    if (!r->in_epoll)
        return 0;
    r->in_epoll = false;
    return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int loop_forget(struct loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nregs || !l->regs[fd].active)
        return -ENOENT;
    l->regs[fd].active = false;
    l->regs[fd].in_epoll = false;
    l->regs[fd].gen++;
    return 0;
}

void timer_init(struct timer *t, timer_fn fn)
{
    t->next = t->prev = NULL;
    t->expires_ms = 0;
    t->fn = fn;
    t->wheel_pos = 0;
}

void loop_timer_arm(struct loop *l, struct timer *t, uint64_t delay_ms)
{
    wheel_remove(&l->wheel, t);
    if (delay_ms > WHEEL_HORIZON_MS)
        delay_ms = WHEEL_HORIZON_MS; /* and now_ms + delay_ms cannot wrap */
    t->expires_ms = l->now_ms + delay_ms;
    wheel_insert(&l->wheel, t);
}

void loop_timer_arm_lazy(struct loop *l, struct timer *t, uint64_t delay_ms, uint64_t slack_ms)
{
    if (timer_armed(t) && delay_ms <= WHEEL_HORIZON_MS) {
        uint64_t at = l->now_ms + delay_ms;
        uint64_t diff = at > t->expires_ms ? at - t->expires_ms : t->expires_ms - at;
        if (diff <= slack_ms)
            return;
    }
    loop_timer_arm(l, t, delay_ms);
}

void loop_timer_cancel(struct loop *l, struct timer *t)
{
    wheel_remove(&l->wheel, t);
}

uint64_t loop_now_ms(const struct loop *l) { return l->now_ms; }

void loop_stop(struct loop *l) { l->stop = true; }

static void dispatch(struct loop *l, const struct epoll_event *ev)
{
    int fd = (int)(uint32_t)ev->data.u64;
    uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
    if ((size_t)fd >= l->nregs)
        return;
    struct reg *r = &l->regs[fd];
    if (!r->active || r->gen != gen)
        return; /* closed (and maybe reused) earlier in this batch */
    unsigned events = 0;
    if (ev->events & (EPOLLIN | EPOLLPRI))
        events |= LOOP_READ;
    if (ev->events & EPOLLOUT)
        events |= LOOP_WRITE;
    if (ev->events & (EPOLLHUP | EPOLLRDHUP))
        events |= LOOP_HUP | LOOP_READ;
    if (ev->events & EPOLLERR)
        events |= LOOP_ERROR | LOOP_READ | LOOP_WRITE;
    r->fn(l, fd, r->data, events);
}

void loop_compact(struct loop *l) { l->compact = true; }

size_t loop_fd_capacity(const struct loop *l) { return l->nregs; }

/* Between two waits no event is pending, so entries past the highest
 * active fd can go (and come back zeroed, generation 0) without a stale
 * event ever meeting a reused slot. */
static void shrink_regs(struct loop *l)
{
    l->compact = false;
    size_t top = 0;
    for (size_t fd = 0; fd < l->nregs; fd++)
        if (l->regs[fd].active)
            top = fd + 1;
    size_t n = 64;
    while (n < top)
        n *= 2;
    if (n < l->nregs) {
        struct reg *r = realloc(l->regs, n * sizeof *r);
        if (r) {
            l->regs = r;
            l->nregs = n;
        }
    }
    /* Freed blocks go back to the heap, not to the kernel: one trim here,
     * after the shrink, returns the table's tail and whatever the caller
     * freed before asking for the compaction. */
    malloc_trim(0);
}

int loop_run(struct loop *l)
{
    struct epoll_event evs[LOOP_BATCH];
    l->stop = false;
    while (!l->stop) {
        if (l->compact)
            shrink_regs(l);
        int timeout = wheel_next_timeout(&l->wheel, l->now_ms);
        int n = epoll_wait(l->epfd, evs, LOOP_BATCH, timeout);
        if (n < 0 && errno != EINTR)
            return -errno;
        l->now_ms = mono_ms();
        for (int i = 0; i < n && !l->stop; i++)
            dispatch(l, &evs[i]);
        struct timer *t;
        while ((t = wheel_pop_expired(&l->wheel, l->now_ms)))
            t->fn(l, t);
    }
    return 0;
}
