/* SPDX-License-Identifier: MIT */
/* Snapshot evidence on hand-built snapshots: tcp_info lookup by socket,
 * connection direction, the --confirm comparison, the peer index. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/evidence_take.h"
#include "snapshot/peers.h"
#include "snapshot/snapshot.h"
#include "test.h"

static struct snapshot snap;
static struct tcp_sock socks[16];

static struct tcp_sock *add(int state, uint8_t src_last, uint16_t sport, uint8_t dst_last,
                            uint16_t dport)
{
    struct tcp_sock *t = &socks[snap.nsocks++];
    memset(t, 0, sizeof *t);
    t->family = AF_INET;
    t->state = (uint8_t)state;
    t->src[0] = 127, t->src[3] = src_last;
    t->dst[0] = 127, t->dst[3] = dst_last;
    t->sport = sport;
    t->dport = dport;
    return t;
}

static void reset(void)
{
    memset(&snap, 0, sizeof snap);
    snap.socks = socks;
    snap.sys.port_lo = 32768;
    snap.sys.port_hi = 60999;
}

TEST(direction_by_listener_and_port_range)
{
    reset();
    add(TS_LISTEN, 1, 8080, 0, 0);
    const struct tcp_sock *srv = add(TS_ESTABLISHED, 1, 8080, 1, 40000);
    const struct tcp_sock *cli = add(TS_ESTABLISHED, 1, 40000, 1, 8080);
    /* listener gone: fixed port to an ephemeral peer is still accepted */
    const struct tcp_sock *old = add(TS_CLOSE_WAIT, 1, 9000, 2, 45000);
    /* both ports fixed: this host connected */
    const struct tcp_sock *out = add(TS_CLOSE_WAIT, 1, 5000, 2, 6379);
    snapshot_reindex(&snap);
    CHECK_EQ_INT(snapshot_conn_direction(&snap, srv), CONN_ACCEPTED);
    CHECK_EQ_INT(snapshot_conn_direction(&snap, cli), CONN_OUTGOING);
    CHECK_EQ_INT(snapshot_conn_direction(&snap, old), CONN_ACCEPTED);
    CHECK_EQ_INT(snapshot_conn_direction(&snap, out), CONN_OUTGOING);
    CHECK(!strcmp(conn_direction_name(CONN_ACCEPTED), "accepted"));
}

TEST(activity_found_only_where_recorded)
{
    reset();
    add(TS_TIME_WAIT, 1, 80, 2, 40000);
    add(TS_CLOSE_WAIT, 1, 80, 2, 40001);
    add(TS_ESTABLISHED, 1, 80, 2, 40002);
    struct sock_activity acts[] = {{1, {.last_data_recv_ms = 5000}}, {2, {.data_segs_in = 3}}};
    snap.acts = acts;
    snap.nacts = 2;
    CHECK(snapshot_activity(&snap, &socks[0]) == NULL);
    CHECK_EQ_INT(snapshot_activity(&snap, &socks[1])->last_data_recv_ms, 5000);
    CHECK_EQ_INT(snapshot_activity(&snap, &socks[2])->data_segs_in, 3);
    struct tcp_sock stranger = socks[1];
    CHECK(snapshot_activity(&snap, &stranger) == NULL); /* not in the array */
}

TEST(confirm_keeps_what_was_there_before)
{
    static struct tcp_sock early_socks[4];
    struct snapshot early = {.socks = early_socks};
    early_socks[0] = (struct tcp_sock){.state = TS_CLOSE_WAIT, .inode = 11};
    early_socks[1] = (struct tcp_sock){.state = TS_CLOSE_WAIT, .inode = 12};
    early_socks[2] = (struct tcp_sock){.state = TS_CLOSE_WAIT, .inode = 0, .sport = 80, .dport = 4000};
    early.nsocks = 3;
    reset();
    struct tcp_sock *a = add(TS_CLOSE_WAIT, 0, 0, 0, 0);
    a->inode = 12;
    struct tcp_sock *b = add(TS_CLOSE_WAIT, 0, 0, 0, 0);
    b->inode = 13;
    struct tcp_sock *q = add(TS_CLOSE_WAIT, 0, 80, 0, 4000);
    memcpy(q->src, early_socks[2].src, 16);
    CHECK(snapshot_cw_persisted(&snap, b)); /* no second look: everything counts */
    CHECK_EQ_INT(snapshot_confirm(&snap, &early, 1.0), 0);
    CHECK(snapshot_cw_persisted(&snap, a));
    CHECK(!snapshot_cw_persisted(&snap, b));
    q->src[0] = 0, q->dst[0] = 0;
    CHECK(snapshot_cw_persisted(&snap, q)); /* inode 0: matched by addresses */
    CHECK_EQ_INT(snap.ncw_before, 3);
    free(snap.cw_before);
}

