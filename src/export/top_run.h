/* SPDX-License-Identifier: MIT */
/* closer top's run, from parsed options until the iterations end, q, a
 * signal or the reader leaves: the namespace entered, the tracer started
 * with --trace, then the screen on a terminal (export/top_view.h draws it;
 * this file owns the terminal: raw keys, resizes) or the batch lines.
 * Error convention: 0 ok (or the reader left); -1 with a message in err,
 * empty when it was already said on stderr during the run. */
#ifndef CLOSER_EXPORT_TOP_RUN_H
#define CLOSER_EXPORT_TOP_RUN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/top_view.h"
#include "snapshot/snapshot.h"

struct top_opts {
    struct snapshot_opts so;
    struct top_view view;  /* sort_state and port from the options */
    uint64_t interval_ms;
    uint64_t iterations;   /* 0 = until stopped */
    uint64_t duration_ms;  /* without iterations: duration / interval of them, at least 1 */
    bool batch;            /* one line per interval (also without a terminal, or with json) */
    bool json;             /* batch, one closer.top/1 object per interval */
    bool all_netns;
    bool trace;            /* closes/s by side, measured */
    char filter[64];       /* all_netns: namespaces whose label contains this */
    const char *color;     /* auto, always or never */
    const char *netns;     /* -N: NULL, or the namespace to watch */
};

int top_run(const struct top_opts *o, char *err, size_t errlen);

#endif
