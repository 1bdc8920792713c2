/* SPDX-License-Identifier: MIT */
/* Response heads: status line, Date (cached per second), persistence
 * headers, MIME types. Writes into a caller's buffer; returns its length,
 * or 0 if it did not fit. */
#ifndef CLOSER_SERVER_RESPONSE_H
#define CLOSER_SERVER_RESPONSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct resp_head {
    int status;
    int minor;                 /* answer in the request's HTTP/1.x */
    const char *content_type;  /* NULL: none */
    uint64_t content_length;
    bool keepalive;
    uint64_t keepalive_timeout_s; /* > 0: send Keep-Alive: timeout=N */
    time_t last_modified;      /* 0: none */
    const char *extra;         /* one more "Name: value" line (no CRLF), or NULL */
};

size_t resp_write_head(char *buf, size_t len, const struct resp_head *h);

/* The last head written, kept for the next one with the same fields in the
 * same second (the Date's): a fixed answer (serve --return, the same file
 * again) then costs a compare and one copy instead of a dozen appends.
 * One per engine context, never shared by threads; zeroed = empty. */
struct resp_head_cache {
    struct resp_head key;       /* its strings point to the copies below */
    time_t second;
    uint32_t len;               /* 0: nothing kept */
    char content_type[64], extra[128];
    char head[512];
    /* A fixed answer (resp_write_fixed_cached): the pointers it was built
     * from, compared instead of the texts, and its body kept in head[]
     * right after the head, so a hit is one copy. */
    bool fixed;
    const char *fixed_type, *fixed_extra, *fixed_body;
    uint32_t fixed_blen;
};
/* resp_write_head through the cache: the same bytes. */
size_t resp_write_head_cached(struct resp_head_cache *hc, char *buf, size_t len,
                              const struct resp_head *h);
/* The same for a fixed answer, whose content type, extra header and body
 * (blen > 0 bytes) are bytes that never change while the server runs (the
 * configuration, literals): writes the head and then the body, and sets
 * *with_body, when both fit in the cache (buf must hold sizeof hc->head);
 * otherwise the head alone, as resp_write_head_cached. */
size_t resp_write_fixed_cached(struct resp_head_cache *hc, char *buf, size_t len,
                               const struct resp_head *h, const char *body, size_t blen,
                               bool *with_body);
const char *resp_reason(int status);
const char *resp_mime(const char *path);
/* Parses an IMF-fixdate; -1 if it is not one. */
time_t resp_parse_http_date(const char *s, size_t len);

#endif
