/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the server connection engine on a socketpair (the
 * style of h2o's fuzz driver). The input is what a client sends; its first
 * byte picks how: bit 0 one byte per loop step, bit 1 a half-close after
 * the input. Invariants: every answer starts with a status line, and once
 * the client is gone no connection is left (no leak, no spin).
 * Seeds: tests/fuzz/corpus_request (the parser's). */
#include <stdint.h>
#include <stdlib.h>

#include "../lib/srv_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct harness h;
    static bool ready;
    if (!ready) {
        h_init(&h);
        h.cfg.keepalive_requests = 100;
        ready = true;
    }
    if (size == 0)
        return 0;
    unsigned mode = data[0];
    const char *req = (const char *)data + 1;
    size_t len = size - 1;
    h_connect(&h);
    if (mode & 1) {
        for (size_t i = 0; i < len; i++) {
            h_send(&h, req + i, 1);
            h_step(&h);
        }
    } else {
        h_send(&h, req, len);
    }
    if (mode & 2) {
        shutdown(h.cfd, SHUT_WR);
        h_pump(&h);
        if (h.x.active != 0)
            abort(); /* a half-closed client was not closed */
    }
    h_pump(&h);
    if (h.inlen && strncmp(h.in, "HTTP/1.", 7))
        abort();
    h_disconnect(&h);
    if (h.x.active != 0)
        abort();
    return 0;
}
