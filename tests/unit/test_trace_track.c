/* SPDX-License-Identifier: MIT */
/* The tracker fed with recorded events of two real connections (see
 * trace_samples.h), names and namespaces from a fake /proc. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "trace/summary.h"
#include "trace/track.h"
#include "trace_samples.h"

struct got {
    struct trace_rec r[8];
    int n;
};

static void collect(void *ctx, const struct trace_rec *r)
{
    struct got *g = ctx;
    if (g->n < 8)
        g->r[g->n++] = *r;
}

static char proc_root[64];
static uint64_t py_netns;

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0) {
        }
        close(fd);
    }
}

/* <root>/28599/comm "python3", <root>/28599/task/28599/ns/net a plain file
 * whose inode stands for the namespace; ksoftirqd (22) must never show. */
static void fake_proc(void)
{
    char p[256];
    snprintf(proc_root, sizeof proc_root, "/tmp/closer-test-proc-XXXXXX");
    if (!mkdtemp(proc_root))
        return;
    snprintf(p, sizeof p, "%s/28599", proc_root), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/28599/task", proc_root), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/28599/task/28599", proc_root), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/28599/task/28599/ns", proc_root), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/28599/task/28599/ns/net", proc_root), write_file(p, "");
    py_netns = netns_inode(p);
    snprintf(p, sizeof p, "%s/28599/comm", proc_root), write_file(p, "python3\n");
    snprintf(p, sizeof p, "%s/22", proc_root), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/22/comm", proc_root), write_file(p, "ksoftirqd/0\n");
}

static void rm_proc(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", proc_root);
    if (system(cmd) != 0) {
    }
}

static void feed(struct tracker *t, const struct tp_layout l[3], size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        uint8_t raw[256];
        size_t n = unhex(rec_samples[i].hex, raw, sizeof raw);
        struct tev ev;
        for (int k = 0; k < 3; k++)
            if (tev_decode(&l[k], raw, n, &ev) == 0) {
                ev.pid = rec_samples[i].pid;
                ev.tid = rec_samples[i].tid;
                ev.time_ns = rec_samples[i].time;
                tracker_event(t, &ev);
                break;
            }
    }
}

static void setup(struct tp_format f[3], struct tp_layout l[3])
{
    char err[256];
    const char *texts[3] = {fmt_set_state, fmt_send_reset, fmt_receive_reset};
    for (int k = 0; k < 3; k++) {
        tp_format_parse(texts[k], strlen(texts[k]), &f[k], err, sizeof err);
        tev_layout(&f[k], k, &l[k], err, sizeof err);
    }
}

