/* SPDX-License-Identifier: MIT */
#include "client/target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* "%XX" decoded in place (userinfo: curl decodes it); a bad escape is kept. */
static void pct_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        unsigned v;
        if (s[0] == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &v) == 1 && v) {
            *o++ = (char)v;
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
}

static void base64(const char *in, size_t n, char *out, size_t cap)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = 0;
}

static void endpoint_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char a[64];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const void *)ss;
        snprintf(out, cap, "%s:%u", inet_ntop(AF_INET, &v4->sin_addr, a, sizeof a), ntohs(v4->sin_port));
    } else {
        const struct sockaddr_in6 *v6 = (const void *)ss;
        snprintf(out, cap, "[%s]:%u", inet_ntop(AF_INET6, &v6->sin6_addr, a, sizeof a),
                 ntohs(v6->sin6_port));
    }
}

/* The scheme, if any: 0, or -1 for one closer does not speak. */
static int parse_scheme(const char *url, struct target *t, const char **rest)
{
    const char *sep = strstr(url, "://");
    *rest = url;
    if (!sep || strcspn(url, "/?#") < (size_t)(sep - url))
        return 0; /* bare host[:port][/path]: http, as curl */
    size_t n = (size_t)(sep - url);
    if (n == 5 && !strncasecmp(url, "https", 5))
        t->tls = true;
    else if (n != 4 || strncasecmp(url, "http", 4))
        return -1;
    *rest = sep + 3;
    return 0;
}

static int resolve(const char *url, const char *name, const char *port, struct target *t, char *err,
                   size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(name, port, &hints, &ai);
    if (rc || !ai) {
        snprintf(err, errlen, "'%s': cannot resolve %s: %s", url, name, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *x = ai; x && t->naddrs < TARGET_MAX_ADDRS; x = x->ai_next) {
        bool dup = false;
        for (size_t i = 0; i < t->naddrs; i++)
            dup |= t->lens[i] == x->ai_addrlen && !memcmp(&t->addrs[i], x->ai_addr, x->ai_addrlen);
        if (dup || x->ai_addrlen > sizeof t->addrs[0])
            continue;
        memcpy(&t->addrs[t->naddrs], x->ai_addr, x->ai_addrlen);
        t->lens[t->naddrs++] = x->ai_addrlen;
    }
    freeaddrinfo(ai);
    t->addr = t->addrs[0];
    t->len = t->lens[0];
    endpoint_text(&t->addr, t->text, sizeof t->text);
    return 0;
}

/* Splits HOST[:PORT] / [V6][:PORT] into name and port. */
static int split_host(const char *url, const char *hp, char *name, size_t nlen, char *port,
                      size_t plen, char *err, size_t errlen)
{
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (!close || (close[1] && close[1] != ':')) {
            snprintf(err, errlen, "'%s': bad IPv6 literal", url);
            return -1;
        }
        snprintf(name, nlen, "%.*s", (int)(close - hp - 1), hp + 1);
        if (close[1] == ':')
            snprintf(port, plen, "%s", close + 2);
    } else {
        const char *colon = strchr(hp, ':');
        snprintf(name, nlen, "%.*s", colon ? (int)(colon - hp) : (int)strlen(hp), hp);
        if (colon)
            snprintf(port, plen, "%s", colon + 1);
    }
    if (!name[0]) {
        snprintf(err, errlen, "'%s': no host", url);
        return -1;
    }
    return 0;
}

static int take_userinfo(const char *h, size_t len, struct target *t, char *err, size_t errlen)
{
    char ui[300];
    if (len >= sizeof ui) {
        snprintf(err, errlen, "the URL's user:password is %zu bytes, longer than the limit (%zu)", len,
                 sizeof ui - 1);
        return -1;
    }
    memcpy(ui, h, len);
    ui[len] = 0;
    pct_decode(ui);
    base64(ui, strlen(ui), t->auth, sizeof t->auth);
    return 0;
}

