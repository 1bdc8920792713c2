/* SPDX-License-Identifier: MIT */
#include "client/hist.h"

#include <string.h>

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

/* Values below 2*HIST_SUB map one to one; above, the top 7 bits of the
 * value choose the sub-bucket within its power of two. */
static unsigned index_of(uint64_t v)
{
    if (v < 2 * HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63 - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - 6; /* keep 7 significant bits: 64..127 */
    unsigned idx = 2 * HIST_SUB + (shift - 1) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

static uint64_t upper_of(unsigned idx)
{
    if (idx < 2 * HIST_SUB)
        return idx;
    unsigned shift = (idx - 2 * HIST_SUB) / HIST_SUB + 1;
    uint64_t sub = (idx - 2 * HIST_SUB) % HIST_SUB + HIST_SUB;
    return ((sub + 1) << shift) - 1;
}

void hist_record(struct hist *h, uint64_t us)
{
    h->counts[index_of(us)]++;
    h->total++;
    h->sum += us;
    if (us > h->max)
        h->max = us;
    if (us < h->min)
        h->min = us;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    into->sum += from->sum;
    if (from->max > into->max)
        into->max = from->max;
    if (from->min < into->min)
        into->min = from->min;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    if (!h->total)
        return 0;
    uint64_t want = (uint64_t)((p / 100.0) * (double)h->total + 0.999999);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            uint64_t u = upper_of(i);
            return u > h->max ? h->max : u;
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->total ? (double)h->sum / (double)h->total : 0;
}
