/* SPDX-License-Identifier: MIT */
/* A tracing session (trace/session.h) run without root: the recorded
 * format files (tests/data/trace/tracefs) give the layouts, the recorded
 * rings of a known workload (tests/data/trace/README.md) are written into
 * rings built in memory, and trace_step/trace_finish read them as they
 * read the kernel's: decoding, time order, the tracker, the filters, the
 * reconciliation and the summary. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "test.h"
#include "trace/backend.h"
#include "trace/session.h"
#include "trace_samples.h"

#define TRACEFS RECORDED_RING_DIR "/tracefs"
#define REC_NETNS 4026531833ull /* the recording's namespace (init_net) */
#define REC_CLIENT 14358        /* rec_client */
#define REC_SERVER 14357
#define PORT4 56949
#define PORT6 40303
#define PORT_CLOSED 41483

struct run {
    struct trace_rec r[32];
    size_t n;
};

static void sink(void *ctx, const struct trace_rec *r)
{
    struct run *run = ctx;
    if (run->n < sizeof run->r / sizeof run->r[0])
        run->r[run->n] = *r;
    run->n++;
}

/* trace_open without the kernel: formats from files, rings in memory. */
static struct trace_session *open_session(const struct trace_opts *o, uint64_t netns, struct run *run)
{
    struct trace_session *s = calloc(1, sizeof *s);
    char err[256];
    if (!s)
        return NULL;
    s->o = *o;
    s->o.max_conns = s->o.max_conns ? s->o.max_conns : 1024;
    s->sink = sink;
    s->sink_ctx = run;
    s->netns = netns;
    for (int k = 0; k < TEV_KINDS; k++) {
        if (tracefs_read_format(TRACEFS, trace_tps[k].system, trace_tps[k].event, &s->fmt[k], err,
                                sizeof err) < 0 ||
            tev_layout(&s->fmt[k], k, &s->layout[k], err, sizeof err) < 0)
            return NULL;
        s->have[k] = true;
    }
    s->backend = TRACE_BACKEND_PERF;
    if (fake_rings(&s->perf, 2, 4) < 0 || trace_recon_init(s, NULL) < 0 || trace_start(s, err, sizeof err) < 0)
        return NULL;
    /* no record is of namespace 1: nothing is reconciled unless a test says */
    s->rns[0].set.ino = 1;
    /* task names from the rings only, never from this machine's /proc */
    pcache_free(&s->pc);
    pcache_init(&s->pc, RECORDED_RING_DIR "/no-proc");
    return s;
}

/* The recording's clock ran near 28007 s; moved to just before now, so
 * the merge and the reconciliation see events of the past on any machine. */
#define REC_CLOCK_FROM 28000000000000ull

static void shift_times(uint8_t *b, size_t len, uint64_t to)
{
    for (size_t off = 0; off + 8 <= len;) {
        struct perf_event_header h;
        memcpy(&h, b + off, sizeof h);
        if (h.size < sizeof h || off + h.size > len)
            return;
        /* a sample's {pid, tid} {time}; other records' trailer {pid, tid} {time} {cpu} */
        uint8_t *t = h.type == PERF_RECORD_SAMPLE ? b + off + 16 : b + off + h.size - 16;
        uint64_t v;
        memcpy(&v, t, 8);
        v = v - REC_CLOCK_FROM + to;
        memcpy(t, &v, 8);
        off += h.size;
    }
}

/* Writes the first upto[cpu] bytes of each recorded ring, 20 s ago. */
static void load_part(struct trace_session *s, size_t upto0, size_t upto1)
{
    uint64_t to = trace_now_ns() - 20000000000ull;
    size_t upto[2] = {upto0, upto1};
    for (int cpu = 0; cpu < 2; cpu++) {
        size_t len;
        uint8_t *rec = recorded_ring(cpu, &len);
        shift_times(rec, len, to);
        ring_put(&s->perf.rings[cpu], rec, len < upto[cpu] ? len : upto[cpu]);
        free(rec);
    }
}

static void load(struct trace_session *s)
{
    load_part(s, SIZE_MAX, SIZE_MAX);
}

/* The whole recording through one step and the finish. */
static struct trace_session *run_all(const struct trace_opts *o, uint64_t netns, struct run *run)
{
    struct trace_session *s = open_session(o, netns, run);
    if (s) {
        load(s);
        trace_step(s, 0);
        trace_finish(s);
    }
    return s;
}

static const struct trace_rec *find(const struct run *run, uint16_t lport, uint16_t rport)
{
    for (size_t i = 0; i < run->n; i++)
        if (run->r[i].lport == lport && run->r[i].rport == rport)
            return &run->r[i];
    return NULL;
}

