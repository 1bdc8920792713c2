/* SPDX-License-Identifier: MIT */
/* One option table per command: the getopt_long array, the short-option
 * string and the options block of the --help text are all built from it,
 * so an option cannot be parsed without being documented (the man pages
 * and shell completions are generated from --help, scripts/helpparse.awk).
 *
 * Error convention: optab_build returns 0, or -1 when the table does not
 * fit OPTAB_MAX (a programming error, caught by the command's unit test). */
#ifndef CLOSER_UTIL_OPTAB_H
#define CLOSER_UTIL_OPTAB_H
#include <getopt.h>
#include <stdio.h>

#define OPTAB_MAX 64 /* options per command */

/* One row. The table ends with an all-zero row {0}.
 * help: the description, lines separated by '\n' (continuations are
 *   indented to the column); "" prints the names alone ("-h, --help");
 *   NULL puts this option's names on the previous row ("-4, -6");
 *   optab_hidden parses the option without printing it.
 * A row with id 0 is a heading inside the options block: help is its text
 *   ("closing patterns:"). */
struct optab {
    const char *name; /* long name without "--", or NULL */
    char short_name;  /* the short letter, or 0 */
    const char *arg;  /* the value as printed ("N", "'K: V'"), NULL for a flag */
    int id;           /* what optab_next returns for this option */
    const char *help;
};

extern const char optab_hidden[];

/* What getopt_long needs, built from a table; owned by the caller. */
struct optab_getopt {
    struct option longopts[OPTAB_MAX + 1];
    char shortopts[2 * OPTAB_MAX + 2];
};

int optab_build(const struct optab *t, struct optab_getopt *g);
/* getopt_long over the built arrays: the option's id, '?' or ':' for an
 * unknown option or a missing value (cli_bad_option), -1 at the end. */
int optab_next(const struct optab_getopt *g, int argc, char **argv);
/* The options block of --help: names indented by 2 ("-c, --connections N",
 * "    --rate R" without a short name), descriptions from column col (two
 * spaces after names that reach it). */
void optab_print(FILE *f, const struct optab *t, int col);

#endif
