/* SPDX-License-Identifier: MIT */
#include "canned.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CANNED_MAX_CONNS 64 /* a probe opens about a dozen */

struct canned_conn {
    struct canned *c;
    int fd;
    unsigned index;
    pthread_t th;
};

struct canned {
    int ls;
    canned_fn fn;
    void *arg;
    pthread_t acceptor;
    unsigned n;
    struct canned_conn conns[CANNED_MAX_CONNS];
};

static void *serve_one(void *p)
{
    struct canned_conn *k = p;
    enum canned_close how = k->c->fn(k->fd, k->index, k->c->arg);
    if (how == CANNED_RST) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(k->fd);
    return NULL;
}

static void *accept_loop(void *p)
{
    struct canned *c = p;
    for (;;) {
        int fd = accept4(c->ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL; /* canned_stop shut the listener down */
        }
        if (c->n == CANNED_MAX_CONNS) {
            close(fd);
            continue;
        }
        struct canned_conn *k = &c->conns[c->n];
        *k = (struct canned_conn){c, fd, c->n, 0};
        if (pthread_create(&k->th, NULL, serve_one, k)) {
            close(fd);
            continue;
        }
        c->n++;
    }
}

struct canned *canned_start(canned_fn fn, void *arg, struct sockaddr_in *addr)
{
    struct canned *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fn = fn;
    c->arg = arg;
    /* A handler writing to a client already gone (TLS writes use write(2),
     * not send with MSG_NOSIGNAL) gets an error, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof *addr;
    c->ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->ls < 0 || bind(c->ls, (struct sockaddr *)addr, sizeof *addr) < 0 || listen(c->ls, 64) < 0 ||
        getsockname(c->ls, (struct sockaddr *)addr, &al) < 0 ||
        pthread_create(&c->acceptor, NULL, accept_loop, c)) {
        if (c->ls >= 0)
            close(c->ls);
        free(c);
        return NULL;
    }
    return c;
}

void canned_stop(struct canned *c)
{
    if (!c)
        return;
    shutdown(c->ls, SHUT_RDWR); /* wakes accept() with an error */
    pthread_join(c->acceptor, NULL);
    close(c->ls);
    for (unsigned i = 0; i < c->n; i++)
        pthread_join(c->conns[i].th, NULL);
    free(c);
}

unsigned canned_accepted(const struct canned *c)
{
    return c->n;
}

ssize_t canned_read_head(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    buf[0] = 0;
    while (!strstr(buf, "\r\n\r\n")) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (len + 1 >= cap || poll(&pf, 1, timeout_ms) != 1)
            return -1;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        len += (size_t)n;
        buf[len] = 0;
    }
    return (ssize_t)(strstr(buf, "\r\n\r\n") + 4 - buf);
}

int canned_write_all(int fd, const void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

char *canned_load(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, CANNED_DATA "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            char *nb = realloc(b, cap = cap ? 2 * cap : 8192);
            if (!nb) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = nb;
        }
        size_t n = fread(b + *len, 1, cap - *len, f);
        if (!n)
            break;
        *len += n;
    }
    fclose(f);
    return b;
}
