/* SPDX-License-Identifier: MIT */
/* Lab socket engine: listen, connect, accept, one HTTP exchange, wait for
 * the end of a connection. */
#include "lab/wire.h"
#include "lab/judge.h"
#include "lab/setup.h"
#include "lab/tape.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int make_sock(struct lab_env *e, enum lab_host h)
{
    if (lab_enter(e, h) < 0)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int saved = errno;
    lab_leave(e);
    if (fd < 0)
        snprintf(e->err, sizeof e->err, "socket: %s", strerror(saved));
    return fd;
}

static struct sockaddr_in addr_of(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int listen_on(struct lab_env *e, enum lab_host h, const char *ip, uint16_t port)
{
    int fd = make_sock(e, h);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = addr_of(ip, port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
        snprintf(e->err, sizeof e->err, "listen %s:%u: %s", ip, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int connect_to(struct lab_env *e, enum lab_host h, const char *ip, uint16_t port)
{
    int fd = make_sock(e, h);
    if (fd < 0)
        return -1;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = addr_of(ip, port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int saved = errno;
        snprintf(e->err, sizeof e->err, "connect %s:%u: %s", ip, port, strerror(saved));
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int accept_one(struct lab_env *e, int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1) {
        snprintf(e->err, sizeof e->err, "accept: nothing to accept in 2 s");
        return -1;
    }
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        snprintf(e->err, sizeof e->err, "accept: %s", strerror(errno));
    return fd;
}

static int http_exchange(int fd, const char *req, char *buf, int cap)
{
    size_t len = strlen(req);
    if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
        return -1;
    int got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + got, (size_t)(cap - 1 - got), 0);
        if (n <= 0)
            return got ? got : -1;
        got += (int)n;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "content-length:");
        long body = cl && cl < end ? strtol(cl + 15, NULL, 10) : 0;
        if (got >= (end + 4 - buf) + body || got >= cap - 1)
            return got;
    }
}

static int wait_end(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, ms);
        if (r == 0)
            return -2;
        if (r < 0)
            return errno;
        char tmp[512];
        ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n == 0)
            return 0;
        if (n < 0 && errno != EAGAIN)
            return errno;
    }
}

/* The socket calls on the env's tape (lab/tape.h), as "wire-OP ARGS" with
 * the result and errno. A replay returns the recorded ones (its fds are the
 * recorded numbers, never a real file of this process) and sets errno. */
static bool replayed(struct lab_env *e, const char *key, long long v[2], char *text, size_t cap)
{
    if (!lab_tape_replaying(e))
        return false;
    v[0] = -1;
    v[1] = EIO;
    lab_tape_take(e, key, v, 2, text, cap);
    errno = (int)v[1];
    return true;
}

static int taped(struct lab_env *e, const char *key, int rc, const char *text)
{
    int err = errno;
    long long v[2] = {rc, rc < 0 ? err : 0};
    lab_tape_put(e, key, v, 2, text ? text : rc < 0 ? e->err : NULL);
    errno = err;
    return rc;
}

int wire_listen(struct lab_env *e, enum lab_host h, const char *ip, uint16_t port)
{
    char key[80];
    long long v[2];
    snprintf(key, sizeof key, "wire-listen %s %s %u", lab_host_name(h), ip, port);
    if (replayed(e, key, v, NULL, 0))
        return (int)v[0];
    return taped(e, key, listen_on(e, h, ip, port), NULL);
}

int wire_connect(struct lab_env *e, enum lab_host h, const char *ip, uint16_t port)
{
    char key[80];
    long long v[2];
    snprintf(key, sizeof key, "wire-connect %s %s %u", lab_host_name(h), ip, port);
    if (replayed(e, key, v, NULL, 0))
        return (int)v[0];
    return taped(e, key, connect_to(e, h, ip, port), NULL);
}

int wire_accept(struct lab_env *e, int lfd)
{
    char key[48];
    long long v[2];
    snprintf(key, sizeof key, "wire-accept %d", lfd);
    if (replayed(e, key, v, NULL, 0))
        return (int)v[0];
    return taped(e, key, accept_one(e, lfd), NULL);
}

