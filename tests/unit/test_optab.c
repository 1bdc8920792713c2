/* SPDX-License-Identifier: MIT */
/* The option table: getopt_long parses what the table declares, and the
 * options block of --help comes out in the layout every command printed
 * by hand before (scripts/helpparse.awk reads it for man pages and shell
 * completion), byte for byte. */
#include <stdlib.h>

#include "util/cli.h"
#include "util/optab.h"
#include "test.h"

enum { O_RATE = 256, O_QUIET };

static const struct optab opts[] = {
    {"connections", 'c', "N", 'c', "concurrent connections (10)"},
    {"rate", 0, "R", O_RATE, "open loop: R requests/s in total, latency measured from\n"
                            "the intended send time"},
    {NULL, '4', NULL, '4', "only IPv4 / only IPv6"},
    {NULL, '6', NULL, '6', NULL},
    {NULL, 0, NULL, 0, "closing patterns:"},
    {"requests-per-conn", 0, "N", 'q', "the client closes after N requests"},
    {"quiet", 0, NULL, O_QUIET, "no progress line"},
    {"help", 'h', NULL, 'h', ""},
    {0}};

static const char expected[] =
    "  -c, --connections N     concurrent connections (10)\n"
    "      --rate R            open loop: R requests/s in total, latency measured from\n"
    "                          the intended send time\n"
    "  -4, -6                  only IPv4 / only IPv6\n"
    "  closing patterns:\n"
    "      --requests-per-conn N  the client closes after N requests\n"
    "      --quiet             no progress line\n"
    "  -h, --help\n";

TEST(help_block_layout)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    optab_print(f, opts, 26);
    fclose(f);
    CHECK_EQ_STR(buf, expected);
    free(buf);
}

TEST(short_string_and_longopts)
{
    struct optab_getopt g;
    CHECK_EQ_INT(optab_build(opts, &g), 0);
    CHECK_EQ_STR(g.shortopts, ":c:46h");
    CHECK_EQ_STR(g.longopts[0].name, "connections");
    CHECK_EQ_INT(g.longopts[0].has_arg, required_argument);
    CHECK_EQ_INT(g.longopts[1].val, O_RATE);
    CHECK_EQ_STR(g.longopts[2].name, "requests-per-conn");
    CHECK_EQ_INT(g.longopts[3].val, O_QUIET);
    CHECK_EQ_INT(g.longopts[3].has_arg, no_argument);
    CHECK_EQ_STR(g.longopts[4].name, "help");
    CHECK(g.longopts[5].name == NULL);
}

static int parse(int argc, char **argv, int *ids, const char **args)
{
    struct optab_getopt g;
    optab_build(opts, &g);
    cli_begin();
    int n = 0, c;
    while ((c = optab_next(&g, argc, argv)) != -1) {
        ids[n] = c;
        args[n++] = c == ':' || c == '?' ? NULL : optarg;
    }
    return n;
}

TEST(parses_what_the_table_declares)
{
    char *argv[] = {"load", "-c", "5", "--rate=2", "-46", "--quiet", "--requests-per-conn",
                    "3", "url", NULL};
    int ids[8];
    const char *args[8];
    CHECK_EQ_INT(parse(9, argv, ids, args), 6);
    CHECK_EQ_INT(ids[0], 'c');
    CHECK_EQ_STR(args[0], "5");
    CHECK_EQ_INT(ids[1], O_RATE);
    CHECK_EQ_STR(args[1], "2");
    CHECK_EQ_INT(ids[2], '4');
    CHECK_EQ_INT(ids[3], '6');
    CHECK_EQ_INT(ids[4], O_QUIET);
    CHECK_EQ_INT(ids[5], 'q');
    CHECK_EQ_STR(args[5], "3");
    CHECK_EQ_INT(optind, 8);
}

TEST(unknown_and_missing_values)
{
    char *argv[] = {"load", "-x", "--nope", "-c", NULL};
    int ids[4];
    const char *args[4];
    CHECK_EQ_INT(parse(4, argv, ids, args), 3);
    CHECK_EQ_INT(ids[0], '?');
    CHECK_EQ_INT(ids[1], '?');
    CHECK_EQ_INT(ids[2], ':');
}

TEST(too_many_rows_fail_the_build)
{
    static struct optab big[OPTAB_MAX + 2];
    for (int i = 0; i <= OPTAB_MAX; i++)
        big[i] = (struct optab){"x", 0, NULL, 256 + i, "x"};
    struct optab_getopt g;
    CHECK_EQ_INT(optab_build(big, &g), -1);
    big[OPTAB_MAX] = (struct optab){0};
    CHECK_EQ_INT(optab_build(big, &g), 0);
}

/* serve's forms: values that may be left out, and short defaults after
 * their names, two options to a line. */
enum { O_LINGER = 300, O_ZERO, O_TIME, O_TIMEOUT, O_HDR, O_BODY };

