/* SPDX-License-Identifier: MIT */
/* Recorded on Linux 6.18 (x86_64): the format files of the three
 * tracepoints and raw samples (PERF_SAMPLE_RAW) of two loopback
 * connections on port 7777 made by a Python program (pid 28599):
 *   1. the client closes first, the server close()s 50 ms later;
 *   2. the server closes with SO_LINGER {1,0} (RST), its socket reusing
 *      the first client's skaddr.
 * pid 22 is ksoftirqd (softirq context). */
#ifndef TRACE_SAMPLES_H
#define TRACE_SAMPLES_H
#include <stdint.h>
#include <stdio.h>

static const char fmt_set_state[] =
    "name: inet_sock_set_state\n"
    "ID: 2287\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:int oldstate;\toffset:16;\tsize:4;\tsigned:1;\n"
    "\tfield:int newstate;\toffset:20;\tsize:4;\tsigned:1;\n"
    "\tfield:__u16 sport;\toffset:24;\tsize:2;\tsigned:0;\n"
    "\tfield:__u16 dport;\toffset:26;\tsize:2;\tsigned:0;\n"
    "\tfield:__u16 family;\toffset:28;\tsize:2;\tsigned:0;\n"
    "\tfield:__u16 protocol;\toffset:30;\tsize:2;\tsigned:0;\n"
    "\tfield:__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;\n"
    "\tfield:__u8 daddr[4];\toffset:36;\tsize:4;\tsigned:0;\n"
    "\tfield:__u8 saddr_v6[16];\toffset:40;\tsize:16;\tsigned:0;\n"
    "\tfield:__u8 daddr_v6[16];\toffset:56;\tsize:16;\tsigned:0;\n"
    "\n"
    "print fmt: \"family=%s protocol=%s sport=%hu dport=%hu saddr=%pI4 daddr=%pI4 saddrv6=%pI6c daddrv6=%pI6c oldstate=%s newstate=%s\", __print_symbolic(REC->family, { 2, \"AF_INET\" }, { 10, \"AF_INET6\" }), __print_symbolic(REC->protocol, { 6, \"IPPROTO_TCP\" }, { 132, \"IPPROTO_SCTP\" }, { 262, \"IPPROTO_MPTCP\" }), REC->sport, REC->dport, REC->saddr, REC->daddr, REC->saddr_v6, REC->daddr_v6, __print_symbolic(REC->oldstate, { 1, \"TCP_ESTABLISHED\" }, { 2, \"TCP_SYN_SENT\" }, { 3, \"TCP_SYN_RECV\" }, { 4, \"TCP_FIN_WAIT1\" }, { 5, \"TCP_FIN_WAIT2\" }, { 6, \"TCP_TIME_WAIT\" }, { 7, \"TCP_CLOSE\" }, { 8, \"TCP_CLOSE_WAIT\" }, { 9, \"TCP_LAST_ACK\" }, { 10, \"TCP_LISTEN\" }, { 11, \"TCP_CLOSING\" }, { 12, \"TCP_NEW_SYN_RECV\" }), __print_symbolic(REC->newstate, { 1, \"TCP_ESTABLISHED\" }, { 2, \"TCP_SYN_SENT\" }, { 3, \"TCP_SYN_RECV\" }, { 4, \"TCP_FIN_WAIT1\" }, { 5, \"TCP_FIN_WAIT2\" }, { 6, \"TCP_TIME_WAIT\" }, { 7, \"TCP_CLOSE\" }, { 8, \"TCP_CLOSE_WAIT\" }, { 9, \"TCP_LAST_ACK\" }, { 10, \"TCP_LISTEN\" }, { 11, \"TCP_CLOSING\" }, { 12, \"TCP_NEW_SYN_RECV\" })\n";
