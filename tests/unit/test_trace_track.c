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
    /* its socket became a FIN_WAIT2 minisock at 8 (the server's delayed
     * ACK); the server, traced too, sent its FIN 43 ms later (LAST_ACK, 9):
     * the client's connection lived until then */
    CHECK(c1->t_end - c1->t_open == rec_samples[9].time - rec_samples[1].time);
    CHECK_EQ_INT(c1->end_from, TS_FIN_WAIT2);
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

static int nosock_calls;
static void count_nosock(void *ctx, const struct tev *ev)
{
    (void)ctx, (void)ev;
    nosock_calls++;
}

static void count_open(void *ctx, const struct trace_rec *r)
{
    (void)r;
    (*(int *)ctx)++;
}

/* Three stray ACKs to a listener: it answers each with a reset (state
 * LISTEN, the listener's own skaddr, peer 0.0.0.0:0 on 6.10+). Resets of no
 * connection, never a record that waits in the table for the listener's
 * close (before: one "role unknown, peer 0.0.0.0:0" record). */
TEST(resets_from_a_listener_make_no_record)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, count_nosock, &g);
    nosock_calls = 0;
    struct tev ev = {.kind = TEV_SEND_RST, .skaddr = 0x4000, .family = 2, .lport = 8082, .reason = 6,
                     .state = TS_LISTEN, .in_irq = true};
    for (int i = 0; i < 3; i++) {
        ev.time_ns = 1 + (uint64_t)i;
        tracker_event(t, &ev);
    }
    ev.state = TS_NEW_SYN_RECV; /* a request sock answering a bad segment */
    ev.skaddr = 0x5000;
    tracker_event(t, &ev);
    /* the listener closes at the end */
    struct tev cl = {.kind = TEV_STATE, .skaddr = 0x4000, .family = 2, .lport = 8082, .reason = -1,
                     .oldstate = TS_LISTEN, .newstate = TS_CLOSE, .time_ns = 10};
    tracker_event(t, &cl);
    tracker_flush_all(t);
    int open = 0;
    tracker_each_open(t, count_open, &open);
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(open, 0);
    CHECK_EQ_INT(t->live, 0);
    CHECK_EQ_INT(nosock_calls, 4);
    CHECK_EQ_INT(t->st.rst_listener, 4);
    tracker_free(t);
    free(t);
}

/* A client in CLOSE_WAIT writes; the peer's reset waits in the socket's
 * backlog while send() holds the lock and is processed at its end, in the
 * process's context: the CLOSE there is the reset's, not a close() (before:
 * "closed by" the client). close() with unread data still names it. */
TEST(a_close_after_a_reset_received_names_no_closer)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, NULL, &g);
    for (int abort_by_close = 0; abort_by_close < 2; abort_by_close++) {
        struct tev ev = {.skaddr = 0x3000 + (uint64_t)abort_by_close * 64, .family = 2, .lport = 40000,
                         .rport = 8081, .reason = -1, .pid = 77, .tid = 77};
        ev.oldstate = TS_CLOSE, ev.newstate = TS_SYN_SENT, ev.time_ns = 1;
        tracker_event(t, &ev);
        ev.oldstate = TS_ESTABLISHED, ev.newstate = TS_CLOSE_WAIT, ev.in_irq = true, ev.time_ns = 2;
        tracker_event(t, &ev);
        ev.in_irq = false; /* process context from here on */
        if (!abort_by_close) {
            struct tev rst = ev;
            rst.kind = TEV_RECV_RST, rst.time_ns = 3;
            tracker_event(t, &rst);
        }
        ev.kind = TEV_STATE, ev.oldstate = TS_CLOSE_WAIT, ev.newstate = TS_CLOSE, ev.time_ns = 4;
        tracker_event(t, &ev);
    }
    tracker_flush_all(t);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(g.r[0].rst, RST_RECEIVED);
    CHECK_EQ_INT(g.r[0].pid, 0);
    CHECK_EQ_INT(g.r[1].rst, 0);
    CHECK_EQ_INT(g.r[1].pid, 77);
    tracker_free(t);
    free(t);
}

