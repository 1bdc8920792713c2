#include "loop/wheel.h"

#include <stddef.h>

void wheel_init(struct wheel *w, uint64_t now_ms)
{
    for (size_t i = 0; i < WHEEL_SLOTS; i++)
        w->slots[i].next = w->slots[i].prev = &w->slots[i];
    w->tick = now_ms;
}

void wheel_insert(struct wheel *w, struct timer *t)
{
    /* A deadline already behind the cursor goes in the cursor's slot so the
     * next expiry pass sees it. */
    uint64_t at = t->expires_ms < w->tick ? w->tick : t->expires_ms;
    struct timer *head = &w->slots[at & (WHEEL_SLOTS - 1)];
    t->next = head->next;
    t->prev = head;
    head->next->prev = t;
    head->next = t;
}

void wheel_remove(struct timer *t)
{
    if (!t->prev)
        return;
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

struct timer *wheel_pop_expired(struct wheel *w, uint64_t now_ms)
{
    while (w->tick <= now_ms) {
        struct timer *head = &w->slots[w->tick & (WHEEL_SLOTS - 1)];
        for (struct timer *t = head->next; t != head; t = t->next) {
            if (t->expires_ms <= now_ms) {
                wheel_remove(t);
                return t;
            }
        }
        w->tick++;
    }
    return NULL;
}

int wheel_next_timeout(const struct wheel *w, uint64_t now_ms)
{
    /* The first slot, within one revolution, holding a timer due on that
     * visit. Without one, wake after a revolution (far timers come round). */
    for (uint64_t d = 0; d < WHEEL_SLOTS; d++) {
        uint64_t tick = w->tick + d;
        const struct timer *head = &w->slots[tick & (WHEEL_SLOTS - 1)];
        for (const struct timer *t = head->next; t != head; t = t->next)
            if (t->expires_ms <= tick)
                return t->expires_ms <= now_ms ? 0 : (int)(t->expires_ms - now_ms);
    }
    return WHEEL_SLOTS;
}
