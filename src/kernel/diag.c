/* SPDX-License-Identifier: MIT */
/* The dump: the request, the recv loop, a recording of the datagrams;
 * their decoding is diag_decode.c, which a replay uses too. */
#include "kernel/diag.h"
#include "kernel/diagrec.h"
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ss uses 1 MiB of socket buffer; at 1M sockets a bigger receive buffer
 * means fewer recv calls. 32 KiB * 8 per recv keeps syscalls rare. */
#define DIAG_RCVBUF (4 << 20)
#define DIAG_RECV_CHUNK (256 << 10)

static int send_request(int fd, int family, uint32_t states, bool with_info)
{
    uint8_t ext = with_info ? 1u << (INET_DIAG_INFO - 1) : 0;
    /* AF_UNSPEC: the original TCPDIAG_GETSOCK request, the only one that
     * dumps both families in one walk of the kernel's hash tables (a v6
     * dump walks every v4 socket again to skip it: ~40% of the time at
     * 300k TIME_WAIT). */
    struct {
        struct nlmsghdr nlh;
        union {
            struct inet_diag_req_v2 v2;
            struct inet_diag_req compat;
        } r;
    } req;
    memset(&req, 0, sizeof req);
    req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nlh.nlmsg_seq = 1;
    if (family == AF_UNSPEC) {
        req.nlh.nlmsg_type = TCPDIAG_GETSOCK;
        req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof req.r.compat);
        req.r.compat.idiag_states = states;
        req.r.compat.idiag_ext = ext;
    } else {
        req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof req.r.v2);
        req.r.v2.sdiag_family = (uint8_t)family;
        req.r.v2.sdiag_protocol = IPPROTO_TCP;
        req.r.v2.idiag_states = states;
        req.r.v2.idiag_ext = ext;
    }
    struct sockaddr_nl nladdr = {.nl_family = AF_NETLINK};
    struct iovec iov = {&req, req.nlh.nlmsg_len};
    struct msghdr msg = {.msg_name = &nladdr, .msg_namelen = sizeof nladdr,
                         .msg_iov = &iov, .msg_iovlen = 1};
    return sendmsg(fd, &msg, 0) < 0 ? -errno : 0;
}

int diag_dump(int family, uint32_t states, bool with_info, diag_sock_fn fn, void *arg,
              struct diagrec *record, int *intr)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -errno;
    int rcvbuf = DIAG_RCVBUF;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int rc = send_request(fd, family, states, with_info);
    char *buf = rc ? NULL : malloc(DIAG_RECV_CHUNK);
    if (!rc && !buf)
        rc = -ENOMEM;
    while (!rc) {
        ssize_t got = recv(fd, buf, DIAG_RECV_CHUNK, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (got == 0) {
            rc = -ECONNRESET;
            break;
        }
        if (record && (rc = diagrec_chunk(record, buf, (uint32_t)got)) < 0)
            break;
        rc = diag_decode(buf, (size_t)got, fn, arg, intr);
    }
    free(buf);
    close(fd);
    return rc == 1 ? 0 : rc;
}

struct counted {
    diag_sock_fn fn;
    void *arg;
    size_t n;
};

static int count_one(const struct tcp_sock *s, const struct tcp_activity *act, void *arg)
{
    struct counted *c = arg;
    c->n++;
    return c->fn(s, act, c->arg);
}

int diag_dump_tcp(uint32_t states, bool with_info, diag_sock_fn fn, void *arg,
                  struct diagrec *record, int *intr)
{
    struct counted c = {fn, arg, 0};
    FILE *f = record ? record->f : NULL;
    int rc = record ? diagrec_begin(record, f) : 0;
    if (!rc)
        rc = diag_dump(AF_UNSPEC, states, with_info, count_one, &c, record, intr);
    if (rc && c.n == 0 && rc != -ENOMEM && !(record && record->err)) {
        /* A kernel without the two-family request: one dump per family,
         * and a recording without the refused attempt. */
        if (record) {
            fflush(f);
            if (ftruncate(fileno(f), 0) < 0)
                return -errno;
            rewind(f);
            if ((rc = diagrec_begin(record, f)) < 0)
                return rc;
        }
        *intr = 0;
        rc = diag_dump(AF_INET, states, with_info, fn, arg, record, intr);
        if (!rc)
            rc = diag_dump(AF_INET6, states, with_info, fn, arg, record, intr);
    }
    return rc || !record ? rc : diagrec_end(record);
}