static struct trace_rec late;
static int late_n;
static void on_late(void *ctx, const struct trace_rec *r)
{
    (void)ctx;
    late = *r;
    late_n++;
}

/* The server closes first; its orphan becomes a FIN_WAIT2 minisock (a new
 * skaddr, no event); the client writes and the minisock resets it. The
 * reset carries the minisock's skaddr, state TIME_WAIT and the tuple: it
 * is put to the server's connection (before: counted nowhere). */
TEST(a_reset_from_the_minisock_goes_to_its_connection)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, NULL, &g);
    t->after_close_rst = on_late;
    late_n = 0;
    struct tev ev = {.skaddr = 0x6000, .family = 2, .lport = 8081, .rport = 40001, .reason = -1, .pid = 88,
                     .tid = 88};
    ev.laddr[0] = 10, ev.raddr[0] = 10, ev.raddr[3] = 2;
    ev.oldstate = TS_LISTEN, ev.newstate = TS_SYN_RECV, ev.in_irq = true, ev.time_ns = 1;
    tracker_event(t, &ev);
    ev.oldstate = TS_ESTABLISHED, ev.newstate = TS_FIN_WAIT1, ev.in_irq = false, ev.time_ns = 2;
    tracker_event(t, &ev);
    ev.oldstate = TS_FIN_WAIT2, ev.newstate = TS_CLOSE, ev.in_irq = true, ev.time_ns = 3;
    tracker_event(t, &ev);
    tracker_flush_all(t);
    CHECK_EQ_INT(g.n, 1);
    struct tev rst = ev;
    rst.kind = TEV_SEND_RST, rst.skaddr = 0x7000, rst.state = TS_TIME_WAIT, rst.reason = 9;
    rst.time_ns = 300000000;
    struct tev other = rst;
    other.rport = 40002; /* another tuple: no connection known */
    tracker_event(t, &other);
    CHECK_EQ_INT(late_n, 0); /* its CLOSE may still come (another CPU) */
    tracker_flush(t, other.time_ns);
    CHECK_EQ_INT(late_n, 1);
    CHECK_EQ_INT(late.role, ROLE_UNKNOWN);
    tracker_event(t, &rst);
    CHECK_EQ_INT(late_n, 2);
    CHECK_EQ_INT(late.role, ROLE_ACCEPTED);
    CHECK_EQ_INT(late.first, FIRST_LOCAL);
    CHECK_EQ_INT(late.pid, 88);
    CHECK_EQ_INT(late.rst, RST_SENT);
    CHECK_EQ_INT(late.rst_reason, 9);
    CHECK_EQ_INT(late.lport, 8081);
    CHECK_EQ_INT(t->st.rst_minisock, 2);
    CHECK_EQ_INT(t->st.rst_unmatched, 1);
    CHECK_EQ_INT(g.n, 1); /* no second close record */
    CHECK_EQ_INT(t->live, 0);
    tracker_free(t);
    free(t);
}

/* Both ends traced (loopback, a veth pair): the server closes at once; its
 * orphan becomes a FIN_WAIT2 minisock when the client's delayed ACK comes
 * (41 ms: its CLOSE); the client sits in CLOSE_WAIT and closes 1.2 s on,
 * and its FIN ends the server's connection. Before: a lifetime of 41 ms. */
