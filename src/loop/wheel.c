/* SPDX-License-Identifier: MIT */
/* Hierarchical timing wheel with paced moves between levels (see wheel.h). */
#include "loop/wheel.h"

#include <stddef.h>

#define RMASK (WHEEL_RING - 1)
#define NONE UINT64_MAX

static inline uint64_t blk(int level, uint64_t ms) { return ms >> (WHEEL_BITS * level); }
static inline uint64_t block_start(int level, uint64_t b) { return b << (WHEEL_BITS * level); }
static inline uint64_t width(int level) { return 1ull << (WHEEL_BITS * level); }

void wheel_init(struct wheel *w, uint64_t now_ms)
{
    for (int l = 0; l < WHEEL_LEVELS; l++) {
        for (int i = 0; i < WHEEL_RING; i++) {
            w->slots[l][i].next = w->slots[l][i].prev = &w->slots[l][i];
            w->count[l][i] = 0;
        }
        for (int i = 0; i < WHEEL_RING / 64; i++)
            w->busy[l][i] = 0;
        w->mig_block[l] = NONE;
        w->mig_total[l] = 0;
    }
    w->tick = now_ms;
    w->moves = 0;
}

static void link_slot(struct wheel *w, int level, unsigned i, struct timer *t)
{
    struct timer *head = &w->slots[level][i];
    t->next = head->next; /* newest at head->next, oldest at head->prev */
    t->prev = head;
    head->next->prev = t;
    head->next = t;
    t->wheel_pos = (uint16_t)(level * WHEEL_RING + i);
    w->count[level][i]++;
    w->busy[level][i / 64] |= 1ull << (i % 64);
}

/* The lowest level whose ring reaches at: this or the next block of the
 * level above (see the invariants in wheel.h). */
static int level_for(const struct wheel *w, uint64_t at)
{
    for (int l = 0; l < WHEEL_LEVELS - 1; l++)
        if (blk(l + 1, at) <= blk(l + 1, w->tick) + 1)
            return l;
    return WHEEL_LEVELS - 1;
}

void wheel_insert(struct wheel *w, struct timer *t)
{
    if (t->expires_ms > w->tick + WHEEL_HORIZON_MS)
        t->expires_ms = w->tick + WHEEL_HORIZON_MS;
    /* A deadline behind the cursor goes in the cursor's slot: the next pop
     * returns it. */
    uint64_t at = t->expires_ms < w->tick ? w->tick : t->expires_ms;
    int level = level_for(w, at);
    link_slot(w, level, (unsigned)(blk(level, at) & RMASK), t);
}

void wheel_remove(struct wheel *w, struct timer *t)
{
    if (!t->prev)
        return;
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
    unsigned level = t->wheel_pos / WHEEL_RING, i = t->wheel_pos % WHEEL_RING;
    if (--w->count[level][i] == 0)
        w->busy[level][i / 64] &= ~(1ull << (i % 64));
}

/* Distance from slot s (going round) to the first busy slot within n
 * slots, or -1. */
static int ring_first(const uint64_t *busy, unsigned s, unsigned n)
{
    for (unsigned d = 0; d < n;) {
        unsigned i = (s + d) & RMASK;
        uint64_t bits = busy[i / 64] >> (i % 64);
        if (bits) {
            d += (unsigned)__builtin_ctzll(bits);
            return d < n ? (int)d : -1;
        }
        d += 64 - i % 64;
    }
    return -1;
}

/* The first level-l block after the cursor's that holds timers, or NONE. */
static uint64_t next_block(const struct wheel *w, int level)
{
    uint64_t cur = blk(level, w->tick);
    int d = ring_first(w->busy[level], (unsigned)((cur + 1) & RMASK), WHEEL_RING - 1);
    return d < 0 ? NONE : cur + 1 + (uint64_t)d;
}

