/* SPDX-License-Identifier: MIT */
/* libFuzzer target: closer states' filter language (snapshot/ssfilter.c),
 * any bytes as the filter words (split at NUL into argv entries), then the
 * parsed expression evaluated on sockets of both families, v4-mapped too.
 * Invariants: no crash, leak or over-read; a refusal always says why; a
 * parse either gives an expression or none, never half of one. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "snapshot/ssfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *argv[64];
    int argc = 0;
    for (size_t i = 0; i <= size && argc < 64; i += strlen(text + i) + 1)
        argv[argc++] = text + i;
    uint32_t states = 0;
    struct ssf *f = (struct ssf *)1;
    char err[256] = "";
    if (ssf_parse(argc, argv, &states, &f, err, sizeof err) < 0) {
        if (!err[0] || f)
            abort();
    } else {
        struct tcp_sock s[3] = {{.family = AF_INET, .state = 1, .sport = 80, .dport = 40000},
                                {.family = AF_INET6, .state = 10, .sport = 443},
                                {.family = AF_INET6, .state = 6, .sport = 1, .dport = 65535}};
        inet_pton(AF_INET, "127.0.0.1", s[0].src);
        inet_pton(AF_INET, "10.1.2.3", s[0].dst);
        inet_pton(AF_INET6, "::1", s[1].src);
        inet_pton(AF_INET6, "::ffff:127.0.0.1", s[2].src);
        inet_pton(AF_INET6, "::ffff:192.0.2.1", s[2].dst);
        for (int i = 0; i < 3; i++)
            (void)ssf_match(f, &s[i]);
        ssf_free(f);
    }
    free(text);
    return 0;
}
