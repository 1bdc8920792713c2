#include "util/parse.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
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

static int scaled(const char *s, const char *const units[], const uint64_t mult[],
                  int nunits, uint64_t bare_mult, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    uint64_t m = 0;
    if (!*end)
        m = bare_mult;
    for (int i = 0; i < nunits && !m; i++)
        if (strcmp(end, units[i]) == 0)
            m = mult[i];
    if (!m || v * (double)m > 1.8e19)
        return -1;
    *out = (uint64_t)(v * (double)m + 0.5);
    return 0;
}

int parse_duration_ms(const char *s, uint64_t *out)
{
    static const char *const u[] = {"ms", "s", "m", "h", "d"};
    static const uint64_t m[] = {1, 1000, 60000, 3600000, 86400000};
    return scaled(s, u, m, 5, 1000, out);
}

int parse_size(const char *s, uint64_t *out)
{
    static const char *const u[] = {"k", "K", "m", "M", "g", "G"};
    static const uint64_t m[] = {1ull << 10, 1ull << 10, 1ull << 20,
                                 1ull << 20, 1ull << 30, 1ull << 30};
    return scaled(s, u, m, 6, 1, out);
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
