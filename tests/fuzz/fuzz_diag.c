/* libFuzzer target: the netlink sock_diag decoder must never read out of
 * bounds or crash, whatever the kernel (or a replay file) hands it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/diag.h"
#include "kernel/proctcp.h"

static int sink(const struct tcp_sock *s, const struct tcp_activity *act, void *arg)
{
    (void)arg;
    if (act && act->data_segs_in == 0xdeadbeef)
        return -1;
    return s->state == 255 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy so the buffer ends exactly where the input ends (ASan catches
     * any over-read), aligned as recv() would give it. */
    void *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    int intr = 0;
    diag_decode(buf, size, sink, NULL, &intr);
    free(buf);
    /* The /proc/net/tcp line parser, on the same bytes as text. */
    char *line = malloc(size + 1);
    memcpy(line, data, size);
    line[size] = 0;
    struct tcp_sock s;
    proctcp_parse_line(line, size & 1 ? 10 : 2, &s);
    free(line);
    return 0;
}
