/* SPDX-License-Identifier: MIT */
/* Decoding raw tracepoint records (PERF_SAMPLE_RAW) with layouts read from
 * the kernel's format files. Pure functions: unit-tested on recorded
 * samples without root. */
#ifndef CLOSER_TRACE_DECODE_H
#define CLOSER_TRACE_DECODE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/sock.h" /* TS_* states */
#include "trace/tracefs.h"


enum tev_kind { TEV_STATE, TEV_SEND_RST, TEV_RECV_RST, TEV_KINDS };

/* common_flags bits (kernel/trace/trace.h, stable since 2.6): the event
 * ran in interrupt context, so the sampled pid is whoever was interrupted. */
#define TRACE_FLAG_HARDIRQ 0x08
#define TRACE_FLAG_SOFTIRQ 0x10
#define TRACE_FLAG_NMI 0x40

struct tev {
    uint64_t time_ns; /* CLOCK_MONOTONIC */
    uint64_t skaddr;  /* 0: no socket (a reset answering a stray segment) */
    int32_t pid, tid;
    uint8_t kind, oldstate, newstate, family; /* family: AF_INET or AF_INET6 */
    bool in_irq;
    uint16_t lport, rport;
    uint8_t laddr[16], raddr[16];
    int32_t reason; /* tcp_send_reset's sk_rst_reason; -1 when absent */
    int32_t state;  /* socket state at a reset event; 0 unknown */
};

struct tp_slot {
    unsigned offset, size; /* size 0: the kernel has no such field */
};

struct tp_layout {
    unsigned id;
    int kind;
    struct tp_slot common_type, common_flags, skaddr, oldstate, newstate, sport, dport, family,
        protocol, saddr, daddr, saddr_v6, daddr_v6, state, reason;
};

/* Builds the layout of kind from a parsed format; -1 with err when a field
 * the decoder needs is missing or of an unexpected size. */
int tev_layout(const struct tp_format *f, int kind, struct tp_layout *out, char *err, size_t errlen);
/* Decodes one raw record. Returns 0, or -1 when it is short or of another
 * event. pid/tid/time are the caller's (from the perf sample). */
int tev_decode(const struct tp_layout *l, const uint8_t *raw, size_t len, struct tev *out);

#endif
