#include "loop/wheel.h"

#include <stddef.h>

#define MASK (WHEEL_SLOTS - 1)
#define HALF (WHEEL_SLOTS / 2)

void wheel_init(struct wheel *w, uint64_t now_ms)
{
    for (size_t i = 0; i < WHEEL_SLOTS; i++)
        w->slots[i].next = w->slots[i].prev = &w->slots[i];
    w->far.next = w->far.prev = &w->far;
    for (size_t i = 0; i < WHEEL_SLOTS / 64; i++)
        w->busy[i] = 0;
    w->tick = now_ms;
    w->far_min = UINT64_MAX;
}

static void link_after(struct timer *head, struct timer *t)
{
    t->next = head->next;
    t->prev = head;
    head->next->prev = t;
    head->next = t;
}

void wheel_insert(struct wheel *w, struct timer *t)
{
    /* A deadline already behind the cursor goes in the cursor's slot so the
     * next expiry pass sees it. */
    uint64_t at = t->expires_ms < w->tick ? w->tick : t->expires_ms;
    if (at - w->tick >= WHEEL_SLOTS) {
        link_after(&w->far, t);
        if (t->expires_ms < w->far_min)
            w->far_min = t->expires_ms;
        return;
    }
    size_t i = at & MASK;
    link_after(&w->slots[i], t);
    w->busy[i / 64] |= 1ull << (i % 64);
}

/* The slot index of a list head, or -1 when h is not a slot sentinel. */
static ptrdiff_t slot_of(const struct wheel *w, const struct timer *h)
{
    uintptr_t p = (uintptr_t)h, base = (uintptr_t)w->slots;
    if (p < base || p >= base + sizeof w->slots)
        return -1;
    return (ptrdiff_t)((p - base) / sizeof w->slots[0]);
}

void wheel_remove(struct wheel *w, struct timer *t)
{
    if (!t->prev)
        return;
    struct timer *prev = t->prev, *next = t->next;
    prev->next = next;
    next->prev = prev;
    t->next = t->prev = NULL;
    if (prev == next) { /* the list is empty now: prev is its head */
        ptrdiff_t i = slot_of(w, prev);
        if (i >= 0)
            w->busy[i / 64] &= ~(1ull << (i % 64));
    }
}

/* Moves far timers due within a revolution into their slots, once the
 * earliest may be due within half a revolution: each walk leaves only timers
 * a full revolution out, so walks are at least half a revolution apart. */
static void pull_far(struct wheel *w)
{
    if (w->far_min >= w->tick + HALF)
        return;
    uint64_t min = UINT64_MAX;
    struct timer *t = w->far.next;
    while (t != &w->far) {
        struct timer *next = t->next;
        if (t->expires_ms < w->tick + WHEEL_SLOTS) {
            wheel_remove(w, t);
            wheel_insert(w, t);
        } else if (t->expires_ms < min) {
            min = t->expires_ms;
        }
        t = next;
    }
    w->far_min = min;
}

/* Distance from the cursor to the first busy slot within n ticks, or -1. */
static int64_t first_busy(const struct wheel *w, uint64_t n)
{
    for (uint64_t d = 0; d < n;) {
        size_t i = (w->tick + d) & MASK;
        uint64_t bits = w->busy[i / 64] >> (i % 64);
        if (bits) {
            d += (uint64_t)__builtin_ctzll(bits);
            return d < n ? (int64_t)d : -1;
        }
        d += 64 - i % 64;
    }
    return -1;
}

struct timer *wheel_pop_expired(struct wheel *w, uint64_t now_ms)
{
    for (;;) {
        pull_far(w);
        if (w->tick > now_ms)
            return NULL;
        /* At most half a revolution per step, so pull_far runs before the
         * cursor can pass a far deadline. */
        uint64_t span = now_ms - w->tick + 1;
        if (span > HALF)
            span = HALF;
        int64_t d = first_busy(w, span);
        if (d < 0) {
            if (w->tick + span > now_ms) {
                /* Examined up to now; the cursor stays on now's slot, where
                 * a timer armed later at this same ms still fires. */
                w->tick = now_ms;
                return NULL;
            }
            w->tick += span;
            continue;
        }
        w->tick += (uint64_t)d;
        struct timer *head = &w->slots[w->tick & MASK], *t = head->prev;
        wheel_remove(w, t); /* the oldest first; all of a slot's timers are due */
        return t;
    }
}

int wheel_next_timeout(struct wheel *w, uint64_t now_ms)
{
    pull_far(w);
    uint64_t due = UINT64_MAX;
    int64_t d = first_busy(w, WHEEL_SLOTS);
    if (d >= 0)
        due = w->tick + (uint64_t)d;
    if (w->far_min < due)
        due = w->far_min;
    if (due <= now_ms)
        return 0;
    return due - now_ms > WHEEL_SLOTS ? WHEEL_SLOTS : (int)(due - now_ms);
}
