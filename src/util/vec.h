/* SPDX-License-Identifier: MIT */
/* Growable arrays: one doubling rule for every append-only table. */
#ifndef CLOSER_UTIL_VEC_H
#define CLOSER_UTIL_VEC_H
#include <stddef.h>

/* Makes *items (elements of elem bytes, capacity *cap) hold at least need
 * elements, doubling from min. Returns 0, or -ENOMEM leaving *items as it
 * was. */
int vec_reserve(void **items, size_t *cap, size_t need, size_t elem, size_t min);

#endif
