/* SPDX-License-Identifier: MIT */
#include "client/hist.h"
#include "test.h"

TEST(percentiles_within_precision)
{
    static struct hist h;
    hist_init(&h);
    for (uint64_t v = 1; v <= 100000; v++)
        hist_record(&h, v);
    uint64_t p50 = hist_percentile(&h, 50), p99 = hist_percentile(&h, 99);
    CHECK(p50 >= 50000 && p50 <= 50000 * 65 / 64 + 1);
    CHECK(p99 >= 99000 && p99 <= 99000 * 65 / 64 + 1);
    CHECK_EQ_INT(hist_percentile(&h, 100), 100000);
    CHECK_EQ_INT(h.min, 1);
    CHECK(hist_mean(&h) > 50000.4 && hist_mean(&h) < 50000.6);
}

TEST(small_values_exact_and_merge)
{
    static struct hist a, b;
    hist_init(&a);
    hist_init(&b);
    hist_record(&a, 3);
    hist_record(&b, 100);
    hist_record(&b, 1u << 30);
    hist_merge(&a, &b);
    CHECK_EQ_INT(a.total, 3);
    CHECK_EQ_INT(hist_percentile(&a, 33), 3);
    CHECK_EQ_INT(hist_percentile(&a, 66), 100);
    CHECK_EQ_INT(hist_percentile(&a, 100), 1u << 30);
    CHECK_EQ_INT(a.min, 3);
}

TEST(empty_is_zero)
{
    static struct hist h;
    hist_init(&h);
    CHECK_EQ_INT(hist_percentile(&h, 99), 0);
}
