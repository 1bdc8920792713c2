/* SPDX-License-Identifier: MIT */
/* Looking again for the program behind a client TIME_WAIT pile
 * (snapshot/lookagain.c), live over loopback without root: a hand-built
 * snapshot holds the pile (TIME_WAIT from ephemeral ports to a listener of
 * this process), a child holds three open connections to the same
 * destination (the look never walks the process that looks), and the look
 * names the child with them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/procfd.h"
#include "snapshot/evidence_take.h"
#include "snapshot/snapshot.h"
#include "test.h"

static struct snapshot snap;
static struct tcp_sock socks[16];
static struct fd_ref refs[2];

static struct tcp_sock *add(int state, uint16_t sport, uint16_t dport)
{
    struct tcp_sock *t = &socks[snap.nsocks++];
    memset(t, 0, sizeof *t);
    t->family = AF_INET;
    t->state = (uint8_t)state;
    t->src[0] = 127, t->src[3] = 1;
    t->dst[0] = 127, t->dst[3] = 1;
    t->sport = sport;
    t->dport = dport;
    return t;
}

static int listener(uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static int dial(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Piles: 3 TIME_WAIT to busy (the program holds connections there now),
 * 2 to small (below the minimum), 3 to owned (an owned connection in use
 * names its program already: no look). */
static void build(uint16_t busy, uint16_t small, uint16_t owned)
{
    memset(&snap, 0, sizeof snap);
    snap.socks = socks;
    snap.sys.port_lo = 32768;
    snap.sys.port_hi = 60999;
    for (uint16_t i = 0; i < 3; i++)
        add(TS_TIME_WAIT, (uint16_t)(40001 + i), busy);
    for (uint16_t i = 0; i < 2; i++)
        add(TS_TIME_WAIT, (uint16_t)(40101 + i), small);
    for (uint16_t i = 0; i < 3; i++)
        add(TS_TIME_WAIT, (uint16_t)(40201 + i), owned);
    add(TS_ESTABLISHED, 40301, owned)->inode = 0xFFFFFF01u;
    add(TS_TIME_WAIT, 1234, busy); /* not from an ephemeral port: not a client's */
    refs[0] = (struct fd_ref){.inode = 0xFFFFFF01u, .pid = 1, .fd = 3};
    snap.fds = refs;
    snap.nfds = 1;
    snapshot_reindex(&snap);
}

/* A child that connects three times to port, says so on ready, and
 * holds the connections until release is closed. */
static pid_t holder(uint16_t port, int *release)
{
    int ready[2], hold[2];
    if (pipe(ready) < 0 || pipe(hold) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        int ok = 1;
        for (int i = 0; i < 3; i++)
            ok &= dial(port) >= 0;
        char c = ok ? 'y' : 'n';
        if (write(ready[1], &c, 1) == 1)
            while (read(hold[0], &c, 1) > 0)
                ;
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char c = 0;
    if (pid < 0 || read(ready[0], &c, 1) != 1 || c != 'y') {
        close(ready[0]);
        close(hold[1]);
        return -1;
    }
    close(ready[0]);
    *release = hold[1];
    return pid;
}

/* The look walks at most 256 processes of the namespace (the first that
 * /proc lists): on a crowded host the child may not be one of them. */
static bool among_looked_at(pid_t pid)
{
    pid_t pids[256];
    size_t n = procfd_netns_pids("/proc", pids, 256);
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

TEST(look_names_the_program_holding_connections_to_a_pile)
{
    uint16_t busy, small = 9, owned = 10;
    int lfd = listener(&busy), release = -1;
    CHECK(lfd >= 0);
    pid_t child = holder(busy, &release);
    CHECK(child > 0);
    if (!among_looked_at(child)) {
        close(release);
        waitpid(child, NULL, 0);
        close(lfd);
        printf("# SKIP: over 256 processes share this namespace; the child is not looked at\n");
        return;
    }
    build(busy, small, owned);
    int rc0 = evidence__dest_looks(&snap, 0); /* 0: never look */
    int rc = evidence__dest_looks(&snap, 3);
    close(release);
    waitpid(child, NULL, 0);
    close(lfd);
    CHECK_EQ_INT(rc0, 0);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(snap.ndest_owners, 1);
    const struct dest_owner *d = snapshot_dest_owner(&snap, AF_INET, socks[0].dst, busy);
    CHECK(d != NULL);
    CHECK_EQ_INT(d->pid, child);
    CHECK_EQ_INT(d->sockets, 3);
    CHECK(d->looks >= 1);
    CHECK_EQ_INT(snap.procs[d->proc].pid, child); /* adopted, with its model */
    CHECK(snap.procs[d->proc].model.read);
    CHECK(!snapshot_dest_owner(&snap, AF_INET, socks[0].dst, small));
    CHECK(!snapshot_dest_owner(&snap, AF_INET, socks[0].dst, owned));
    free(snap.procs);
    free(snap.dest_owners);
}

/* Nothing holds a connection there during the look: nobody is named. */
TEST(look_names_nobody_when_nothing_connects)
{
    uint16_t port;
    int lfd = listener(&port);
    CHECK(lfd >= 0);
    close(lfd); /* the port is free: nothing can be connected to it */
    build(port, 9, 10);
    CHECK_EQ_INT(evidence__dest_looks(&snap, 3), 0);
    CHECK_EQ_INT(snap.ndest_owners, 0);
    free(snap.procs);
    free(snap.dest_owners);
}