static const struct optab forms[] = {
    {"linger", 0, "on|off|always", O_LINGER | OPTAB_BRIEF, "(on)"},
    {"linger-time", 0, "DUR", O_TIME | OPTAB_BRIEF, "(30s)"},
    {"linger-timeout", 0, "DUR", O_TIMEOUT | OPTAB_SAME_LINE, "(5s)"},
    {"linger-zero", 0, NULL, O_ZERO | OPTAB_OPTIONAL, "close with RST\n(also takes =on|off)"},
    {"header-timeout", 0, "DUR", O_HDR | OPTAB_OPTIONAL, "wait for the head"},
    {"verbose", 'v', NULL, 'v' | OPTAB_OPTIONAL, "log more"},
    {"body", 'b', "SIZE", O_BODY, "the body"},
    {"help", 'h', NULL, 'h', ""},
    {0}};

static const char forms_expected[] =
    "      --linger on|off|always (on)\n"
    "      --linger-time DUR (30s)  --linger-timeout DUR (5s)\n"
    "      --linger-zero     close with RST\n"
    "                        (also takes =on|off)\n"
    "      --header-timeout[=DUR]  wait for the head\n"
    "  -v, --verbose         log more\n"
    "  -b, --body SIZE       the body\n"
    "  -h, --help\n";

TEST(forms_help_layout)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    optab_print(f, forms, 24);
    fclose(f);
    CHECK_EQ_STR(buf, forms_expected);
    free(buf);
}

TEST(forms_getopt_arrays)
{
    struct optab_getopt g;
    CHECK_EQ_INT(optab_build(forms, &g), 0);
    CHECK_EQ_STR(g.shortopts, ":vb:h"); /* -v stays a flag */
    CHECK_EQ_INT(g.longopts[0].has_arg, required_argument);
    CHECK_EQ_INT(g.longopts[0].val, O_LINGER);
    CHECK_EQ_INT(g.longopts[2].val, O_TIMEOUT);
    CHECK_EQ_INT(g.longopts[3].has_arg, optional_argument);
    CHECK_EQ_INT(g.longopts[3].val, O_ZERO);
    CHECK_EQ_INT(g.longopts[4].has_arg, optional_argument);
    CHECK_EQ_INT(g.longopts[5].val, 'v');
    CHECK_EQ_INT(g.longopts[5].has_arg, optional_argument);
    CHECK_EQ_INT(g.longopts[6].has_arg, required_argument);
}

static int parse_forms(int argc, char **argv, int *ids, const char **args)
{
    struct optab_getopt g;
    optab_build(forms, &g);
    cli_begin();
    int n = 0, c;
    while ((c = optab_next(&g, argc, argv)) != -1) {
        ids[n] = c;
        args[n++] = c == ':' || c == '?' ? NULL : optarg;
    }
    return n;
}

TEST(forms_optional_values_parse)
{
    char *argv[] = {"serve", "--linger-zero", "--linger-zero=off", "--verbose=on", "-vh",
                    "--linger-time", "2s", "--linger-zero", "on", NULL};
    int ids[8];
    const char *args[8];
    CHECK_EQ_INT(parse_forms(9, argv, ids, args), 7);
    CHECK_EQ_INT(ids[0], O_ZERO); /* the id without its form bits */
    CHECK(args[0] == NULL);
    CHECK_EQ_INT(ids[1], O_ZERO);
    CHECK_EQ_STR(args[1], "off");
    CHECK_EQ_INT(ids[2], 'v');
    CHECK_EQ_STR(args[2], "on");
    CHECK_EQ_INT(ids[3], 'v');
    CHECK(args[3] == NULL);
    CHECK_EQ_INT(ids[4], 'h');
    CHECK_EQ_INT(ids[5], O_TIME);
    CHECK_EQ_STR(args[5], "2s");
    CHECK_EQ_INT(ids[6], O_ZERO); /* a separate word is not its value */
    CHECK(args[6] == NULL);
    CHECK_EQ_INT(optind, 8);
    CHECK_EQ_STR(argv[optind], "on");
}

static int build_one(struct optab row0, struct optab row1)
{
    struct optab t[] = {row0, row1, {0}};
    struct optab_getopt g;
    return optab_build(t, &g);
}

TEST(forms_misused_fail_the_build)
{
    struct optab plain = {"a", 0, "N", 300, "a value"};
    struct optab brief = {"b", 0, "N", 301 | OPTAB_BRIEF, "(1)"};
    CHECK_EQ_INT(build_one(brief, (struct optab){"c", 0, "N", 302 | OPTAB_SAME_LINE, "(2)"}), 0);
    CHECK_EQ_INT(build_one(plain, (struct optab){"c", 0, "N", 302 | OPTAB_SAME_LINE, "(2)"}), -1);
    CHECK_EQ_INT(build_one((struct optab){"c", 0, "N", 302 | OPTAB_SAME_LINE, "(2)"}, plain), -1);
    CHECK_EQ_INT(build_one(plain, (struct optab){"c", 0, "N", 302 | OPTAB_BRIEF, "(2)\nmore"}), -1);
    CHECK_EQ_INT(build_one(plain, (struct optab){"c", 0, "N", 302 | OPTAB_BRIEF, NULL}), -1);
    CHECK_EQ_INT(build_one(plain, (struct optab){"c", 0, NULL, OPTAB_OPTIONAL, "no id"}), -1);
    CHECK_EQ_INT(build_one(plain, (struct optab){"c", 0, NULL, 302 | 0x100000, "odd bit"}), -1);
    CHECK_EQ_INT(build_one(plain, (struct optab){NULL, 'c', NULL, 'c' | OPTAB_OPTIONAL, "x"}), -1);
}