static void done(struct trace_session *s)
{
    trace_close(s);
    free(s);
}

static char *render(struct trace_session *s, bool json)
{
    char *text = NULL, scope[128];
    size_t len = 0;
    struct summary_meta m = {.seconds = 2, .scope = scope, .backend = trace_backend_name(s)};
    trace_scope(s, scope, sizeof scope);
    trace_losses(s, &m.why);
    m.lost = trace_lost(s);
    m.events = s->tr.st.events;
    FILE *f = open_memstream(&text, &len);
    summary_sort(&s->sum);
    if (json)
        summary_print_json(&s->sum, &m, f);
    else
        summary_print_text(&s->sum, &m, f);
    fclose(f);
    return text;
}

/* The workload's eight connection ends, as the tracker tells them. */
TEST(records_of_the_recorded_workload)
{
    struct trace_opts o = {0};
    struct run run = {0};
    struct trace_session *s = open_session(&o, 0, &run);
    CHECK(s != NULL);
    load(s);
    trace_step(s, 0);
    CHECK_EQ_INT(s->received, 29);
    /* all ended long enough before the rings' watermark: out in one step,
     * but for the third client, whose CLOSE waits on its peer's FIN */
    CHECK_EQ_INT(run.n, 7);
    trace_finish(s);
    CHECK_EQ_INT(run.n, 8);
    /* 1: the client closed first, its TIME_WAIT; the server ~20 ms later */
    const struct trace_rec *r = find(&run, 60140, PORT4);
    CHECK(r != NULL);
    CHECK_EQ_INT(r->role, ROLE_OUTGOING);
    CHECK_EQ_INT(r->first, FIRST_LOCAL);
    CHECK_EQ_INT(r->tw, TW_LOCAL);
    CHECK_EQ_INT(r->pid, REC_CLIENT);
    CHECK_EQ_STR(r->comm, "rec_client");
    CHECK(r->netns == REC_NETNS);
    r = find(&run, PORT4, 60140);
    CHECK(r != NULL);
    CHECK_EQ_INT(r->role, ROLE_ACCEPTED);
    CHECK_EQ_INT(r->first, FIRST_PEER);
    CHECK_EQ_INT(r->pid, REC_SERVER);
    CHECK(r->t_last_ack - r->t_close_wait > 20000000ull);
    /* 2: SO_LINGER {1,0}: the server sent the reset, the client got it */
    r = find(&run, PORT4, 60154);
    CHECK(r != NULL);
    CHECK_EQ_INT(r->first, FIRST_RESET);
    CHECK_EQ_INT(r->rst, RST_SENT);
    CHECK_EQ_INT(r->rst_reason, 14); /* TCP_STATE, in the kernel's words */
    r = find(&run, 60154, PORT4);
    CHECK(r != NULL);
    CHECK_EQ_INT(r->rst, RST_RECEIVED);
    CHECK_EQ_INT(r->owner_pid, REC_CLIENT);
    /* 4: nobody listening: a reset with no socket, received by the client */
    r = find(&run, 43306, PORT_CLOSED);
    CHECK(r != NULL);
    CHECK_EQ_INT(r->first, FIRST_RESET);
    CHECK_EQ_INT(s->sum.rst_nosock, 1);
    /* 5: IPv6 */
    r = find(&run, 56248, PORT6);
    CHECK(r != NULL);
    CHECK_EQ_INT(r->family, AF_INET6);
    CHECK_EQ_INT(r->tw, TW_LOCAL);
    /* 3: the server never closed: still in CLOSE_WAIT */
    CHECK(find(&run, PORT4, 60166) == NULL);
    CHECK(find(&run, 60166, PORT4) != NULL);
    CHECK_EQ_INT(s->sum.close_wait_open, 1);
    CHECK(s->sum.close_wait_oldest_ns > 10000000000ull);
    CHECK_EQ_INT(s->sum.closes, 8);
    CHECK_EQ_INT(trace_lost(s), 0);
    CHECK_EQ_STR(trace_backend_name(s), "perf");
    done(s);
}

