/* SPDX-License-Identifier: MIT */
/* The BPF tracer's bookkeeping (trace/bpf.h) without loading anything:
 * what it counts with no program or map, what it closes, and an open that
 * fails leaving nothing behind (no root: the rings; root: a tracepoint id
 * no kernel has). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "trace/bpf.h"

TEST(no_programs_no_misses)
{
    struct bpf_tracer bt;
    memset(&bt, 0, sizeof bt);
    bt.out_map = bt.irq_map = -1;
    uint64_t skipped = 7, failed = 7;
    bpf_tracer_misses(&bt, &skipped, &failed);
    CHECK_EQ_INT(skipped, 0);
    CHECK_EQ_INT(failed, 0);
}

/* Descriptors that are not BPF objects: the kernel refuses the info and
 * the lookup, and the counts stay 0. */
TEST(misses_of_objects_the_kernel_refuses)
{
    struct bpf_tracer bt;
    int p[2];
    CHECK(pipe(p) == 0);
    memset(&bt, 0, sizeof bt);
    bt.progs[0] = p[0];
    bt.progs[1] = p[1];
    bt.nprogs = 2;
    bt.first_tcp = 1;
    bt.out_map = -1;
    bt.irq_map = p[0];
    uint64_t skipped = 7, failed = 7;
    bpf_tracer_misses(&bt, &skipped, &failed);
    CHECK_EQ_INT(skipped, 0);
    CHECK_EQ_INT(failed, 0);
    bt.irq_map = -1;
    bpf_tracer_close(&bt);
    CHECK(fcntl(p[0], F_GETFD) < 0 && errno == EBADF);
    CHECK(fcntl(p[1], F_GETFD) < 0 && errno == EBADF);
}

TEST(close_closes_programs_and_maps)
{
    struct bpf_tracer bt;
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    memset(&bt, 0, sizeof bt);
    bt.progs[0] = a[0];
    bt.nprogs = 1;
    bt.out_map = a[1];
    bt.irq_map = b[0];
    bpf_tracer_close(&bt);
    CHECK_EQ_INT(bt.nprogs, 0);
    CHECK_EQ_INT(bt.out_map, -1);
    CHECK_EQ_INT(bt.irq_map, -1);
    CHECK(fcntl(a[0], F_GETFD) < 0 && fcntl(a[1], F_GETFD) < 0 && fcntl(b[0], F_GETFD) < 0);
    CHECK(fcntl(b[1], F_GETFD) == 0);
    close(b[1]);
    bpf_tracer_close(&bt); /* twice: nothing left to close */
}

TEST(a_failed_open_leaves_nothing_open)
{
    struct bpf_tracer bt;
    struct perf_set ps;
    struct tp_layout l;
    memset(&l, 0, sizeof l);
    l.id = 0x7ff00010u;
    struct bpf_tp tp = {0x7ff00010u, &l, 72, "no_such_tracepoint"};
    const unsigned softirq[2] = {0x7ff00011u, 0x7ff00012u};
    char err[512] = "";
    CHECK_EQ_INT(bpf_tracer_open(&bt, &ps, &tp, 1, softirq, 0, 1, err, sizeof err), -1);
    CHECK(err[0] != 0);
    CHECK(ps.rings == NULL && ps.nfds == 0);
    CHECK_EQ_INT(bt.nprogs, 0);
}
