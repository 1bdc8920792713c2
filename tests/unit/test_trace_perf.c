/* SPDX-License-Identifier: MIT */
/* Reading perf rings (trace/perf.h) without root: rings built in memory in
 * the kernel's layout, filled with the records of a real run
 * (tests/data/trace/ring-cpuN.bin) and with hand-made ones for the edges:
 * wrap-around at the ring's end, PERF_RECORD_LOST, records cut short. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "test.h"
#include "trace/perf.h"
#include "trace_samples.h"

/* What a read handed over, in order, copied out of the scratch buffer. */
struct seen {
    size_t n, kinds[5];
    struct prec first[5]; /* the first record of each kind */
    uint8_t first_raw[128];
    uint64_t sum; /* of every field and raw byte: equal sums, equal reads */
};

static void on_rec(void *ctx, const struct prec *r)
{
    struct seen *s = ctx;
    if (!s->kinds[r->kind]) {
        s->first[r->kind] = *r;
        if (r->kind == PREC_SAMPLE)
            memcpy(s->first_raw, r->raw, r->raw_len < 128 ? r->raw_len : 128);
    }
    s->kinds[r->kind]++;
    s->n++;
    s->sum = s->sum * 31 + r->time_ns + (uint64_t)r->pid * 7 + (uint64_t)r->tid * 11 + r->cpu +
             (uint64_t)r->ppid * 13 + r->netns + r->raw_len + (uint64_t)r->kind * 17;
    for (uint32_t i = 0; i < r->raw_len; i++)
        s->sum = s->sum * 3 + r->raw[i];
    for (size_t i = 0; i < sizeof r->comm; i++)
        s->sum += (uint64_t)(uint8_t)r->comm[i] * i;
}

/* The recorded records of cpu, written into a 2-page ring at pos. */
static size_t read_recorded(int cpu, uint64_t pos, struct seen *out, struct perf_set *ps)
{
    size_t len;
    uint8_t *rec = recorded_ring(cpu, &len);
    memset(out, 0, sizeof *out);
    if (fake_rings(ps, 1, 2) < 0 || len == 0) {
        free(rec);
        return 0;
    }
    ring_seek(&ps->rings[0], pos);
    ring_put(&ps->rings[0], rec, len);
    free(rec);
    return perf_read_ring(ps, 0, on_rec, out);
}

TEST(reads_recorded_ring_of_the_workload)
{
    struct perf_set ps;
    struct seen s;
    /* CPU 1 ran the workload: 29 samples among the host's task records */
    CHECK_EQ_INT(read_recorded(1, 0, &s, &ps), 56);
    CHECK_EQ_INT(s.n, 56);
    CHECK_EQ_INT(s.kinds[PREC_SAMPLE], 29);
    CHECK_EQ_INT(s.kinds[PREC_COMM], 7);
    CHECK_EQ_INT(s.kinds[PREC_FORK], 8);
    CHECK_EQ_INT(s.kinds[PREC_EXIT], 4);
    CHECK_EQ_INT(s.kinds[PREC_NETNS], 8);
    CHECK_EQ_INT(ps.lost, 0);
    /* the client's fork, its namespaces, its name, its connect() */
    CHECK_EQ_INT(s.first[PREC_FORK].pid, 14358);
    CHECK_EQ_INT(s.first[PREC_FORK].ppid, 14357);
    CHECK_EQ_INT(s.first[PREC_FORK].cpu, 1);
    CHECK(s.first[PREC_FORK].time_ns > 28007000000000ull);
    CHECK_EQ_INT(s.first[PREC_NETNS].tid, 14358);
    CHECK(s.first[PREC_NETNS].netns != 0);
    CHECK_EQ_STR(s.first[PREC_COMM].comm, "rec_client");
    CHECK_EQ_INT(s.first[PREC_COMM].pid, 14358);
    const struct prec *x = &s.first[PREC_SAMPLE];
    CHECK_EQ_INT(x->pid, 14358);
    CHECK_EQ_INT(x->tid, 14358);
    CHECK(x->time_ns == 28007823953005ull);
    CHECK_EQ_INT(x->cpu, 1);
    CHECK_EQ_INT(x->raw_len, 76);
    uint16_t type;
    memcpy(&type, s.first_raw, 2);
    CHECK_EQ_INT(type, 2287); /* inet_sock_set_state's id on that kernel */
    CHECK_EQ_INT(s.first[PREC_EXIT].pid, 14355);
    /* the reader moved data_tail up to data_head: the kernel may reuse it */
    struct perf_event_mmap_page *meta = (void *)ps.rings[0].base;
    CHECK(meta->data_tail == meta->data_head);
    CHECK_EQ_INT(perf_read_ring(&ps, 0, on_rec, &s), 0);
    perf_close(&ps);
    CHECK(ps.rings == NULL);
}

TEST(reads_other_cpus_task_records)
{
    struct perf_set ps;
    struct seen s;
    CHECK_EQ_INT(read_recorded(0, 0, &s, &ps), 32);
    CHECK_EQ_INT(s.kinds[PREC_SAMPLE], 0);
    CHECK_EQ_INT(s.kinds[PREC_EXIT], 6);
    CHECK_EQ_INT(s.kinds[PREC_FORK], 10);
    CHECK_EQ_INT(s.kinds[PREC_NETNS], 10);
    CHECK_EQ_INT(s.kinds[PREC_COMM], 6);
    perf_close(&ps);
}

