/* SPDX-License-Identifier: MIT */
/* Records the perf rings of closer trace's perf backend over a known
 * loopback workload, for the unit tests (tests/data/trace/README.md).
 * Root only; run once, by hand:
 *   cc -D_GNU_SOURCE -Isrc -o /tmp/record tests/data/trace/record.c \
 *      build/libcloser.a -lssl -lcrypto -lnghttp2 -lm -lpthread
 *   /tmp/record tests/data/trace
 * Writes ring-cpuN.bin (the records of CPU N's ring, in the kernel's
 * layout, from data_tail to data_head) and workload.txt (ports, pids). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/perf_event.h>
#include <time.h>
#include <unistd.h>

#include "trace/perf.h"
#include "trace/tracefs.h"

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int listener(int family, uint16_t *port)
{
    int fd = socket(family, SOCK_STREAM, 0);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (void *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (void *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    if (bind(fd, (void *)&ss, len) < 0 || getsockname(fd, (void *)&ss, &len) < 0)
        exit(1);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

static int dial(int family, uint16_t port)
{
    int fd = socket(family, SOCK_STREAM, 0);
    if (family == AF_INET) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (void *)&a, sizeof a) < 0) {
            close(fd);
            return -1;
        }
    } else {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
        a.sin6_addr = in6addr_loopback;
        if (connect(fd, (void *)&a, sizeof a) < 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* The client, a child process named rec_client: closes first (its
 * TIME_WAIT), is reset, leaves the server in CLOSE_WAIT, meets a port
 * nobody listens on, and closes first over IPv6. */
static void client(uint16_t p4, uint16_t p6, uint16_t closed, int go)
{
    char b;
    prctl(PR_SET_NAME, "rec_client");
    int c1 = dial(AF_INET, p4);
    pause_ms(20);
    close(c1);
    int c2 = dial(AF_INET, p4);
    if (read(c2, &b, 1) < 0) /* the server's RST */
        pause_ms(1);
    close(c2);
    int c3 = dial(AF_INET, p4);
    pause_ms(20);
    close(c3);
    if (dial(AF_INET, closed) >= 0)
        exit(1);
    int c4 = dial(AF_INET6, p6);
    pause_ms(20);
    close(c4);
    if (read(go, &b, 1) < 0)
        exit(1);
    exit(0);
}

static void server(int l4, int l6, FILE *note)
{
    char b;
    int s1 = accept(l4, NULL, NULL);
    while (read(s1, &b, 1) > 0)
        ;
    pause_ms(20); /* a close-after-FIN of ~20 ms */
    close(s1);
    int s2 = accept(l4, NULL, NULL);
    struct linger lg = {1, 0};
    setsockopt(s2, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s2);
    int s3 = accept(l4, NULL, NULL); /* left in CLOSE_WAIT */
    int s4 = accept(l6, NULL, NULL);
    while (read(s4, &b, 1) > 0)
        ;
    close(s4);
    fprintf(note, "left in CLOSE_WAIT at the end: fd %d (server side of the third connection)\n", s3);
}

static int dump(struct perf_set *ps, const char *dir)
{
    long pagesz = sysconf(_SC_PAGESIZE);
    for (int cpu = 0; cpu < ps->ncpu; cpu++) {
        struct perf_ring *r = &ps->rings[cpu];
        if (!r->base)
            continue;
        struct perf_event_mmap_page *meta = (void *)r->base;
        uint64_t head = meta->data_head, tail = meta->data_tail;
        char path[600];
        snprintf(path, sizeof path, "%s/ring-cpu%d.bin", dir, cpu);
        FILE *f = fopen(path, "we");
        if (!f)
            return -1;
        for (uint64_t p = tail; p < head; p++)
            fputc(r->base[pagesz + (size_t)(p % r->data_size)], f);
        fclose(f);
        printf("cpu %d: %llu bytes\n", cpu, (unsigned long long)(head - tail));
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : ".";
    static const char *const ev[3][2] = {
        {"sock", "inet_sock_set_state"}, {"tcp", "tcp_send_reset"}, {"tcp", "tcp_receive_reset"}};
    char dir[512], err[512], note_path[600];
    static struct tp_format fmt[3];
    if (tracefs_locate(NULL, dir, sizeof dir, err, sizeof err) < 0)
        return fprintf(stderr, "%s\n", err), 1;
    for (int k = 0; k < 3; k++)
        if (tracefs_read_format(dir, ev[k][0], ev[k][1], &fmt[k], err, sizeof err) < 0)
            return fprintf(stderr, "%s\n", err), 1;
    uint16_t p4, p6, closed;
    int l4 = listener(AF_INET, &p4), l6 = listener(AF_INET6, &p6);
    (void)listener(AF_INET, &closed); /* bound, never listening: a reset */
    listen(l4, 8);
    listen(l6, 8);
    /* closer's own filters (trace/backend.c filter_for), on these ports */
    char ports[160], state[400], rst[200];
    snprintf(ports, sizeof ports, "(sport == %u || dport == %u || sport == %u || dport == %u || "
             "sport == %u || dport == %u)", p4, p4, p6, p6, closed, closed);
    snprintf(state, sizeof state, "protocol == 6 && (newstate == 2 || newstate == 3 || newstate == 4 || "
             "newstate == 7 || newstate == 8 || newstate == 9) && %s", ports);
    snprintf(rst, sizeof rst, "%s", ports);
    struct perf_tp tps[3] = {{fmt[0].id, state, ev[0][1]}, {fmt[1].id, NULL, ev[1][1]},
                             {fmt[2].id, rst, ev[2][1]}};
    struct perf_set ps;
    if (perf_open(&ps, tps, 3, 16, err, sizeof err) < 0)
        return fprintf(stderr, "%s\n", err), 1;
    snprintf(note_path, sizeof note_path, "%s/workload.txt", out);
    FILE *note = fopen(note_path, "we");
    if (!note)
        return 1;
    int go[2];
    if (pipe(go) < 0)
        return 1;
    pid_t child = fork();
    if (child == 0)
        client(p4, p6, closed, go[0]);
    server(l4, l6, note);
    if (write(go[1], "x", 1) != 1)
        return 1;
    waitpid(child, NULL, 0);
    pause_ms(100); /* the last softirq CLOSEs */
    perf_disable(&ps);
    fprintf(note, "recorder pid %d, client pid %d (comm rec_client)\n", (int)getpid(), (int)child);
    fprintf(note, "ipv4 port %u, ipv6 port %u, closed port %u\n", p4, p6, closed);
    fprintf(note, "ids: inet_sock_set_state %u, tcp_send_reset %u, tcp_receive_reset %u\n", fmt[0].id,
            fmt[1].id, fmt[2].id);
    fprintf(note, "counted by the kernel: %llu, lost: %llu\n", (unsigned long long)perf_counted(&ps),
            (unsigned long long)ps.lost);
    fclose(note);
    int rc = dump(&ps, out);
    perf_close(&ps);
    tracefs_done(dir);
    return rc < 0;
}
