/* SPDX-License-Identifier: MIT */
/* Merging several expositions into one, each with its own constant labels:
 * how the exporter shows every network namespace. The text format wants a
 * family's HELP, TYPE and samples together, once, so the parts (each a
 * complete exposition written by metrics_write) are regrouped family by
 * family, and every sample gets the part's labels first:
 *   closer_tcp_sockets{state="TIME_WAIT"} 5  →  closer_tcp_sockets{netns="4026532801",state="TIME_WAIT"} 5
 * Families appear in the order the parts first name them.
 *
 * Error convention: 0, or -1 when out of memory or the FILE* failed. */
#ifndef CLOSER_EXPORT_PROM_MERGE_H
#define CLOSER_EXPORT_PROM_MERGE_H
#include <stddef.h>
#include <stdio.h>

struct prom_part {
    const char *text;   /* an exposition (HELP/TYPE lines, then samples) */
    size_t len;
    const char *labels; /* rendered and escaped: netns="1",pod="x" ("" for none) */
};

int prom_merge(FILE *out, const struct prom_part *parts, size_t n);
/* Appends key="value" (escaped as the format requires) to buf, comma-
 * separated; a label that does not fit in cap is left out whole. */
void prom_label_append(char *buf, size_t cap, const char *key, const char *value);

#endif
