/* closer load's report: text like wrk's, or JSON with every count. */
#ifndef CLOSER_CLIENT_LOAD_REPORT_H
#define CLOSER_CLIENT_LOAD_REPORT_H
#include <stdio.h>

#include "client/load.h"
#include "client/target.h"

/* Counts this host's TIME_WAIT towards the target (client side) and on it
 * (server side, when the target is in this namespace) from closer's socket
 * table. */
void load_count_time_wait(const struct target *t, struct load_result *r);
void load_print_text(FILE *out, const struct load_opts *o, const struct load_result *r);
void load_print_json(FILE *out, const struct load_opts *o, const struct load_result *r);

#endif
