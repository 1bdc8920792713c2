/* SPDX-License-Identifier: MIT */
#include "util/utf8.h"

/* Table 3-7 of the Unicode standard: the lead byte fixes the length and
 * the range of the second byte; every later byte is 80..BF. */
int utf8_next(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    int need;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4;
    else
        return -1; /* a continuation byte, C0/C1 (overlong) or F5..FF */
    if (c == 0xe0)
        lo = 0xa0; /* overlong below U+0800 */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates U+D800..DFFF */
    else if (c == 0xf0)
        lo = 0x90; /* overlong below U+10000 */
    else if (c == 0xf4)
        hi = 0x8f; /* past U+10FFFF */
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= len || s[i] < lo || s[i] > hi)
            return -i;
        lo = 0x80, hi = 0xbf;
    }
    return need;
}

int utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        int n = utf8_next(s + i, len - i);
        if (n < 0)
            return 0;
        i += (size_t)n;
    }
    return 1;
}
