/* SPDX-License-Identifier: MIT */
/* The BPF backend of closer trace: tiny programs on the TCP tracepoints,
 * generated at run time from the layouts the kernel's format files give
 * (no compiler, no libbpf, no BTF), that copy each record into a per-CPU
 * perf ring through bpf_perf_event_output.
 *
 * Why not plain perf sampling alone: on kernels with the 2026 fix of
 * perf_swevent_event() (which skips sampling when the event is not
 * ACTIVE), a CPU-wide tracepoint event misses part of the events fired in
 * softirq on an idle CPU — the event count still grows, no sample and no
 * PERF_RECORD_LOST is written. A delayed ACK or a FIN arriving on an idle
 * CPU ends a connection there, so whole records went missing. A BPF
 * program runs before that check and sees every event.
 *
 * The records keep the tracepoint's own layout, so decode.c reads both
 * backends alike: the kernel hands BPF the record with its first 8 bytes
 * (common_type, common_flags, pid) overwritten, so the program writes
 * common_type itself and sets TRACE_FLAG_SOFTIRQ in common_flags from a
 * per-CPU flag that two more programs keep on irq:softirq_entry/exit.
 * Error convention: 0 ok, -1 with a message in err. */
#ifndef CLOSER_TRACE_BPF_H
#define CLOSER_TRACE_BPF_H
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/decode.h"
#include "trace/perf.h"

struct tp_prog_spec {
    const struct tp_layout *l;
    unsigned entry_size; /* bytes of the record (format file: end of the last field) */
    uint16_t port;       /* 0: any */
    int out_map_fd;      /* BPF_MAP_TYPE_PERF_EVENT_ARRAY, one ring per CPU */
    int irq_map_fd;      /* BPF_MAP_TYPE_PERCPU_ARRAY of u32: [BPFGEN_SLOT_SOFTIRQ]
                          * in softirq, [BPFGEN_SLOT_FAILED] outputs that failed */
};

#define BPFGEN_MAX_INSNS 160
#define BPFGEN_SLOT_SOFTIRQ 0
#define BPFGEN_SLOT_FAILED 1

/* The program of one TCP tracepoint: the same filter as perf mode's
 * (backend.c filter_for), then the copy and the output. Returns the
 * instruction count, or -1 when the layout cannot be read by BPF. */
int bpfgen_tcp(const struct tp_prog_spec *sp, struct bpf_insn *out, unsigned cap);
/* The kernel's name of the program of a tracepoint kind (enum tev_kind):
 * closer_state, closer_rst_sent, closer_rst_recv, as bpftool shows them. */
const char *bpfgen_prog_name(int kind);
/* irq:softirq_entry (value 1) / softirq_exit (value 0). */
int bpfgen_irq_flag(int irq_map_fd, uint32_t value, struct bpf_insn *out, unsigned cap);

struct bpf_tp {
    unsigned id;
    const struct tp_layout *l;
    unsigned entry_size;
    const char *name;
};

struct bpf_tracer {
    int out_map, irq_map;
    int progs[8];
    unsigned nprogs, first_tcp; /* progs[first_tcp..]: the TCP tracepoints' */
};

/* Opens the rings (perf_open_output), the maps and the programs, and
 * attaches them: tps are the TCP tracepoints, softirq_ids[2] the ids of
 * irq:softirq_entry and irq:softirq_exit. On failure everything opened is
 * closed again and ps is left empty. */
int bpf_tracer_open(struct bpf_tracer *bt, struct perf_set *ps, const struct bpf_tp *tps, unsigned ntps,
                    const unsigned softirq_ids[2], uint16_t port, unsigned ring_pages, char *err,
                    size_t errlen);
/* Events lost on the way, counted by cause. *skipped: programs the kernel
 * skipped because another BPF program (closer's or any other tool's, such
 * as bpftrace) ran on the same CPU: a softirq on the way out of an
 * interrupt that came during a program in process context (kernels before
 * 5.12 do not count them; a skipped transition the filter would have
 * dropped is counted too). *failed: outputs bpf_perf_event_output refused
 * (the ring was full; the kernel's PERF_RECORD_LOST counts them too). */
void bpf_tracer_misses(const struct bpf_tracer *bt, uint64_t *skipped, uint64_t *failed);
void bpf_tracer_close(struct bpf_tracer *bt);

#endif