TEST(two_recorded_connections_become_four_records)
{
    struct tp_format f[3];
    struct tp_layout l[3];
    setup(f, l);
    fake_proc();
    struct pcache pc;
    pcache_init(&pc, proc_root);
    struct tracker *t = malloc(sizeof *t);
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, NULL, &g);
    /* The linger-zero CLOSE (15) and its RST (18) fall in two batches: a
     * flush whose cutoff is before the CLOSE keeps the record for its reset. */
    feed(t, l, 0, 16);
    tracker_flush(t, rec_samples[10].time);
    CHECK_EQ_INT(g.n, 2);
    feed(t, l, 16, N_REC_SAMPLES);
    tracker_flush(t, rec_samples[16].time);
    CHECK_EQ_INT(g.n, 3);
    tracker_flush_all(t);
    CHECK_EQ_INT(g.n, 4);

    const struct trace_rec *c1 = &g.r[0], *s1 = &g.r[1], *s2 = &g.r[2], *c2 = &g.r[3];
    CHECK(s2->skaddr == 0xffff88810aabe5c0ull);
    /* 1. the client closed first: its pid (process context), TIME_WAIT here */
    CHECK_EQ_INT(c1->role, ROLE_OUTGOING);
    CHECK_EQ_INT(c1->first, FIRST_LOCAL);
    CHECK_EQ_INT(c1->pid, 28599);
    CHECK_EQ_STR(c1->comm, "python3");
    CHECK(c1->netns == py_netns && py_netns != 0);
    CHECK_EQ_INT(c1->tw, TW_LOCAL);
    CHECK_EQ_INT(c1->rport, 7777);
    CHECK(c1->t_end - c1->t_open == rec_samples[8].time - rec_samples[1].time);
    /* the server: peer first, close() 50 ms after the FIN, TIME_WAIT at the peer */
    CHECK_EQ_INT(s1->role, ROLE_ACCEPTED);
    CHECK_EQ_INT(s1->first, FIRST_PEER);
    CHECK_EQ_INT(s1->pid, 28599);
    CHECK_EQ_INT(s1->tw, TW_PEER);
    CHECK_EQ_INT(s1->t_last_ack - s1->t_close_wait, 50227040);
    CHECK_EQ_INT(s1->lport, 7777);
    CHECK(s1->rport != 0); /* the peer's port from later events */
    /* 2. same skaddrs reused: the client got a reset, the server sent it */
    CHECK_EQ_INT(c2->role, ROLE_OUTGOING);
    CHECK_EQ_INT(c2->first, FIRST_RESET);
    CHECK_EQ_INT(c2->rst, RST_RECEIVED);
    CHECK_EQ_INT(c2->pid, 0); /* softirq: nobody named */
    CHECK_EQ_INT(c2->owner_pid, 28599);
    CHECK_EQ_INT(c2->tw, TW_NONE);
    CHECK_EQ_INT(s2->role, ROLE_ACCEPTED);
    CHECK_EQ_INT(s2->first, FIRST_RESET);
    CHECK_EQ_INT(s2->rst, RST_SENT);
    CHECK_EQ_INT(s2->rst_reason, 14);
    CHECK_EQ_INT(s2->pid, 28599);
    CHECK_EQ_INT(t->live, 0);
    tracker_free(t);
    free(t);
    pcache_free(&pc);
    rm_proc();
}

TEST(softirq_pid_is_never_the_closer)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, NULL, &g);
    struct tev ev = {.skaddr = 0x1000, .family = 2, .lport = 80, .rport = 5000, .reason = -1};
    ev.oldstate = TS_CLOSE, ev.newstate = TS_SYN_RECV, ev.in_irq = true, ev.pid = 99, ev.time_ns = 1;
    tracker_event(t, &ev);
    ev.oldstate = TS_ESTABLISHED, ev.newstate = TS_FIN_WAIT1, ev.in_irq = true, ev.time_ns = 2;
    tracker_event(t, &ev); /* e.g. a keepalive timer's abort path */
    ev.oldstate = TS_FIN_WAIT1, ev.newstate = TS_CLOSE, ev.time_ns = 3;
    tracker_event(t, &ev);
    tracker_flush_all(t);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.r[0].pid, 0);
    CHECK_EQ_INT(g.r[0].first, FIRST_LOCAL);
    tracker_free(t);
    free(t);
}

TEST(table_limit_counts_what_it_drops)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    tracker_init(t, &pc, 16, NULL, NULL, NULL);
    for (uint64_t i = 0; i < 20; i++) {
        struct tev ev = {.skaddr = 0x1000 + i * 64, .family = 2, .oldstate = TS_CLOSE,
                         .newstate = TS_SYN_SENT, .reason = -1};
        tracker_event(t, &ev);
    }
    CHECK_EQ_INT(t->live, 16);
    CHECK_EQ_INT(t->st.dropped_full, 4);
    tracker_free(t);
    free(t);
}

