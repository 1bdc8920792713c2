/* SPDX-License-Identifier: MIT */
/* HTTP/1.x request head parser (RFC 9112), incremental and zero-copy, in
 * the picohttpparser contract: http_parse_request returns the number of
 * bytes the head took (> 0), -1 on a malformed head (req->status holds the
 * response status to send: 400, 414, 431, 501, 505, 417), or -2 when more
 * input is needed. Names and values are slices into the caller's buffer.
 * Anything RFC 9112 calls a smuggling risk is an error: Content-Length with
 * Transfer-Encoding, duplicate or invalid Content-Length, obs-fold, bare CR,
 * whitespace before the colon, a missing or repeated Host in HTTP/1.1. */
#ifndef CLOSER_HTTP_REQUEST_H
#define CLOSER_HTTP_REQUEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/slice.h"

#define HTTP_MAX_HEADERS 64

struct http_header {
    struct slice name, value;
};

enum http_body { BODY_NONE, BODY_LENGTH, BODY_CHUNKED };

enum { CONN_HDR_CLOSE = 1, CONN_HDR_KEEPALIVE = 2 };

struct http_request {
    struct slice method, target;
    int minor;                 /* HTTP/1.<minor> */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    enum http_body body;
    uint64_t content_length;
    unsigned connection;       /* CONN_HDR_* tokens seen */
    bool expect_continue;
    struct slice host, if_modified_since;
    int status;                /* on -1: the status to answer */
};

struct http_limits {
    size_t max_head;  /* request line + headers, else 431 (default 8 KiB) */
    size_t max_uri;   /* request target, else 414 (default 4 KiB) */
};

int http_parse_request(const char *buf, size_t len, struct http_request *req,
                       const struct http_limits *lim);

/* Incremental chunked-body reader that discards the data. */
struct http_chunked {
    int state;
    uint64_t remaining;  /* bytes left in the current chunk */
    size_t line;         /* bytes of the current size/trailer line */
    uint64_t total;      /* body bytes seen */
    uint64_t trailer_bytes; /* trailer section bytes seen */
};
/* Consumes from buf; *used gets the bytes taken. Returns 1 when the body
 * (with trailers) ended, 0 when more is needed, -1 on a malformed body. */
int http_chunked_consume(struct http_chunked *c, const char *buf, size_t len, size_t *used);

#endif
