/* SPDX-License-Identifier: MIT */
/* The first reason for 2MSL: an old duplicate segment of a connection
 * reaching a new connection on the same 4-tuple. The client's data segment
 * is sent with TOS 0x20, which netem on the client's veth delays by
 * DUP_DELAY_MS; the client sets TOS 0 right after the send, so TCP's
 * retransmission arrives at once and the connection goes on; the delayed
 * original arrives later as an old duplicate. Three runs, each on its own
 * client port: the client closing normally (TIME_WAIT), with SO_LINGER
 * {1,0} (no TIME_WAIT, a new connection at once), and the same with
 * timestamps off (no PAWS). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lab/scenarios.h"
#include "lab/wire.h"

#define DUP_PORT 9200
#define DUP_DELAY_MS 800
#define OLD_TOS 0x20

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int cmd(struct lab_env *e, enum lab_host h, const char *const args[], char *out, size_t len)
{
    return lab_run(e, h, (char *const *)args, out, len, 5000);
}

/* netem on the client's veth for TOS 0x20 only; an nft counter of those
 * segments arriving at the server. */
static int delay_old(struct lab_env *e)
{
    const char *dev = e->veth[LAB_CLIENT];
    const char *q[] = {"tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "prio", NULL};
    const char *n[] = {"tc", "qdisc", "add", "dev", dev, "parent", "1:3", "handle", "30:",
                       "netem", "delay", "800ms", NULL};
    const char *f[] = {"tc", "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip",
                       "prio", "1", "u32", "match", "ip", "tos", "0x20", "0xff", "flowid", "1:3",
                       NULL};
    const char *t[] = {"nft", "add", "table", "ip", "lab", NULL};
    const char *c[] = {"nft", "add", "chain", "ip", "lab", "in",
                       "{ type filter hook input priority 0 ; }", NULL};
    const char *r[] = {"nft", "add", "rule", "ip", "lab", "in", "ip", "dscp", "cs1", "counter", NULL};
    if (cmd(e, LAB_CLIENT, q, NULL, 0) || cmd(e, LAB_CLIENT, n, NULL, 0) ||
        cmd(e, LAB_CLIENT, f, NULL, 0) || cmd(e, LAB_SERVER, t, NULL, 0) ||
        cmd(e, LAB_SERVER, c, NULL, 0) || cmd(e, LAB_SERVER, r, NULL, 0)) {
        snprintf(e->err, sizeof e->err, "tc netem / nft in the lab namespaces failed");
        return -1;
    }
    return 0;
}

static long old_arrived(struct lab_env *e)
{
    char out[2048];
    const char *l[] = {"nft", "list", "chain", "ip", "lab", "in", NULL};
    if (cmd(e, LAB_SERVER, l, out, sizeof out))
        return -1;
    const char *p = strstr(out, "packets ");
    return p ? strtol(p + 8, NULL, 10) : -1;
}

/* A client socket bound to port (SO_REUSEADDR, as a client that insists
 * on its 4-tuple), connected; -errno when connect() fails. */
static int connect_from(struct lab_env *e, uint16_t port)
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

/* Bytes readable on fd within ms (0: none arrived). */
static long got_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1)
        return 0;
    char buf[64];
    return recv(fd, buf, sizeof buf, MSG_DONTWAIT);
}

struct dup_run {
    const char *name;
    bool rst;           /* close with SO_LINGER {1,0}: no TIME_WAIT */
    int reconnect;      /* 0, or -errno of the new connect() */
    long delivered;     /* bytes of the old duplicate the new connection read */
    long arrived;       /* old segments seen at the server */
    long long paws;     /* TcpExtPAWSEstab added at the server */
};

