/* SPDX-License-Identifier: MIT */
/* One time order out of the per-CPU rings. Each ring is (nearly) in time
 * order on its own, but the rings are drained one after another: an event
 * written to CPU 0's ring just after it was drained carries an earlier
 * time than CPU 1's events read a moment later. Sorting each pass's batch
 * alone put it behind them, and when socket memory is reused an old
 * CLOSE_WAIT then lands on the next connection's record.
 *
 * So each pass's records are held until every ring has been read past
 * their time: a ring's bound is the latest time read from it, or, when it
 * was drained, the clock read just before its head minus MERGE_SLACK_NS (a
 * record is stamped a few microseconds before it is committed; an event
 * still in flight across a drain is no older than that). The watermark is
 * the lowest bound; records at or below it are emitted in (time, ring,
 * arrival) order, the rest wait for the next pass. Each pass is a k-way
 * merge of one sorted run per ring plus the held run (a heap of at most
 * rings + 1 entries): O(n log rings), two buffers reused, no allocation
 * per record. Error convention: 0 ok, -1 out of memory. */
#ifndef CLOSER_TRACE_MERGE_H
#define CLOSER_TRACE_MERGE_H
#include <stddef.h>
#include <stdint.h>

#include "trace/decode.h"

#define MERGE_SLACK_NS 2000000ull

/* One ring record: a decoded event or a task record (enum prec_kind). */
struct mitem {
    uint64_t time;
    uint64_t seq; /* arrival: equal times keep the rings' own order */
    uint32_t ring;
    int kind;
    int32_t pid, ppid, tid, ptid;
    char comm[16];
    uint64_t netns;
    struct tev ev;
};

struct merge {
    unsigned nrings;
    struct mitem *buf, *out; /* buf: held run, then this pass's runs; out: the next held */
    size_t n, nheld, cap;
    size_t *run_lo, *run_hi;   /* per ring: this pass's run in buf */
    uint64_t *bound;           /* per ring; UINT64_MAX: never read */
    size_t *heap;              /* run indexes, at most nrings + 1 */
    size_t *pos, *end;         /* per run: next index in buf, end */
    uint64_t seq;
    uint64_t watermark;        /* everything at or below was emitted */
    uint64_t emitted_max;      /* time of the latest record emitted */
    uint64_t late;             /* emitted behind a later record: misordered */
    int cur;                   /* ring being read; -1 none */
};

typedef void (*merge_fn)(void *ctx, const struct mitem *it);

int merge_init(struct merge *m, unsigned nrings);
void merge_free(struct merge *m);
/* Ring `ring` is about to be read; clock_ns: CLOCK_MONOTONIC now, taken
 * before its head. */
void merge_ring_begin(struct merge *m, unsigned ring, uint64_t clock_ns);
/* The slot for the next record of the ring being read (NULL: out of
 * memory); merge_push keeps it (a slot not pushed is reused). */
struct mitem *merge_slot(struct merge *m);
void merge_push(struct merge *m);
void merge_ring_end(struct merge *m);
/* Emits, in order, every record at or below the watermark. */
void merge_emit(struct merge *m, merge_fn fn, void *ctx);
/* Emits everything held (the rings are stopped and drained). */
void merge_emit_all(struct merge *m, merge_fn fn, void *ctx);

#endif
