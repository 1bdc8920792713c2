/* SPDX-License-Identifier: MIT */
#include "server/response.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *resp_reason(int s)
{
    switch (s) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static void resp_http_date(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

time_t resp_parse_http_date(const char *s, size_t len)
{
    char buf[40];
    struct tm tm = {0};
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    const char *end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    return timegm(&tm);
}

/* The Date header changes once a second: format it once per second per
 * thread. */
static const char *cached_date(time_t now)
{
    static _Thread_local time_t last;
    static _Thread_local char text[32];
    if (now != last) {
        resp_http_date(now, text);
        last = now;
    }
    return text;
}

/* A bounded appender: the head is built on every response, and snprintf's
 * format interpretation was a visible share of a small response's cost. */
struct out {
    char *p, *end;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || (size_t)(o->end - o->p) < n) {
        o->full = true;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }
#define PUT_LIT(o, lit) put(o, lit, sizeof lit - 1)

static void put_u64(struct out *o, uint64_t v)
{
    char d[20];
    size_t i = sizeof d;
    do
        d[--i] = (char)('0' + v % 10);
    while ((v /= 10));
    put(o, d + i, sizeof d - i);
}

static size_t write_head(char *buf, size_t len, const struct resp_head *h, time_t now)
{
    struct out o = {buf, buf + len, false};
    PUT_LIT(&o, "HTTP/1.");
    put(&o, h->minor ? "1 " : "0 ", 2);
    put_u64(&o, (uint64_t)h->status);
    PUT_LIT(&o, " ");
    puts_(&o, resp_reason(h->status));
    PUT_LIT(&o, "\r\nServer: closer\r\nDate: ");
    puts_(&o, cached_date(now));
    if (h->content_type) {
        PUT_LIT(&o, "\r\nContent-Type: ");
        puts_(&o, h->content_type);
    }
    /* RFC 9110 8.6: none in 1xx and 204; in a 304 only the length a 200
     * would have had — nginx sends none there, nor do we. */
    if (h->status >= 200 && h->status != 204 && h->status != 304) {
        PUT_LIT(&o, "\r\nContent-Length: ");
        put_u64(&o, h->content_length);
    }
    if (h->last_modified) {
        char d[32];
        resp_http_date(h->last_modified, d);
        PUT_LIT(&o, "\r\nLast-Modified: ");
        puts_(&o, d);
    }
    if (h->extra) {
        PUT_LIT(&o, "\r\n");
        puts_(&o, h->extra);
    }
    if (h->keepalive)
        PUT_LIT(&o, "\r\nConnection: keep-alive");
    else
        PUT_LIT(&o, "\r\nConnection: close");
    if (h->keepalive && h->keepalive_timeout_s) {
        PUT_LIT(&o, "\r\nKeep-Alive: timeout=");
        put_u64(&o, h->keepalive_timeout_s);
    }
    PUT_LIT(&o, "\r\n\r\n");
    return o.full ? 0 : (size_t)(o.p - buf);
}

size_t resp_write_head(char *buf, size_t len, const struct resp_head *h)
{
    return write_head(buf, len, h, time(NULL));
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool same_head(const struct resp_head *a, const struct resp_head *b)
{
    return a->status == b->status && a->minor == b->minor &&
           a->content_length == b->content_length && a->keepalive == b->keepalive &&
           a->keepalive_timeout_s == b->keepalive_timeout_s &&
           a->last_modified == b->last_modified && same_text(a->content_type, b->content_type) &&
           same_text(a->extra, b->extra);
}

/* Copies a string into the cache's room for it; false if it does not fit. */
static bool keep_text(const char *s, char *room, size_t cap, const char **out)
{
    *out = NULL;
    if (!s)
        return true;
    size_t n = strlen(s);
    if (n >= cap)
        return false;
    memcpy(room, s, n + 1);
    *out = room;
    return true;
}

size_t resp_write_head_cached(struct resp_head_cache *hc, char *buf, size_t len,
                              const struct resp_head *h)
{
    time_t now = time(NULL);
    if (hc->len && hc->second == now && hc->len <= len && same_head(&hc->key, h)) {
        memcpy(buf, hc->head, hc->len);
        return hc->len;
    }
    size_t n = write_head(buf, len, h, now);
    hc->len = 0;
    hc->fixed = false;
    struct resp_head key = *h;
    if (n && n <= sizeof hc->head &&
        keep_text(h->content_type, hc->content_type, sizeof hc->content_type, &key.content_type) &&
        keep_text(h->extra, hc->extra, sizeof hc->extra, &key.extra)) {
        hc->key = key;
        hc->second = now;
        memcpy(hc->head, buf, n);
        hc->len = (uint32_t)n;
    }
    return n;
}

size_t resp_write_fixed_cached(struct resp_head_cache *hc, char *buf, size_t len,
                               const struct resp_head *h, const char *body, size_t blen,
                               bool *with_body)
{
    time_t now = time(NULL);
    const struct resp_head *k = &hc->key;
    if (hc->fixed && hc->second == now && hc->fixed_type == h->content_type &&
        hc->fixed_extra == h->extra && hc->fixed_body == body && hc->fixed_blen == blen &&
        k->status == h->status && k->minor == h->minor && k->content_length == h->content_length &&
        k->keepalive == h->keepalive && k->keepalive_timeout_s == h->keepalive_timeout_s &&
        k->last_modified == h->last_modified && hc->len <= len) {
        memcpy(buf, hc->head, hc->len + blen);
        *with_body = true;
        return hc->len + blen;
    }
    *with_body = false;
    size_t n = resp_write_head_cached(hc, buf, len, h);
    if (n && hc->len == n && hc->second == now && blen <= sizeof hc->head - n && blen <= len - n) {
        memcpy(hc->head + n, body, blen);
        memcpy(buf + n, body, blen);
        hc->fixed = true;
        hc->fixed_type = h->content_type;
        hc->fixed_extra = h->extra;
        hc->fixed_body = body;
        hc->fixed_blen = (uint32_t)blen;
        *with_body = true;
        return n + blen;
    }
    return n;
}

const char *resp_mime(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        {"html", "text/html"}, {"htm", "text/html"}, {"css", "text/css"},
        {"js", "application/javascript"}, {"json", "application/json"},
        {"txt", "text/plain"}, {"png", "image/png"}, {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"svg", "image/svg+xml"},
        {"ico", "image/x-icon"}, {"webp", "image/webp"}, {"pdf", "application/pdf"},
        {"xml", "text/xml"}, {"wasm", "application/wasm"}, {"woff2", "font/woff2"},
        {"md", "text/markdown"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot + 1, types[i].ext))
                return types[i].type;
    return "application/octet-stream";
}
