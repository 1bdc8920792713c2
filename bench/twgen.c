/* twgen: fills the current network namespace with N TIME_WAIT sockets, fast.
 * Run it inside a private namespace (ip netns exec NS twgen ...).
 *
 *   twgen --count N [--side server|client] [--port P] [--sources K]
 *
 * server: the server closes first, so TIME_WAIT sits on 127.0.0.1:P (a
 *         listening port). Clients bind explicit, never reused (source ip,
 *         port) pairs from 127.1.x.y so no SYN ever lands on an existing
 *         TIME_WAIT (which would recycle it).
 * client: the clients close first: TIME_WAIT on ephemeral ports of K source
 *         addresses towards 127.0.0.1:P.
 * Works in batches so fds stay far below RLIMIT_NOFILE: a TIME_WAIT socket
 * holds no fd. Prints "created N time-wait in S s". Exit 1 on failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 512
#define PORT_LO 1025
#define PORT_HI 65000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
    fprintf(stderr, "twgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* 127.1.0.1 + i, skipping .0 and .255 host bytes. */
static in_addr_t source_addr(unsigned i)
{
    unsigned host = 1 + (i / 254) * 256 + (i % 254);
    return htonl((127u << 24) | (1u << 16) | host);
}

int main(int argc, char **argv)
{
    long count = 0, port = 8080, sources = 16;
    int server_side = 1;
    static const struct option opts[] = {{"count", 1, 0, 'n'}, {"side", 1, 0, 's'},
                                         {"port", 1, 0, 'p'}, {"sources", 1, 0, 'k'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "n:s:p:k:", opts, NULL)) != -1) {
        switch (c) {
        case 'n': count = atol(optarg); break;
        case 's': server_side = strcmp(optarg, "client") != 0; break;
        case 'p': port = atol(optarg); break;
        case 'k': sources = atol(optarg); break;
        default: fprintf(stderr, "usage: twgen --count N [--side server|client] [--port P] [--sources K]\n"); return 2;
        }
    }
    if (count <= 0 || port <= 0 || port > 65535 || sources <= 0) {
        fprintf(stderr, "twgen: --count N (> 0) is required\n");
        return 2;
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 4096) < 0)
        die("listen");
    int cl[BATCH], sv[BATCH];
    unsigned src = 0, sport = PORT_LO;
    double t0 = now();
    long made = 0;
    while (made < count) {
        int n = count - made < BATCH ? (int)(count - made) : BATCH;
        for (int i = 0; i < n; i++) {
            cl[i] = socket(AF_INET, SOCK_STREAM, 0);
            if (cl[i] < 0)
                die("socket");
            struct sockaddr_in ca = {.sin_family = AF_INET};
            if (server_side) {
                /* Explicit, never repeated (ip, port): a fresh 4-tuple. */
                if (sport > PORT_HI)
                    sport = PORT_LO, src++;
                ca.sin_addr.s_addr = source_addr(src);
                ca.sin_port = htons((uint16_t)sport++);
            } else {
                /* Let connect() pick the port; rotate source addresses. */
                ca.sin_addr.s_addr = source_addr((unsigned)((made + i) % sources));
                setsockopt(cl[i], IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            }
            if (bind(cl[i], (struct sockaddr *)&ca, sizeof ca) < 0)
                die("bind");
            if (connect(cl[i], (struct sockaddr *)&sa, sizeof sa) < 0)
                die("connect (ephemeral ports exhausted? add --sources)");
        }
        for (int i = 0; i < n; i++)
            if ((sv[i] = accept(l, NULL, NULL)) < 0)
                die("accept");
        int *first = server_side ? sv : cl, *second = server_side ? cl : sv;
        for (int i = 0; i < n; i++)
            close(first[i]);
        char b;
        for (int i = 0; i < n; i++) {
            while (read(second[i], &b, 1) > 0)
                ;
            close(second[i]);
        }
        made += n;
    }
    printf("created %ld time-wait (%s side) in %.2f s\n", made, server_side ? "server" : "client",
           now() - t0);
    /* The listener stays: server-side TIME_WAIT is recognised by its port
     * being a listening port. Wait for a signal. */
    fflush(stdout);
    if (server_side)
        pause();
    return 0;
}