/* The old connection: "OLD!" sent delayed, retransmitted at once, read. */
static int old_conn(struct lab_env *e, int lfd, uint16_t port, bool rst)
{
    int c = connect_from(e, port);
    int s = c >= 0 ? wire_accept(e, lfd) : -1;
    if (s < 0) {
        if (c >= 0)
            close(c);
        snprintf(e->err, sizeof e->err, "old connection from port %u failed", port);
        return -1;
    }
    int tos = OLD_TOS, zero = 0;
    setsockopt(c, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    send(c, "OLD!", 4, MSG_NOSIGNAL);
    setsockopt(c, IPPROTO_IP, IP_TOS, &zero, sizeof zero);
    long got = got_within(s, 2000);
    if (rst)
        wire_close_rst(c);
    else
        close(c);
    close(s);
    return got == 4 ? 0 : (snprintf(e->err, sizeof e->err, "the retransmission never came"), -1);
}

static int dup_run(struct lab_env *e, int lfd, uint16_t port, struct dup_run *d)
{
    long before = old_arrived(e);
    long long paws0 = lab_counter(e, LAB_SERVER, "TcpExt", "PAWSEstab");
    lab_mark(e, -1, "%s: old segment sent, delayed", d->name);
    if (old_conn(e, lfd, port, d->rst) < 0)
        return -1;
    nap(50);
    int c = connect_from(e, port);
    d->reconnect = c < 0 ? c : 0;
    int s = c >= 0 ? wire_accept(e, lfd) : -1;
    lab_watch(e, DUP_DELAY_MS + 300, 100);
    d->delivered = s >= 0 ? got_within(s, 1) : 0;
    d->arrived = old_arrived(e) - before;
    d->paws = lab_counter(e, LAB_SERVER, "TcpExt", "PAWSEstab") - paws0;
    if (s >= 0)
        close(s);
    if (c >= 0)
        close(c);
    return 0;
}

static void report_run(struct lab_result *r, const struct dup_run *d, const char *key)
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
    if (lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_tw_reuse", "0") < 0 || delay_old(e) < 0)
        return -1;
    int lfd = wire_listen(e, LAB_SERVER, LAB_SERVER_IP, DUP_PORT);
    if (lfd < 0)
        return -1;
    lab_setup_engine(e, "client: from a fixed port (SO_REUSEADDR) to %s:%d, send 'OLD!' with TOS "
                     "0x20 (netem delays it %d ms), set TOS 0 (the retransmission arrives at once), "
                     "close (normally, or SO_LINGER {1,0}), connect again from the same port",
                     LAB_SERVER_IP, DUP_PORT, DUP_DELAY_MS);
    struct dup_run tw = {.name = "closed normally (TIME_WAIT)"};
    struct dup_run rst = {.name = "SO_LINGER {1,0} (no TIME_WAIT), timestamps on", .rst = true};
    struct dup_run nots = {.name = "SO_LINGER {1,0}, timestamps off", .rst = true};
    int rc = dup_run(e, lfd, 40100, &tw);
    if (!rc)
        rc = dup_run(e, lfd, 40101, &rst);
    if (!rc && lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_timestamps", "0") < 0)
        rc = -1;
    if (!rc)
        rc = dup_run(e, lfd, 40102, &nots);
    close(lfd);
    if (rc < 0)
        return -1;
    report_run(r, &tw, "time_wait");
    report_run(r, &rst, "no_time_wait");
    report_run(r, &nots, "no_timestamps");
    lab_expect(r, tw.reconnect == -EADDRNOTAVAIL, "with TIME_WAIT the same 4-tuple connected "
               "again (%s)", tw.reconnect ? strerror(-tw.reconnect) : "no error");
    lab_expect(r, !rst.reconnect && !nots.reconnect, "without TIME_WAIT the new connection "
               "failed");
    lab_expect(r, tw.arrived >= 1 && rst.arrived >= 1 && nots.arrived >= 1, "an old duplicate "
               "did not arrive (%ld, %ld, %ld)", tw.arrived, rst.arrived, nots.arrived);
    lab_expect(r, rst.paws >= 1, "timestamps on: PAWS did not reject the old duplicate");
    lab_expect(r, !rst.delivered && !nots.delivered, "the old duplicate's bytes reached the new "
               "connection (%ld, %ld)", rst.delivered, nots.delivered);
    return 0;
}