int wire_http(struct lab_env *e, int fd, const char *req, char *buf, int cap)
{
    char key[600];
    long long v[2];
    snprintf(key, sizeof key, "wire-http %d %.500s", fd, req);
    if (replayed(e, key, v, buf, (size_t)cap))
        return (int)v[0];
    int n = http_exchange(fd, req, buf, cap);
    return taped(e, key, n, n > 0 ? buf : "");
}

int wire_wait_end(struct lab_env *e, int fd, int ms)
{
    char key[48];
    long long v[2];
    snprintf(key, sizeof key, "wire-wait-end %d %d", fd, ms);
    if (replayed(e, key, v, NULL, 0))
        return (int)v[0];
    return taped(e, key, wait_end(fd, ms), "");
}

/* close, close with SO_LINGER {1,0}, shutdown(SHUT_WR), SO_ERROR. */
static int fd_op(struct lab_env *e, const char *op, int fd)
{
    char key[48];
    long long v[2];
    snprintf(key, sizeof key, "wire-%s %d", op, fd);
    if (replayed(e, key, v, NULL, 0))
        return (int)v[0];
    int rc = 0;
    socklen_t len = sizeof rc;
    if (!strcmp(op, "rst")) {
        struct linger l = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    if (!strcmp(op, "shutdown"))
        rc = shutdown(fd, SHUT_WR);
    else if (!strcmp(op, "so-error"))
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &len);
    else
        rc = close(fd);
    return taped(e, key, rc, "");
}

void wire_close(struct lab_env *e, int fd) { fd_op(e, "close", fd); }
void wire_close_rst(struct lab_env *e, int fd) { fd_op(e, "rst", fd); }
void wire_shutdown(struct lab_env *e, int fd) { fd_op(e, "shutdown", fd); }
int wire_error(struct lab_env *e, int fd) { return fd_op(e, "so-error", fd); }

static int nft(struct lab_env *e, const char *const args[], char *out, size_t outlen)
{
    char *argv[16] = {"nft"};
    int n = 1;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    return lab_run(e, LAB_CLIENT, argv, out, outlen, 5000);
}

int wire_drop_acks(struct lab_env *e, uint16_t port, bool on)
{
    char p[8];
    snprintf(p, sizeof p, "%u", port);
    const char *t[] = {"add", "table", "inet", "lab", NULL};
    const char *c[] = {"add", "chain", "inet", "lab", "out",
                       "{ type filter hook output priority 0 ; }", NULL};
    const char *flush[] = {"flush", "chain", "inet", "lab", "out", NULL};
    const char *rule[] = {"add", "rule", "inet", "lab", "out", "tcp", "dport", p, "tcp",
                          "flags", "==", "ack", "counter", "drop", NULL};
    if (nft(e, t, NULL, 0) || nft(e, c, NULL, 0) || nft(e, flush, NULL, 0) ||
        (on && nft(e, rule, NULL, 0))) {
        snprintf(e->err, sizeof e->err, "nft rule in the client namespace failed");
        return -1;
    }
    return 0;
}

long wire_dropped_acks(struct lab_env *e)
{
    char out[4096];
    const char *l[] = {"list", "chain", "inet", "lab", "out", NULL};
    if (nft(e, l, out, sizeof out))
        return -1;
    return lab_nft_packets(out);
}

long lab_nft_packets(const char *listing)
{
    const char *p = strstr(listing, "packets ");
    return p ? strtol(p + 8, NULL, 10) : -1;
}

static int open_tap(struct lab_env *e)
{
    if (lab_enter(e, LAB_CLIENT) < 0)
        return -1;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)); /* outgoing: ALL only */
    struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                            .sll_ifindex = (int)if_nametoindex(e->veth[LAB_CLIENT])};
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        snprintf(e->err, sizeof e->err, "packet socket on %s: %s", e->veth[LAB_CLIENT],
                 strerror(errno));
    lab_leave(e);
    return fd;
}


int wire_tap(struct lab_env *e)
{
    long long v[2];
    if (replayed(e, "wire-tap", v, NULL, 0))
        return (int)v[0];
    return taped(e, "wire-tap", open_tap(e), NULL);
}
