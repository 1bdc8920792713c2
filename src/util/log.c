/* SPDX-License-Identifier: MIT */
#include "util/log.h"
#include <stdarg.h>
#include <stdio.h>

enum log_level log_threshold = LOG_WARN;

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (lvl > log_threshold)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "closer: %s: ", names[lvl]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
