/* SPDX-License-Identifier: MIT */
/* A hierarchical timing wheel with 1 ms ticks and bounded work per tick.
 * Private to src/loop.
 *
 * Level L (0..WHEEL_LEVELS-1) has slots 64^L ms wide. Like h2o's
 * timerwheel, a timer lives on the lowest level whose span reaches its
 * deadline, and moves down a level as the cursor gets near, so insert and
 * cancel are O(1) and each timer moves at most once per level. Unlike it,
 * each level's ring holds two blocks of 64 slots (this block of the level
 * above and the next), so the slot that must move down next can move while
 * the cursor is still in the block before it: a little on every loop
 * iteration, paced by the time left, instead of all at once when the cursor
 * enters it (a cascade of a 4 s slot holding 270k of 1M keep-alive timers
 * was a 1-2 ms stall).
 *
 * Invariants, with blk(L, x) = x >> 6L and cursor = tick:
 *  - level 0 holds deadlines in blk(1) this or next block of the cursor;
 *    level L >= 1 holds deadlines with blk(L+1) this or next, and blk(L)
 *    at least two blocks ahead (else they belong lower);
 *  - "migrating" slot of level L >= 1: blk(L, tick) + 1. New timers never
 *    land there (they would belong lower), so it only empties; the cursor
 *    never enters a level-L block whose slot still holds timers. */
#ifndef CLOSER_LOOP_WHEEL_H
#define CLOSER_LOOP_WHEEL_H
#include <stdint.h>

#include "loop/loop.h"

#define WHEEL_BITS 6
#define WHEEL_RING 128          /* two blocks of 64 slots per level */
#define WHEEL_LEVELS 9          /* 64^9 ms > WHEEL_HORIZON_MS */
#define WHEEL_HORIZON_MS (1ull << 50) /* later deadlines are clamped (35,000 years) */
#define WHEEL_MAX_SLEEP_MS 1024 /* longest epoll_wait: flags set by signals are seen */
#define WHEEL_PACE 256          /* timers moved down per wake-up when pacing */

struct wheel {
    struct timer slots[WHEEL_LEVELS][WHEEL_RING]; /* list heads (sentinels) */
    uint64_t busy[WHEEL_LEVELS][WHEEL_RING / 64]; /* bit: slot not empty */
    uint32_t count[WHEEL_LEVELS][WHEEL_RING];     /* timers per slot (pacing) */
    uint64_t mig_block[WHEEL_LEVELS]; /* block whose slot is moving down */
    uint32_t mig_total[WHEEL_LEVELS]; /* its timers when its window began */
    uint64_t tick;  /* next ms to examine: every deadline before it has fired */
    uint64_t moves; /* timers moved down a level so far (tests, bench) */
};

void wheel_init(struct wheel *w, uint64_t now_ms);
/* Deadlines behind the cursor fire on the next pop; past the horizon they
 * are clamped to it (t->expires_ms is updated). */
void wheel_insert(struct wheel *w, struct timer *t);
void wheel_remove(struct wheel *w, struct timer *t); /* no-op if not armed */
/* One expired timer (unlinked), or NULL when none is due at now_ms. When
 * it returns NULL the cursor is at now_ms and this iteration's share of
 * moving timers down has been done. */
struct timer *wheel_pop_expired(struct wheel *w, uint64_t now_ms);
/* epoll_wait timeout: ms until the next due timer or the next share of
 * moving work, at most WHEEL_MAX_SLEEP_MS. */
int wheel_next_timeout(struct wheel *w, uint64_t now_ms);

#endif