TEST(an_orphan_lives_through_its_minisock_until_the_peers_fin)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, NULL, &g);
    const uint64_t ms = 1000000;
    struct tev s = {.skaddr = 0x8000, .family = 2, .lport = 8080, .rport = 40000, .reason = -1, .pid = 5, .tid = 5};
    struct tev c = {.skaddr = 0x9000, .family = 2, .lport = 40000, .rport = 8080, .reason = -1, .pid = 6, .tid = 6};
    s.laddr[0] = s.raddr[0] = c.laddr[0] = c.raddr[0] = 127;
    struct { struct tev *ev; uint8_t from, to; bool irq; uint64_t t; } steps[] = {
        {&c, TS_CLOSE, TS_SYN_SENT, false, 0},
        {&s, TS_LISTEN, TS_SYN_RECV, true, 0},
        {&s, TS_ESTABLISHED, TS_FIN_WAIT1, false, 1 * ms},   /* the server's close() */
        {&c, TS_ESTABLISHED, TS_CLOSE_WAIT, true, 1 * ms},
        {&s, TS_FIN_WAIT2, TS_CLOSE, true, 41 * ms},         /* the minisock, no event of its own */
        {&c, TS_CLOSE_WAIT, TS_LAST_ACK, false, 1241 * ms},  /* the client's close(): its FIN */
        {&c, TS_LAST_ACK, TS_CLOSE, true, 1241 * ms + 50000},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct tev *ev = steps[i].ev;
        ev->oldstate = steps[i].from, ev->newstate = steps[i].to, ev->in_irq = steps[i].irq;
        ev->time_ns = 100 + steps[i].t;
        tracker_event(t, ev);
        if (i == 4) {
            tracker_flush(t, ev->time_ns + 100 * ms); /* not emitted while the peer has not closed */
            CHECK_EQ_INT(g.n, 0);
            CHECK_EQ_INT(t->live, 1);
        }
    }
    tracker_flush_all(t);
    CHECK_EQ_INT(g.n, 2);
    const struct trace_rec *srv = g.r[0].role == ROLE_ACCEPTED ? &g.r[0] : &g.r[1];
    CHECK_EQ_INT(srv->role, ROLE_ACCEPTED);
    CHECK_EQ_INT(srv->t_end - srv->t_open, 1241 * ms);
    CHECK_EQ_INT(srv->end_from, TS_FIN_WAIT2);
    CHECK_EQ_INT(srv->tw, TW_LOCAL);
    CHECK_EQ_INT(srv->pid, 5);
    CHECK_EQ_INT(t->st.held, 1);
    CHECK_EQ_INT(t->live, 0);
    tracker_free(t);
    free(t);
}

/* The peer lost (its memory reused by a new connection) or the trace
 * ending: the waiting record goes out with its end at the minisock. */
TEST(a_waiting_record_is_not_lost_with_its_peer)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, NULL, &g);
    struct tev s = {.skaddr = 0x8000, .family = 2, .lport = 8080, .rport = 40000, .reason = -1, .in_irq = true};
    struct tev c = {.skaddr = 0x9000, .family = 2, .lport = 40000, .rport = 8080, .reason = -1, .in_irq = true};
    c.oldstate = TS_CLOSE, c.newstate = TS_SYN_SENT, c.time_ns = 1, tracker_event(t, &c);
    s.oldstate = TS_LISTEN, s.newstate = TS_SYN_RECV, s.time_ns = 1, tracker_event(t, &s);
    c.oldstate = TS_ESTABLISHED, c.newstate = TS_CLOSE_WAIT, c.time_ns = 2, tracker_event(t, &c);
    s.oldstate = TS_FIN_WAIT2, s.newstate = TS_CLOSE, s.time_ns = 3, tracker_event(t, &s);
    c.oldstate = TS_CLOSE, c.newstate = TS_SYN_SENT, c.time_ns = 4, tracker_event(t, &c); /* lost end */
    tracker_flush_all(t);
    /* the peer whose end was lost goes out too, marked so (end_unseen) */
    CHECK_EQ_INT(g.n, 2);
    const struct trace_rec *srv = g.r[0].role == ROLE_ACCEPTED ? &g.r[0] : &g.r[1];
    const struct trace_rec *cli = srv == &g.r[0] ? &g.r[1] : &g.r[0];
    CHECK_EQ_INT(srv->role, ROLE_ACCEPTED);
    CHECK_EQ_INT(srv->t_end, 3);
    CHECK(!srv->end_unseen);
    CHECK(cli->end_unseen);
    CHECK_EQ_INT(cli->role, ROLE_OUTGOING);
    tracker_free(t);
    free(t);
}

