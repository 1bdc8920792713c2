/* SPDX-License-Identifier: MIT */
#include "client/target.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/sock.h"
#include "util/json.h"
#include "util/parse.h"

#define METHOD_MAX 32
#define HEADER_MAX 8192

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Control bytes, space and DEL: never inside a request line's parts. */
static const char *bad_byte(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return s;
    return NULL;
}

static const char *byte_name(char c)
{
    return c == '\r' ? "a CR" : c == '\n' ? "a LF" : c == ' ' ? "a space" : c == '\t' ? "a tab"
                                                                                      : "a control byte";
}

const char *target_method_error(const char *m)
{
    size_t n = strlen(m);
    if (!n)
        return "empty";
    if (n > METHOD_MAX)
        return "longer than 32 bytes";
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)m[i]))
            return m[i] == '\r' || m[i] == '\n' ? "contains CR or LF (header injection)"
                   : (unsigned char)m[i] <= 0x20 || m[i] == 0x7f ? "contains a space or a control byte"
                   : "not an HTTP token (letters, digits, !#$%&'*+-.^_`|~)";
    return NULL;
}

const char *target_header_error(const char *h)
{
    if (strlen(h) > HEADER_MAX)
        return "longer than 8 KB";
    const char *colon = strchr(h, ':');
    if (!colon || colon == h)
        return "not 'Name: value'";
    for (const char *p = h; p < colon; p++)
        if (!is_tchar((unsigned char)*p))
            return "the name is not an HTTP token (no spaces or control bytes)";
    for (const char *p = colon + 1; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return *p == '\r' || *p == '\n' ? "contains CR or LF (header injection)"
                                             : "contains a control byte";
    return NULL;
}

int target_parse(const char *url, struct target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    size_t scheme = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
    if (!scheme) {
        snprintf(err, errlen, "'%s': only http:// and https:// URLs are supported", url);
        return -1;
    }
    t->tls = scheme == 8;
    const char *h = url + scheme, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (!hl) {
        snprintf(err, errlen, "'%s': no host", url);
        return -1;
    }
    if (hl >= sizeof t->host) {
        snprintf(err, errlen, "the URL's host is %zu bytes, longer than the limit (%zu)", hl,
                 sizeof t->host - 1);
        return -1;
    }
    memcpy(t->host, h, hl);
    const char *path = slash ? slash : "/", *bad;
    if (strlen(path) >= sizeof t->path) {
        snprintf(err, errlen, "the URL path is %zu bytes, longer than the limit (%zu)", strlen(path),
                 sizeof t->path - 1);
        return -1;
    }
    size_t at = 0;
    if ((bad = bad_byte(t->host)))
        at = scheme + (size_t)(bad - t->host);
    else if ((bad = bad_byte(path)))
        at = slash ? (size_t)(bad - url) : 0;
    if (bad) {
        snprintf(err, errlen, "the URL has %s (0x%02x) at byte %zu: refused, it would break the "
                 "request line", byte_name(*bad), (unsigned char)*bad, at);
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s", path);
    char name[256], port[8];
    snprintf(port, sizeof port, "%s", t->tls ? "443" : "80");
    const char *hp = t->host;
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (!close) {
            snprintf(err, errlen, "'%s': bad IPv6 literal", url);
            return -1;
        }
        snprintf(name, sizeof name, "%.*s", (int)(close - hp - 1), hp + 1);
        if (close[1] == ':')
            snprintf(port, sizeof port, "%s", close + 2);
    } else {
        const char *colon = strchr(hp, ':');
        snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - hp) : (int)strlen(hp), hp);
        if (colon)
            snprintf(port, sizeof port, "%s", colon + 1);
    }
    snprintf(t->name, sizeof t->name, "%s", name);
    uint16_t p;
    if (parse_port(port, &p) < 0) {
        snprintf(err, errlen, "'%s': bad port", url);
        return -1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(name, port, &hints, &ai);
    if (rc || !ai) {
        snprintf(err, errlen, "'%s': cannot resolve %s: %s", url, name, gai_strerror(rc));
        return -1;
    }
    memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
    t->len = ai->ai_addrlen;
    freeaddrinfo(ai);
    char a[64];
    if (t->addr.ss_family == AF_INET)
        snprintf(t->text, sizeof t->text, "%s:%u",
                 inet_ntop(AF_INET, &((struct sockaddr_in *)&t->addr)->sin_addr, a, sizeof a), p);
    else
        snprintf(t->text, sizeof t->text, "[%s]:%u",
                 inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&t->addr)->sin6_addr, a, sizeof a), p);
    return 0;
}

long source_range_parse(const char *spec, struct sockaddr_storage *out, size_t max)
{
    char a[64], b[64];
    uint32_t lo, hi;
    struct in_addr x;
    const char *dash = strchr(spec, '-'), *sl = strchr(spec, '/');
    if (dash) {
        snprintf(a, sizeof a, "%.*s", (int)(dash - spec), spec);
        snprintf(b, sizeof b, "%s", dash + 1);
        if (inet_pton(AF_INET, a, &x) != 1)
            return -1;
        lo = ntohl(x.s_addr);
        if (inet_pton(AF_INET, b, &x) != 1)
            return -1;
        hi = ntohl(x.s_addr);
    } else if (sl) {
        snprintf(a, sizeof a, "%.*s", (int)(sl - spec), spec);
        int bits = atoi(sl + 1);
        if (inet_pton(AF_INET, a, &x) != 1 || bits < 8 || bits > 32)
            return -1;
        uint32_t mask = bits == 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
        lo = ntohl(x.s_addr) & mask;
        hi = lo | ~mask;
        if (bits < 31)
            lo++, hi--; /* skip network and broadcast */
    } else {
        if (inet_pton(AF_INET, spec, &x) != 1) {
            struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
            memset(out, 0, sizeof *out);
            if (inet_pton(AF_INET6, spec, &v6->sin6_addr) != 1)
                return -1;
            v6->sin6_family = AF_INET6;
            return 1;
        }
        lo = hi = ntohl(x.s_addr);
    }
    if (hi < lo)
        return -1;
    size_t n = 0;
    for (uint64_t v = lo; v <= hi && n < max; v++, n++) {
        struct sockaddr_in *s = (struct sockaddr_in *)&out[n];
        memset(&out[n], 0, sizeof out[n]);
        s->sin_family = AF_INET;
        s->sin_addr.s_addr = htonl((uint32_t)v);
    }
    return (long)n;
}

void target_endpoint_json(struct json *j, const char *key, const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
        uint8_t ip[16] = {0};
        memcpy(ip, &v4->sin_addr, 4);
        tcp_endpoint_json(j, key, AF_INET, ip, ntohs(v4->sin_port));
    } else if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a;
        tcp_endpoint_json(j, key, AF_INET6, v6->sin6_addr.s6_addr, ntohs(v6->sin6_port));
    } else {
        tcp_endpoint_json_null(j, key);
    }
}
