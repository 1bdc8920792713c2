/* SPDX-License-Identifier: MIT */
/* The first reason for 2MSL: an old duplicate segment of a connection
 * reaching a new connection on the same 4-tuple. The client's data segment
 * "OLD!" (TOS 0x20, counted by nft at the server) is delivered normally and
 * captured on the client's veth by a packet socket; once the new
 * connection on the same 4-tuple is up, the lab sends the captured frame
 * again: an exact old duplicate, arriving late. (netem would delay it
 * instead, but the kernels the lab runs on may have no netem: this one has
 * pfifo_fast only.) Three runs, each on its own client port: the client
 * closing normally (TIME_WAIT), with SO_LINGER {1,0} (no TIME_WAIT), and
 * the same with timestamps off (no PAWS). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lab/judge.h"
#include "lab/scenarios.h"
#include "lab/wire.h"

#define DUP_PORT 9200
#define DUP_DELAY_MS 500
#define OLD_TOS 0x20

static int cmd(struct lab_env *e, enum lab_host h, const char *const args[], char *out, size_t len)
{
    return lab_run(e, h, (char *const *)args, out, len, 5000);
}

/* An nft counter of TOS 0x20 segments arriving at the server. */
static int count_old(struct lab_env *e)
{
    const char *t[] = {"nft", "add", "table", "ip", "lab", NULL};
    const char *c[] = {"nft", "add", "chain", "ip", "lab", "in",
                       "{ type filter hook input priority 0 ; }", NULL};
    const char *r[] = {"nft", "add", "rule", "ip", "lab", "in", "ip", "dscp", "cs1", "counter", NULL};
    if (cmd(e, LAB_SERVER, t, NULL, 0) || cmd(e, LAB_SERVER, c, NULL, 0) ||
        cmd(e, LAB_SERVER, r, NULL, 0)) {
        snprintf(e->err, sizeof e->err, "nft in the server namespace failed");
        return -1;
    }
    return 0;
}

struct frame {
    unsigned char b[256];
    ssize_t len;
};

/* A frame taken on its way out carries a partial checksum (the veth
 * offloads it): computed here, so the copy sent again is a valid segment. */
void lab_frame_tcp_checksum(unsigned char *b)
{
    struct iphdr *ip = (void *)(b + 14);
    size_t ihl = (size_t)ip->ihl * 4, len = ntohs(ip->tot_len) - ihl;
    struct tcphdr *th = (void *)(b + 14 + ihl);
    th->check = 0;
    uint32_t sum = 0;
    const uint16_t *w = (const uint16_t *)&ip->saddr; /* saddr, daddr */
    for (int i = 0; i < 4; i++)
        sum += w[i];
    sum += htons(IPPROTO_TCP) + htons((uint16_t)len);
    const unsigned char *p = (const unsigned char *)th;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint16_t)(p[i] | p[i + 1] << 8);
    if (len & 1)
        sum += p[len - 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    th->check = (uint16_t)~sum;
}

bool lab_frame_is_old(const unsigned char *b, size_t len, uint16_t port)
{
    if (len < 14 + 20 + 20 + 4 || b[12] != 0x08 || b[13] != 0x00)
        return false;
    const struct iphdr *ip = (const void *)(b + 14);
    if (ip->protocol != IPPROTO_TCP)
        return false;
    const struct tcphdr *th = (const void *)(b + 14 + ip->ihl * 4);
    size_t off = 14 + (size_t)ip->ihl * 4 + (size_t)th->doff * 4;
    return ntohs(th->source) == port && len >= off + 4 && !memcmp(b + off, "OLD!", 4);
}

/* The client's "OLD!" segment from port, as it left (within 1 s). */
static int capture(int tap, uint16_t port, struct frame *f)
{
    for (int i = 0; i < 64; i++) {
        struct pollfd p = {.fd = tap, .events = POLLIN};
        if (poll(&p, 1, 1000) != 1)
            return -1;
        f->len = recv(tap, f->b, sizeof f->b, 0);
        if (f->len > 0 && lab_frame_is_old(f->b, (size_t)f->len, port))
            return 0;
    }
    return -1;
}

static long old_arrived(struct lab_env *e)
{
    char out[2048];
    const char *l[] = {"nft", "list", "chain", "ip", "lab", "in", NULL};
    if (cmd(e, LAB_SERVER, l, out, sizeof out))
        return -1;
    return lab_nft_packets(out);
}

/* A client socket bound to port (SO_REUSEADDR, as a client that insists
 * on its 4-tuple), connected; -errno when connect() fails. */
