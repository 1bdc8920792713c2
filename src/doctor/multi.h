/* SPDX-License-Identifier: MIT */
/* The doctor over every network namespace: one report per namespace,
 * namespaces ranked by their worst finding (then by how many findings of
 * that severity, then by sockets); every finding carries its namespace. A
 * namespace that could not be entered is listed with the reason.
 *
 * Error convention: doctor_analyze_multi returns 0, or -1 when out of memory. */
#ifndef CLOSER_DOCTOR_MULTI_H
#define CLOSER_DOCTOR_MULTI_H
#include "doctor/doctor.h"
#include "snapshot/multi.h"

struct ns_report {
    const struct ns_snapshot *ns;
    struct doctor_report r;   /* valid when ns->ok */
    enum severity worst;
    size_t at_worst;          /* findings at that severity */
    char label[200];          /* netns_entry_label */
};

struct doctor_multi {
    struct ns_report *items;  /* ranked, the ones not entered last */
    size_t n;
    size_t sockets, entered;
    uint32_t procs_hidden;    /* processes whose namespace link could not be read */
};

int doctor_analyze_multi(const struct multi_snapshot *m, const struct doctor_opts *o,
                         struct doctor_multi *out);
void doctor_multi_free(struct doctor_multi *d);
/* As doctor's: 1 when any namespace has a warning or worse, else 0. */
int doctor_multi_exit_code(const struct doctor_multi *d);

/* Text: the ranking table, then each namespace with a finding above info
 * (every namespace with --verbose) rendered as doctor renders one. */
void doctor_print_multi_text(FILE *out, const struct doctor_multi *d, const struct doctor_view *v);
/* JSON: {"namespaces":[...], "findings":[{..., "netns":{...}}], "worst", "exit_code"}. */
void doctor_print_multi_json(FILE *out, const struct doctor_multi *d, const struct doctor_view *v);

#endif
