/* SPDX-License-Identifier: MIT */
/* One option table per command: the getopt_long array, the short-option
 * string and the options block of the --help text are all built from it,
 * so an option cannot be parsed without being documented (the man pages
 * and shell completions are generated from --help, scripts/helpparse.awk).
 *
 * Error convention: optab_build returns 0, or -1 when the table does not
 * fit OPTAB_MAX or misuses the form bits below (an id of 0 with bits set,
 * unknown bits, a brief help over two lines, OPTAB_SAME_LINE after a row
 * that is not brief, OPTAB_OPTIONAL without a long name): a programming error, caught by the command's tests. */
#ifndef CLOSER_UTIL_OPTAB_H
#define CLOSER_UTIL_OPTAB_H
#include <getopt.h>
#include <stdio.h>

#define OPTAB_MAX 64 /* options per command */

/* One row. The table ends with an all-zero row {0}.
 * help: the description, lines separated by '\n' (continuations are
 *   indented to the column); "" prints the names alone ("-h, --help");
 *   NULL puts this option's names on the previous row ("-4, -6").
 *   There are no hidden options: tests/integration/install.sh checks that
 *   every option parsed is in the man page, which is made from --help.
 * A row with id 0 is a heading inside the options block: help is its text
 *   ("closing patterns:"). */
struct optab {
    const char *name; /* long name without "--", or NULL */
    char short_name;  /* the short letter, or 0 */
    const char *arg;  /* the value as printed ("N", "'K: V'"), NULL for a flag */
    int id;           /* what optab_next returns, with OPTAB_ form bits or'ed in */
    const char *help;
};

/* Form bits, or'ed into a row's id (the table keeps five fields, so every
 * other table reads as before); optab_next returns the id without them. */
#define OPTAB_ID 0xffff
/* The value may be left out: --name alone or --name=VALUE (getopt's
 * optional_argument). --help shows "--name[=ARG]", or "--name" alone when
 * arg is NULL: a flag that also takes =on|off, which its help must say
 * (serve's "this and the other bare flags also take =on|off"). The short
 * letter stays a flag: "-vh" is -v then -h, not -v with the value "h". */
#define OPTAB_OPTIONAL 0x10000
/* The help is a default alone, one line: it follows the names after one
 * space instead of at the column ("--lingering-close on|off|always (on)"). */
#define OPTAB_BRIEF 0x20000
/* A brief row on the line of the brief row before it, two spaces on:
 * "--lingering-time DUR (30s)  --lingering-timeout DUR (5s)". */
#define OPTAB_SAME_LINE 0x40000

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
