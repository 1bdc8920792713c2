/* SPDX-License-Identifier: MIT */
#include "util/parse.h"
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

/* Every number is read by hand, digit by digit: strtod and strtoull accept
 * what no command line should (leading spaces, "0x10", "nan", "inf",
 * "1e-300", a sign after the spaces), and a flag that silently became 0 or
 * infinity has made runs that never end. */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A number DIGITS[.DIGITS] read at *p: integer part, and up to 9 decimals
 * as frac / den. */
struct decimal {
    uint64_t whole, frac, den;
};

static bool read_decimal(const char **p, struct decimal *d)
{
    const char *s = *p;
    *d = (struct decimal){0, 0, 1};
    if (!is_digit(*s))
        return false;
    for (; is_digit(*s); s++) {
        unsigned digit = (unsigned)(*s - '0');
        if (d->whole > (UINT64_MAX - digit) / 10)
            return false;
        d->whole = d->whole * 10 + digit;
    }
    if (*s == '.') {
        s++;
        if (!is_digit(*s))
            return false;
        for (; is_digit(*s); s++)
            if (d->den < 1000000000ull) {
                d->frac = d->frac * 10 + (uint64_t)(*s - '0');
                d->den *= 10;
            }
    }
    *p = s;
    return true;
}

static bool decimal_zero(const struct decimal *d)
{
    return !d->whole && !d->frac;
}

/* d * mult, rounded to the nearest unit; false on overflow. */
static bool scale(const struct decimal *d, uint64_t mult, uint64_t *out)
{
    unsigned __int128 x = (unsigned __int128)d->whole * mult +
                          ((unsigned __int128)d->frac * mult + d->den / 2) / d->den;
    if (x > UINT64_MAX)
        return false;
    *out = (uint64_t)x;
    return true;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !is_digit(*s))
        return -1;
    uint64_t v = 0;
    for (; is_digit(*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (*s || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int parse_port(const char *s, uint16_t *out)
{
    uint64_t v;
    if (parse_u64(s, 1, 65535, &v) < 0)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

struct unit {
    const char *name;
    uint64_t mult;
};

/* The unit spelled at *p (longest match first in the table). */
static const struct unit *read_unit(const char **p, const struct unit *units, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(units[i].name);
        if (strncmp(*p, units[i].name, len) == 0) {
            *p += len;
            return &units[i];
        }
    }
    return NULL;
}

/* nginx's time syntax: one or more NUMBER UNIT parts, units from the largest
 * down and each at most once ("1h30m", "2m30s", "1s500ms"); a bare number is
 * seconds. Decimals are allowed in each part ("1.5s"). */
int parse_duration_ms(const char *s, uint64_t *out)
{
    static const struct unit units[] = {{"ms", 1}, {"d", 86400000}, {"h", 3600000},
                                        {"m", 60000}, {"s", 1000}};
    if (!s || !*s)
        return -1;
    uint64_t total = 0, last_mult = UINT64_MAX;
    bool nonzero = false;
    const char *p = s;
    while (*p) {
        struct decimal d;
        uint64_t part;
        if (!read_decimal(&p, &d))
            return -1;
        nonzero |= !decimal_zero(&d);
        const struct unit *u = read_unit(&p, units, sizeof units / sizeof units[0]);
        if (!u) {
            if (*p || p == s || total)
                return -1; /* junk, or a bare number after a unit ("1m30") */
            u = &units[4]; /* bare number: seconds */
        }
        if (u->mult >= last_mult)
            return -1; /* "30s1m", "1s1s": out of order or repeated */
        last_mult = u->mult;
        if (!scale(&d, u->mult, &part) || total > UINT64_MAX - part)
            return -1;
        total += part;
    }
    if (nonzero && total == 0)
        return -1; /* "0.0001s": below a millisecond is not zero */
    *out = total;
    return 0;
}

int parse_size(const char *s, uint64_t *out)
{
    static const struct unit units[] = {{"k", 1ull << 10}, {"K", 1ull << 10}, {"m", 1ull << 20},
                                        {"M", 1ull << 20}, {"g", 1ull << 30}, {"G", 1ull << 30}};
    struct decimal d;
    uint64_t v;
    const char *p = s;
    if (!s || !read_decimal(&p, &d))
        return -1;
    const struct unit *u = read_unit(&p, units, sizeof units / sizeof units[0]);
    if (*p || !scale(&d, u ? u->mult : 1, &v))
        return -1;
    if (!decimal_zero(&d) && !v)
        return -1; /* "0.0001k" is not 0 bytes */
    *out = v;
    return 0;
}

int parse_decimal(const char *s, double min, double max, double *out)
{
    struct decimal d;
    const char *p = s;
    if (!s || !read_decimal(&p, &d) || *p)
        return -1;
    double v = (double)d.whole + (double)d.frac / (double)d.den;
    if (v < min || v > max || (!decimal_zero(&d) && v == 0))
        return -1;
    *out = v;
    return 0;
}

int parse_hostport(const char *s, struct sockaddr_storage *out, socklen_t *len)
{
    char host[64];
    const char *port;
    memset(out, 0, sizeof *out);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return -1;
        memcpy(host, s + 1, close - s - 1);
        host[close - s - 1] = 0;
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            host[0] = 0;
            port = s;
        } else {
            if ((size_t)(colon - s) >= sizeof host)
                return -1;
            memcpy(host, s, colon - s);
            host[colon - s] = 0;
            port = colon + 1;
        }
    }
    uint16_t p;
    if (parse_port(port, &p) < 0)
        return -1;
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (!host[0] || strcmp(host, "*") == 0) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(p);
        v4->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof *v4;
    } else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(p);
        *len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(p);
        *len = sizeof *v6;
    } else {
        return -1;
    }
    return 0;
}
