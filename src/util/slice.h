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

static inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* ASCII case-insensitive, as strncasecmp in the C locale (HTTP's tokens
 * are ASCII), without a call per header the parser looks at. */
static inline bool slice_eq_ci(struct slice s, const char *lit)
{
    size_t n = 0;
    while (lit[n])
        n++;
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(s.ptr[i]) != ascii_lower(lit[i]))
            return false;
    return true;
}

#endif
