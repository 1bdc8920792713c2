/* SPDX-License-Identifier: MIT */
/* One snapshot per network namespace (snapshot/multi.c), live: every
 * namespace of the host as root, or, not root, this process's own (taken
 * without setns) and the others refused with their reason. A child holds
 * a listener on 127.0.0.1 (the walk of /proc skips the process that walks)
 * and a socket no process has an fd of waits in flight in a unix socket's
 * queue: the home namespace's snapshot shows the listener owned by the
 * child and gives the ownerless one a second look (alive: not gone). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snapshot/multi.h"
#include "test.h"

static int listener(uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

/* Sends fd over a unix socket pair and closes it here: the socket lives on
 * in the pair's queue, owned by no process's fd table. */
static bool hide_in_flight(int fd, int pair[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
        return false;
    char byte = 0, ctl[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {&byte, 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = sizeof ctl};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    bool ok = sendmsg(pair[0], &mh, 0) == 1;
    close(fd);
    return ok;
}

/* A child that keeps the fds it inherited until release is closed. */
static pid_t holder(int *release)
{
    int hold[2];
    if (pipe(hold) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(hold[1]);
        while (read(hold[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(hold[0]);
    *release = hold[1];
    return pid;
}

static const struct tcp_sock *find_listener(const struct snapshot *s, uint16_t port)
{
    for (size_t i = 0; i < s->nsocks; i++)
        if (s->socks[i].state == TS_LISTEN && s->socks[i].sport == port)
            return &s->socks[i];
    return NULL;
}

static const struct ns_snapshot *home_of(const struct multi_snapshot *m)
{
    struct stat st;
    if (stat("/proc/self/ns/net", &st) < 0)
        return NULL;
    for (size_t i = 0; i < m->list.n; i++)
        if (m->items[i].ns->inode == (uint64_t)st.st_ino)
            return &m->items[i];
    return NULL;
}

TEST(every_namespace_taken_or_refused_with_a_reason)
{
    uint16_t port, hidden_port;
    int lfd = listener(&port), pair[2] = {-1, -1};
    int hidden = listener(&hidden_port);
    CHECK(lfd >= 0 && hidden >= 0);
    CHECK(hide_in_flight(hidden, pair));
    int release = -1;
    pid_t child = holder(&release);
    CHECK(child > 0);
    struct multi_snapshot m;
    struct snapshot_opts o = {.owners = true, .model_states = 1u << TS_LISTEN};
    char err[256] = "";
    int rc = multi_snapshot_take(&m, &o, err, sizeof err);
    if (rc < 0)
        printf("# %s\n", err);
    close(release);
    waitpid(child, NULL, 0);
    close(lfd);
    close(pair[0]);
    close(pair[1]);
    CHECK_EQ_INT(rc, 0);
    bool ok = m.list.n >= 1 && m.took_ms > 0;
    for (size_t i = 0; i < m.list.n && ok; i++) {
        ok = m.items[i].ns == &m.list.items[i] && (m.items[i].ok || m.items[i].error[0]);
        if (!ok)
            printf("# namespace %zu: neither taken nor refused\n", i);
    }
    const struct ns_snapshot *home = home_of(&m);
    const struct tcp_sock *l = home && home->ok ? find_listener(&home->snap, port) : NULL;
    const struct tcp_sock *h = home && home->ok ? find_listener(&home->snap, hidden_port) : NULL;
    const struct fd_ref *r = NULL;
    size_t owners = l ? snapshot_owners(&home->snap, l->inode, &r) : 0;
    pid_t owner = owners ? r->pid : 0;
    size_t hidden_owners = h ? snapshot_owners(&home->snap, h->inode, &r) : 9;
    ok = ok && home && home->ok && home->snap.owners_read && l && owners == 1 && owner == child && h &&
         hidden_owners == 0 && !snapshot_sock_gone(&home->snap, h);
    if (!ok)
        printf("# home %s, listener %s (%zu owners), hidden %s (%zu owners)\n",
               home ? (home->ok ? "taken" : home->error) : "missing", l ? "found" : "missing",
               owners, h ? "found" : "missing", hidden_owners);
    multi_snapshot_free(&m);
    CHECK(ok);
    CHECK(m.items == NULL);
}