TEST(peer_of_a_close_wait_is_its_fin_wait2)
{
    reset();
    const struct tcp_sock *cw = add(TS_CLOSE_WAIT, 1, 8080, 2, 40000);
    add(TS_ESTABLISHED, 2, 40001, 1, 8080);
    const struct tcp_sock *fw2 = add(TS_FIN_WAIT2, 2, 40000, 1, 8080);
    const struct tcp_sock *lonely = add(TS_CLOSE_WAIT, 1, 8080, 3, 40000);
    /* the v6 end of a v4-mapped connection */
    struct tcp_sock *cw6 = add(TS_CLOSE_WAIT, 0, 9090, 0, 41000);
    cw6->family = AF_INET6;
    memset(cw6->src, 0, 16), memset(cw6->dst, 0, 16);
    cw6->src[10] = cw6->src[11] = 0xff, cw6->src[12] = 127, cw6->src[15] = 1;
    cw6->dst[10] = cw6->dst[11] = 0xff, cw6->dst[12] = 127, cw6->dst[15] = 2;
    const struct tcp_sock *fw2v4 = add(TS_FIN_WAIT2, 2, 41000, 1, 9090);
    struct peer_index ix;
    CHECK_EQ_INT(peers_build(&ix, &snap, 1u << TS_FIN_WAIT2), 0);
    CHECK(peers_find(&ix, &snap, cw) == fw2);
    CHECK(peers_find(&ix, &snap, lonely) == NULL);
    CHECK(peers_find(&ix, &snap, cw6) == fw2v4);
    peers_free(&ix);
}

/* --- what snapshot_take adds after the /proc walk (evidence_take.h) --- */

/* Sockets with no owner, under inodes no live socket has: the second look
 * finds them gone (closed between the dump and the walk), from the
 * sock_diag dump and from /proc/net/tcp alike; a live listener of this
 * test, ownerless here too, is still there. TIME_WAIT, inode 0 and owned
 * sockets are never looked up. */
static void second_look_finds_gone(enum snap_source src, uint64_t live_inode, size_t *ngone)
{
    reset();
    add(TS_LISTEN, 1, 1, 0, 0)->inode = live_inode;
    static struct fd_ref owned[1];
    add(TS_ESTABLISHED, 1, 40000, 2, 80)->inode = 0xFFFFFFF1u;
    add(TS_CLOSE_WAIT, 1, 80, 2, 40001)->inode = 0xFFFFFFF0u;
    add(TS_ESTABLISHED, 1, 40002, 2, 80)->inode = 0xFFFFFFF2u; /* owned */
    add(TS_TIME_WAIT, 1, 40003, 2, 80)->inode = 0xFFFFFFF3u;
    add(TS_ESTABLISHED, 1, 40004, 2, 80); /* inode 0: an accept queue */
    owned[0] = (struct fd_ref){.inode = 0xFFFFFFF2u, .pid = 1, .fd = 3};
    snap.fds = owned;
    snap.nfds = 1;
    snap.source = src;
    *ngone = evidence__second_look(&snap) == 0 ? snap.ngone : 999;
}

