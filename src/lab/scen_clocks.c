/* SPDX-License-Identifier: MIT */
/* "tcp_tw_reuse with timestamps rejects clients whose clocks differ":
 * clients behind one NAT address whose TCP timestamp clocks differ (Linux
 * offsets each source address's clock by a hash: 198.18.0.3 SNATed to
 * 198.18.0.1 in the client namespace is such a client), a server that
 * closes first (its TIME_WAIT remembers the last timestamp), tcp_tw_reuse
 * on in both namespaces. The clients' SYNs are captured on the veth to
 * read their timestamps. tcp_tw_recycle, which kept the last timestamp per
 * peer address and dropped older SYNs from any port, is looked for too. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
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

#define CLK_PORT 9300

static int run(struct lab_env *e, enum lab_host h, const char *const a[])
{
    return lab_run(e, h, (char *const *)a, NULL, 0, 5000);
}

static int nat_setup(struct lab_env *e)
{
    const char *dev = e->veth[LAB_CLIENT];
    const char *a[] = {"ip", "addr", "add", "198.18.0.3/24", "dev", dev, NULL};
    if (run(e, LAB_CLIENT, a))
        return -1;
    const char *t[] = {"nft", "add", "table", "ip", "nat", NULL};
    const char *c[] = {"nft", "add", "chain", "ip", "nat", "post",
                       "{ type nat hook postrouting priority 100 ; }", NULL};
    const char *r[] = {"nft", "add", "rule", "ip", "nat", "post", "ip", "saddr", "!=",
                       LAB_CLIENT_IP, "snat", "to", LAB_CLIENT_IP, NULL};
    if (run(e, LAB_CLIENT, t) || run(e, LAB_CLIENT, c) || run(e, LAB_CLIENT, r))
        return -1;
    /* conntrack forgets a closed connection after 1 s (not 120 s), so a
     * later client keeps its port through the NAT: the same 4-tuple */
    return lab_sysctl(e, LAB_CLIENT, "net/netfilter/nf_conntrack_tcp_timeout_time_wait", "1");
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

uint32_t lab_syn_tsval(const unsigned char *b, size_t n, uint16_t port)
{
    if (n < 14 + 20 + 20 || b[12] != 0x08 || b[13] != 0 || b[14 + 9] != IPPROTO_TCP)
        return 0;
    const struct tcphdr *th = (const void *)(b + 14 + (b[14] & 15) * 4);
    const unsigned char *o = (const unsigned char *)(th + 1);
    const unsigned char *end = (const unsigned char *)th + th->doff * 4;
    if (!th->syn || th->ack || ntohs(th->source) != port || end > b + n)
        return 0;
    uint32_t tsval = 0;
    while (o < end && *o != 0) {
        if (*o == 1) {
            o++;
            continue;
        }
        if (o + 1 >= end || o[1] < 2)
            break;
        if (*o == 8 && o[1] == 10)
            tsval = (uint32_t)o[2] << 24 | (uint32_t)o[3] << 16 | (uint32_t)o[4] << 8 | o[5];
        o += o[1];
    }
    return tsval;
}

/* connect() from ip:port; its duration in *ms, the SYN's TSval from the tap
 * in *tsval (0 if not seen). The fd, or -errno. */
static int dial_now(struct lab_env *e, int tap, const char *ip, uint16_t port, double *ms,
                    uint32_t *tsval)
{
    if (lab_enter(e, LAB_CLIENT) < 0)
        return -EIO;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    lab_leave(e);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(CLK_PORT)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    inet_pton(AF_INET, LAB_SERVER_IP, &s.sin_addr);
    double t0 = mono_ms();
    int rc = bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
             connect(fd, (struct sockaddr *)&s, sizeof s) < 0 ? -errno : fd;
    *ms = mono_ms() - t0;
    *tsval = 0;
    unsigned char b[256];
    struct pollfd p = {.fd = tap, .events = POLLIN};
    while (!*tsval && poll(&p, 1, 0) == 1) {
        ssize_t n = recv(tap, b, sizeof b, 0);
        if (n > 0)
            *tsval = lab_syn_tsval(b, (size_t)n, port);
    }
    if (rc < 0)
        close(fd);
    return rc;
}

struct dial_args {
    int tap;
    const char *ip;
    uint16_t port;
};

static void dial_step(struct lab_env *e, void *arg, long long *v)
{
    const struct dial_args *a = arg;
    double ms;
    uint32_t tsval;
    v[0] = dial_now(e, a->tap, a->ip, a->port, &ms, &tsval);
    v[1] = llround(ms * 1e3);
    v[2] = tsval;
}

/* dial_now on the env's tape ("dial IP PORT"): fd or -errno, the
 * connect()'s duration (to the microsecond, recorded and replayed alike),
 * the SYN's TSval. */
static int dial(struct lab_env *e, int tap, const char *ip, uint16_t port, double *ms,
                uint32_t *tsval)
{
    char key[48];
    struct dial_args a = {tap, ip, port};
    long long v[3] = {-EIO, 0, 0};
    snprintf(key, sizeof key, "dial %s %u", ip, port);
    lab_step(e, key, dial_step, &a, v, 3);
    *ms = (double)v[1] / 1e3;
    *tsval = (uint32_t)v[2];
    return (int)v[0];
}

static void recycle_step(struct lab_env *e, void *arg, long long *v)
{
    (void)e, (void)arg;
    v[0] = access("/proc/sys/net/ipv4/tcp_tw_recycle", F_OK) == 0;
}

