/* SPDX-License-Identifier: MIT */
#include "util/textesc.h"

#include <stdbool.h>
#include <string.h>

#include "util/utf8.h"

/* A well-formed sequence of n bytes a terminal could act on. */
static bool drives_terminal(const unsigned char *s, int n, unsigned flags)
{
    if (n == 1)
        return (s[0] < 0x20 && !(s[0] == '\n' && (flags & TEXT_KEEP_NEWLINE))) || s[0] == 0x7f;
    if (n == 2)
        return s[0] == 0xc2 && s[1] <= 0x9f; /* C1: U+0080..U+009F */
    if (n == 3 && s[0] == 0xe2) {
        unsigned cp = ((unsigned)(s[1] & 0x3f) << 6) | (s[2] & 0x3f); /* low 12 bits of U+2xxx */
        return (cp >= 0x02a && cp <= 0x02e) || (cp >= 0x066 && cp <= 0x069);
    }
    return false;
}

char *text_escape(char *out, size_t outlen, const char *in, unsigned flags)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, len = strlen(in);
    for (size_t i = 0; i < len;) {
        const unsigned char *s = (const unsigned char *)in + i;
        int n = utf8_next(in + i, len - i);
        bool escape = n < 0 || drives_terminal(s, n, flags);
        size_t k = (size_t)(n < 0 ? -n : n), need = escape ? 4 * k : k;
        if (o + need >= outlen)
            break;
        for (size_t b = 0; b < k; b++) {
            if (!escape) {
                out[o++] = (char)s[b];
                continue;
            }
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[s[b] >> 4];
            out[o++] = hex[s[b] & 15];
        }
        i += k;
    }
    out[o] = 0;
    return out;
}
