/* SPDX-License-Identifier: MIT */
/* closer trace's run: a session until a duration ends or a signal, one line
 * (or JSON object) per finished connection as it ends, lost events as they
 * happen, the summary last. Error convention: 0 ok, -1 with a message in
 * err when the session cannot open (nothing printed on stdout then). */
#ifndef CLOSER_TRACE_LIVE_H
#define CLOSER_TRACE_LIVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/session.h"

struct trace_live_opts {
    uint64_t duration_ms; /* 0: until SIGINT / SIGTERM or the reader leaves */
    bool json;            /* JSON lines (closer.trace/1) */
    bool stream;          /* a line per connection; false: the summary only */
    bool header;          /* the column header above the text lines */
};

int trace_live(const struct trace_opts *o, const struct trace_live_opts *lo, char *err, size_t errlen);

#endif
