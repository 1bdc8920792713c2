/* SPDX-License-Identifier: MIT */
/* closer doctor --trace DUR: a tracing session of fixed length whose
 * summary becomes the doctor's measured-closes input (doctor/rules_trace.h,
 * plain numbers, so the doctor's rules never see a trace session).
 * Error convention: 0 ok, -1 with a message in err. */
#ifndef CLOSER_TRACE_MEASURE_H
#define CLOSER_TRACE_MEASURE_H
#include <stddef.h>
#include <stdint.h>

struct measured_closes;
/* Traces ms milliseconds of namespace netns (NULL: closer's own) and fills
 * m with one row per (port, role, process), most closes first; m->rows
 * and m->lives are malloc'd. */
int trace_measure(const char *netns, uint64_t ms, struct measured_closes *m, char *err, size_t errlen);

#endif