/* A record or even its header cut by the ring's end reads as if it were
 * whole: every start position gives the same records. */
TEST(wraps_at_the_ring_end)
{
    struct perf_set ps;
    struct seen whole, wrapped;
    CHECK_EQ_INT(read_recorded(1, 0, &whole, &ps), 56);
    size_t size = ps.rings[0].data_size;
    perf_close(&ps);
    const uint64_t starts[] = {size - 3, size - 4, size - 100, size - 2000, 3 * size - 57, 5 * size - 1};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        CHECK_EQ_INT(read_recorded(1, starts[i], &wrapped, &ps), 56);
        perf_close(&ps);
        CHECK_EQ_INT(wrapped.kinds[PREC_SAMPLE], 29);
        CHECK(wrapped.sum == whole.sum);
    }
}

static size_t put_header(uint8_t *b, uint32_t type, uint16_t size)
{
    struct perf_event_header h = {.type = type, .misc = 0, .size = size};
    memset(b, 0, size);
    memcpy(b, &h, sizeof h);
    return size;
}

TEST(counts_lost_records)
{
    struct perf_set ps;
    struct seen s = {0};
    uint8_t b[64];
    CHECK_EQ_INT(fake_rings(&ps, 1, 1), 0);
    /* {header, id, lost, sample_id trailer} */
    size_t n = put_header(b, PERF_RECORD_LOST, 8 + 16 + 24);
    uint64_t lost = 42;
    memcpy(b + 16, &lost, 8);
    ring_put(&ps.rings[0], b, n);
    ring_put(&ps.rings[0], b, n);
    CHECK_EQ_INT(perf_read_ring(&ps, 0, on_rec, &s), 2);
    CHECK_EQ_INT(s.n, 0); /* never handed over, counted */
    CHECK_EQ_INT(ps.lost, 84);
    perf_close(&ps);
}

/* The kernel publishes data_head after the whole record is written; a
 * reader that sees a header whose record goes past head waits for it. */
TEST(stops_at_a_record_not_yet_whole)
{
    struct perf_set ps;
    struct seen s = {0};
    size_t len;
    uint8_t *rec = recorded_ring(1, &len);
    CHECK_EQ_INT(fake_rings(&ps, 1, 2), 0);
    struct perf_event_mmap_page *meta = (void *)ps.rings[0].base;
    ring_put(&ps.rings[0], rec, 56 + 30); /* the FORK, a piece of NAMESPACES */
    CHECK_EQ_INT(perf_read_ring(&ps, 0, on_rec, &s), 1);
    CHECK(meta->data_tail == 56);
    ring_put(&ps.rings[0], rec + 86, 160 - 30);
    CHECK_EQ_INT(perf_read_ring(&ps, 0, on_rec, &s), 1);
    CHECK_EQ_INT(s.kinds[PREC_NETNS], 1);
    CHECK(meta->data_tail == 216);
    /* a header smaller than a header: the ring is not trusted further */
    uint8_t bad[8];
    put_header(bad, PERF_RECORD_SAMPLE, 8);
    ((struct perf_event_header *)bad)->size = 4;
    ring_put(&ps.rings[0], bad, 8);
    CHECK_EQ_INT(perf_read_ring(&ps, 0, on_rec, &s), 0);
    CHECK(meta->data_tail == 216);
    free(rec);
    perf_close(&ps);
}

/* Records too short for their type, or of types closer does not read,
 * are stepped over: consumed, never handed over. */
TEST(steps_over_short_and_unknown_records)
{
    struct perf_set ps;
    struct seen s = {0};
    uint8_t b[256];
    CHECK_EQ_INT(fake_rings(&ps, 1, 1), 0);
    struct perf_ring *r = &ps.rings[0];
    ring_put(r, b, put_header(b, PERF_RECORD_SAMPLE, 8 + 24));   /* no raw size */
    size_t n = put_header(b, PERF_RECORD_SAMPLE, 8 + 32);          /* raw past the end */
    uint32_t raw_len = 100;
    memcpy(b + 8 + 24, &raw_len, 4);
    ring_put(r, b, n);
    ring_put(r, b, put_header(b, PERF_RECORD_LOST, 8 + 8));
    ring_put(r, b, put_header(b, PERF_RECORD_COMM, 8 + 16));
    ring_put(r, b, put_header(b, PERF_RECORD_NAMESPACES, 8 + 40));
    n = put_header(b, PERF_RECORD_NAMESPACES, 8 + 16 + 24 + 16); /* nr 0 */
    ring_put(r, b, n);
    n = put_header(b, PERF_RECORD_NAMESPACES, 8 + 16 + 24 + 16); /* nr past the body */
    uint64_t nr = 7;
    memcpy(b + 8 + 8, &nr, 8);
    ring_put(r, b, n);
    ring_put(r, b, put_header(b, PERF_RECORD_FORK, 8 + 16));
    ring_put(r, b, put_header(b, PERF_RECORD_EXIT, 8 + 16));
    ring_put(r, b, put_header(b, PERF_RECORD_MMAP, 64));
    CHECK_EQ_INT(perf_read_ring(&ps, 0, on_rec, &s), 10);
    CHECK_EQ_INT(s.n, 0);
    CHECK_EQ_INT(ps.lost, 0);
    perf_close(&ps);
}

