/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the request head parser and the chunked-body reader.
 * Beyond "no crash, no over-read" it checks the incremental contract:
 * a head accepted at n bytes is "incomplete" (-2) at every shorter prefix
 * and accepted again at exactly n bytes; every slice lies inside the head;
 * the chunked reader gives the same answer fed whole or byte by byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"

#define MUST(c) do { if (!(c)) __builtin_trap(); } while (0)

static void slice_inside(struct slice s, const char *buf, size_t n)
{
    if (s.len)
        MUST(s.ptr >= buf && s.ptr + s.len <= buf + n);
}

static void chunked_agrees(const char *buf, size_t len)
{
    struct http_chunked whole = {0}, bytes = {0};
    size_t used = 0;
    int rw = http_chunked_consume(&whole, buf, len, &used);
    MUST(used <= len);
    int rb = 0;
    size_t off = 0;
    while (off < len) {
        size_t u = 0;
        rb = http_chunked_consume(&bytes, buf + off, 1, &u);
        MUST(u <= 1);
        off += u;
        if (rb != 0 || u == 0)
            break;
    }
    MUST(rw == rb);
    if (rw == 1)
        MUST(off == used && whole.total == bytes.total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    /* An exact-size copy: ASan catches any read past the input. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    struct http_limits lim = {.max_head = 2048, .max_uri = 512};
    struct http_request r;
    int n = http_parse_request(buf, size, &r, &lim);
    MUST(n == -1 || n == -2 || (n > 0 && (size_t)n <= size));
    if (n == -1)
        MUST(r.status == 400 || r.status == 414 || r.status == 431 || r.status == 501 ||
             r.status == 505 || r.status == 417);
    if (n > 0) {
        slice_inside(r.method, buf, (size_t)n);
        slice_inside(r.target, buf, (size_t)n);
        MUST(r.nheaders <= HTTP_MAX_HEADERS);
        for (size_t i = 0; i < r.nheaders; i++) {
            slice_inside(r.headers[i].name, buf, (size_t)n);
            slice_inside(r.headers[i].value, buf, (size_t)n);
        }
        MUST(!(r.body == BODY_CHUNKED && r.content_length));
        struct http_request again;
        for (size_t k = 0; k < (size_t)n; k++)
            MUST(http_parse_request(buf, k, &again, &lim) == -2);
        MUST(http_parse_request(buf, (size_t)n, &again, &lim) == n);
        if (r.body == BODY_CHUNKED)
            chunked_agrees(buf + n, size - (size_t)n);
    } else if (n == -2) {
        /* Incomplete stays incomplete at every prefix. */
        struct http_request again;
        for (size_t k = 0; k < size; k += 1 + k / 64)
            MUST(http_parse_request(buf, k, &again, &lim) == -2);
    }
    free(buf);
    return 0;
}