TEST(summary_percentiles_and_sides)
{
    struct summary s;
    summary_init(&s, NULL);
    for (int i = 1; i <= 100; i++) {
        struct trace_rec r = {.role = ROLE_ACCEPTED, .lport = 8080, .first = FIRST_PEER, .pid = 7,
                              .t_close_wait = 1000000, .t_last_ack = 1000000 + (uint64_t)i * 1000000};
        summary_add(&s, &r);
    }
    struct trace_rec l = {.role = ROLE_ACCEPTED, .lport = 8080, .first = FIRST_LOCAL, .pid = 7, .tw = TW_LOCAL};
    summary_add(&s, &l);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct summary_meta m = {.seconds = 1, .scope = "test"};
    summary_print_json(&s, &m, out);
    fclose(out);
    CHECK(strstr(buf, "\"port\":8080,\"role\":\"accepted\",\"closes\":101,\"local_first\":1,\"peer_first\":100") != NULL);
    CHECK(strstr(buf, "\"count\":100,\"p50\":50000,\"p90\":90000,\"p99\":99000,\"max\":100000") != NULL);
    free(buf);
    summary_free(&s);
}

/* Past LAT_KEEP values the latencies become a uniform sample: count and max
 * stay exact, percentiles stay close, memory stays bounded. */
TEST(summary_latency_reservoir_is_bounded_and_fair)
{
    struct summary s;
    summary_init(&s, NULL);
    const uint64_t n = 2 * (uint64_t)LAT_KEEP;
    for (uint64_t i = 1; i <= n; i++) {
        struct trace_rec r = {.role = ROLE_ACCEPTED, .lport = 80, .first = FIRST_PEER, .pid = 1,
                              .t_close_wait = 1, .t_last_ack = 1 + i * 1000};
        summary_add(&s, &r);
    }
    summary_sort(&s);
    const struct lat *l = &s.ports.g[0].close_after_fin;
    CHECK_EQ_INT(l->seen, n);
    CHECK_EQ_INT(l->n, LAT_KEEP);
    CHECK_EQ_INT(l->max, n);
    uint32_t p50 = summary_pct(l, 50), p99 = summary_pct(l, 99);
    CHECK(p50 > n / 2 * 98 / 100 && p50 < n / 2 * 102 / 100);
    CHECK(p99 > n * 98 / 100 && p99 <= n);
    summary_free(&s);
}

/* A lost CLOSE: the next connection on the same skaddr starts a new record
 * instead of inheriting the old one's side and pid. */
TEST(a_new_connection_on_a_live_record_restarts_it)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, NULL, &g);
    struct tev ev = {.skaddr = 0x2000, .family = 2, .lport = 5000, .rport = 80, .reason = -1, .pid = 7, .tid = 7};
    ev.oldstate = TS_CLOSE, ev.newstate = TS_SYN_SENT, ev.time_ns = 1;
    tracker_event(t, &ev);
    ev.oldstate = TS_ESTABLISHED, ev.newstate = TS_FIN_WAIT1, ev.time_ns = 2;
    tracker_event(t, &ev);
    /* CLOSE lost; the memory is reused by an accepted connection */
    ev.oldstate = TS_LISTEN, ev.newstate = TS_SYN_RECV, ev.in_irq = true, ev.time_ns = 10;
    tracker_event(t, &ev);
    ev.oldstate = TS_ESTABLISHED, ev.newstate = TS_CLOSE_WAIT, ev.time_ns = 11;
    tracker_event(t, &ev);
    ev.oldstate = TS_LAST_ACK, ev.newstate = TS_CLOSE, ev.time_ns = 12;
    tracker_event(t, &ev);
    tracker_flush_all(t);
    CHECK_EQ_INT(t->st.restarted, 1);
    /* the first connection is not dropped silently: its end was unseen */
    CHECK_EQ_INT(g.n, 2);
    CHECK(g.r[0].end_unseen);
    CHECK_EQ_INT(g.r[0].role, ROLE_OUTGOING);
    CHECK_EQ_INT(g.r[0].first, FIRST_LOCAL);
    CHECK_EQ_INT(g.r[0].t_end, 2);
    CHECK(!g.r[1].end_unseen);
    CHECK_EQ_INT(g.r[1].role, ROLE_ACCEPTED);
    CHECK_EQ_INT(g.r[1].first, FIRST_PEER);
    CHECK_EQ_INT(g.r[1].t_open, 10);
    tracker_free(t);
    free(t);
}
