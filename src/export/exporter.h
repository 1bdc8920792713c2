/* SPDX-License-Identifier: MIT */
/* closer exporter's run: bind the listener (in the namespace closer starts
 * in, where Prometheus reaches it), enter the namespace to export, start
 * the tracer with --trace, then serve /metrics (export/scrape.h) until
 * SIGTERM or SIGINT. Each scrape takes a snapshot (every namespace with
 * all_netns), runs the doctor's rules unless told not to, and writes the
 * exposition with the trace counters after it.
 * Error convention: 0 stopped by a signal; -1 with a message in err, which
 * is empty when the event loop itself failed after the start. */
#ifndef CLOSER_EXPORT_EXPORTER_H
#define CLOSER_EXPORT_EXPORTER_H
#include <stdbool.h>
#include <stddef.h>

#include "export/metrics.h"
#include "export/scrape.h"
#include "snapshot/snapshot.h"

struct exporter_opts {
    const char *listen;       /* ADDR:PORT, :PORT */
    const char *netns;        /* -N: NULL, or the namespace to export */
    bool all_netns;           /* every namespace, top_netns with their own series */
    unsigned top_netns;
    bool doctor;              /* closer_doctor_findings */
    bool trace;               /* closer_trace_* from a trace session */
    struct snapshot_opts so;
    struct metrics_opts mo;
    struct scrape_opts ho;
};

int exporter_run(const struct exporter_opts *o, char *err, size_t errlen);

#endif
