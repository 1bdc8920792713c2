/* SPDX-License-Identifier: MIT */
/* Log-linear latency histogram (HdrHistogram style): values in
 * microseconds, 64 linear sub-buckets per power of two, so any recorded
 * value is reported within 1/64 (1.6 %) of itself, up to ~2^40 us. Fixed
 * size, no allocation; histograms from several threads merge by adding. */
#ifndef CLOSER_CLIENT_HIST_H
#define CLOSER_CLIENT_HIST_H
#include <stdint.h>

#define HIST_SUB 64
#define HIST_BUCKETS (HIST_SUB * 2 + HIST_SUB * 40)

struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total, max, min, sum;
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t us);
void hist_merge(struct hist *into, const struct hist *from);
/* Value at percentile p (0..100]: the upper edge of the bucket holding it. */
uint64_t hist_percentile(const struct hist *h, double p);
double hist_mean(const struct hist *h);

#endif
