/* SPDX-License-Identifier: MIT */
/* The option table: getopt_long parses what the table declares, and the
 * options block of --help comes out in the layout every command printed
 * by hand before (scripts/helpparse.awk reads it for man pages and shell
 * completion), byte for byte. */
#include <stdlib.h>

#include "util/cli.h"
#include "util/optab.h"
#include "test.h"

enum { O_RATE = 256, O_SECRET };

static const struct optab opts[] = {
    {"connections", 'c', "N", 'c', "concurrent connections (10)"},
    {"rate", 0, "R", O_RATE, "open loop: R requests/s in total, latency measured from\n"
                            "the intended send time"},
    {NULL, '4', NULL, '4', "only IPv4 / only IPv6"},
    {NULL, '6', NULL, '6', NULL},
    {NULL, 0, NULL, 0, "closing patterns:"},
    {"requests-per-conn", 0, "N", 'q', "the client closes after N requests"},
    {"secret", 0, NULL, O_SECRET, optab_hidden},
    {"help", 'h', NULL, 'h', ""},
    {0}};

static const char expected[] =
    "  -c, --connections N     concurrent connections (10)\n"
    "      --rate R            open loop: R requests/s in total, latency measured from\n"
    "                          the intended send time\n"
    "  -4, -6                  only IPv4 / only IPv6\n"
    "  closing patterns:\n"
    "      --requests-per-conn N  the client closes after N requests\n"
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
    CHECK_EQ_INT(g.longopts[3].val, O_SECRET);
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
    char *argv[] = {"load", "-c", "5", "--rate=2", "-46", "--secret", "--requests-per-conn",
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
    CHECK_EQ_INT(ids[4], O_SECRET);
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
