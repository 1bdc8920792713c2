/* SPDX-License-Identifier: MIT */
/* The merge of per-CPU rings (trace/merge.h): records of two CPUs read in
 * the interleaving that misordered them (an event written to CPU 0's ring
 * just after it was drained, behind later CPU 1 events), an empty ring,
 * a late record counted, and random passes over four rings. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "trace/merge.h"

#define MS 1000000ull

struct out {
    uint64_t t[4096];
    uint32_t ring[4096];
    size_t n;
};

static void take(void *ctx, const struct mitem *it)
{
    struct out *o = ctx;
    if (o->n < 4096) {
        o->ring[o->n] = it->ring;
        o->t[o->n++] = it->time;
    }
}

/* ring read at clock `clock` holding records at times t[0..n) */
static void read_ring(struct merge *m, unsigned ring, uint64_t clock, const uint64_t *t, size_t n)
{
    merge_ring_begin(m, ring, clock);
    for (size_t i = 0; i < n; i++) {
        struct mitem *it = merge_slot(m);
        memset(it, 0, sizeof *it);
        it->time = t[i];
        merge_push(m);
    }
    merge_ring_end(m);
}

static bool sorted(const struct out *o)
{
    for (size_t i = 1; i < o->n; i++)
        if (o->t[i] < o->t[i - 1])
            return false;
    return true;
}

TEST(drained_then_written)
{
    struct merge m;
    struct out o = {.n = 0};
    CHECK(merge_init(&m, 2) == 0);
    /* pass 1: CPU 0 drained at 300.00 ms; CPU 1 read at 300.05 ms already
     * holds events of 300.02 and 300.04 ms */
    uint64_t a1[] = {100 * MS}, b1[] = {200 * MS, 300 * MS + 20000, 300 * MS + 40000};
    read_ring(&m, 0, 300 * MS, a1, 1);
    read_ring(&m, 1, 300 * MS + 50000, b1, 3);
    merge_emit(&m, take, &o);
    /* held: CPU 0 has not been read past 300.02 ms yet */
    CHECK_EQ_INT(o.n, 2);
    /* ... while CPU 0's event of 300.01 ms lands in its ring after the drain */
    uint64_t a2[] = {300 * MS + 10000}, b2[] = {350 * MS};
    read_ring(&m, 0, 400 * MS, a2, 1);
    read_ring(&m, 1, 400 * MS + 50000, b2, 1);
    merge_emit(&m, take, &o);
    uint64_t want[] = {100 * MS, 200 * MS, 300 * MS + 10000, 300 * MS + 20000, 300 * MS + 40000, 350 * MS};
    CHECK_EQ_INT(o.n, 6);
    for (size_t i = 0; i < 6 && i < o.n; i++)
        CHECK_EQ_INT(o.t[i], want[i]);
    CHECK_EQ_INT(m.late, 0);
    merge_free(&m);
}

TEST(empty_ring_does_not_stall)
{
    struct merge m;
    struct out o = {.n = 0};
    CHECK(merge_init(&m, 2) == 0);
    uint64_t b[] = {10 * MS, 20 * MS};
    read_ring(&m, 0, 50 * MS, NULL, 0); /* idle CPU: drained, empty */
    read_ring(&m, 1, 50 * MS, b, 2);
    merge_emit(&m, take, &o);
    CHECK_EQ_INT(o.n, 2); /* below 50 ms - slack on both rings */
    /* a record newer than the empty ring's bound waits, then leaves at the end */
    uint64_t c[] = {60 * MS};
    read_ring(&m, 0, 61 * MS, NULL, 0);
    read_ring(&m, 1, 61 * MS, c, 1);
    merge_emit(&m, take, &o);
    CHECK_EQ_INT(o.n, 2);
    merge_emit_all(&m, take, &o);
    CHECK_EQ_INT(o.n, 3);
    CHECK_EQ_INT(m.nheld, 0);
    merge_free(&m);
}

TEST(late_record_counted)
{
    struct merge m;
    struct out o = {.n = 0};
    CHECK(merge_init(&m, 2) == 0);
    uint64_t b[] = {40 * MS};
    read_ring(&m, 0, 50 * MS, NULL, 0);
    read_ring(&m, 1, 50 * MS, b, 1);
    merge_emit(&m, take, &o);
    /* stamped 10 ms before a drain that did not see it: out of order,
     * emitted anyway and counted, never silent */
    uint64_t a[] = {30 * MS};
    read_ring(&m, 0, 60 * MS, a, 1);
    read_ring(&m, 1, 60 * MS, NULL, 0);
    merge_emit(&m, take, &o);
    CHECK_EQ_INT(o.n, 2);
    CHECK_EQ_INT(m.late, 1);
    merge_free(&m);
}

/* Four rings, each stamping events at random times; a pass reads the rings
 * one after another at a rising clock and sees what was stamped before it
 * (minus up to 100 us in flight). Everything comes out once, in order. */
TEST(random_passes)
{
    struct merge m;
    static struct out o;
    o.n = 0;
    CHECK(merge_init(&m, 4) == 0);
    uint64_t next[4], clock = MS, total = 0;
    unsigned seed = 12345;
    for (int r = 0; r < 4; r++)
        next[r] = MS + (uint64_t)(rand_r(&seed) % 1000) * 1000;
    for (int pass = 0; pass < 200 && total < 3000; pass++) {
        for (unsigned r = 0; r < 4; r++) {
            clock += (uint64_t)(rand_r(&seed) % 300) * 1000;
            uint64_t t[64];
            size_t n = 0;
            uint64_t inflight = (uint64_t)(rand_r(&seed) % 100) * 1000;
            while (n < 64 && next[r] + inflight < clock) {
                t[n++] = next[r];
                next[r] += (uint64_t)(rand_r(&seed) % 500 + 1) * 1000;
            }
            read_ring(&m, r, clock, t, n);
            total += n;
        }
        merge_emit(&m, take, &o);
    }
    merge_emit_all(&m, take, &o);
    CHECK_EQ_INT(o.n, total);
    CHECK(sorted(&o));
    CHECK_EQ_INT(m.late, 0);
    merge_free(&m);
}
