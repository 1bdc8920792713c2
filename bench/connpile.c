/* SPDX-License-Identifier: MIT */
/* connpile: holds N established loopback connections (2N sockets) in the
 * current network namespace until killed. For benches that need sockets
 * which do not expire, unlike TIME_WAIT's 60 s.
 *
 *   connpile --pairs N [--port P]
 *
 * Listens on 127.0.0.1:P, connects and accepts N times (one at a time, so the
 * backlog never overflows), prints "ready N" and waits for a signal. Raises
 * RLIMIT_NOFILE to what 2N + 16 fds need (up to the hard limit).
 * Exit 1 on failure, 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: connpile --pairs N [--port P]\n");
    return 2;
}

int main(int argc, char **argv)
{
    long pairs = 0, port = 8080;
    for (int i = 1; i + 1 < argc; i += 2) {
        char *end;
        long v = strtol(argv[i + 1], &end, 10);
        if (*end || v <= 0) return usage();
        if (!strcmp(argv[i], "--pairs")) pairs = v;
        else if (!strcmp(argv[i], "--port") && v < 65536) port = v;
        else return usage();
    }
    if (pairs <= 0 || pairs > 1000000 || argc % 2 == 0) return usage();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t need = (rlim_t)(2 * pairs + 16);
    if (rl.rlim_cur < need) {
        rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 64)) {
        perror("connpile: listen");
        return 1;
    }
    for (long i = 0; i < pairs; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0 || accept(lfd, NULL, NULL) < 0) {
            fprintf(stderr, "connpile: connection %ld: %s\n", i, strerror(errno));
            return 1;
        }
    }
    printf("ready %ld\n", pairs);
    fflush(stdout);
    for (;;) pause();
}
