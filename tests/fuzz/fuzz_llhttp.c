/* SPDX-License-Identifier: MIT */
/* Differential libFuzzer target: closer's request parser against llhttp
 * (Debian's node-llhttp C sources, strict mode). closer is allowed to be
 * stricter (it also rejects a missing Host, any Content-Length with
 * Transfer-Encoding, ...), never laxer: a head closer accepts must be
 * accepted by llhttp, with the same framing (chunked or the same
 * Content-Length, same HTTP minor version). Methods llhttp does not know
 * are left out (closer answers any token; llhttp's method list is fixed).
 * Every other difference it found was fixed in closer: bare LF line ends,
 * raw bytes >= 0x7f in the target, a target in none of RFC 9112's forms, an
 * authority with characters outside RFC 3986's or two '@', a fragment, the
 * PRI method, a tab around a Content-Length or Transfer-Encoding value
 * (llhttp then saw no chunked framing where closer did). One is
 * kept on purpose: an absolute-form scheme with digits, '+', '-' or '.'
 * (RFC 3986 3.1 allows them; llhttp takes letters only). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "llhttp.h"

#define MUST(c) do { if (!(c)) __builtin_trap(); } while (0)

static int headers_done;

/* The absolute-form target's scheme has a character RFC 3986 allows and
 * llhttp does not (anything but a letter). */
static bool scheme_beyond_letters(struct slice target)
{
    for (size_t i = 0; i + 2 < target.len; i++) {
        if (target.ptr[i] == ':' && target.ptr[i + 1] == '/' && target.ptr[i + 2] == '/') {
            for (size_t k = 0; k < i; k++)
                if (!((target.ptr[k] | 0x20) >= 'a' && (target.ptr[k] | 0x20) <= 'z'))
                    return true;
            return false;
        }
        if (target.ptr[i] == '/')
            return false;
    }
    return false;
}

static int on_headers_complete(llhttp_t *p)
{
    (void)p;
    headers_done = 1;
    return HPE_PAUSED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    struct http_limits lim = {.max_head = 8192, .max_uri = 4096};
    struct http_request r;
    int n = http_parse_request(buf, size, &r, &lim);
    if (n <= 0) {
        free(buf);
        return 0;
    }
    llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    settings.on_headers_complete = on_headers_complete;
    llhttp_t p;
    llhttp_init(&p, HTTP_REQUEST, &settings);
    headers_done = 0;
    llhttp_errno_t err = llhttp_execute(&p, buf, (size_t)n);
    bool rfc_scheme = err == HPE_INVALID_URL && scheme_beyond_letters(r.target);
    if (err == HPE_INVALID_METHOD || rfc_scheme || (err == HPE_PAUSED && !headers_done)) {
        free(buf);
        return 0;
    }
    MUST(err == HPE_PAUSED && headers_done);
    MUST(p.http_major == 1 && p.http_minor == r.minor);
    if (r.body == BODY_CHUNKED)
        MUST(p.flags & F_CHUNKED);
    else if (r.body == BODY_LENGTH)
        MUST((p.flags & F_CONTENT_LENGTH) && p.content_length == r.content_length);
    else
        MUST(!(p.flags & F_CHUNKED) && (!(p.flags & F_CONTENT_LENGTH) || p.content_length == 0));
    free(buf);
    return 0;
}
