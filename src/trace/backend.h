/* SPDX-License-Identifier: MIT */
/* The tracing session's backends (see enum trace_backend): opening the BPF
 * programs or the perf sampling events, and, for perf, the kernel's counts
 * of the events it was asked to sample against the samples received. */
#ifndef CLOSER_TRACE_BACKEND_H
#define CLOSER_TRACE_BACKEND_H
#include <stdbool.h>
#include <stdint.h>

#include "trace/session.h"

struct trace_tp {
    const char *system, *event;
    bool required;
};
/* The tracepoints, by enum tev_kind. */
extern const struct trace_tp trace_tps[TEV_KINDS];

/* Opens s->o.backend (auto: bpf, else perf with the reason kept in
 * s->backend_note). 0, or -1 with err. */
int trace_backend_open(struct trace_session *s, char *err, size_t errlen);
/* perf backend: events that passed the kernel filters so far, and samples
 * received of them. */
uint64_t trace_backend_counted(const struct trace_session *s);
uint64_t trace_backend_received(const struct trace_session *s);

#endif