static int connect_now(struct lab_env *e, uint16_t port)
{
    if (lab_enter(e, LAB_CLIENT) < 0)
        return -EIO;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    lab_leave(e);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, LAB_CLIENT_IP, &a.sin_addr);
    struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(DUP_PORT)};
    inet_pton(AF_INET, LAB_SERVER_IP, &s.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        connect(fd, (struct sockaddr *)&s, sizeof s) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

static void connect_step(struct lab_env *e, void *port, long long *v)
{
    v[0] = connect_now(e, *(uint16_t *)port);
}

/* connect_now on the env's tape ("connect-from PORT"). */
static int connect_from(struct lab_env *e, uint16_t port)
{
    char key[32];
    long long fd = -EIO;
    snprintf(key, sizeof key, "connect-from %u", port);
    lab_step(e, key, connect_step, &port, &fd, 1);
    return (int)fd;
}

/* Bytes readable on fd within ms (0: none arrived). */
static long got_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1)
        return 0;
    char buf[64];
    return recv(fd, buf, sizeof buf, MSG_DONTWAIT);
}

static void read_step(struct lab_env *e, void *fd_ms, long long *v)
{
    (void)e;
    const int *a = fd_ms;
    v[0] = got_within(a[0], a[1]);
}

/* got_within on the env's tape ("read-within FD MS"). */
static long read_within(struct lab_env *e, int fd, int ms)
{
    char key[48];
    int a[2] = {fd, ms};
    long long got = 0;
    snprintf(key, sizeof key, "read-within %d %d", fd, ms);
    lab_step(e, key, read_step, a, &got, 1);
    return (long)got;
}

struct old_send {
    int c, s, tap;
    uint16_t port;
    struct frame *f;
};

/* "OLD!" from c marked TOS 0x20, read at s, its frame captured on the tap:
 * 4 (the bytes read), 0, or -1 when the frame was not seen leaving. */
