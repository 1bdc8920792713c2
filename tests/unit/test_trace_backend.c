/* SPDX-License-Identifier: MIT */
/* Choosing and opening a session's backend (trace/backend.h) where the
 * kernel says no: without root both backends fail at their first system
 * call, as root a tracepoint id no kernel has fails the same way, so the
 * choice, the fallback and the messages are checked without tracing. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "trace/backend.h"

#define TRACEFS "tests/data/trace/tracefs"

/* A session's formats, as open_formats leaves them, with ids no kernel
 * has. */
static struct trace_session *formats(int backend, uint16_t port, bool softirq)
{
    struct trace_session *s = calloc(1, sizeof *s);
    char err[256];
    if (!s)
        return NULL;
    s->o.backend = backend;
    s->o.port = port;
    s->o.ring_pages = 1;
    for (int k = 0; k < TEV_KINDS; k++) {
        if (tracefs_read_format(TRACEFS, trace_tps[k].system, trace_tps[k].event, &s->fmt[k], err,
                                sizeof err) < 0 ||
            tev_layout(&s->fmt[k], k, &s->layout[k], err, sizeof err) < 0)
            return NULL;
        s->fmt[k].id += 0x7ff00000u;
        s->layout[k].id = s->fmt[k].id;
        s->entry_size[k] = 72;
        s->have[k] = true;
    }
    if (softirq) {
        s->softirq_ids[0] = 0x7ff00001u;
        s->softirq_ids[1] = 0x7ff00002u;
    }
    return s;
}

TEST(tracepoints_of_each_kind)
{
    CHECK_EQ_STR(trace_tps[TEV_STATE].event, "inet_sock_set_state");
    CHECK(trace_tps[TEV_STATE].required);
    CHECK_EQ_STR(trace_tps[TEV_SEND_RST].system, "tcp");
    CHECK(!trace_tps[TEV_RECV_RST].required);
}

TEST(perf_backend_failure_names_the_tracepoint)
{
    struct trace_session *s = formats(TRACE_BACKEND_PERF, 8080, true);
    CHECK(s != NULL);
    char err[512] = "";
    CHECK_EQ_INT(trace_backend_open(s, err, sizeof err), -1);
    CHECK_EQ_INT(s->backend, TRACE_BACKEND_PERF);
    CHECK(strstr(err, "perf_event_open(inet_sock_set_state") == err);
    CHECK_EQ_STR(s->backend_note, "");
    CHECK(s->perf.rings == NULL);
    free(s);
}

/* auto: no softirq tracepoints, no BPF backend; perf is tried and the
 * reason kept for the summary. */
TEST(auto_falls_back_to_perf_with_the_reason)
{
    struct trace_session *s = formats(TRACE_BACKEND_AUTO, 0, false);
    CHECK(s != NULL);
    char err[512] = "";
    CHECK_EQ_INT(trace_backend_open(s, err, sizeof err), -1);
    CHECK_EQ_STR(s->backend_note, "this kernel has no irq:softirq_entry/exit tracepoints");
    CHECK_EQ_INT(s->backend, TRACE_BACKEND_PERF);
    CHECK(strstr(err, "perf_event_open(") == err);
    free(s);
}

TEST(bpf_backend_failure_is_the_error)
{
    struct trace_session *s = formats(TRACE_BACKEND_BPF, 0, false);
    CHECK(s != NULL);
    char err[512] = "";
    CHECK_EQ_INT(trace_backend_open(s, err, sizeof err), -1);
    CHECK_EQ_STR(err, "this kernel has no irq:softirq_entry/exit tracepoints");
    free(s);
    /* with them: the rings, the maps or a program fail, and nothing stays open */
    s = formats(TRACE_BACKEND_BPF, 443, true);
    CHECK(s != NULL);
    err[0] = 0;
    CHECK_EQ_INT(trace_backend_open(s, err, sizeof err), -1);
    CHECK(err[0] != 0);
    CHECK(s->perf.rings == NULL);
    CHECK_EQ_INT(s->bpf.nprogs, 0);
    free(s);
}

TEST(losses_by_backend)
{
    struct trace_session s;
    memset(&s, 0, sizeof s);
    struct trace_losses w;
    s.backend = TRACE_BACKEND_PERF;
    s.undelivered = 4;
    s.perf.lost = 2;
    s.mg.late = 1;
    s.end_unseen = 6;
    trace_losses(&s, &w);
    CHECK_EQ_INT(w.not_sampled, 4);
    CHECK_EQ_INT(w.skipped, 0);
    CHECK_EQ_INT(w.ring_full, 2);
    CHECK_EQ_INT(w.misordered, 1);
    CHECK_EQ_INT(w.end_unseen, 6);
    CHECK_EQ_INT(trace_lost(&s), 6);
    CHECK_EQ_STR(trace_backend_name(&s), "perf");
    s.backend = TRACE_BACKEND_BPF;
    s.bpf_failed = 9;
    trace_losses(&s, &w);
    CHECK_EQ_INT(w.skipped, 4);
    CHECK_EQ_INT(w.not_sampled, 0);
    CHECK_EQ_INT(w.ring_full, 9);
    CHECK_EQ_INT(trace_lost(&s), 13);
    CHECK_EQ_STR(trace_backend_name(&s), "bpf");
}
