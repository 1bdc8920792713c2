/* SPDX-License-Identifier: MIT */
/* Rendering of the socket table (closer states): ss-like text, a per-state
 * summary, and JSON. Pure functions of a snapshot; write to out. */
#ifndef CLOSER_DOCTOR_STATES_VIEW_H
#define CLOSER_DOCTOR_STATES_VIEW_H
#include <stdbool.h>
#include <stdio.h>

#include "snapshot/snapshot.h"

struct states_view_opts {
    struct sock_filter filter;
    bool processes; /* owner column (needs snapshot with owners) */
    bool header;
    bool extended;  /* uid and inode, as ss -e */
    bool info, memory; /* ss -i, ss -m: a line under each socket (needs
                        * snapshot_opts.detail) */
    bool options;      /* with info: ts sack ecn ..., as ss prints them with -o or -e */
    /* JSON "netns": the namespace read (0 = not known: a replay) and the
     * -N argument that named it (NULL: closer's own). */
    unsigned long long netns_inode;
    const char *netns_arg;
};

/* Counts per state (index tcp_state; NEW_SYN_RECV folded into SYN_RECV). */
void states_count(const struct snapshot *s, const struct sock_filter *f, size_t counts[TS_MAX]);

void states_print_table(FILE *out, const struct snapshot *s, const struct states_view_opts *o);
void states_print_summary(FILE *out, const struct snapshot *s, const struct states_view_opts *o);
/* JSON contract: schemas/closer.states.schema.json (version in the name). */
#define STATES_JSON_SCHEMA "closer.states/1"
/* --all-netns: {"schema", "namespaces": [{"netns", "error", "states"}]} */
#define STATES_NETNS_JSON_SCHEMA "closer.states-netns/1"
void states_print_json(FILE *out, const struct snapshot *s, const struct states_view_opts *o,
                       bool summary_only);

#endif
