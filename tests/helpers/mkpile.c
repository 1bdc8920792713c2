/* SPDX-License-Identifier: MIT */
/* mkpile: creates one kind of TCP state pile on 127.0.0.1, for the doctor's
 * integration tests. Run it inside a private network namespace.
 *
 *   mkpile KIND PORT N [READY_FILE]
 *
 * KIND: server-tw      the server closes N accepted connections first
 *       client-tw      the client closes N connections first
 *       cw-unaccepted  N clients connect and close; accept() is never called
 *       cw-not-polled  N accepted fds, in no epoll set, clients close
 *       cw-not-closed  N accepted fds registered in epoll, EOF read, no close
 *       accept-full    listen(N) and never accept; N + 4 clients connect
 * Once the pile is in place it writes its pid to READY_FILE and waits for a
 * signal (the listener and the owning fds must stay). Exit 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr_of(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int must(int v, const char *what)
{
    if (v < 0) {
        fprintf(stderr, "mkpile: %s: %s\n", what, strerror(errno));
        exit(1);
    }
    return v;
}

static int listener(int port, int backlog)
{
    int fd = must(socket(AF_INET, SOCK_STREAM, 0), "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = addr_of(port);
    must(bind(fd, (struct sockaddr *)&a, sizeof a), "bind");
    must(listen(fd, backlog), "listen");
    return fd;
}

static int client(int port)
{
    int fd = must(socket(AF_INET, SOCK_STREAM, 0), "socket");
    struct sockaddr_in a = addr_of(port);
    must(connect(fd, (struct sockaddr *)&a, sizeof a), "connect");
    return fd;
}

/* Reads until EOF so the FIN has been received and processed. */
static void drain_eof(int fd)
{
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

static void ready(const char *file)
{
    if (file) {
        int fd = must(open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644), "ready file");
        dprintf(fd, "%d\n", (int)getpid());
        close(fd);
    }
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: mkpile KIND PORT N [READY_FILE]\n");
        return 2;
    }
    const char *kind = argv[1], *ready_file = argc > 4 ? argv[4] : NULL;
    int port = atoi(argv[2]), n = atoi(argv[3]);
    if (port <= 0 || port > 65535 || n <= 0 || n > 100000) {
        fprintf(stderr, "mkpile: bad PORT or N\n");
        return 2;
    }
    int *cl = calloc((size_t)n + 8, sizeof *cl), *sv = calloc((size_t)n + 8, sizeof *sv);
    if (!strcmp(kind, "accept-full")) {
        int l = listener(port, n);
        /* The queue holds backlog + 1; later SYNs are dropped and those
         * clients stay in SYN_SENT, which is why connect is non-blocking. */
        for (int i = 0; i < n + 4; i++) {
            cl[i] = must(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), "socket");
            struct sockaddr_in a = addr_of(port);
            connect(cl[i], (struct sockaddr *)&a, sizeof a);
        }
        usleep(300000);
        (void)l;
        ready(ready_file);
    }
    int l = listener(port, n + 16);
    for (int i = 0; i < n; i++)
        cl[i] = client(port);
    if (!strcmp(kind, "cw-unaccepted")) {
        for (int i = 0; i < n; i++)
            close(cl[i]);
        usleep(200000);
        ready(ready_file);
    }
    for (int i = 0; i < n; i++)
        sv[i] = must(accept(l, NULL, NULL), "accept");
    if (!strcmp(kind, "server-tw") || !strcmp(kind, "client-tw")) {
        int *first = kind[0] == 's' ? sv : cl, *second = kind[0] == 's' ? cl : sv;
        for (int i = 0; i < n; i++)
            close(first[i]);
        for (int i = 0; i < n; i++) {
            drain_eof(second[i]);
            close(second[i]);
        }
        usleep(100000);
        /* The listener must outlive the test: server-side TIME_WAIT is
         * recognised by its local port being a listening port. */
        ready(ready_file);
    }
    if (!strcmp(kind, "cw-not-polled") || !strcmp(kind, "cw-not-closed")) {
        /* An epoll instance exists either way, so "in no epoll set" is a
         * statement about these fds, not about the process. */
        int ep = must(epoll_create1(0), "epoll_create1");
        struct epoll_event ev = {.events = EPOLLIN};
        must(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), "epoll_ctl listener");
        int polled = !strcmp(kind, "cw-not-closed");
        for (int i = 0; i < n && polled; i++) {
            ev.data.fd = sv[i];
            must(epoll_ctl(ep, EPOLL_CTL_ADD, sv[i], &ev), "epoll_ctl");
        }
        for (int i = 0; i < n; i++)
            close(cl[i]);
        if (polled) {
            struct epoll_event evs[64];
            int seen = 0;
            while (seen < n) {
                int k = must(epoll_wait(ep, evs, 64, 2000), "epoll_wait");
                if (k == 0)
                    break;
                for (int i = 0; i < k; i++) {
                    char c;
                    if (evs[i].data.fd != l && read(evs[i].data.fd, &c, 1) == 0) {
                        /* The bug on purpose: EOF seen, no close(). Stop
                         * level-triggered wake-ups but stay registered. */
                        struct epoll_event quiet = {.events = 0, .data = evs[i].data};
                        epoll_ctl(ep, EPOLL_CTL_MOD, evs[i].data.fd, &quiet);
                        seen++;
                    }
                }
            }
        } else {
            usleep(200000);
        }
        ready(ready_file);
    }
    fprintf(stderr, "mkpile: unknown kind '%s'\n", kind);
    return 2;
}