/* The server's half: accept and close first (TIME_WAIT here). */
static void server_closes(struct lab_env *e, int lfd, int cfd, bool rst)
{
    int s = wire_accept(e, lfd);
    if (s >= 0)
        wire_close(e, s);
    wire_wait_end(e, cfd, 1000);
    if (rst)
        wire_close_rst(e, cfd);
    else
        wire_close(e, cfd);
}

/* A client at ip connects from port (the NAT keeps it): the server's
 * PAWSEstab before/after, and how long connect() took. */
static void attempt(struct lab_env *e, int lfd, int tap, const char *ip, uint16_t port,
                    struct lab_attempt *a)
{
    long long p0 = lab_counter(e, LAB_SERVER, "TcpExt", "PAWSTimewait");
    int fd = dial(e, tap, ip, port, &a->ms, &a->tsval);
    a->err = fd < 0 ? -fd : 0;
    if (fd >= 0)
        server_closes(e, lfd, fd, true);
    a->paws = lab_counter(e, LAB_SERVER, "TcpExt", "PAWSTimewait") - p0;
}

static void says(struct lab_result *r, const char *who, const struct lab_attempt *a, const char *key)
{
    lab_measured(r, "%s: connect() %s after %.0f ms; server PAWSTimewait +%lld", who,
                 a->err ? strerror(a->err) : "ok", a->ms, a->paws);
    char v[64];
    snprintf(v, sizeof v, "%s_connect", key);
    lab_value(r, v, a->ms, "ms");
    snprintf(v, sizeof v, "%s_paws_rejected", key);
    lab_value(r, v, (double)a->paws, "segments");
}

int lab_sc_tw_reuse_clocks(struct lab_env *e, struct lab_result *r)
{
    if (lab_sysctl(e, LAB_SERVER, "net/ipv4/tcp_tw_reuse", "1") < 0 ||
        lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_tw_reuse", "1") < 0 || nat_setup(e) < 0)
        return -1;
    int lfd = wire_listen(e, LAB_SERVER, LAB_SERVER_IP, CLK_PORT);
    int tap = lfd >= 0 ? wire_tap(e) : -1;
    if (tap < 0) {
        if (lfd >= 0)
            wire_close(e, lfd);
        return -1;
    }
    lab_setup_engine(e, "client %s connects from ports 41000 and 41001 to %s:%d, the server "
                     "closes first (its TIME_WAIT keeps the client's last timestamp); then "
                     "the client at 198.18.0.3 (SNATed to %s, another timestamp clock) from "
                     "port 41002, then from 41000", LAB_CLIENT_IP, LAB_SERVER_IP, CLK_PORT,
                     LAB_CLIENT_IP);
    lab_mark(e, -1, "client .1 from 41000, 41001; server closes");
    uint32_t ts_a = 0;
    int rc = 0;
    for (uint16_t port = 41000; port <= 41001 && !rc; port++) {
        double ms;
        uint32_t ts;
        int fd = dial(e, tap, LAB_CLIENT_IP, port, &ms, &ts);
        if (fd < 0)
            rc = -1;
        else
            server_closes(e, lfd, fd, false);
        ts_a = ts_a ? ts_a : ts;
    }
    if (rc || !ts_a) {
        snprintf(e->err, sizeof e->err, "no SYN timestamp seen from %s", LAB_CLIENT_IP);
        wire_close(e, tap);
        wire_close(e, lfd);
        return -1;
    }
    lab_watch(e, 1100, 100); /* conntrack forgets .1's connections */
    struct lab_attempt other, same;
    const char *ip = "198.18.0.3";
    lab_mark(e, -1, "client .3 (NAT, other clock): new port, 41000");
    attempt(e, lfd, tap, ip, 41002, &other);
    attempt(e, lfd, tap, ip, 41000, &same);
    lab_sample(e);
    wire_close(e, tap);
    wire_close(e, lfd);
    long long recycle = 0;
    lab_step(e, "recycle", recycle_step, NULL, &recycle, 1);
    struct lab_clocks_obs o = {.ip_a = LAB_CLIENT_IP, .ip_b = ip, .tsval_a = ts_a,
                               .other = other, .same = same,
                               .recycle = recycle == 1};
    lab_judge_tw_reuse_clocks(r, &o);
    return 0;
}

void lab_judge_tw_reuse_clocks(struct lab_result *r, const struct lab_clocks_obs *o)
{
    const struct lab_attempt *other = &o->other, *same = &o->same;
    int32_t skew = (int32_t)(same->tsval - o->tsval_a);
    lab_measured(r, "timestamp clocks behind one NAT address: %s's SYN TSval %u, %s's %u: %d ms "
                 "%s", o->ip_a, o->tsval_a, o->ip_b, same->tsval, skew < 0 ? -skew : skew,
                 skew < 0 ? "behind" : "ahead");
    lab_value(r, "clock_skew", skew, "ms");
    says(r, "the other client from a port with no server TIME_WAIT", other, "new_port");
    says(r, "the other client from 41000, the 4-tuple of a server TIME_WAIT", same, "same_tuple");
    lab_measured(r, "tcp_tw_recycle: %s", o->recycle ? "present" : "absent (removed in Linux 4.12)");
    lab_value(r, "tw_recycle_present", o->recycle, "events");
    lab_expect(r, !other->err && !other->paws, "a client with another clock was refused on a new "
               "port (%s, PAWS +%lld)", strerror(other->err), other->paws);
    lab_expect(r, !same->err, "on the TIME_WAIT's 4-tuple connect() failed: %s",
               strerror(same->err));
    lab_expect(r, skew >= 0 || same->paws >= 1, "a SYN %d ms behind the TIME_WAIT's timestamp was "
               "not counted by PAWSTimewait", -skew);
    lab_expect(r, !o->recycle, "tcp_tw_recycle exists on this kernel");
}
