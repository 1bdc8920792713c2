#include "server/response.h"

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

void resp_http_date(time_t t, char out[32])
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
static const char *cached_date(void)
{
    static _Thread_local time_t last;
    static _Thread_local char text[32];
    time_t now = time(NULL);
    if (now != last) {
        resp_http_date(now, text);
        last = now;
    }
    return text;
}

size_t resp_write_head(char *buf, size_t len, const struct resp_head *h)
{
    char lm[64] = "", ka[48] = "", ct[96] = "";
    if (h->last_modified) {
        char d[32];
        resp_http_date(h->last_modified, d);
        snprintf(lm, sizeof lm, "Last-Modified: %s\r\n", d);
    }
    if (h->keepalive && h->keepalive_timeout_s)
        snprintf(ka, sizeof ka, "Keep-Alive: timeout=%llu\r\n",
                 (unsigned long long)h->keepalive_timeout_s);
    if (h->content_type)
        snprintf(ct, sizeof ct, "Content-Type: %s\r\n", h->content_type);
    int n = snprintf(buf, len,
                     "HTTP/1.%d %d %s\r\nServer: closer\r\nDate: %s\r\n%sContent-Length: %llu\r\n"
                     "%sConnection: %s\r\n%s\r\n",
                     h->minor, h->status, resp_reason(h->status), cached_date(), ct,
                     (unsigned long long)h->content_length, lm,
                     h->keepalive ? "keep-alive" : "close", ka);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
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
