/* A hashed timing wheel with 1 ms ticks: O(1) insert and cancel. The slots
 * hold only timers due within one revolution of the cursor, so every timer
 * in a slot is due when the cursor reaches it, and a bitmap of busy slots
 * finds the next deadline in a few word scans (the loop asks for it on every
 * iteration). Timers further out wait on one "far" list with a lower bound of
 * their deadlines; the list is walked, and its near timers moved into slots,
 * at most once per half revolution. Private to src/loop. */
#ifndef CLOSER_LOOP_WHEEL_H
#define CLOSER_LOOP_WHEEL_H
#include <stdint.h>

#include "loop/loop.h"

#define WHEEL_SLOTS 1024 /* power of two; one revolution = 1.024 s */

struct wheel {
    struct timer slots[WHEEL_SLOTS]; /* list heads (sentinels) */
    struct timer far;                /* due a revolution or more ahead */
    uint64_t busy[WHEEL_SLOTS / 64]; /* bit i: slots[i] is not empty */
    uint64_t tick;                   /* next ms to examine */
    uint64_t far_min;                /* <= every far deadline; UINT64_MAX: none */
};

void wheel_init(struct wheel *w, uint64_t now_ms);
void wheel_insert(struct wheel *w, struct timer *t);
void wheel_remove(struct wheel *w, struct timer *t); /* no-op if not armed */
/* One expired timer (unlinked), or NULL when none is due at now_ms. */
struct timer *wheel_pop_expired(struct wheel *w, uint64_t now_ms);
/* epoll_wait timeout: ms until the next due timer, at most one revolution. */
int wheel_next_timeout(struct wheel *w, uint64_t now_ms);

#endif
