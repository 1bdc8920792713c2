/* SPDX-License-Identifier: MIT */
/* The exposition writer: HELP/TYPE lines, label and HELP escaping, values as
 * Prometheus parses them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/prom.h"
#include "test.h"
#include "util/utf8.h"

static char *buf;
static size_t len;

static struct prom start(FILE **f)
{
    *f = open_memstream(&buf, &len);
    struct prom p;
    prom_init(&p, *f);
    return p;
}

TEST(family_has_help_and_type_then_samples)
{
    FILE *f;
    struct prom p = start(&f);
    prom_family(&p, "x_total", "counter", "Things.");
    prom_sample(&p, "", 3, NULL);
    prom_sample(&p, "", 4, "a", "1", "b", "2", NULL);
    fclose(f);
    CHECK_EQ_STR(buf, "# HELP x_total Things.\n# TYPE x_total counter\nx_total 3\nx_total{a=\"1\",b=\"2\"} 4\n");
    free(buf);
}

TEST(label_values_escape_backslash_quote_newline)
{
    FILE *f;
    struct prom p = start(&f);
    prom_family(&p, "m", "gauge", "h");
    prom_sample(&p, "", 1, "comm", "a\\b\"c\nd", NULL);
    fclose(f);
    CHECK(strstr(buf, "m{comm=\"a\\\\b\\\"c\\nd\"} 1\n") != NULL);
    free(buf);
}

TEST(help_escapes_backslash_and_newline_but_not_quotes)
{
    FILE *f;
    struct prom p = start(&f);
    prom_family(&p, "m", "gauge", "say \"x\\y\"\nnext");
    fclose(f);
    CHECK_EQ_STR(buf, "# HELP m say \"x\\\\y\"\\nnext\n# TYPE m gauge\n");
    free(buf);
}

TEST(values_integers_floats_and_specials)
{
    FILE *f;
    struct prom p = start(&f);
    prom_family(&p, "h", "histogram", "h");
    prom_sample(&p, "_bucket", 300000, "le", "+Inf", NULL);
    prom_sample(&p, "_sum", 0.25, NULL);
    prom_sample(&p, "_count", INFINITY, NULL);
    prom_sample(&p, "_x", NAN, NULL);
    prom_sample(&p, "_y", -INFINITY, NULL);
    fclose(f);
    CHECK(strstr(buf, "h_bucket{le=\"+Inf\"} 300000\n") != NULL);
    CHECK(strstr(buf, "h_sum 0.25\n") != NULL);
    CHECK(strstr(buf, "h_count +Inf\n") != NULL);
    CHECK(strstr(buf, "h_x NaN\n") != NULL);
    CHECK(strstr(buf, "h_y -Inf\n") != NULL);
    free(buf);
}

static char *value_text(double v)
{
    static char out[64];
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    prom_value(f, v);
    fclose(f);
    snprintf(out, sizeof out, "%s", b);
    free(b);
    return out;
}

/* The shortest text that reads back as the same double, as node_exporter
 * (Go's strconv 'g', -1) prints it: 0.1, never 0.10000000000000001. */
TEST(values_shortest_round_trip)
{
    CHECK_EQ_STR(value_text(0.1), "0.1");
    CHECK_EQ_STR(value_text(3.7), "3.7");
    CHECK_EQ_STR(value_text(37 / 10.0), "3.7");
    CHECK_EQ_STR(value_text(0.1 + 0.2), "0.30000000000000004");
    CHECK_EQ_STR(value_text(37 / 60.0), "0.6166666666666667");
    CHECK_EQ_STR(value_text(1e-7), "1e-07");
    CHECK_EQ_STR(value_text(-2.5), "-2.5");
    CHECK_EQ_STR(value_text(1e300), "1e+300");
    CHECK_EQ_STR(value_text(42), "42");
    /* Every text reads back exactly. */
    unsigned seed = 1;
    for (int i = 0; i < 10000; i++) {
        seed = seed * 1103515245u + 12345u;
        double v = (double)seed / ((i % 7) + 3.0) * pow(10, (i % 40) - 20);
        CHECK(strtod(value_text(v), NULL) == v);
    }
}

/* A comm cut mid-character by the kernel: the label stays UTF-8 (U+FFFD per
 * ill-formed subpart), escapes still apply, valid characters pass. */
TEST(label_values_and_help_are_valid_utf8)
{
    FILE *f;
    struct prom p = start(&f);
    prom_family(&p, "m", "gauge", "h\xff\"");
    prom_sample(&p, "", 1, "comm", "\xe6\x97\xa5\xe6\x9c", "x", "\xc0\"\\\n\xc3\xa9", NULL);
    fclose(f);
    CHECK(utf8_valid(buf, len));
    CHECK(strstr(buf, "# HELP m h" UTF8_REPLACEMENT "\"\n") != NULL);
    CHECK(strstr(buf, "m{comm=\"\xe6\x97\xa5" UTF8_REPLACEMENT "\",x=\"" UTF8_REPLACEMENT
                      "\\\"\\\\\\n\xc3\xa9\"} 1\n") != NULL);
    free(buf);
}