static void send_old(struct lab_env *e, void *arg, long long *v)
{
    (void)e;
    const struct old_send *o = arg;
    int tos = OLD_TOS, zero = 0;
    setsockopt(o->c, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    send(o->c, "OLD!", 4, MSG_NOSIGNAL);
    setsockopt(o->c, IPPROTO_IP, IP_TOS, &zero, sizeof zero); /* its FIN is not counted */
    v[0] = got_within(o->s, 2000);
    if (capture(o->tap, o->port, o->f) < 0)
        v[0] = -1;
}

/* The captured frame again, its checksum made whole: the old segment, late. */
static void resend(struct lab_env *e, void *arg, long long *v)
{
    (void)e;
    const struct old_send *o = arg;
    lab_frame_tcp_checksum(o->f->b);
    v[0] = send(o->tap, o->f->b, (size_t)o->f->len, 0);
}

/* The old connection: "OLD!" sent delayed, retransmitted at once, read. */
static int old_conn(struct lab_env *e, int lfd, int tap, uint16_t port, bool rst, struct frame *f)
{
    int c = connect_from(e, port);
    int s = c >= 0 ? wire_accept(e, lfd) : -1;
    if (s < 0) {
        if (c >= 0)
            wire_close(e, c);
        snprintf(e->err, sizeof e->err, "old connection from port %u failed", port);
        return -1;
    }
    struct old_send o = {c, s, tap, port, f};
    char key[48];
    long long got = -1;
    snprintf(key, sizeof key, "send-old %d %d %u", c, s, port);
    lab_step(e, key, send_old, &o, &got, 1);
    if (rst)
        wire_close_rst(e, c);
    else
        wire_close(e, c);
    wire_close(e, s);
    if (got != 4)
        snprintf(e->err, sizeof e->err, "'OLD!' from port %u not %s", port,
                 got < 0 ? "seen leaving" : "received");
    return got == 4 ? 0 : -1;
}

static int dup_run(struct lab_env *e, int lfd, int tap, uint16_t port, struct lab_dup_run *d)
{
    long before = old_arrived(e);
    struct frame f;
    lab_mark(e, -1, "%s", d->name);
    if (old_conn(e, lfd, tap, port, d->rst, &f) < 0)
        return -1;
    lab_sample(e);
    int c = connect_from(e, port);
    d->reconnect = c < 0 ? c : 0;
    int s = c >= 0 ? wire_accept(e, lfd) : -1;
    lab_sample(e);
    long long paws0 = lab_counter(e, LAB_SERVER, "TcpExt", "PAWSEstab");
    lab_nap(e, DUP_DELAY_MS);
    lab_mark(e, -1, "the old segment, again");
    struct old_send o = {.tap = tap, .port = port, .f = &f};
    char key[32];
    long long sent = -1;
    snprintf(key, sizeof key, "resend %u", port);
    lab_step(e, key, resend, &o, &sent, 1);
    d->delivered = s >= 0 ? read_within(e, s, 300) : 0;
    lab_sample(e);
    d->arrived = old_arrived(e) - before - 1; /* less the original */
    d->paws = lab_counter(e, LAB_SERVER, "TcpExt", "PAWSEstab") - paws0;
    if (s >= 0)
        wire_close(e, s);
    if (c >= 0)
        wire_close(e, c);
    return 0;
}

static void report_run(struct lab_result *r, const struct lab_dup_run *d, const char *key)
{
    char v[64];
    if (d->reconnect)
        lab_measured(r, "%s: the new connection on the same 4-tuple: connect() %s; the old "
                     "duplicate arrived %ld time%s (the server answers it for the closed one)",
                     d->name, strerror(-d->reconnect), d->arrived, d->arrived == 1 ? "" : "s");
    else
        lab_measured(r, "%s: the new connection on the same 4-tuple opened at once; the old "
                     "duplicate arrived %ld time%s, %ld of its bytes read by the new connection; "
                     "PAWSEstab +%lld", d->name, d->arrived, d->arrived == 1 ? "" : "s",
                     d->delivered, d->paws);
    snprintf(v, sizeof v, "%s_reconnect_errno", key);
    lab_value(r, v, -d->reconnect, "errors");
    snprintf(v, sizeof v, "%s_old_arrived", key);
    lab_value(r, v, (double)d->arrived, "segments");
    snprintf(v, sizeof v, "%s_old_delivered", key);
    lab_value(r, v, (double)d->delivered, "bytes");
    snprintf(v, sizeof v, "%s_paws_estab_added", key);
    lab_value(r, v, (double)d->paws, "segments");
}

int lab_sc_old_duplicate(struct lab_env *e, struct lab_result *r)
{
    if (lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_tw_reuse", "0") < 0 || count_old(e) < 0)
        return -1;
    int lfd = wire_listen(e, LAB_SERVER, LAB_SERVER_IP, DUP_PORT);
    int tap = lfd >= 0 ? wire_tap(e) : -1;
    if (tap < 0) {
        if (lfd >= 0)
            wire_close(e, lfd);
        return -1;
    }
    lab_setup_engine(e, "client: from a fixed port (SO_REUSEADDR) to %s:%d, send 'OLD!' (TOS "
                     "0x20), captured on %s; close (normally, or SO_LINGER {1,0}); connect again "
                     "from the same port; %d ms later send the captured frame again",
                     LAB_SERVER_IP, DUP_PORT, e->veth[LAB_CLIENT], DUP_DELAY_MS);
    /* timestamps off first: TIME_WAIT then refuses the same 4-tuple */
    struct lab_dup_run tw = {.name = "timestamps off, closed normally (TIME_WAIT)"};
    struct lab_dup_run rst = {.name = "timestamps off, SO_LINGER {1,0} (no TIME_WAIT)", .rst = true};
    struct lab_dup_run ts = {.name = "timestamps on, closed normally (TIME_WAIT)"};
    int rc = lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_timestamps", "0");
    if (!rc)
        rc = dup_run(e, lfd, tap, 40100, &tw);
    if (!rc)
        rc = dup_run(e, lfd, tap, 40101, &rst);
    if (!rc)
        rc = lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_timestamps", "1");
    if (!rc)
        rc = dup_run(e, lfd, tap, 40102, &ts);
    wire_close(e, tap);
    wire_close(e, lfd);
    if (rc < 0)
        return -1;
    lab_judge_old_duplicate(r, &tw, &rst, &ts);
    return 0;
}

void lab_judge_old_duplicate(struct lab_result *r, const struct lab_dup_run *tw,
                             const struct lab_dup_run *rst, const struct lab_dup_run *ts)
{
    report_run(r, tw, "time_wait");
    report_run(r, rst, "no_time_wait");
    report_run(r, ts, "timestamps");
    lab_expect(r, tw->reconnect == -EADDRNOTAVAIL, "timestamps off: TIME_WAIT let the same "
               "4-tuple connect again (%s)", tw->reconnect ? strerror(-tw->reconnect) : "no error");
    lab_expect(r, !rst->reconnect, "without TIME_WAIT the new connection failed (%s)",
               strerror(-rst->reconnect));
    lab_expect(r, !ts->reconnect, "timestamps on: the bound port's TIME_WAIT was not reused (%s)",
               strerror(-ts->reconnect));
    lab_expect(r, tw->arrived == 1 && rst->arrived == 1 && ts->arrived == 1, "the old duplicate "
               "arrived %ld, %ld, %ld times, not once each", tw->arrived, rst->arrived,
               ts->arrived);
    lab_expect(r, ts->paws == 1, "timestamps on: PAWSEstab +%lld, expected the old duplicate "
               "rejected by PAWS", ts->paws);
    lab_expect(r, !rst->delivered && !ts->delivered, "the old duplicate's bytes reached the new "
               "connection (%ld, %ld)", rst->delivered, ts->delivered);
}
