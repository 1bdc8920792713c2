/* SPDX-License-Identifier: MIT */
/* HTTP/1.x response head parser for the client side (load, probe), same
 * contract as the request parser: bytes consumed, -1 malformed, -2 need
 * more. Header values are slices into the caller's buffer. */
#ifndef CLOSER_HTTP_RESPONSE_H
#define CLOSER_HTTP_RESPONSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h"

enum resp_framing { FRAME_NONE, FRAME_LENGTH, FRAME_CHUNKED, FRAME_UNTIL_CLOSE };

struct http_response {
    int minor, status;
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    enum resp_framing framing;
    uint64_t content_length;
    unsigned connection;       /* CONN_HDR_* */
    struct slice keep_alive;   /* Keep-Alive header value, if any */
};

/* head_request: the request was HEAD (no body whatever the headers say). */
int http_parse_response(const char *buf, size_t len, struct http_response *r, bool head_request);
/* Does the server keep the connection after this response? */
bool http_response_keeps_alive(const struct http_response *r);

#endif
