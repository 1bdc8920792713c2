/* SPDX-License-Identifier: MIT */
/* closer doctor from its parsed options to the printed report: the
 * snapshot (one namespace or every one), the second look of --confirm,
 * the rules (with --trace's measured closes when the command traced
 * first), the text or JSON report.
 *
 * Error convention: doctor_run returns the report's exit status (0
 * nothing above info, 1 warnings or worse), or -1 with a message in err
 * (a usage or runtime error: exit status 2). */
#ifndef CLOSER_DOCTOR_RUN_H
#define CLOSER_DOCTOR_RUN_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "doctor/doctor.h"
#include "snapshot/snapshot.h"

struct doctor_req {
    struct snapshot_opts snap; /* force_proc, record, replay; doctor_run adds
                                * what the rules need (owners, tcp_info, models) */
    struct doctor_opts opts;   /* thresholds; measured: --trace's closes or NULL */
    struct doctor_view view;   /* netns (-N), color, verbose */
    bool json, all_netns;
    uint64_t confirm_ms;       /* --confirm: look again after this long (0: never) */
};

int doctor_run(struct doctor_req *q, FILE *out, char *err, size_t errlen);

#endif
