/* SPDX-License-Identifier: MIT */
#include "util/vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int vec_reserve(void **items, size_t *cap, size_t need, size_t elem, size_t min)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : min;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / elem)
        return -ENOMEM;
    void *p = realloc(*items, n * elem);
    if (!p)
        return -ENOMEM;
    *items = p;
    *cap = n;
    return 0;
}