static const char fmt_send_reset[] =
    "name: tcp_send_reset\n"
    "ID: 2280\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:const void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:const void * skaddr;\toffset:16;\tsize:8;\tsigned:0;\n"
    "\tfield:int state;\toffset:24;\tsize:4;\tsigned:1;\n"
    "\tfield:enum sk_rst_reason reason;\toffset:28;\tsize:4;\tsigned:0;\n"
    "\tfield:__u8 saddr[28];\toffset:32;\tsize:28;\tsigned:0;\n"
    "\tfield:__u8 daddr[28];\toffset:60;\tsize:28;\tsigned:0;\n"
    "\n"
    "print fmt: \"skbaddr=%p skaddr=%p src=%pISpc dest=%pISpc state=%s reason=%s\", REC->skbaddr, REC->skaddr, REC->saddr, REC->daddr, REC->state ? __print_symbolic(REC->state, { TCP_ESTABLISHED, \"TCP_ESTABLISHED\" }, { TCP_SYN_SENT, \"TCP_SYN_SENT\" }, { TCP_SYN_RECV, \"TCP_SYN_RECV\" }, { TCP_FIN_WAIT1, \"TCP_FIN_WAIT1\" }, { TCP_FIN_WAIT2, \"TCP_FIN_WAIT2\" }, { TCP_TIME_WAIT, \"TCP_TIME_WAIT\" }, { TCP_CLOSE, \"TCP_CLOSE\" }, { TCP_CLOSE_WAIT, \"TCP_CLOSE_WAIT\" }, { TCP_LAST_ACK, \"TCP_LAST_ACK\" }, { TCP_LISTEN, \"TCP_LISTEN\" }, { TCP_CLOSING, \"TCP_CLOSING\" }, { TCP_NEW_SYN_RECV, \"TCP_NEW_SYN_RECV\" }) : \"UNKNOWN\", __print_symbolic(REC->reason, { 0, \"NOT_SPECIFIED\" }, { 1, \"NO_SOCKET\" }, { 2, \"TCP_INVALID_ACK_SEQUENCE\" }, { 3, \"TCP_RFC7323_PAWS\" }, { 4, \"TCP_TOO_OLD_ACK\" }, { 5, \"TCP_ACK_UNSENT_DATA\" }, { 6, \"TCP_FLAGS\" }, { 7, \"TCP_OLD_ACK\" }, { 8, \"TCP_ABORT_ON_DATA\" }, { 9, \"TCP_TIMEWAIT_SOCKET\" }, { 10, \"INVALID_SYN\" }, { 11, \"TCP_ABORT_ON_CLOSE\" }, { 12, \"TCP_ABORT_ON_LINGER\" }, { 13, \"TCP_ABORT_ON_MEMORY\" }, { 14, \"TCP_STATE\" }, { 15, \"TCP_KEEPALIVE_TIMEOUT\" }, { 16, \"TCP_DISCONNECT_WITH_DATA\" }, { 17, \"MPTCP_RST_EUNSPEC\" }, { 18, \"MPTCP_RST_EMPTCP\" }, { 19, \"MPTCP_RST_ERESOURCE\" }, { 20, \"MPTCP_RST_EPROHIBIT\" }, { 21, \"MPTCP_RST_EWQ2BIG\" }, { 22, \"MPTCP_RST_EBADPERF\" }, { 23, \"MPTCP_RST_EMIDDLEBOX\" }, { 24, \"ERROR\" }, { 25, \"MAX\" })\n";
static const char fmt_receive_reset[] =
    "name: tcp_receive_reset\n"
    "ID: 2279\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:__u16 sport;\toffset:16;\tsize:2;\tsigned:0;\n"
    "\tfield:__u16 dport;\toffset:18;\tsize:2;\tsigned:0;\n"
    "\tfield:__u16 family;\toffset:20;\tsize:2;\tsigned:0;\n"
    "\tfield:__u8 saddr[4];\toffset:22;\tsize:4;\tsigned:0;\n"
    "\tfield:__u8 daddr[4];\toffset:26;\tsize:4;\tsigned:0;\n"
    "\tfield:__u8 saddr_v6[16];\toffset:30;\tsize:16;\tsigned:0;\n"
    "\tfield:__u8 daddr_v6[16];\toffset:46;\tsize:16;\tsigned:0;\n"
    "\tfield:__u64 sock_cookie;\toffset:64;\tsize:8;\tsigned:0;\n"
    "\n"
    "print fmt: \"family=%s sport=%hu dport=%hu saddr=%pI4 daddr=%pI4 saddrv6=%pI6c daddrv6=%pI6c sock_cookie=%llx\", __print_symbolic(REC->family, { 2, \"AF_INET\" }, { 10, \"AF_INET6\" }), REC->sport, REC->dport, REC->saddr, REC->daddr, REC->saddr_v6, REC->daddr_v6, REC->sock_cookie\n";

struct rec_sample {
    int32_t pid, tid;
    uint64_t time;
    const char *hex;
};

