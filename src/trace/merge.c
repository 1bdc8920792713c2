/* SPDX-License-Identifier: MIT */
#include "trace/merge.h"
#include <stdlib.h>
#include <string.h>

int merge_init(struct merge *m, unsigned nrings)
{
    memset(m, 0, sizeof *m);
    m->nrings = nrings;
    m->cur = -1;
    m->run_lo = calloc(nrings, sizeof *m->run_lo);
    m->run_hi = calloc(nrings, sizeof *m->run_hi);
    m->bound = malloc(nrings * sizeof *m->bound);
    m->heap = calloc(nrings + 1, sizeof *m->heap);
    m->pos = calloc(nrings + 1, sizeof *m->pos);
    m->end = calloc(nrings + 1, sizeof *m->end);
    if (!m->run_lo || !m->run_hi || !m->bound || !m->heap || !m->pos || !m->end) {
        merge_free(m);
        return -1;
    }
    for (unsigned r = 0; r < nrings; r++)
        m->bound[r] = UINT64_MAX;
    return 0;
}

void merge_free(struct merge *m)
{
    free(m->buf);
    free(m->out);
    free(m->run_lo);
    free(m->run_hi);
    free(m->bound);
    free(m->heap);
    free(m->pos);
    free(m->end);
    memset(m, 0, sizeof *m);
    m->cur = -1;
}

void merge_ring_begin(struct merge *m, unsigned ring, uint64_t clock_ns)
{
    if (ring >= m->nrings)
        return;
    m->cur = (int)ring;
    m->run_lo[ring] = m->run_hi[ring] = m->n;
    uint64_t b = clock_ns > MERGE_SLACK_NS ? clock_ns - MERGE_SLACK_NS : 0;
    if (m->bound[ring] == UINT64_MAX || b > m->bound[ring])
        m->bound[ring] = b;
}

struct mitem *merge_slot(struct merge *m)
{
    if (m->cur < 0)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4096;
        struct mitem *nb = realloc(m->buf, cap * sizeof *nb);
        if (!nb)
            return NULL;
        m->buf = nb;
        struct mitem *no = realloc(m->out, cap * sizeof *no);
        if (!no)
            return NULL;
        m->out = no;
        m->cap = cap;
    }
    return &m->buf[m->n];
}

void merge_push(struct merge *m)
{
    struct mitem *it = &m->buf[m->n++];
    it->ring = (uint32_t)m->cur;
    it->seq = m->seq++;
    if (it->time > m->bound[m->cur])
        m->bound[m->cur] = it->time;
}

void merge_ring_end(struct merge *m)
{
    if (m->cur >= 0)
        m->run_hi[m->cur] = m->n;
    m->cur = -1;
}

static int before(const struct mitem *a, const struct mitem *b)
{
    return a->time != b->time ? a->time < b->time : a->seq < b->seq;
}

static int cmp_items(const void *a, const void *b)
{
    return before(a, b) ? -1 : before(b, a);
}

/* A ring's run is in order unless a record interrupted another's write on
 * the same CPU (perf sampling only): then that run alone is sorted. */
static void sort_run(struct mitem *lo, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (before(&lo[i], &lo[i - 1])) {
            qsort(lo, n, sizeof *lo, cmp_items);
            return;
        }
}

/* runs are [pos[k], end[k]) in buf; the heap orders them by their next item */
static const struct mitem *head(const struct merge *m, const size_t *end, size_t run)
{
    return m->pos[run] < end[run] ? &m->buf[m->pos[run]] : NULL;
}

static void sift_down(struct merge *m, const size_t *end, size_t nh, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        if (l < nh && before(head(m, end, m->heap[l]), head(m, end, m->heap[best])))
            best = l;
        if (l + 1 < nh && before(head(m, end, m->heap[l + 1]), head(m, end, m->heap[best])))
            best = l + 1;
        if (best == i)
            return;
        size_t t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

static void emit_upto(struct merge *m, uint64_t w, merge_fn fn, void *ctx)
{
    size_t *end = m->end;
    size_t nruns = 0, nh = 0;
    /* run 0: what earlier passes held back; then one run per ring */
    m->pos[nruns] = 0;
    end[nruns++] = m->nheld;
    for (unsigned r = 0; r < m->nrings; r++) {
        if (m->run_hi[r] <= m->run_lo[r])
            continue;
        sort_run(&m->buf[m->run_lo[r]], m->run_hi[r] - m->run_lo[r]);
        m->pos[nruns] = m->run_lo[r];
        end[nruns++] = m->run_hi[r];
        m->run_lo[r] = m->run_hi[r] = 0;
    }
    for (size_t k = 0; k < nruns; k++)
        if (m->pos[k] < end[k])
            m->heap[nh++] = k;
    for (size_t i = nh; i-- > 0;)
        sift_down(m, end, nh, i);
    size_t kept = 0;
    while (nh) {
        size_t run = m->heap[0];
        const struct mitem *it = &m->buf[m->pos[run]++];
        if (it->time <= w) {
            if (it->time < m->emitted_max)
                m->late++;
            else
                m->emitted_max = it->time;
            fn(ctx, it);
        } else {
            m->out[kept++] = *it;
        }
        if (m->pos[run] >= end[run])
            m->heap[0] = m->heap[--nh];
        sift_down(m, end, nh, 0);
    }
    struct mitem *t = m->buf;
    m->buf = m->out;
    m->out = t;
    m->n = m->nheld = kept;
    if (w > m->watermark)
        m->watermark = w;
}

void merge_emit(struct merge *m, merge_fn fn, void *ctx)
{
    uint64_t w = UINT64_MAX;
    for (unsigned r = 0; r < m->nrings; r++)
        if (m->bound[r] < w)
            w = m->bound[r];
    if (w == UINT64_MAX)
        w = 0; /* no ring read yet */
    emit_upto(m, w, fn, ctx);
}

void merge_emit_all(struct merge *m, merge_fn fn, void *ctx)
{
    emit_upto(m, UINT64_MAX, fn, ctx);
}
