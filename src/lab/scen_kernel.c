/* SPDX-License-Identifier: MIT */
/* Kernel facts: ephemeral ports and tcp_tw_reuse, tcp_max_tw_buckets, the
 * lost last ACK, the TIME_WAIT length vs tcp_fin_timeout, tcp_tw_reuse on a
 * server. Timers are read from the socket table instead of waited out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lab/judge.h"
#include "lab/scenarios.h"
#include "lab/wire.h"

#define WIRE_PORT 9000

/* closer load from the client; EADDRNOTAVAIL and requests from its JSON. */
static void load_counts(struct lab_env *e, const char *const args[], struct lab_load_counts *c)
{
    char out[16384];
    c->rc = lab_load(e, args, out, sizeof out);
    c->requests = (long)lab_json_num(out, "requests");
    c->eaddrnotavail = (long)lab_json_num(out, "eaddrnotavail");
}

static void ports_reuse0(struct lab_result *r, const struct lab_load_counts *c)
{
    long req = c->requests, noaddr = c->eaddrnotavail;
    lab_measured(r, "10 ephemeral ports, tcp_tw_reuse=0, a new connection per request to :8080 "
                 "at 10/s for 2 s: %ld requests ok, %ld EADDRNOTAVAIL (load exit %d)", req,
                 noaddr, c->rc);
    lab_value(r, "tw_reuse0_requests_ok", (double)req, "requests");
    lab_value(r, "tw_reuse0_eaddrnotavail", (double)noaddr, "errors");
    lab_expect(r, noaddr > 0, "no EADDRNOTAVAIL with 10 ports and %ld connections", req);
    lab_expect(r, req > 0 && req <= 10, "%ld requests succeeded, expected at most 10 (ports)", req);
}

static void ports_other(struct lab_result *r, const struct lab_load_counts *c)
{
    long req = c->requests, noaddr = c->eaddrnotavail;
    lab_measured(r, "same client, tcp_tw_reuse=0, 8 connections to :8081 (another 4-tuple): "
                 "%ld ok, %ld EADDRNOTAVAIL", req, noaddr);
    lab_value(r, "other_port_requests_ok", (double)req, "requests");
    lab_value(r, "other_port_eaddrnotavail", (double)noaddr, "errors");
    lab_expect(r, req == 8 && noaddr == 0, "to the second port: %ld ok, %ld EADDRNOTAVAIL", req,
               noaddr);
}

static void ports_reuse1(struct lab_result *r, const struct lab_load_counts *c)
{
    long req = c->requests, noaddr = c->eaddrnotavail;
    lab_measured(r, "tcp_tw_reuse=1 (timestamps on), :8080 again at 5/s for 3 s: %ld ok, %ld "
                 "EADDRNOTAVAIL", req, noaddr);
    lab_value(r, "tw_reuse1_requests_ok", (double)req, "requests");
    lab_value(r, "tw_reuse1_eaddrnotavail", (double)noaddr, "errors");
    lab_expect(r, req >= 10 && noaddr == 0, "with tcp_tw_reuse=1: %ld ok, %ld EADDRNOTAVAIL", req,
               noaddr);
}

void lab_judge_port_exhaustion(struct lab_result *r, int step, const struct lab_load_counts *c)
{
    if (step == 0)
        ports_reuse0(r, c);
    else if (step == 1)
        ports_other(r, c);
    else
        ports_reuse1(r, c);
}

