/* SPDX-License-Identifier: MIT */
/* The request head load and probe send, with the command line's -H
 * headers: those closer writes itself (Host, Connection, Authorization)
 * are replaced, never sent twice (nginx answers 400 to two Hosts; curl and
 * wrk replace). Every part was checked for CR/LF before (target_parse,
 * target_header_error, target_method_error): nothing here can inject. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/target.h"

static const char *const own[] = {"Host", "Connection", "Authorization"};

/* Does header h ("Name: value") have this name? */
static bool named(const char *h, const char *name)
{
    size_t n = strlen(name);
    return !strncasecmp(h, name, n) && h[n] == ':';
}

bool target_header_is_own(const char *h)
{
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (named(h, own[i]))
            return true;
    return false;
}

/* The value of the last -H header named name (case-insensitive, leading
 * blanks skipped), or NULL. */
static const char *target_header_value(const char *const *hs, size_t n, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < n; i++)
        if (named(hs[i], name)) {
            v = hs[i] + strlen(name) + 1;
            v += strspn(v, " \t");
        }
    return v;
}

/* "Name: value\r\n" unless value is NULL or empty (-H 'Host:' drops it). */
static size_t put(char *b, size_t cap, const char *name, const char *value)
{
    if (!value || !value[0])
        return 0;
    int n = snprintf(b, cap, "%s: %s\r\n", name, value);
    return n < 0 ? 0 : (size_t)n;
}

char *target_request(const struct target *t, const char *method, int minor, const char *conn,
                     const char *const *hs, size_t n, const char *extra, size_t *len)
{
    const char *host = target_header_value(hs, n, "Host");
    const char *c = target_header_value(hs, n, "Connection");
    const char *auth = target_header_value(hs, n, "Authorization");
    char basic[420] = "";
    if (!auth && t->auth[0])
        snprintf(basic, sizeof basic, "Basic %s", t->auth);
    size_t cap = strlen(method) + strlen(t->path) + strlen(t->host) + sizeof basic + 64 +
                 (conn ? strlen(conn) : 0) + (extra ? strlen(extra) : 0);
    for (size_t i = 0; i < n; i++)
        cap += strlen(hs[i]) + 2;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    size_t o = (size_t)snprintf(b, cap, "%s %s HTTP/1.%d\r\n", method, t->path, minor);
    o += put(b + o, cap - o, "Host", host ? host : t->host);
    o += put(b + o, cap - o, "Authorization", auth ? auth : basic);
    for (size_t i = 0; i < n; i++)
        if (!target_header_is_own(hs[i]))
            o += (size_t)snprintf(b + o, cap - o, "%s\r\n", hs[i]);
    o += put(b + o, cap - o, "Connection", c ? c : conn);
    o += (size_t)snprintf(b + o, cap - o, "%s\r\n", extra ? extra : "");
    *len = o;
    return b;
}