/* The minisock is hashed, and resets a segment on another CPU, just before
 * the old socket's CLOSE is traced: the reset comes first, and waits. */
TEST(a_minisock_reset_seen_before_the_close_still_finds_it)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, NULL, &g);
    t->after_close_rst = on_late;
    late_n = 0;
    struct tev ev = {.skaddr = 0x6000, .family = 2, .lport = 8081, .rport = 40001, .reason = -1, .pid = 88,
                     .tid = 88};
    ev.oldstate = TS_LISTEN, ev.newstate = TS_SYN_RECV, ev.in_irq = true, ev.time_ns = 1;
    tracker_event(t, &ev);
    ev.oldstate = TS_ESTABLISHED, ev.newstate = TS_FIN_WAIT1, ev.in_irq = false, ev.time_ns = 2;
    tracker_event(t, &ev);
    struct tev rst = ev;
    rst.kind = TEV_SEND_RST, rst.skaddr = 0x7000, rst.state = TS_TIME_WAIT, rst.reason = 9, rst.time_ns = 30;
    tracker_event(t, &rst);
    ev.oldstate = TS_FIN_WAIT2, ev.newstate = TS_CLOSE, ev.in_irq = true, ev.time_ns = 31;
    tracker_event(t, &ev);
    tracker_flush_all(t);
    CHECK_EQ_INT(late_n, 1);
    CHECK_EQ_INT(late.role, ROLE_ACCEPTED);
    CHECK_EQ_INT(late.pid, 88);
    CHECK_EQ_INT(t->st.rst_unmatched, 0);
    CHECK_EQ_INT(g.n, 1);
    tracker_free(t);
    free(t);
}

/* A peer that never closes: the minisock itself goes after its 60 s
 * (tcp_fin_timeout), and so does the wait; the record keeps its end there. */
TEST(a_wait_for_the_peers_fin_ends_with_the_minisock)
{
    struct tracker *t = malloc(sizeof *t);
    struct pcache pc;
    pcache_init(&pc, "/nonexistent");
    struct got g = {0};
    tracker_init(t, &pc, 1000, collect, NULL, &g);
    const uint64_t s1 = 1000000000ull;
    struct tev s = {.skaddr = 0x8000, .family = 2, .lport = 8080, .rport = 40000, .reason = -1, .in_irq = true};
    struct tev c = {.skaddr = 0x9000, .family = 2, .lport = 40000, .rport = 8080, .reason = -1, .in_irq = true};
    c.oldstate = TS_CLOSE, c.newstate = TS_SYN_SENT, c.time_ns = 1, tracker_event(t, &c);
    s.oldstate = TS_LISTEN, s.newstate = TS_SYN_RECV, s.time_ns = 1, tracker_event(t, &s);
    c.oldstate = TS_ESTABLISHED, c.newstate = TS_CLOSE_WAIT, c.time_ns = 2, tracker_event(t, &c);
    s.oldstate = TS_FIN_WAIT2, s.newstate = TS_CLOSE, s.time_ns = 3, tracker_event(t, &s);
    tracker_flush(t, 59 * s1);
    CHECK_EQ_INT(g.n, 0);
    tracker_flush(t, 61 * s1);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.r[0].role, ROLE_ACCEPTED);
    CHECK_EQ_INT(g.r[0].t_end, 3);
    c.oldstate = TS_CLOSE_WAIT, c.newstate = TS_LAST_ACK, c.time_ns = 70 * s1, tracker_event(t, &c);
    tracker_flush_all(t);
    CHECK_EQ_INT(g.n, 1); /* the client's own record stays open (no CLOSE) */
    tracker_free(t);
    free(t);
}