TEST(summary_text_and_json_of_the_workload)
{
    struct trace_opts o = {0};
    struct run run = {0};
    struct trace_session *s = run_all(&o, 0, &run);
    CHECK(s != NULL);
    char *t = render(s, false);
    CHECK(strstr(t, "closed connections in 2.0 s (all network namespaces): 8  "
                    "(local first 3, peer first 2, reset 3, abort 0)\n") != NULL);
    CHECK(strstr(t, "events: 29, lost: 0, backend: perf\n") != NULL);
    CHECK(strstr(t, "  14358 rec_client             5      3      0      2      0        3") != NULL);
    CHECK(strstr(t, "RSTs sent by reason: TCP_STATE 1") != NULL);
    CHECK(strstr(t, "RSTs sent for no socket: 1: NO_SOCKET 1") != NULL);
    CHECK(strstr(t, "still in CLOSE_WAIT at the end (the program has not called close()): 1, oldest") != NULL);
    free(t);
    t = render(s, true);
    CHECK(strstr(t, "\"scope\":\"all network namespaces\",\"closes\":8,\"local_first\":3,\"peer_first\":2,"
                    "\"reset\":3,\"abort\":0,\"events\":29,\"lost_events\":0,\"backend\":\"perf\"") != NULL);
    CHECK(strstr(t, "{\"port\":40303,\"role\":\"accepted\",\"closes\":1,") != NULL);
    CHECK(strstr(t, "\"close_after_fin_us\":{\"count\":1,\"p50\":45,\"p90\":45,\"p99\":45,\"max\":45}") != NULL);
    CHECK(strstr(t, "\"close_wait_open\":1,") != NULL);
    CHECK(strstr(t, "\"rst_no_socket\":{\"count\":1,\"rst_reasons\":{\"NO_SOCKET\":1}}") != NULL);
    free(t);
    done(s);
}

TEST(port_filter_keeps_one_service)
{
    struct trace_opts o = {.port = PORT6};
    struct run run = {0};
    struct trace_session *s = run_all(&o, 0, &run);
    CHECK(s != NULL);
    CHECK_EQ_INT(run.n, 2);
    CHECK_EQ_INT(run.r[0].family, AF_INET6);
    CHECK_EQ_INT(run.r[1].family, AF_INET6);
    CHECK_EQ_INT(s->sum.rst_nosock, 0);      /* to PORT_CLOSED */
    CHECK_EQ_INT(s->sum.close_wait_open, 0); /* on PORT4 */
    done(s);
}

TEST(pid_filter_keeps_a_process_closes_and_connects)
{
    struct trace_opts o = {.pid = REC_CLIENT};
    struct run run = {0};
    struct trace_session *s = run_all(&o, 0, &run);
    CHECK(s != NULL);
    CHECK_EQ_INT(run.n, 5);
    for (size_t i = 0; i < run.n; i++)
        CHECK(run.r[i].pid == REC_CLIENT || run.r[i].owner_pid == REC_CLIENT);
    done(s);
}

/* -N: a record no process touched (the server's, in softirq or by a
 * process without a namespace record) belongs to the namespace only by
 * its local address; loopback is in every namespace, so it does not. */
TEST(netns_filter_needs_a_namespace_or_an_own_address)
{
    struct trace_opts o = {0};
    struct run run = {0};
    struct trace_session *s = run_all(&o, REC_NETNS, &run);
    CHECK(s != NULL);
    CHECK_EQ_INT(run.n, 5);
    CHECK_EQ_INT(s->sum.unattributed, 3);
    CHECK_EQ_INT(s->sum.rst_nosock, 0);
    CHECK_EQ_INT(s->sum.close_wait_open, 0);
    char scope[64];
    trace_scope(s, scope, sizeof scope);
    CHECK_EQ_STR(scope, "this network namespace");
    done(s);

    /* the same, were 127.0.0.1 the namespace's own address */
    memset(&run, 0, sizeof run);
    s = open_session(&o, REC_NETNS, &run);
    CHECK(s != NULL);
    s->addrs = malloc(sizeof *s->addrs);
    CHECK(s->addrs != NULL);
    memset(s->addrs[0], 0, 17);
    s->addrs[0][0] = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", s->addrs[0] + 1);
    s->naddrs = 1;
    load(s);
    trace_step(s, 0);
    trace_finish(s);
    CHECK_EQ_INT(run.n, 7); /* IPv6's server end has no own address */
    CHECK_EQ_INT(s->sum.unattributed, 1);
    CHECK_EQ_INT(s->sum.rst_nosock, 1);
    CHECK_EQ_INT(s->sum.close_wait_open, 1);
    done(s);

    memset(&run, 0, sizeof run);
    s = run_all(&o, 999, &run);
    CHECK(s != NULL);
    CHECK_EQ_INT(run.n, 0);
    CHECK_EQ_INT(s->sum.closes, 0);
    done(s);
}

