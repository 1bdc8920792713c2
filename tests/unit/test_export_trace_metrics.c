/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "export/trace_metrics.h"
#include "test.h"

static char *render(const struct trace_metrics *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tm_write(f, t);
    fclose(f);
    return buf;
}

TEST(counters_and_cumulative_histogram)
{
    struct trace_metrics *t = calloc(1, sizeof *t);
    struct tm_close peer = {.role = 1, .port = 8080, .side = TM_PEER, .tw_peer = true, .close_after_fin_s = 0.05};
    struct tm_close slow = {.role = 1, .port = 8080, .side = TM_PEER, .tw_peer = true, .close_after_fin_s = 2.5};
    struct tm_close rst = {.role = 2, .port = 8080, .side = TM_RESET, .rst_received = true, .close_after_fin_s = -1};
    tm_add(t, &peer);
    tm_add(t, &slow);
    tm_add(t, &rst);
    t->events = 30;
    char *out = render(t);
    CHECK(strstr(out, "closer_trace_closes_total{port=\"8080\",role=\"accepted\",side=\"peer\"} 2\n"));
    CHECK(strstr(out, "closer_trace_closes_total{port=\"8080\",role=\"outgoing\",side=\"reset\"} 1\n"));
    CHECK(strstr(out, "closer_trace_resets_total{port=\"8080\",role=\"outgoing\",direction=\"received\"} 1\n"));
    CHECK(strstr(out, "closer_trace_time_wait_total{port=\"8080\",role=\"accepted\",where=\"peer\"} 2\n"));
    /* cumulative: 0.05 s is under le=0.1, 2.5 s only from le=5 */
    CHECK(strstr(out, "closer_trace_close_after_fin_seconds_bucket{port=\"8080\",role=\"accepted\",le=\"0.01\"} 0\n"));
    CHECK(strstr(out, "closer_trace_close_after_fin_seconds_bucket{port=\"8080\",role=\"accepted\",le=\"0.1\"} 1\n"));
    CHECK(strstr(out, "closer_trace_close_after_fin_seconds_bucket{port=\"8080\",role=\"accepted\",le=\"2\"} 1\n"));
    CHECK(strstr(out, "closer_trace_close_after_fin_seconds_bucket{port=\"8080\",role=\"accepted\",le=\"5\"} 2\n"));
    CHECK(strstr(out, "closer_trace_close_after_fin_seconds_bucket{port=\"8080\",role=\"accepted\",le=\"+Inf\"} 2\n"));
    CHECK(strstr(out, "closer_trace_close_after_fin_seconds_count{port=\"8080\",role=\"outgoing\"} 0\n"));
    CHECK(strstr(out, "closer_trace_events_total 30\n"));
    free(out);
    free(t);
}

TEST(series_beyond_the_cap_go_to_other)
{
    struct trace_metrics *t = calloc(1, sizeof *t);
    for (int p = 1; p <= TM_MAX_ROWS + 10; p++) {
        struct tm_close c = {.role = 1, .port = (uint16_t)p, .side = TM_LOCAL, .close_after_fin_s = -1};
        tm_add(t, &c);
    }
    char *out = render(t);
    CHECK(strstr(out, "closer_trace_closes_total{port=\"other\",role=\"unknown\",side=\"local\"} 10\n"));
    CHECK(strstr(out, "{port=\"64\",role=\"accepted\",side=\"local\"} 1\n"));
    CHECK(!strstr(out, "{port=\"65\","));
    free(out);
    free(t);
}
