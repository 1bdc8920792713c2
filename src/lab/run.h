/* SPDX-License-Identifier: MIT */
/* closer lab's two verbs on the scenario registry: the list, and a run of
 * some scenarios one after another, each verdict printed as it ends (or
 * JSON once all ran), report.md + SVG plots when asked. SIGINT / SIGTERM
 * or a reader that leaves stop it between scenarios.
 * Error convention: lab_run_many returns 0 when every scenario ran as
 * expected, 1 when one failed, or -1 with a message in err: not root, out
 * of memory, the report not written, or interrupted (what ran is printed
 * first; a report error and an interruption are two lines of err, the
 * second with its own "closer lab: "). */
#ifndef CLOSER_LAB_RUN_H
#define CLOSER_LAB_RUN_H
#include <stdbool.h>
#include <stddef.h>

#include "lab/lab.h"

/* One line a scenario: its name and claim, a myth with its truth. */
void lab_list(void);
int lab_run_many(const struct lab_scenario **todo, size_t n, const char *report, bool as_json, char *err,
                 size_t errlen);

#endif