int lab_sc_port_exhaustion(struct lab_env *e, struct lab_result *r)
{
    const char *serve[] = {"--listen", LAB_SERVER_IP ":8081", NULL};
    if (lab_sysctl(e, LAB_CLIENT, "net/ipv4/ip_local_port_range", "40000 40009") < 0 ||
        lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_tw_reuse", "0") < 0 ||
        lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_timestamps", "1") < 0)
        return -1;
    if (lab_serve(e, r, serve) < 0)
        return 0;
    struct lab_load_counts c;
    const char *a[] = {LAB_URL, "--keepalive", "off", "--rate", "10", "-d", "2s", "-c", "1", NULL};
    load_counts(e, a, &c);
    lab_watch(e, 200, 100);
    lab_judge_port_exhaustion(r, 0, &c);
    const char *o[] = {"http://" LAB_SERVER_IP ":8081/", "--keepalive", "off", "-n", "8", "-c",
                       "1", NULL};
    load_counts(e, o, &c);
    lab_judge_port_exhaustion(r, 1, &c);
    if (lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_tw_reuse", "1") < 0)
        return -1;
    const char *b[] = {LAB_URL, "--keepalive", "off", "--rate", "5", "-d", "3s", "-c", "1", NULL};
    load_counts(e, b, &c);
    lab_watch(e, 200, 100);
    lab_judge_port_exhaustion(r, 2, &c);
    return 0;
}

int lab_sc_tw_buckets(struct lab_env *e, struct lab_result *r)
{
    if (lab_sysctl(e, LAB_SERVER, "net/ipv4/tcp_max_tw_buckets", "5") < 0)
        return -1;
    if (lab_serve(e, r, NULL) < 0)
        return 0;
    long long over0 = lab_counter(e, LAB_SERVER, "TcpExt", "TCPTimeWaitOverflow");
    char out[16384] = "";
    const char *a[] = {LAB_URL, "-n", "30", "-c", "1", "--close-header", NULL};
    int rc = lab_load(e, a, out, sizeof out);
    lab_watch(e, 300, 100);
    long conns = (long)lab_json_num(out, "connections_opened");
    long long over = lab_counter(e, LAB_SERVER, "TcpExt", "TCPTimeWaitOverflow") - over0;
    struct lab_count tw;
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &tw) < 0)
        return -1;
    struct lab_buckets_obs o = {.load_rc = rc, .conns = conns, .server_tw = tw.n,
                                .overflow_added = over};
    lab_judge_tw_buckets(r, &o);
    return 0;
}

void lab_judge_tw_buckets(struct lab_result *r, const struct lab_buckets_obs *o)
{
    lab_measured(r, "tcp_max_tw_buckets=5 on the server, %ld server-closed connections (load "
                 "exit %d)", o->conns, o->load_rc);
    lab_measured(r, "server TIME_WAIT %ld, TCPTimeWaitOverflow +%lld", o->server_tw,
                 o->overflow_added);
    lab_value(r, "server_closed_connections", (double)o->conns, "connections");
    lab_value(r, "server_time_wait", (double)o->server_tw, "sockets");
    lab_value(r, "tcp_time_wait_overflow_added", (double)o->overflow_added, "sockets");
    lab_expect(r, o->server_tw == 5, "server TIME_WAIT %ld, expected the cap (5)", o->server_tw);
    lab_expect(r, o->overflow_added == o->conns - 5, "TCPTimeWaitOverflow +%lld, expected %ld",
               o->overflow_added, o->conns - 5);
}

/* Client closes first, server half-closes after the client's FIN: the
 * server is the passive closer in LAST_ACK. Returns the server fd. */
static int passive_close(struct lab_env *e, int lfd)
{
    int cfd = wire_connect(e, LAB_CLIENT, LAB_SERVER_IP, WIRE_PORT);
    if (cfd < 0)
        return -1;
    int sfd = wire_accept(e, lfd);
    if (sfd < 0 || wire_drop_acks(e, WIRE_PORT, true) < 0) {
        if (sfd >= 0)
            wire_close(e, sfd);
        wire_close(e, cfd);
        return -1;
    }
    lab_nap(e, 100);
    wire_close(e, cfd);
    if (wire_wait_end(e, sfd, 2000) != 0)
        snprintf(e->err, sizeof e->err, "no FIN from the client");
    wire_shutdown(e, sfd);
    return sfd;
}

void lab_judge_last_ack_with_tw(struct lab_result *r, const struct lab_last_ack_obs *o)
{
    const struct lab_count *la = &o->server_last_ack, *tw = &o->client_tw;
    lab_measured(r, "client ACKs to :%d dropped by nftables in the client namespace",
                 WIRE_PORT);
    lab_measured(r, "with TIME_WAIT: server LAST_ACK %ld (FIN retransmitted %u times in 1.5 s), "
                 "client TIME_WAIT %ld, client ACKs dropped %ld (the last ACK and the answers "
                 "to retransmitted FINs)", la->n, la->retrans_max, tw->n, o->acks_dropped);
    lab_value(r, "server_last_ack", (double)la->n, "sockets");
    lab_value(r, "server_fin_retransmits", (double)la->retrans_max, "segments");
    lab_value(r, "client_time_wait", (double)tw->n, "sockets");
    lab_value(r, "client_acks_dropped", (double)o->acks_dropped, "packets");
    lab_expect(r, la->n == 1 && la->retrans_max >= 1, "server LAST_ACK %ld retrans %u, expected "
               "1 retransmitting", la->n, la->retrans_max);
    lab_expect(r, tw->n == 1 && o->acks_dropped >= 2, "client TIME_WAIT %ld and %ld answered "
               "FINs, expected 1 and >= 2", tw->n, o->acks_dropped);
}

