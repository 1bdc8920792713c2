/* SPDX-License-Identifier: MIT */
#include "util/optab.h"
#include <stdbool.h>
#include <string.h>

#define OPTAB_FORMS (OPTAB_OPTIONAL | OPTAB_BRIEF | OPTAB_SAME_LINE)

static int is_end(const struct optab *o)
{
    return !o->id && !o->help;
}

static bool is_brief(const struct optab *o)
{
    return o->id & (OPTAB_BRIEF | OPTAB_SAME_LINE);
}

/* The form bits as optab.h allows them; prev: the row before, or NULL. */
static bool well_formed(const struct optab *o, const struct optab *prev)
{
    if (!(o->id & OPTAB_ID) || (o->id & ~(OPTAB_ID | OPTAB_FORMS)))
        return false;
    if (is_brief(o) && (!o->help || strchr(o->help, '\n')))
        return false;
    if ((o->id & OPTAB_OPTIONAL) && !o->name) /* a short letter alone takes no value */
        return false;
    return !(o->id & OPTAB_SAME_LINE) || (prev && is_brief(prev));
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
        if (rows++ == OPTAB_MAX || !well_formed(o, o == t ? NULL : o - 1))
            return -1;
        bool optional = o->id & OPTAB_OPTIONAL;
        int has_arg = optional ? optional_argument : o->arg ? required_argument : no_argument;
        if (o->name)
            g->longopts[nl++] = (struct option){o->name, has_arg, NULL, o->id & OPTAB_ID};
        if (o->short_name) {
            g->shortopts[ns++] = o->short_name;
            if (has_arg == required_argument)
                g->shortopts[ns++] = ':';
        }
    }
    return 0;
}

int optab_next(const struct optab_getopt *g, int argc, char **argv)
{
    return getopt_long(argc, argv, g->shortopts, g->longopts, NULL);
}

/* "-c, --connections N", "    --rate R", "-4", "    --linger-zero[=on|off]"
 * into buf; returns its length. lead: the first names on their line, where
 * a long name without a short one is indented to line up with the others. */
static size_t names_of(const struct optab *o, bool lead, char *buf, size_t len)
{
    int n;
    if (o->short_name && o->name)
        n = snprintf(buf, len, "-%c, --%s", o->short_name, o->name);
    else if (o->short_name)
        n = snprintf(buf, len, "-%c", o->short_name);
    else
        n = snprintf(buf, len, "%s--%s", lead ? "    " : "", o->name);
    const char *form = o->id & OPTAB_OPTIONAL ? "[=%s]" : " %s";
    if (o->arg && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, form, o->arg);
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* The names of row o and of the rows joined to it (help NULL) into head;
 * returns the row after them. */
static const struct optab *names_joined(const struct optab *o, bool lead, char *head, size_t len,
                                        size_t *n)
{
    const struct optab *next = o + 1;
    *n = names_of(o, lead, head, len);
    for (; !is_end(next) && next->id && !next->help; next++) {
        *n += (size_t)snprintf(head + *n, len - *n, ", ");
        *n += names_of(next, true, head + *n, len - *n);
    }
    return next;
}

/* Brief rows, each help one space after its names, the rows marked
 * OPTAB_SAME_LINE two spaces after the one before; returns the next row. */
static const struct optab *print_brief(FILE *f, const struct optab *o, const char *head,
                                       const struct optab *next)
{
    fprintf(f, "  %s %s", head, o->help);
    while (!is_end(next) && (next->id & OPTAB_SAME_LINE)) {
        char more[256];
        size_t n;
        const struct optab *row = next;
        next = names_joined(row, false, more, sizeof more, &n);
        fprintf(f, "  %s %s", more, row->help);
    }
    fputc('\n', f);
    return next;
}

/* One row and the rows joined to it (help NULL); returns the next row. */
static const struct optab *print_row(FILE *f, const struct optab *o, int col)
{
    char head[256];
    size_t n;
    const struct optab *next = names_joined(o, true, head, sizeof head, &n);
    if (is_brief(o))
        return print_brief(f, o, head, next);
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
        } else {
            o = print_row(f, o, col);
        }
    }
}
