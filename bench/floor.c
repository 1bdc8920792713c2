/* SPDX-License-Identifier: MIT */
/* The sockets-API floor for bench/serve.sh: a minimal epoll HTTP/1.1
 * responder. Level-triggered epoll, one thread per worker with its own
 * SO_REUSEPORT listener, recv() then send() of one fixed answer per
 * request head ("\r\n\r\n"), keep-alive, close on EOF or "Connection:
 * close" (case as wrk and curl send it). No parser, no timers, no
 * limits: what any server must pay the kernel per request, nothing more.
 *   floor PORT WORKERS */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int port;
static const char ok[] = "HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Length: 3\r\n"
                         "Connection: keep-alive\r\n\r\nok\n";
static const char ok_close[] = "HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Length: 3\r\n"
                               "Connection: close\r\n\r\nok\n";

static void *worker(void *arg)
{
    (void)arg;
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4096)) {
        perror("floor: listen");
        exit(2);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    char buf[16384];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(c, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
                    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf - 1, 0);
            if (r <= 0) {
                close(fd);
                continue;
            }
            buf[r] = 0;
            int close_after = strstr(buf, "Connection: close") != NULL;
            for (char *p = buf; (p = strstr(p, "\r\n\r\n")); p += 4) {
                if (close_after)
                    send(fd, ok_close, sizeof ok_close - 1, MSG_NOSIGNAL);
                else
                    send(fd, ok, sizeof ok - 1, MSG_NOSIGNAL);
            }
            if (close_after)
                close(fd);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: floor PORT WORKERS\n");
        return 2;
    }
    port = atoi(argv[1]);
    int n = atoi(argv[2]);
    pthread_t t;
    for (int i = 1; i < n; i++)
        pthread_create(&t, NULL, worker, NULL);
    worker(NULL);
    return 0;
}