TEST(comm_longer_than_a_task_name_is_cut)
{
    struct perf_set ps;
    struct seen s = {0};
    uint8_t b[128];
    CHECK_EQ_INT(fake_rings(&ps, 1, 1), 0);
    /* {pid, tid, comm (padded to 8), trailer {pid,tid} {time} {cpu,res}} */
    size_t n = put_header(b, PERF_RECORD_COMM, 8 + 8 + 24 + 24);
    int32_t ids[2] = {500, 501};
    memcpy(b + 8, ids, 8);
    memcpy(b + 16, "a-very-long-thread-name!", 24);
    uint64_t t = 123456789;
    uint32_t cpu = 3;
    memcpy(b + n - 16, &t, 8);
    memcpy(b + n - 8, &cpu, 4);
    ring_put(&ps.rings[0], b, n);
    CHECK_EQ_INT(perf_read_ring(&ps, 0, on_rec, &s), 1);
    CHECK_EQ_STR(s.first[PREC_COMM].comm, "a-very-long-thr");
    CHECK_EQ_INT(s.first[PREC_COMM].tid, 501);
    CHECK(s.first[PREC_COMM].time_ns == 123456789);
    CHECK_EQ_INT(s.first[PREC_COMM].cpu, 3);
    perf_close(&ps);
}

TEST(reads_every_ring_and_only_rings)
{
    struct perf_set ps;
    struct seen s = {0};
    size_t l0, l1;
    uint8_t *r0 = recorded_ring(0, &l0), *r1 = recorded_ring(1, &l1);
    CHECK_EQ_INT(fake_rings(&ps, 3, 2), 0);
    ring_put(&ps.rings[0], r0, l0);
    ring_put(&ps.rings[2], r1, l1);
    /* an offline CPU has no ring */
    munmap(ps.rings[1].base, ps.rings[1].data_size + (size_t)sysconf(_SC_PAGESIZE));
    ps.rings[1].base = NULL;
    CHECK_EQ_INT(perf_read_ring(&ps, 1, on_rec, &s), 0);
    CHECK_EQ_INT(perf_read_ring(&ps, 3, on_rec, &s), 0);
    CHECK_EQ_INT(perf_read_ring(&ps, -1, on_rec, &s), 0);
    CHECK_EQ_INT(perf_read_ring(&ps, 0, on_rec, &s) + perf_read_ring(&ps, 2, on_rec, &s), 32 + 56);
    CHECK_EQ_INT(s.kinds[PREC_SAMPLE], 29);
    free(r0);
    free(r1);
    perf_close(&ps);
}

/* The event file descriptors' side, on eventfds: a read gives a u64 as a
 * counting perf event's does, and poll says readable. */
TEST(counts_waits_and_closes_on_event_fds)
{
    struct perf_set ps;
    CHECK_EQ_INT(fake_rings(&ps, 2, 1), 0);
    ps.fds = malloc(3 * sizeof *ps.fds);
    CHECK(ps.fds != NULL);
    for (int i = 0; i < 3; i++) {
        ps.fds[i] = eventfd((unsigned)(i + 1) * 10, EFD_NONBLOCK | EFD_CLOEXEC);
        CHECK(ps.fds[i] >= 0);
    }
    ps.nfds = 3;
    ps.rings[0].fd = ps.fds[0];
    ps.rings[1].fd = ps.fds[1];
    perf_enable(&ps);  /* not perf events: the ioctls fail, nothing else */
    perf_disable(&ps);
    CHECK_EQ_INT(perf_wait(&ps, 0), 0);
    CHECK_EQ_INT(perf_counted(&ps), 10 + 20 + 30);
    CHECK_EQ_INT(perf_counted(&ps), 0); /* an eventfd's read resets it */
    CHECK_EQ_INT(perf_wait(&ps, 0), 0); /* none readable: times out */
    int fd0 = ps.fds[0];
    perf_close(&ps);
    CHECK(fcntl(fd0, F_GETFD) < 0 && errno == EBADF);
    CHECK_EQ_INT(ps.nfds, 0);
}

/* No tracepoint has this id: whether the kernel refuses the caller (no
 * root) or the id, perf_open fails with the event's name and leaves the
 * set empty. */
TEST(open_failure_names_the_event)
{
    struct perf_set ps;
    char err[256] = "";
    struct perf_tp tp = {0x7ffffff0u, NULL, "no_such_tracepoint"};
    CHECK_EQ_INT(perf_open(&ps, &tp, 1, 1, err, sizeof err), -1);
    CHECK(strstr(err, "perf_event_open(no_such_tracepoint") == err);
    CHECK(ps.rings == NULL && ps.fds == NULL && ps.scratch == NULL);
}