void lab_judge_last_ack_without_tw(struct lab_result *r, const struct lab_last_ack_obs *o)
{
    lab_measured(r, "without TIME_WAIT (client tcp_max_tw_buckets=0): the retransmitted FIN got "
                 "%lld RST from the client; the server socket's error: %s", o->client_rsts,
                 o->server_error ? strerror(o->server_error) : "none");
    lab_value(r, "no_time_wait_client_rsts", (double)o->client_rsts, "segments");
    lab_expect(r, o->server_error == ECONNRESET, "server socket error %d, expected ECONNRESET",
               o->server_error);
    lab_expect(r, o->client_rsts >= 1, "client sent %lld RST, expected >= 1", o->client_rsts);
}

int lab_sc_lost_last_ack(struct lab_env *e, struct lab_result *r)
{
    int lfd = wire_listen(e, LAB_SERVER, LAB_SERVER_IP, WIRE_PORT);
    if (lfd < 0)
        return -1;
    int rc = -1, s1 = -1, s2 = -1;
    lab_setup_engine(e, "lab socket engine: listener %s:%d in the server; the client connects, "
                   "closes first; the server reads EOF and shutdown(SHUT_WR)s, keeping its fd",
                   LAB_SERVER_IP, WIRE_PORT);
    lab_setup_note(e, "after each handshake: nft rule 'tcp dport %d tcp flags == ack counter "
                   "drop' on the client's output", WIRE_PORT);
    if ((s1 = passive_close(e, lfd)) < 0)
        goto out;
    lab_watch(e, 1500, 100);
    struct lab_last_ack_obs o = {0};
    if (lab_count(e, LAB_SERVER, TS_LAST_ACK, WIRE_PORT, &o.server_last_ack) < 0 ||
        lab_count(e, LAB_CLIENT, TS_TIME_WAIT, WIRE_PORT, &o.client_tw) < 0)
        goto out;
    o.acks_dropped = wire_dropped_acks(e);
    lab_judge_last_ack_with_tw(r, &o);
    if (lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_max_tw_buckets", "0") < 0)
        goto out;
    long long rsts0 = lab_counter(e, LAB_CLIENT, "Tcp", "OutRsts");
    if (wire_drop_acks(e, WIRE_PORT, false) < 0 || (s2 = passive_close(e, lfd)) < 0)
        goto out;
    int err = 0;
    for (int i = 0; i < 50 && !(err = wire_error(e, s2)); i++)
        lab_watch(e, 100, 100);
    o.client_rsts = lab_counter(e, LAB_CLIENT, "Tcp", "OutRsts") - rsts0;
    o.server_error = err;
    lab_judge_last_ack_without_tw(r, &o);
    rc = 0;
out:
    if (s1 >= 0)
        wire_close(e, s1);
    if (s2 >= 0)
        wire_close(e, s2);
    wire_close(e, lfd);
    return rc;
}

int lab_sc_tw_length(struct lab_env *e, struct lab_result *r)
{
    if (lab_sysctl(e, LAB_SERVER, "net/ipv4/tcp_fin_timeout", "5") < 0 ||
        lab_sysctl(e, LAB_CLIENT, "net/ipv4/tcp_fin_timeout", "5") < 0)
        return -1;
    if (lab_serve(e, r, NULL) < 0)
        return 0;
    char out[16384] = "";
    const char *a[] = {LAB_URL, "-n", "3", "-c", "1", "--close-header", NULL};
    lab_load(e, a, out, sizeof out);
    lab_setup_engine(e, "lab socket engine: listener %s:%d in the server, one client "
                   "connection accepted and never closed by the server; the client close()s "
                   "(an orphan in FIN_WAIT_2)", LAB_SERVER_IP, WIRE_PORT);
    int lfd = wire_listen(e, LAB_SERVER, LAB_SERVER_IP, WIRE_PORT);
    if (lfd < 0)
        return -1;
    int cfd = wire_connect(e, LAB_CLIENT, LAB_SERVER_IP, WIRE_PORT);
    int sfd = cfd >= 0 ? wire_accept(e, lfd) : -1;
    if (cfd >= 0)
        wire_close(e, cfd); /* orphaned: the server never closes, FIN_WAIT_2 */
    lab_watch(e, 200, 100);
    struct lab_tw_length_obs o;
    int rc = -1;
    if (sfd < 0 || lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &o.tw) < 0 ||
        lab_count(e, LAB_CLIENT, TS_FIN_WAIT2, WIRE_PORT, &o.fin_wait2) < 0)
        goto out;
    lab_watch(e, 6000, 200);
    if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &o.tw_later) < 0 ||
        lab_count(e, LAB_CLIENT, TS_FIN_WAIT2, WIRE_PORT, &o.fin_wait2_later) < 0)
        goto out;
    lab_judge_tw_length(r, &o);
    rc = 0;