TEST(no_summary_feeds_the_sink_only)
{
    struct trace_opts o = {.no_summary = true};
    struct run run = {0};
    struct trace_session *s = run_all(&o, 0, &run);
    CHECK(s != NULL);
    CHECK_EQ_INT(run.n, 8);
    CHECK_EQ_INT(s->sum.closes, 0);
    done(s);
}

/* A connection whose end no event showed (here: the recording cut after
 * the first client's close()) is ended by the socket table: this
 * process's own, dumped through sock_diag without root, does not hold it.
 * The server's end, touched by no process, has no namespace: it stays. */
TEST(reconciliation_ends_records_gone_from_the_table)
{
    struct trace_opts o = {0};
    struct run run = {0};
    struct trace_session *s = open_session(&o, 0, &run);
    CHECK(s != NULL);
    s->rns[0].set.ino = REC_NETNS; /* the table dumped stands for the recording's */
    load_part(s, 0, 1568); /* up to the client's FIN_WAIT1 */
    trace_step(s, 0);
    CHECK_EQ_INT(s->received, 3);
    CHECK_EQ_INT(run.n, 0);
    /* the periodic dump: taken when due, applied once the rings are read
     * past it (the drained rings' bound is the clock, less MERGE_SLACK_NS) */
    s->recon_next = 0;
    trace_step(s, 0);
    CHECK(s->recon_at != 0);
    for (int i = 0; i < 100000 && s->recon_at; i++)
        trace_step(s, 0);
    CHECK(s->recon_at == 0);
    trace_finish(s);
    /* a dump the table's changes interrupted decides nothing: again */
    for (int i = 0; i < 20 && !s->rns[0].set.ok; i++) {
        trace_recon_take(s);
        trace_recon_apply(s);
        tracker_flush_all(&s->tr);
    }
    CHECK_EQ_INT(run.n, 1);
    CHECK(run.r[0].end_unseen);
    CHECK_EQ_INT(run.r[0].owner_pid, REC_CLIENT);
    CHECK_EQ_INT(run.r[0].lport, 60140);
    CHECK_EQ_INT(s->end_unseen, 1);
    struct trace_losses w;
    trace_losses(s, &w);
    CHECK_EQ_INT(w.end_unseen, 1);
    CHECK_EQ_INT(trace_lost(s), 0); /* not a lost event */
    done(s);
}

/* Without a table of its namespace, an open record stays open. */
TEST(no_table_no_reconciliation)
{
    struct trace_opts o = {0};
    struct run run = {0};
    struct trace_session *s = open_session(&o, 0, &run);
    CHECK(s != NULL);
    load_part(s, 0, 1568);
    trace_step(s, 0);
    trace_finish(s);
    CHECK_EQ_INT(run.n, 0);
    CHECK_EQ_INT(s->end_unseen, 0);
    CHECK(trace_recon_set(s, REC_NETNS) == NULL);
    CHECK(trace_recon_set(s, 0) == NULL);
    done(s);
}

static size_t sample(uint8_t *b, uint16_t type, uint32_t raw_len)
{
    struct perf_event_header h = {.type = PERF_RECORD_SAMPLE, .size = (uint16_t)(8 + 28 + 80)};
    memset(b, 0, h.size);
    memcpy(b, &h, sizeof h);
    uint64_t t = trace_now_ns() - 1000000000ull;
    memcpy(b + 16, &t, 8);
    memcpy(b + 8 + 24, &raw_len, 4);
    memcpy(b + 8 + 28, &type, 2);
    return h.size;
}

/* Samples of a tracepoint the session did not open, or too short to say
 * which, are read and dropped; PERF_RECORD_LOST counts as ring full. */
TEST(foreign_and_short_samples_are_dropped)
{
    struct trace_opts o = {0};
    struct run run = {0};
    struct trace_session *s = open_session(&o, 0, &run);
    CHECK(s != NULL);
    uint8_t b[128];
    ring_put(&s->perf.rings[0], b, sample(b, 1234, 76));
    ring_put(&s->perf.rings[0], b, sample(b, 2287, 1));
    ring_put(&s->perf.rings[1], b, sample(b, 2287, 12)); /* ends before skaddr */
    struct perf_event_header h = {.type = PERF_RECORD_LOST, .size = 8 + 16 + 24};
    memset(b, 0, sizeof b);
    memcpy(b, &h, sizeof h);
    uint64_t lost = 5;
    memcpy(b + 16, &lost, 8);
    ring_put(&s->perf.rings[1], b, h.size);
    trace_step(s, 0);
    trace_finish(s);
    CHECK_EQ_INT(s->received, 0);
    CHECK_EQ_INT(s->tr.st.events, 0);
    struct trace_losses w;
    trace_losses(s, &w);
    CHECK_EQ_INT(w.ring_full, 5);
    CHECK_EQ_INT(trace_lost(s), 5);
    done(s);
}

