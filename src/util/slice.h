/* SPDX-License-Identifier: MIT */
/* A view into someone else's bytes: parsers return these, never copies. */
#ifndef CLOSER_UTIL_SLICE_H
#define CLOSER_UTIL_SLICE_H
#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

struct slice {
    const char *ptr;
    size_t len;
};

static inline bool slice_eq_ci(struct slice s, const char *lit)
{
    size_t n = 0;
    while (lit[n])
        n++;
    return s.len == n && strncasecmp(s.ptr, lit, n) == 0;
}

#endif
