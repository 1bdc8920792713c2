/* SPDX-License-Identifier: MIT */
/* Regrouping expositions family by family with each part's labels first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/prom_merge.h"
#include "test.h"

static char *merge(const struct prom_part *parts, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || prom_merge(f, parts, n) < 0)
        return NULL;
    fclose(f);
    return buf;
}

static const char one[] =
    "# HELP closer_tcp_sockets TCP sockets by state.\n"
    "# TYPE closer_tcp_sockets gauge\n"
    "closer_tcp_sockets{state=\"ESTAB\"} 3\n"
    "closer_tcp_sockets{state=\"TIME_WAIT\"} 5\n"
    "# HELP closer_age Age.\n"
    "# TYPE closer_age histogram\n"
    "closer_age_bucket{le=\"1\"} 1\n"
    "closer_age_bucket{le=\"+Inf\"} 2\n"
    "closer_age_sum 1.5\n"
    "closer_age_count 2\n";

static const char two[] =
    "# HELP closer_tcp_sockets TCP sockets by state.\n"
    "# TYPE closer_tcp_sockets gauge\n"
    "closer_tcp_sockets{state=\"ESTAB\"} 7\n"
    "closer_tcp_sockets{state=\"TIME_WAIT\"} 0\n"
    "# HELP closer_only_here Only in the second part.\n"
    "# TYPE closer_only_here counter\n"
    "closer_only_here_total 9\n"
    "# HELP closer_age Age.\n"
    "# TYPE closer_age histogram\n"
    "closer_age_bucket{le=\"1\"} 0\n"
    "closer_age_bucket{le=\"+Inf\"} 0\n"
    "closer_age_sum 0\n"
    "closer_age_count 0\n";

TEST(families_once_samples_together_labels_first)
{
    struct prom_part parts[] = {{one, sizeof one - 1, "netns=\"1\""},
                                {two, sizeof two - 1, "netns=\"2\",pod=\"a\\\"b\""}};
    char *out = merge(parts, 2);
    CHECK(out != NULL);
    const char *want =
        "# HELP closer_tcp_sockets TCP sockets by state.\n"
        "# TYPE closer_tcp_sockets gauge\n"
        "closer_tcp_sockets{netns=\"1\",state=\"ESTAB\"} 3\n"
        "closer_tcp_sockets{netns=\"1\",state=\"TIME_WAIT\"} 5\n"
        "closer_tcp_sockets{netns=\"2\",pod=\"a\\\"b\",state=\"ESTAB\"} 7\n"
        "closer_tcp_sockets{netns=\"2\",pod=\"a\\\"b\",state=\"TIME_WAIT\"} 0\n"
        "# HELP closer_age Age.\n"
        "# TYPE closer_age histogram\n"
        "closer_age_bucket{netns=\"1\",le=\"1\"} 1\n"
        "closer_age_bucket{netns=\"1\",le=\"+Inf\"} 2\n"
        "closer_age_sum{netns=\"1\"} 1.5\n"
        "closer_age_count{netns=\"1\"} 2\n"
        "closer_age_bucket{netns=\"2\",pod=\"a\\\"b\",le=\"1\"} 0\n"
        "closer_age_bucket{netns=\"2\",pod=\"a\\\"b\",le=\"+Inf\"} 0\n"
        "closer_age_sum{netns=\"2\",pod=\"a\\\"b\"} 0\n"
        "closer_age_count{netns=\"2\",pod=\"a\\\"b\"} 0\n"
        "# HELP closer_only_here Only in the second part.\n"
        "# TYPE closer_only_here counter\n"
        "closer_only_here_total{netns=\"2\",pod=\"a\\\"b\"} 9\n";
    CHECK_EQ_STR(out, want);
    free(out);
}

TEST(no_labels_empty_and_garbage_parts)
{
    struct prom_part parts[] = {{one, sizeof one - 1, ""}, {"", 0, "netns=\"x\""},
                                {"no help line\nfoo 1\n", 19, "netns=\"y\""}};
    char *out = merge(parts, 3);
    CHECK(out != NULL);
    CHECK(strstr(out, "closer_tcp_sockets{state=\"ESTAB\"} 3\n"));
    CHECK(!strstr(out, "foo 1")); /* samples before any family are dropped */
    CHECK(!strstr(out, "netns="));
    free(out);
    /* A family with an empty label set: "{}" stays well-formed. */
    const char *e = "# HELP a A.\n# TYPE a gauge\na{} 1\n";
    struct prom_part p2[] = {{e, strlen(e), "netns=\"3\""}};
    out = merge(p2, 1);
    CHECK(out != NULL);
    CHECK(strstr(out, "a{netns=\"3\"} 1\n"));
    free(out);
}

TEST(label_append_escapes)
{
    char buf[64] = "";
    prom_label_append(buf, sizeof buf, "netns", "1");
    prom_label_append(buf, sizeof buf, "pod", "a\"b\\c\nd");
    CHECK_EQ_STR(buf, "netns=\"1\",pod=\"a\\\"b\\\\c\\nd\"");
    /* Too long for the buffer: left out whole, never cut inside quotes. */
    char tiny[24] = "";
    prom_label_append(tiny, sizeof tiny, "netns", "1");
    prom_label_append(tiny, sizeof tiny, "container", "0123456789abcdef");
    CHECK_EQ_STR(tiny, "netns=\"1\"");
}
