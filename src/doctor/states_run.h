/* SPDX-License-Identifier: MIT */
/* closer states from its parsed options to the printed table: the filter
 * words, the checks between options, one namespace or every one, the
 * snapshot and the view (states_view.h).
 *
 * Error convention: states_run returns 0, or -1 with a message in err (a
 * usage or runtime error: exit status 2). Notes go to diag, prefixed
 * "closer states: ". */
#ifndef CLOSER_DOCTOR_STATES_RUN_H
#define CLOSER_DOCTOR_STATES_RUN_H
#include <stdbool.h>
#include <stdio.h>

#include "doctor/states_view.h"
#include "snapshot/snapshot.h"

struct states_req {
    struct states_view_opts view; /* filter.expr: set by states_run from words */
    struct snapshot_opts snap;    /* force_proc, record, replay from options */
    bool summary, json, all_netns;
    const char *netns;            /* -N, or NULL */
    int nwords;                   /* the FILTER words after the options */
    char **words;
};

int states_run(struct states_req *q, FILE *out, FILE *diag, char *err, size_t errlen);

#endif
