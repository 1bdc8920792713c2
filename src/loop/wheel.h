/* A hashed timing wheel with 1 ms ticks: O(1) insert and cancel; expiry
 * walks only the slots between the last tick and now. Timers further out
 * than one revolution stay in their slot and are skipped until their round
 * comes (checked by absolute expiry), which keeps insert O(1) at the price
 * of revisiting far timers once per revolution. Private to src/loop. */
#ifndef CLOSER_LOOP_WHEEL_H
#define CLOSER_LOOP_WHEEL_H
#include <stdint.h>

#include "loop/loop.h"

#define WHEEL_SLOTS 1024 /* power of two; one revolution = 1.024 s */

struct wheel {
    struct timer slots[WHEEL_SLOTS]; /* list heads (sentinels) */
    uint64_t tick;                   /* next ms to examine */
};

void wheel_init(struct wheel *w, uint64_t now_ms);
void wheel_insert(struct wheel *w, struct timer *t);
void wheel_remove(struct timer *t);
/* One expired timer (unlinked), or NULL when none is due at now_ms. */
struct timer *wheel_pop_expired(struct wheel *w, uint64_t now_ms);
/* epoll_wait timeout: ms until the next due timer, at most one revolution. */
int wheel_next_timeout(const struct wheel *w, uint64_t now_ms);

#endif