int target_parse(const char *url, struct target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    const char *h;
    if (parse_scheme(url, t, &h) < 0) {
        snprintf(err, errlen, "'%s': only http:// and https:// URLs are supported", url);
        return -1;
    }
    size_t al = strcspn(h, "/?#"); /* the authority */
    const char *rest = h + al, *at = memrchr(h, '@', al);
    size_t rl = strcspn(rest, "#"); /* the fragment is never sent */
    if (at) {
        if (take_userinfo(h, (size_t)(at - h), t, err, errlen) < 0)
            return -1;
        al -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    if (!al) {
        snprintf(err, errlen, "'%s': no host", url);
        return -1;
    }
    if (al >= sizeof t->host) {
        snprintf(err, errlen, "the URL's host is %zu bytes, longer than the limit (%zu)", al,
                 sizeof t->host - 1);
        return -1;
    }
    memcpy(t->host, h, al);
    size_t lead = rl && rest[0] == '/' ? 0 : 1; /* "?q" alone gets the "/" */
    if (rl + lead >= sizeof t->path) {
        snprintf(err, errlen, "the URL path is %zu bytes, longer than the limit (%zu)", rl + lead,
                 sizeof t->path - 1);
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s%.*s", lead ? "/" : "", (int)rl, rest);
    const char *bad;
    size_t off = 0;
    if ((bad = bad_byte(t->host)))
        off = (size_t)(h - url) + (size_t)(bad - t->host);
    else if ((bad = bad_byte(t->path)))
        off = (size_t)(rest - url) + (size_t)(bad - t->path) - lead;
    if (bad) {
        snprintf(err, errlen, "the URL has %s (0x%02x) at byte %zu: refused, it would break the "
                 "request line", byte_name(*bad), (unsigned char)*bad, off);
        return -1;
    }
    char name[256], port[8];
    snprintf(port, sizeof port, "%s", t->tls ? "443" : "80");
    if (split_host(url, t->host, name, sizeof name, port, sizeof port, err, errlen) < 0)
        return -1;
    snprintf(t->name, sizeof t->name, "%s", name);
    uint16_t p;
    if (parse_port(port, &p) < 0) {
        snprintf(err, errlen, "'%s': bad port '%s'", url, port);
        return -1;
    }
    return resolve(url, name, port, t, err, errlen);
}

/* 0 when dst accepts a connection within timeout_ms, else an errno. */
static int try_connect(const struct sockaddr_storage *dst, socklen_t len, unsigned timeout_ms)
{
    int fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int e = 0;
    if (connect(fd, (const struct sockaddr *)dst, len) < 0) {
        e = errno;
        if (e == EINPROGRESS) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            socklen_t el = sizeof e;
            e = poll(&pf, 1, (int)timeout_ms) == 1 ? 0 : ETIMEDOUT;
            if (!e)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
        }
    }
    if (!e) {
        /* RST: this test connection leaves no TIME_WAIT anywhere. */
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(fd);
    return e;
}

int target_pick_address(struct target *t, unsigned timeout_ms, char *err, size_t errlen)
{
    if (t->naddrs <= 1)
        return 0;
    char why[512] = "", a[300];
    size_t w = 0;
    for (size_t i = 0; i < t->naddrs; i++) {
        int e = try_connect(&t->addrs[i], t->lens[i], timeout_ms);
        if (!e) {
            t->addr = t->addrs[i];
            t->len = t->lens[i];
            endpoint_text(&t->addr, t->text, sizeof t->text);
            return 0;
        }
        endpoint_text(&t->addrs[i], a, sizeof a);
        if (w < sizeof why)
            w += (size_t)snprintf(why + w, sizeof why - w, "%s%s: %s", i ? ", " : "", a, strerror(e));
    }
    snprintf(err, errlen, "cannot connect to any address of %s (%s)", t->host, why);
    return -1;
}

void target_note_proxy(FILE *err, const char *cmd, const struct target *t)
{
    static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"};
    for (size_t i = t->tls ? 2 : 0; i < (t->tls ? 4u : 2u); i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0]) {
            fprintf(err, "closer %s: %s is set and ignored: closer connects to the server directly "
                    "(it measures the server's own closes, which a proxy would hide)\n", cmd, vars[i]);
            return;
        }
    }
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
