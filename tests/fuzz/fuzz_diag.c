/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the netlink sock_diag decoder must never read out of
 * bounds or crash, whatever the kernel (or a replay file) hands it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/diag.h"
#include "kernel/proctcp.h"
#include "snapshot/snapshot.h"

/* Every decoded socket goes through the filters the views apply (a state
 * byte is any of 0..255 here). */
static int sink(const struct tcp_sock *s, const struct tcp_activity *act, void *arg)
{
    (void)arg;
    static const struct sock_filter filters[] = {
        {.states = TS_ALL_MASK}, {.states = 1u << TS_ESTABLISHED, .sport = 80}, {0}};
    int hits = 0;
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        hits += sock_filter_match(&filters[i], s);
    (void)tcp_state_name(s->state);
    if (act && act->data_segs_in == 0xdeadbeef)
        return -1;
    return s->state == 255 && hits ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy so the buffer ends exactly where the input ends (ASan catches
     * any over-read), aligned as recv() would give it. */
    void *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    int intr = 0;
    int rc = diag_decode(buf, size, sink, NULL, &intr);
    free(buf);
    /* The contract callers rely on (they print strerror(-rc)): a negative
     * errno, never a value whose negation overflows or a positive error. */
    if (rc < -4095 || rc > 1)
        abort();
    /* The /proc/net/tcp line parser, on the same bytes as text. */
    char *line = malloc(size + 1);
    memcpy(line, data, size);
    line[size] = 0;
    struct tcp_sock s;
    proctcp_parse_line(line, size & 1 ? 10 : 2, &s);
    free(line);
    return 0;
}
