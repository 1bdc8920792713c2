/* SPDX-License-Identifier: MIT */
#include "util/optab.h"
#include <string.h>

const char optab_hidden[] = "";

static int is_end(const struct optab *o)
{
    return !o->id && !o->help;
}

int optab_build(const struct optab *t, struct optab_getopt *g)
{
    size_t rows = 0, nl = 0, ns = 0;
    memset(g, 0, sizeof *g);
    /* ':' first: a missing value returns ':' instead of '?' (cli.h). */
    g->shortopts[ns++] = ':';
    for (const struct optab *o = t; !is_end(o); o++) {
        if (!o->id)
            continue;
        if (rows++ == OPTAB_MAX)
            return -1;
        if (o->name)
            g->longopts[nl++] = (struct option){o->name, o->arg ? required_argument : no_argument,
                                                NULL, o->id};
        if (o->short_name) {
            g->shortopts[ns++] = o->short_name;
            if (o->arg)
                g->shortopts[ns++] = ':';
        }
    }
    return 0;
}

int optab_next(const struct optab_getopt *g, int argc, char **argv)
{
    return getopt_long(argc, argv, g->shortopts, g->longopts, NULL);
}

/* "-c, --connections N", "    --rate R", "-4" into buf; returns its length. */
static size_t names_of(const struct optab *o, char *buf, size_t len)
{
    int n;
    if (o->short_name && o->name)
        n = snprintf(buf, len, "-%c, --%s", o->short_name, o->name);
    else if (o->short_name)
        n = snprintf(buf, len, "-%c", o->short_name);
    else
        n = snprintf(buf, len, "    --%s", o->name);
    if (o->arg && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " %s", o->arg);
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* One row and the rows joined to it (help NULL); returns the next row. */
static const struct optab *print_row(FILE *f, const struct optab *o, int col)
{
    char head[256];
    size_t n = names_of(o, head, sizeof head);
    const struct optab *next = o + 1;
    for (; !is_end(next) && next->id && !next->help; next++) {
        n += (size_t)snprintf(head + n, sizeof head - n, ", ");
        n += names_of(next, head + n, sizeof head - n);
    }
    const char *help = o->help ? o->help : "";
    if (!help[0]) {
        fprintf(f, "  %s\n", head);
        return next;
    }
    int width = (int)n + 2;
    fprintf(f, "  %s%*s", head, width + 2 <= col ? col - width : 2, "");
    for (const char *p = help, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
        nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "%*s%.*s\n", p == help ? 0 : col, "", len, p);
    }
    return next;
}

void optab_print(FILE *f, const struct optab *t, int col)
{
    for (const struct optab *o = t; !is_end(o);) {
        if (!o->id) {
            fprintf(f, "  %s\n", o->help);
            o++;
        } else if (o->help == optab_hidden) {
            o++;
        } else {
            o = print_row(f, o, col);
        }
    }
}