/* perf: what the kernel counted (a read of the event fds, here an
 * eventfd) and never sampled; bpf: the programs' misses. */
TEST(undelivered_events_by_backend)
{
    struct trace_opts o = {0};
    struct run run = {0};
    struct trace_session *s = open_session(&o, 0, &run);
    CHECK(s != NULL);
    s->perf.fds = malloc(sizeof *s->perf.fds);
    CHECK(s->perf.fds != NULL);
    s->perf.fds[0] = eventfd(31, EFD_NONBLOCK | EFD_CLOEXEC);
    s->perf.nfds = 1;
    load(s);
    trace_finish(s);
    CHECK_EQ_INT(s->received, 29);
    struct trace_losses w;
    trace_losses(s, &w);
    CHECK_EQ_INT(w.not_sampled, 2);
    CHECK_EQ_INT(w.skipped, 0);
    CHECK_EQ_INT(trace_lost(s), 2);
    char *t = render(s, false);
    CHECK(strstr(t, "lost, counted by the kernel but never sampled: 2") != NULL);
    free(t);
    done(s);

    memset(&run, 0, sizeof run);
    s = open_session(&o, 0, &run);
    CHECK(s != NULL);
    s->backend = TRACE_BACKEND_BPF;
    s->bpf.out_map = s->bpf.irq_map = -1; /* no maps, no programs: no misses */
    load(s);
    trace_step(s, 0);
    trace_finish(s);
    CHECK_EQ_INT(run.n, 8);
    CHECK_EQ_INT(s->bpf_failed, 0);
    /* a refused output is in PERF_RECORD_LOST too: the larger, not both */
    s->bpf_failed = 3;
    s->perf.lost = 2;
    trace_losses(s, &w);
    CHECK_EQ_INT(w.ring_full, 3);
    CHECK_EQ_INT(w.not_sampled, 0);
    CHECK_EQ_STR(trace_backend_name(s), "bpf");
    done(s);
}

TEST(scope_time_and_names)
{
    struct trace_opts o = {.netns = "blue"};
    struct run run = {0};
    struct trace_session *s = open_session(&o, 7, &run);
    CHECK(s != NULL);
    char buf[64];
    trace_scope(s, buf, sizeof buf);
    CHECK_EQ_STR(buf, "network namespace blue");
    s->netns = 0;
    s->o.netns = NULL;
    trace_scope(s, buf, sizeof buf);
    CHECK_EQ_STR(buf, "all network namespaces");
    s->mono_to_real_ns = 1700000000000000000ull - 5000000000ull;
    trace_fmt_time(s, 5123456789ull, buf, sizeof buf, true);
    CHECK_EQ_STR(buf, "2023-11-14T22:13:20.123456Z");
    trace_fmt_time(s, 5123456789ull, buf, sizeof buf, false);
    CHECK_EQ_STR(buf, "22:13:20.123");
    CHECK(trace_netns_name(s, REC_NETNS) == NULL); /* no names read */
    uint64_t t0 = trace_now_ns();
    CHECK(trace_now_ns() >= t0);
    done(s);
}

/* trace_open's checks before any tracing: the -N namespace first (for
 * everyone), then the privilege (the rest needs root: trace integration
 * suites). */
TEST(open_refuses_bad_namespaces_and_no_privilege)
{
    struct trace_session *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    char err[512] = "";
    struct trace_opts o = {.netns = "/nonexistent/netns"};
    CHECK_EQ_INT(trace_open(s, &o, NULL, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "/nonexistent/netns") != NULL);
    o.netns = "/proc/self/ns/mnt";
    CHECK_EQ_INT(trace_open(s, &o, NULL, NULL, err, sizeof err), -1);
    CHECK_EQ_STR(err, "'/proc/self/ns/mnt' is not a network namespace");
    o.netns = "/proc/self/status";
    CHECK_EQ_INT(trace_open(s, &o, NULL, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "'/proc/self/status' is not a namespace file (") == err);
    if (geteuid() == 0) {
        printf("SKIP open_refuses_bad_namespaces_and_no_privilege: the privilege check, as root\n");
        free(s);
        return;
    }
    o.netns = "/proc/self/ns/net";
    o.tracefs = TRACEFS;
    CHECK_EQ_INT(trace_open(s, &o, NULL, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "needs root or CAP_PERFMON (kernel.perf_event_paranoid is ") == err);
    free(s);
}