TEST(second_look_names_sockets_closed_meanwhile)
{
    static const enum snap_source sources[] = {SNAP_NETLINK, SNAP_PROC};
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct stat st;
    CHECK(lfd >= 0 && listen(lfd, 1) == 0 && fstat(lfd, &st) == 0);
    for (size_t k = 0; k < 2; k++) {
        size_t ngone;
        second_look_finds_gone(sources[k], (uint64_t)st.st_ino, &ngone);
        CHECK_EQ_INT(ngone, 2);
        CHECK_EQ_INT(snap.gone[0], 0xFFFFFFF0u); /* sorted */
        CHECK(!snapshot_sock_gone(&snap, &socks[0])); /* alive */
        CHECK(snapshot_sock_gone(&snap, &socks[1]));
        CHECK(snapshot_sock_gone(&snap, &socks[2]));
        CHECK(!snapshot_sock_gone(&snap, &socks[3]));
        CHECK(!snapshot_sock_gone(&snap, &socks[4]));
        free(snap.gone);
        snap.gone = NULL;
    }
    close(lfd);
    /* Nothing ownerless: no dump at all. */
    reset();
    add(TS_TIME_WAIT, 1, 40003, 2, 80)->inode = 9;
    CHECK_EQ_INT(evidence__second_look(&snap), 0);
    CHECK_EQ_INT(snap.ngone, 0);
}

/* The owners of CLOSE_WAIT sockets get their process model read from
 * /proc (this process: it exists); a process gone meanwhile keeps none. */
TEST(models_read_for_owners_of_the_asked_states)
{
    reset();
    static struct fd_ref refs[2];
    static struct proc_info procs[2];
    add(TS_CLOSE_WAIT, 1, 80, 2, 40001)->inode = 501;
    add(TS_CLOSE_WAIT, 1, 80, 2, 40002)->inode = 502;
    add(TS_ESTABLISHED, 1, 80, 2, 40003)->inode = 503;
    procs[0] = (struct proc_info){.pid = getpid(), .comm = "self"};
    procs[1] = (struct proc_info){.pid = 0x3ffffff0, .comm = "gone"}; /* past pid_max */
    refs[0] = (struct fd_ref){.inode = 501, .pid = getpid(), .fd = 3, .proc = 0};
    refs[1] = (struct fd_ref){.inode = 502, .pid = 0x3ffffff0, .fd = 3, .proc = 1};
    snap.fds = refs, snap.nfds = 2;
    snap.procs = procs, snap.nprocs = 2;
    evidence__read_models(&snap, 0); /* no states asked: nothing read */
    CHECK(!procs[0].model.read);
    evidence__read_models(&snap, 1u << TS_CLOSE_WAIT);
    CHECK(procs[0].model.read);
    CHECK(procs[0].model.nthreads >= 1);
    CHECK(!procs[1].model.read);
    CHECK(snapshot_model(&snap, 0) != NULL);
}

/* Refused processes get a reason in words and as a label; none, none. */
TEST(visibility_says_what_hides_processes)
{
    reset();
    evidence__visibility(&snap);
    CHECK_EQ_INT(snap.hidden_by, OWNERS_HIDDEN_NONE);
    CHECK_EQ_STR(snap.visibility_limit, "");
    snap.procs_denied = 3;
    evidence__visibility(&snap);
    CHECK(snap.hidden_by != OWNERS_HIDDEN_NONE);
    CHECK(strlen(snap.visibility_limit) > 20);
    /* Root with every capability in the initial user namespace was still
     * refused: only a security module does that. */
    if (geteuid() == 0 && snap.hidden_by != OWNERS_HIDDEN_USER_NAMESPACE)
        CHECK_EQ_INT(snap.hidden_by, OWNERS_HIDDEN_SECURITY_MODULE);
    CHECK_EQ_STR(owners_hidden_name(snap.hidden_by),
                 snap.hidden_by == OWNERS_HIDDEN_CAPABILITY       ? "capability"
                 : snap.hidden_by == OWNERS_HIDDEN_USER_NAMESPACE ? "user_namespace"
                                                                  : "security_module");
    CHECK_EQ_STR(owners_hidden_name(OWNERS_HIDDEN_NREASONS), "none");
}