static const struct rec_sample rec_samples[] = {
    {28599, 28599, 1283155058935ull, "ef080001b76f00000080ab0a8188ffff070000000a000000611e0000020006007f0000010000000000000000000000000000ffff7f00000100000000000000000000ffff0000000000000000"},
    {28599, 28599, 1283160702566ull, "ef080001b76f0000c0e5ab0a8188ffff07000000020000000000611e020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283160730606ull, "ef080001b76f0000c0e5ab0a8188ffff02000000010000007cde611e020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283160735891ull, "ef081003b76f000040aeab0a8188ffff0a00000003000000611e7cde020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283160739668ull, "ef081003b76f000040aeab0a8188ffff0300000001000000611e7cde020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283160766106ull, "ef080001b76f0000c0e5ab0a8188ffff01000000040000007cde611e020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283160768911ull, "ef081003b76f000040aeab0a8188ffff0100000008000000611e7cde020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {22, 22, 1283168051544ull, "ef08100216000000c0e5ab0a8188ffff04000000050000007cde611e020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {22, 22, 1283168056580ull, "ef08100216000000c0e5ab0a8188ffff05000000070000007cde611e020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283210995951ull, "ef080001b76f000040aeab0a8188ffff0800000009000000611e7cde020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283211026561ull, "ef080001b76f000040aeab0a8188ffff0900000007000000611e7cde020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283211167276ull, "ef080001b76f000040aeab0a8188ffff07000000020000000000611e020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283211186247ull, "ef080001b76f000040aeab0a8188ffff020000000100000082de611e020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283211190795ull, "ef081003b76f0000c0e5ab0a8188ffff0a00000003000000611e82de020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283211198586ull, "ef081003b76f0000c0e5ab0a8188ffff0300000001000000611e82de020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283211276068ull, "ef080001b76f0000c0e5ab0a8188ffff0100000007000000611e82de020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283211279103ull, "e7081003b76f000040aeab0a8188ffff82de611e02007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f0000010000eaa613000000000000000000"},
    {28599, 28599, 1283211280946ull, "ef081003b76f000040aeab0a8188ffff010000000700000082de611e020006007f0000017f00000100000000000000000000ffff7f00000100000000000000000000ffff7f00000100000000"},
    {28599, 28599, 1283211282792ull, "e8080001b76f00000000000000000000c0e5ab0a8188ffff070000000e00000002001e617f00000100000000000000000000000000000000000000000200de827f000001000000000000000000000000000000000000000000000000"},
    {28599, 28599, 1283263663500ull, "ef080001b76f00000080ab0a8188ffff0a00000007000000611e0000020006007f0000010000000000000000000000000000ffff7f00000100000000000000000000ffff0000000000000000"},
};
#define N_REC_SAMPLES (sizeof rec_samples / sizeof rec_samples[0])

static inline size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] && h[1] && n < cap; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* Perf rings built in memory in the kernel's layout (a struct
 * perf_event_mmap_page, then the data pages), filled with records the way
 * the kernel writes them: at data_head, wrapping at the ring's end. The
 * mappings are anonymous, so perf_close unmaps and frees them as it does
 * the kernel's. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "trace/perf.h"

#define RECORDED_RING_DIR "tests/data/trace"

static inline int fake_rings(struct perf_set *ps, int ncpu, unsigned pages)
{
    size_t pagesz = (size_t)sysconf(_SC_PAGESIZE);
    memset(ps, 0, sizeof *ps);
    ps->ncpu = ncpu;
    ps->rings = calloc((size_t)ncpu, sizeof *ps->rings);
    ps->scratch = malloc(65536);
    if (!ps->rings || !ps->scratch)
        return -1;
    for (int cpu = 0; cpu < ncpu; cpu++) {
        void *m = mmap(NULL, (pages + 1) * pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return -1;
        ps->rings[cpu] = (struct perf_ring){-1, m, pages * pagesz};
    }
    return 0;
}

/* An empty ring whose reader and writer stand at pos (bytes since it was
 * opened): the next record goes at pos % data_size. */
static inline void ring_seek(struct perf_ring *r, uint64_t pos)
{
    struct perf_event_mmap_page *meta = (void *)r->base;
    meta->data_head = pos;
    meta->data_tail = pos;
}

static inline void ring_put(struct perf_ring *r, const void *rec, size_t len)
{
    struct perf_event_mmap_page *meta = (void *)r->base;
    uint8_t *data = r->base + sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < len; i++)
        data[(meta->data_head + i) % r->data_size] = ((const uint8_t *)rec)[i];
    meta->data_head += len;
}

/* A recorded ring's records (tests/data/trace/ring-cpuN.bin), malloc'ed. */
static inline uint8_t *recorded_ring(int cpu, size_t *len)
{
    char path[128];
    snprintf(path, sizeof path, RECORDED_RING_DIR "/ring-cpu%d.bin", cpu);
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(65536);
    *len = f && buf ? fread(buf, 1, 65536, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

#endif
