/* SPDX-License-Identifier: MIT */
/* closer top's screens, drawn from an aggregate: the full-screen view
 * (state counts with per-second deltas, top ports, destinations, processes,
 * listen queues) and the one-line-per-interval batch view. Pure rendering to
 * a FILE*: export/top_run.c owns the terminal.
 *
 * Error convention: none; writes go to the FILE*. */
#ifndef CLOSER_EXPORT_TOP_VIEW_H
#define CLOSER_EXPORT_TOP_VIEW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "export/aggregate.h"

struct top_view {
    int rows, cols;     /* terminal size */
    int sort_state;     /* TS_TIME_WAIT, TS_CLOSE_WAIT or TS_ESTABLISHED */
    uint16_t port;      /* 0 = all ports */
    double interval_s;  /* between this aggregate and prev */
    const char *netns;
    const char *prompt; /* non-NULL while a port is being typed */
    bool color;         /* ANSI colours (a TTY, no NO_COLOR, not --color never) */
    bool help;          /* the key help instead of the tables */
};

/* prev may be NULL (first frame: no deltas). Sorts a's tables. */
void top_draw(FILE *out, struct agg *a, const uint32_t *prev_states, const struct snapshot *s,
              const struct top_view *v);
/* The title line fitted to cols: "LEFT   keys: KEYS  ? help  q quit", or,
 * when that is too wide, LEFT (cut if need be) and "? help  q quit": the
 * way to the help is always on screen. */
void top_title(char *out, size_t cap, int cols, const char *left, const char *keys);
/* The key help under title (any view). */
void top_draw_help(FILE *out, const struct top_view *v, const char *title);
void top_batch_header(FILE *out);
/* JSON contract: schemas/closer.top.schema.json. */
#define TOP_JSON_SCHEMA "closer.top/1"
void top_batch_json(FILE *out, const struct agg *a, const uint32_t *prev_states, double interval_s,
                    double now, const char *netns);
struct json;
/* The counting members of a closer.top/1 object: states, accept_queue and
 * the per-second changes (null without prev). */
void top_json_counts(struct json *j, const struct agg *a, const uint32_t *prev_states,
                     double interval_s);
void top_batch_line(FILE *out, const struct agg *a, const uint32_t *prev_states, double interval_s,
                    double now);

#endif