out:
    if (sfd >= 0)
        wire_close(e, sfd);
    wire_close(e, lfd);
    return rc;
}

void lab_judge_tw_length(struct lab_result *r, const struct lab_tw_length_obs *o)
{
    const struct lab_count *tw = &o->tw, *fw2 = &o->fin_wait2, *tw_after = &o->tw_later,
                           *fw2_after = &o->fin_wait2_later;
    lab_measured(r, "tcp_fin_timeout=5 in both namespaces");
    lab_measured(r, "server TIME_WAIT: %ld, timers %.1f..%.1f s left just after the close",
                 tw->n, tw->exp_min / 1e3, tw->exp_max / 1e3);
    lab_measured(r, "orphaned client FIN_WAIT_2: %ld, timer %.1f s left", fw2->n,
                 fw2->exp_max / 1e3);
    lab_measured(r, "6 s later: TIME_WAIT %ld (timers %.1f..%.1f s left), orphaned FIN_WAIT_2 %ld",
                 tw_after->n, tw_after->exp_min / 1e3, tw_after->exp_max / 1e3, fw2_after->n);
    lab_value(r, "server_time_wait", (double)tw->n, "sockets");
    lab_value(r, "server_time_wait_timer_min", tw->exp_min / 1e3, "s");
    lab_value(r, "server_time_wait_timer_max", tw->exp_max / 1e3, "s");
    lab_value(r, "client_orphan_fin_wait2", (double)fw2->n, "sockets");
    lab_value(r, "client_orphan_fin_wait2_timer", fw2->exp_max / 1e3, "s");
    lab_value(r, "later_server_time_wait", (double)tw_after->n, "sockets");
    lab_value(r, "later_server_time_wait_timer_min", tw_after->exp_min / 1e3, "s");
    lab_value(r, "later_client_orphan_fin_wait2", (double)fw2_after->n, "sockets");
    lab_expect(r, tw->n == 3 && tw->exp_min > 50000 && tw->exp_max <= 60000,
               "TIME_WAIT timers %u..%u ms, expected near 60 s", tw->exp_min, tw->exp_max);
    lab_expect(r, tw_after->n == 3, "TIME_WAIT gone after 6 s (%ld left)", tw_after->n);
    lab_expect(r, fw2->n == 1 && fw2->exp_max <= 5000, "orphan FIN_WAIT_2 %ld with %u ms left, "
               "expected 1 with <= 5 s", fw2->n, fw2->exp_max);
    lab_expect(r, fw2_after->n == 0, "orphan FIN_WAIT_2 still there after 6 s");
}

int lab_sc_tw_reuse_server(struct lab_env *e, struct lab_result *r)
{
    if (lab_sysctl(e, LAB_SERVER, "net/ipv4/tcp_tw_reuse", "0") < 0)
        return -1;
    if (lab_serve(e, r, NULL) < 0)
        return 0;
    char out[16384] = "";
    const char *a[] = {LAB_URL, "-n", "100", "-c", "2", "--close-header", NULL};
    long made[2], conns[2], before = 0;
    for (int i = 0; i < 2; i++) {
        if (i && lab_sysctl(e, LAB_SERVER, "net/ipv4/tcp_tw_reuse", "1") < 0)
            return -1;
        int rc = lab_load(e, a, out, sizeof out);
        lab_watch(e, 300, 100);
        conns[i] = (long)lab_json_num(out, "connections_opened");
        struct lab_count tw;
        if (lab_count(e, LAB_SERVER, TS_TIME_WAIT, LAB_PORT, &tw) < 0)
            return -1;
        made[i] = tw.n - before;
        before = tw.n;
        lab_judge_tw_reuse_server(r, i, conns[i], made[i], rc);
    }
    return 0;
}

void lab_judge_tw_reuse_server(struct lab_result *r, int reuse, long conns, long made,
                               int load_rc)
{
    lab_measured(r, "server tcp_tw_reuse=%d: %ld server-closed connections -> %ld new server "
                 "TIME_WAIT (load exit %d)", reuse, conns, made, load_rc);
    char vname[48];
    snprintf(vname, sizeof vname, "tw_reuse%d_server_closed_connections", reuse);
    lab_value(r, vname, (double)conns, "connections");
    snprintf(vname, sizeof vname, "tw_reuse%d_new_server_time_wait", reuse);
    lab_value(r, vname, (double)made, "sockets");
    lab_expect(r, made == conns, "tcp_tw_reuse=%d: %ld TIME_WAIT for %ld connections", reuse,
               made, conns);
}
