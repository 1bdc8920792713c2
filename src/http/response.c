/* SPDX-License-Identifier: MIT */
#include "http/response.h"

#include <string.h>

static long find_lf(const char *b, size_t from, size_t len)
{
    const char *p = memchr(b + from, '\n', len - from);
    return p ? (long)(p - b) : -2;
}

static unsigned conn_tokens(struct slice v)
{
    unsigned m = 0;
    for (size_t i = 0; i < v.len;) {
        while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.ptr[i] != ',' && v.ptr[i] != ' ')
            i++;
        struct slice t = {v.ptr + s, i - s};
        m |= slice_eq_ci(t, "close") ? CONN_HDR_CLOSE : slice_eq_ci(t, "keep-alive") ? CONN_HDR_KEEPALIVE : 0;
    }
    return m;
}

int http_parse_response(const char *b, size_t len, struct http_response *r, bool head_request)
{
    r->nheaders = 0;
    r->framing = FRAME_NONE;
    r->content_length = 0;
    r->connection = 0;
    r->status = 0;
    r->keep_alive = (struct slice){0};
    long lf = find_lf(b, 0, len);
    if (lf < 0)
        return len > 8192 ? -1 : -2;
    if (lf < 12 || memcmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ' || b[7] < '0' || b[7] > '1')
        return -1;
    r->minor = b[7] - '0';
    for (int i = 9; i < 12; i++) {
        if (b[i] < '0' || b[i] > '9')
            return -1;
        r->status = r->status * 10 + b[i] - '0';
    }
    bool has_cl = false, chunked = false;
    size_t pos = (size_t)lf + 1;
    for (;;) {
        lf = find_lf(b, pos, len);
        if (lf < 0)
            return len > 65536 ? -1 : -2;
        size_t end = (size_t)lf;
        if (end > pos && b[end - 1] == '\r')
            end--;
        if (end == pos)
            break;
        const char *colon = memchr(b + pos, ':', end - pos);
        if (!colon || r->nheaders == HTTP_MAX_HEADERS)
            return -1;
        struct http_header *h = &r->headers[r->nheaders++];
        h->name = (struct slice){b + pos, (size_t)(colon - (b + pos))};
        size_t v = (size_t)(colon - b) + 1;
        while (v < end && (b[v] == ' ' || b[v] == '\t'))
            v++;
        size_t ve = end;
        while (ve > v && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
            ve--;
        h->value = (struct slice){b + v, ve - v};
        if (slice_eq_ci(h->name, "content-length")) {
            uint64_t n = 0;
            if (!h->value.len)
                return -1;
            for (size_t i = 0; i < h->value.len; i++) {
                if (h->value.ptr[i] < '0' || h->value.ptr[i] > '9' || n > UINT64_MAX / 10 - 1)
                    return -1;
                n = n * 10 + (uint64_t)(h->value.ptr[i] - '0');
            }
            /* RFC 9112 6.3: repeated lengths must agree, or the framing
             * is unknowable (a response-splitting vector). */
            if (has_cl && n != r->content_length)
                return -1;
            r->content_length = n;
            has_cl = true;
        } else if (slice_eq_ci(h->name, "transfer-encoding")) {
            chunked = h->value.len >= 7 &&
                      slice_eq_ci((struct slice){h->value.ptr + h->value.len - 7, 7}, "chunked");
        } else if (slice_eq_ci(h->name, "connection")) {
            r->connection |= conn_tokens(h->value);
        } else if (slice_eq_ci(h->name, "keep-alive")) {
            r->keep_alive = h->value;
        }
        pos = (size_t)lf + 1;
    }
    if (head_request || r->status < 200 || r->status == 204 || r->status == 304)
        r->framing = FRAME_NONE;
    else if (chunked)
        r->framing = FRAME_CHUNKED;
    else if (has_cl)
        r->framing = r->content_length ? FRAME_LENGTH : FRAME_NONE;
    else
        r->framing = FRAME_UNTIL_CLOSE;
    return (int)(lf + 1);
}

bool http_response_keeps_alive(const struct http_response *r)
{
    if (r->framing == FRAME_UNTIL_CLOSE || (r->connection & CONN_HDR_CLOSE))
        return false;
    return r->minor >= 1 || (r->connection & CONN_HDR_KEEPALIVE);
}
