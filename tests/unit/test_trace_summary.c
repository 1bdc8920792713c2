/* SPDX-License-Identifier: MIT */
/* The summary's words for what a trace missed: each cause in its backend's
 * terms (the bpf backend once blamed "perf sampling" and advised
 * --backend bpf), and every cause in the JSON. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "trace/summary.h"

static char *render(const struct summary_meta *m, bool json)
{
    struct summary s;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    summary_init(&s, NULL);
    if (json)
        summary_print_json(&s, m, f);
    else
        summary_print_text(&s, m, f);
    fclose(f);
    summary_free(&s);
    return text;
}

TEST(bpf_losses_never_blame_perf)
{
    struct summary_meta m = {.seconds = 1, .scope = "test", .backend = "bpf", .lost = 7};
    m.why.skipped = 5;
    m.why.ring_full = 2;
    char *t = render(&m, false);
    CHECK(strstr(t, "BPF program skipped: 5") != NULL);
    CHECK(strstr(t, "ring full: 2") != NULL);
    CHECK(strstr(t, "perf sampling") == NULL);
    CHECK(strstr(t, "--backend bpf") == NULL);
    free(t);
}

TEST(perf_losses_advise_bpf)
{
    struct summary_meta m = {.seconds = 1, .scope = "test", .backend = "perf", .lost = 3};
    m.why.not_sampled = 3;
    char *t = render(&m, false);
    CHECK(strstr(t, "never sampled: 3") != NULL);
    CHECK(strstr(t, "--backend bpf") != NULL);
    CHECK(strstr(t, "BPF program skipped") == NULL);
    free(t);
}

TEST(json_has_every_cause)
{
    struct summary_meta m = {.seconds = 1, .scope = "test", .backend = "bpf", .lost = 4};
    m.why.ring_full = 1, m.why.skipped = 3, m.why.misordered = 2, m.why.end_unseen = 9;
    char *t = render(&m, true);
    CHECK(strstr(t, "\"lost_by_cause\":{\"ring_full\":1,\"bpf_skipped\":3,\"not_sampled\":0}") != NULL);
    CHECK(strstr(t, "\"misordered_events\":2") != NULL);
    CHECK(strstr(t, "\"end_unseen\":9") != NULL);
    free(t);
}

TEST(nothing_lost_says_nothing)
{
    struct summary_meta m = {.seconds = 1, .scope = "test", .backend = "bpf"};
    char *t = render(&m, false);
    CHECK(strstr(t, "lost: 0, backend: bpf") != NULL);
    CHECK(strstr(t, "lost,") == NULL);
    free(t);
}