/* The earliest level-0 deadline (>= the cursor), or NONE. */
static uint64_t next_due(const struct wheel *w)
{
    int d = ring_first(w->busy[0], (unsigned)(w->tick & RMASK), WHEEL_RING);
    return d < 0 ? NONE : w->tick + (uint64_t)d;
}

/* Moves the oldest timer of a level >= 1 slot to the level it belongs on
 * now (always a lower one: the slot is its level's migrating slot). */
static void move_down(struct wheel *w, int level, unsigned i)
{
    struct timer *t = w->slots[level][i].prev;
    wheel_remove(w, t);
    wheel_insert(w, t);
    w->moves++;
}

/* This iteration's share of each level's migrating slot: what is left
 * shrinks in proportion to the time left before the cursor reaches it. */
static void pace(struct wheel *w)
{
    for (int l = WHEEL_LEVELS - 1; l >= 1; l--) {
        uint64_t m = blk(l, w->tick) + 1;
        unsigned i = (unsigned)(m & RMASK);
        uint32_t left_n = w->count[l][i];
        if (w->mig_block[l] != m) {
            w->mig_block[l] = m;
            w->mig_total[l] = left_n;
        }
        if (!left_n)
            continue;
        uint64_t left_ms = block_start(l, m) - w->tick; /* 1 .. width */
        uint64_t keep = (uint64_t)((double)w->mig_total[l] * (double)(left_ms - 1) /
                                   (double)width(l));
        while (left_n > keep) {
            move_down(w, l, i);
            left_n--;
        }
    }
}

struct timer *wheel_pop_expired(struct wheel *w, uint64_t now_ms)
{
    for (;;) {
        if (now_ms < w->tick)
            now_ms = w->tick;
        /* The nearest block, on any level >= 1, that still holds timers:
         * the cursor may not reach it before they have moved down. */
        uint64_t barrier = NONE, barrier_blk = 0;
        int barrier_level = 0;
        for (int l = 1; l < WHEEL_LEVELS; l++) {
            uint64_t b = next_block(w, l);
            if (b != NONE && block_start(l, b) < barrier) {
                barrier = block_start(l, b);
                barrier_blk = b;
                barrier_level = l;
            }
        }
        uint64_t due = next_due(w);
        if (due <= now_ms && due < barrier) {
            w->tick = due;
            struct timer *t = w->slots[0][due & RMASK].prev; /* oldest first */
            wheel_remove(w, t);
            return t;
        }
        if (barrier <= now_ms) {
            /* Woken too late to pace (a long sleep): the block's window
             * opened one block earlier; go there and move all of it. */
            uint64_t open = barrier - width(barrier_level);
            if (open > w->tick)
                w->tick = open;
            unsigned i = (unsigned)(barrier_blk & RMASK);
            while (w->count[barrier_level][i])
                move_down(w, barrier_level, i);
            continue;
        }
        w->tick = now_ms;
        pace(w);
        return NULL;
    }
}

int wheel_next_timeout(struct wheel *w, uint64_t now_ms)
{
    uint64_t wake = next_due(w);
    for (int l = 1; l < WHEEL_LEVELS; l++) {
        uint64_t b = next_block(w, l), m = blk(l, w->tick) + 1;
        if (b == NONE)
            continue;
        uint64_t at;
        if (b > m) {
            at = block_start(l, b - 1); /* its window opens: start pacing */
        } else {
            /* Pacing: wake when about WHEEL_PACE timers are due to move, at
             * the latest when the cursor reaches the block. */
            uint64_t left_ms = block_start(l, m) - w->tick;
            uint64_t step = left_ms * WHEEL_PACE / w->count[l][m & RMASK];
            at = w->tick + (step < 1 ? 1 : step > left_ms ? left_ms : step);
        }
        if (at < wake)
            wake = at;
    }
    if (wake == NONE)
        return WHEEL_MAX_SLEEP_MS;
    if (wake <= now_ms)
        return 0;
    return wake - now_ms > WHEEL_MAX_SLEEP_MS ? WHEEL_MAX_SLEEP_MS : (int)(wake - now_ms);
}
