/* SPDX-License-Identifier: MIT */
/* Programs recognised from one HTTP answer (closer probe), by the wire
 * rows of the program table: the Server header when the program sends one,
 * else its habits (which headers it writes, in which order). A cache
 * passes its origin's Server header and names itself in Via: the client's
 * connection ends at the cache, so the cache is the program and the Server
 * header's program its origin. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"

static const char *value_of(const struct cat_response *r, const char *key, size_t n)
{
    static const struct { const char *key; size_t off; } keys[] = {
        {"server", offsetof(struct cat_response, server)},
        {"via", offsetof(struct cat_response, via)},
        {"connection", offsetof(struct cat_response, connection)},
        {"keep-alive", offsetof(struct cat_response, keep_alive)},
        {"names", offsetof(struct cat_response, names)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i].key) == n && !strncmp(keys[i].key, key, n)) {
            const char *v = *(const char *const *)((const char *)r + keys[i].off);
            return v ? v : "";
        }
    return "";
}

/* Header names match whole names: ",date,content-length," in ",x,date,...,". */
static bool contains(const char *v, const char *w, size_t n, bool names)
{
    char hay[512], needle[96];
    if (!names)
        snprintf(hay, sizeof hay, "%s", v), snprintf(needle, sizeof needle, "%.*s", (int)n, w);
    else
        snprintf(hay, sizeof hay, ",%s,", v), snprintf(needle, sizeof needle, ",%.*s,", (int)n, w);
    return strcasestr(hay, needle) != NULL;
}

static bool ends(const char *v, const char *w, size_t n, bool names)
{
    size_t l = strlen(v);
    return l >= n && !strncasecmp(v + l - n, w, n) && (!names || l == n || v[l - n - 1] == ',');
}

/* KEY~A/B, KEY!A/B, KEY$A/B, KEY= */
static bool condition(const struct cat_response *r, const char *c, size_t len)
{
    size_t k = strcspn(c, "~!$=");
    if (k >= len)
        return false;
    const char *v = value_of(r, c, k);
    bool names = k == 5 && !strncmp(c, "names", 5);
    char op = c[k];
    if (op == '=')
        return !*v;
    bool any = false;
    for (const char *p = c + k + 1; p < c + len && !any;) {
        size_t n = strcspn(p, "/;|");
        if (p + n > c + len)
            n = (size_t)(c + len - p);
        if (n)
            any = op == '$' ? ends(v, p, n, names) : contains(v, p, n, names);
        p += n + 1;
    }
    return op == '!' ? !any : any;
}

/* "c;c|c;c": one alternative whose every condition holds. */
static bool wire_matches(const char *match, const struct cat_response *r)
{
    for (const char *alt = match; *alt;) {
        size_t an = strcspn(alt, "|");
        bool all = true;
        for (const char *c = alt; c < alt + an && all;) {
            size_t cn = strcspn(c, ";|");
            all = condition(r, c, cn);
            c += cn + (c[cn] == ';');
        }
        if (all)
            return true;
        alt += an + (alt[an] == '|');
    }
    return false;
}

static bool names_a_cache(const struct cat_program *p)
{
    return strstr(p->wire.match, "via") == p->wire.match;
}

static const struct cat_program *first(const struct cat_response *r, bool caches)
{
    for (unsigned i = 0; i < catalog_nprograms; i++) {
        const struct cat_program *p = &catalog_programs[i];
        if (p->wire.title && names_a_cache(p) == caches && wire_matches(p->wire.match, r))
            return p;
    }
    return NULL;
}

/* What the answer showed, for the evidence line. */
static void describe(const struct cat_response *r, const struct cat_program *p, char *ev, size_t len)
{
    size_t o = 0;
#define ADD(...) (o += (size_t)snprintf(ev + o, o < len ? len - o : 0, __VA_ARGS__))
    if (*r->via)
        ADD("Via: %.60s; ", r->via);
    if (*r->server)
        ADD("Server: %.60s", r->server);
    else
        ADD("no Server header");
    if (p && !*r->server) {
        if (*r->connection && strcmp(r->connection, "-"))
            ADD(", Connection: %.30s", r->connection);
        else if (!*r->connection)
            ADD(", no Connection header");
        if (*r->keep_alive)
            ADD(", Keep-Alive: %.30s", r->keep_alive);
        if (strstr(p->wire.match, "names"))
            ADD(", headers %.120s", r->names);
    }
    if (p && *p->wire.note)
        ADD(" (%s)", p->wire.note);
    else if (!p && *r->server)
        ADD(" (not recognised)");
    else if (!p)
        ADD(" (not recognised: HAProxy and many apps send none)");
#undef ADD
    if (o >= len && len > 4)
        memcpy(ev + len - 4, "...", 4);
}

const struct cat_program *catalog_from_response(const struct cat_response *r,
                                                const struct cat_program **origin,
                                                char *evidence, size_t len)
{
    const struct cat_program *front = first(r, true), *behind = first(r, false);
    *origin = front ? behind : NULL;
    if (!front)
        front = behind;
    if (len)
        describe(r, front, evidence, len);
    return front;
}
