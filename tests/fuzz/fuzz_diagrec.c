/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the recording reader (kernel/diagrec.c), any bytes as
 * a --replay file, through a memfd. Invariants: no crash or over-read;
 * a refusal says why; input of the fuzzer's sizes is read in bounded time
 * (the reader stops at the first damage). Every socket it accepts is a
 * socket the netlink decoder produced. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel/diagrec.h"

static int count(const struct tcp_sock *s, const struct tcp_activity *act, void *arg)
{
    (void)s, (void)act;
    ++*(size_t *)arg;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("diagrec", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64], err[256] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        size_t n = 0;
        if (diagrec_replay(path, count, &n, err, sizeof err) < 0 && !err[0])
            abort();
    }
    close(fd);
    return 0;
}
