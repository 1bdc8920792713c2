/* SPDX-License-Identifier: MIT */
/* The tracing session's backends (see enum trace_backend): opening the BPF
 * programs or the perf sampling events. */
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

#endif
