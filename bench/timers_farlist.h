/* SPDX-License-Identifier: MIT */
/* The anchor: closer's previous timer wheel, kept verbatim but renamed
 * (1024 slots of 1 ms; every timer more than a revolution away waits on one
 * unsorted "far" list, walked at most every half revolution). */
#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"

#define FAR_SLOTS 1024

struct farlist {
    struct timer slots[FAR_SLOTS];
    struct timer far;
    uint64_t busy[FAR_SLOTS / 64];
    uint64_t tick;
    uint64_t far_min;
};


#define MASK (FAR_SLOTS - 1)
#define HALF (FAR_SLOTS / 2)

static void farlist_init(struct farlist *w, uint64_t now_ms)
{
    for (size_t i = 0; i < FAR_SLOTS; i++)
        w->slots[i].next = w->slots[i].prev = &w->slots[i];
    w->far.next = w->far.prev = &w->far;
    for (size_t i = 0; i < FAR_SLOTS / 64; i++)
        w->busy[i] = 0;
    w->tick = now_ms;
    w->far_min = UINT64_MAX;
}

static void far_link_after(struct timer *head, struct timer *t)
{
    t->next = head->next;
    t->prev = head;
    head->next->prev = t;
    head->next = t;
}

static void farlist_insert(struct farlist *w, struct timer *t)
{
    /* A deadline already behind the cursor goes in the cursor's slot so the
     * next expiry pass sees it. */
    uint64_t at = t->expires_ms < w->tick ? w->tick : t->expires_ms;
    if (at - w->tick >= FAR_SLOTS) {
        far_link_after(&w->far, t);
        if (t->expires_ms < w->far_min)
            w->far_min = t->expires_ms;
        return;
    }
    size_t i = at & MASK;
    far_link_after(&w->slots[i], t);
    w->busy[i / 64] |= 1ull << (i % 64);
}

/* The slot index of a list head, or -1 when h is not a slot sentinel. */
static ptrdiff_t far_slot_of(const struct farlist *w, const struct timer *h)
{
    uintptr_t p = (uintptr_t)h, base = (uintptr_t)w->slots;
    if (p < base || p >= base + sizeof w->slots)
        return -1;
    return (ptrdiff_t)((p - base) / sizeof w->slots[0]);
}

static void farlist_remove(struct farlist *w, struct timer *t)
{
    if (!t->prev)
        return;
    struct timer *prev = t->prev, *next = t->next;
    prev->next = next;
    next->prev = prev;
    t->next = t->prev = NULL;
    if (prev == next) { /* the list is empty now: prev is its head */
        ptrdiff_t i = far_slot_of(w, prev);
        if (i >= 0)
            w->busy[i / 64] &= ~(1ull << (i % 64));
    }
}

/* Moves far timers due within a revolution into their slots, once the
 * earliest may be due within half a revolution: each walk leaves only timers
 * a full revolution out, so walks are at least half a revolution apart. */
static void far_pull_far(struct farlist *w)
{
    if (w->far_min >= w->tick + HALF)
        return;
    uint64_t min = UINT64_MAX;
    struct timer *t = w->far.next;
    while (t != &w->far) {
        struct timer *next = t->next;
        if (t->expires_ms < w->tick + FAR_SLOTS) {
            farlist_remove(w, t);
            farlist_insert(w, t);
        } else if (t->expires_ms < min) {
            min = t->expires_ms;
        }
        t = next;
    }
    w->far_min = min;
}

/* Distance from the cursor to the first busy slot within n ticks, or -1. */
static int64_t far_first_busy(const struct farlist *w, uint64_t n)
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

static struct timer *farlist_pop_expired(struct farlist *w, uint64_t now_ms)
{
    for (;;) {
        far_pull_far(w);
        if (w->tick > now_ms)
            return NULL;
        /* At most half a revolution per step, so far_pull_far runs before the
         * cursor can pass a far deadline. */
        uint64_t span = now_ms - w->tick + 1;
        if (span > HALF)
            span = HALF;
        int64_t d = far_first_busy(w, span);
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
        farlist_remove(w, t); /* the oldest first; all of a slot's timers are due */
        return t;
    }
}

static int farlist_next_timeout(struct farlist *w, uint64_t now_ms)
{
    far_pull_far(w);
    uint64_t due = UINT64_MAX;
    int64_t d = far_first_busy(w, FAR_SLOTS);
    if (d >= 0)
        due = w->tick + (uint64_t)d;
    if (w->far_min < due)
        due = w->far_min;
    if (due <= now_ms)
        return 0;
    return due - now_ms > FAR_SLOTS ? FAR_SLOTS : (int)(due - now_ms);
}
