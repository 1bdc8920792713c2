/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "kernel/procfd.h"
#include "test.h"

TEST(parses_epoll_fdinfo)
{
    const char *text = "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n"
                       "tfd:        5 events:       19 data:                5  pos:0 ino:3f2a sdev:8\n"
                       "tfd:        7 events: 80000019 data:                7  pos:0 ino:10 sdev:8\n";
    uint64_t inos[4];
    CHECK_EQ_INT(procfd_parse_epoll_fdinfo(text, inos, 4), 2);
    CHECK_EQ_INT(inos[0], 0x3f2a);
    CHECK_EQ_INT(inos[1], 0x10);
    /* Counting beyond max still reports the total. */
    CHECK_EQ_INT(procfd_parse_epoll_fdinfo(text, inos, 1), 2);
}

TEST(empty_epoll_has_no_targets)
{
    uint64_t inos[1];
    CHECK_EQ_INT(procfd_parse_epoll_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t15\n", inos, 1), 0);
    CHECK_EQ_INT(procfd_parse_epoll_fdinfo("garbage", inos, 1), -1);
}

/* The live scan finds this process's own socket in another process: a
 * child holds a socket registered in its epoll set and one that is not. */
TEST(scan_sees_child_sockets_and_epoll)
{
    int sv[2], pipefd[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(pipe(pipefd) == 0);
    struct stat a, b;
    fstat(sv[0], &a);
    fstat(sv[1], &b);
    pid_t pid = fork();
    if (pid == 0) {
        int ep = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN};
        epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
        close(pipefd[0]);
        write(pipefd[1], "r", 1);
        pause();
        _exit(0);
    }
    char c;
    close(pipefd[1]);
    CHECK(read(pipefd[0], &c, 1) == 1);
    struct procfd_table t = {0};
    int rc = procfd_scan("/proc", &t);
    int polled0 = -1, polled1 = -1;
    for (size_t i = 0; i < t.nfds; i++) {
        if (t.fds[i].pid != pid)
            continue;
        if (t.fds[i].inode == a.st_ino)
            polled0 = t.fds[i].polled;
        if (t.fds[i].inode == b.st_ino)
            polled1 = t.fds[i].polled;
    }
    kill(pid, 9);
    procfd_free(&t);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(polled0, 1);
    CHECK_EQ_INT(polled1, 0);
}
