/* SPDX-License-Identifier: MIT */
/* The trace's clock, monotonic nanoseconds: the session, its
 * reconciliation and the commands' deadlines read it, and it calls
 * nothing of theirs. */
#include "trace/session.h"
#include <time.h>

uint64_t trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
