/* SPDX-License-Identifier: MIT */
/* closer top --all-netns: one row per network namespace (inode, owner,
 * state counts, TIME_WAIT and CLOSE_WAIT per second), sorted like the
 * single-namespace view, and a filter that narrows the rows to the
 * namespaces whose inode, /run/netns name or owner label contains a text.
 * Pure rendering to a FILE*: the command owns the terminal.
 *
 * Error convention: none; writes go to the FILE*. */
#ifndef CLOSER_EXPORT_TOP_NETNS_H
#define CLOSER_EXPORT_TOP_NETNS_H
#include <stdbool.h>
#include <stdio.h>

#include "export/top_view.h"
#include "kernel/nsdiscover.h"

struct top_ns_row {
    const struct netns_entry *ns;
    char who[96];                /* netns_entry_who */
    bool ok;                     /* a is valid */
    const char *error;           /* why not, when !ok */
    struct agg a;
    const struct snapshot *s;
    const uint32_t *prev;        /* states one interval ago, or NULL */
};

/* Does the namespace match filter (NULL or "" matches all)? */
bool top_ns_match(const struct top_ns_row *r, const char *filter);
/* Sorts rows by sort_state (a top view's column), descending (unreadable ones last). */
void top_ns_sort(struct top_ns_row *rows, size_t n, int sort_state);
void top_ns_draw(FILE *out, struct top_ns_row *rows, size_t n, const struct top_view *v,
                 const char *filter);
void top_ns_batch_header(FILE *out);
void top_ns_batch_line(FILE *out, const struct top_ns_row *r, double dt, double now);
/* JSON contract: schemas/closer.top-netns.schema.json. */
#define TOP_NETNS_JSON_SCHEMA "closer.top-netns/1"
void top_ns_batch_json(FILE *out, const struct top_ns_row *rows, size_t n, const char *filter,
                       double dt, double now);

#endif
