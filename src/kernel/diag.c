/* SPDX-License-Identifier: MIT */
#include "kernel/diag.h"
#include "kernel/diagrec.h"
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

/* ss uses 1 MiB of socket buffer; at 1M sockets a bigger receive buffer
 * means fewer recv calls. 32 KiB * 8 per recv keeps syscalls rare. */
#define DIAG_RCVBUF (4 << 20)
#define DIAG_RECV_CHUNK (256 << 10)

static void fill_sock(struct tcp_sock *s, const struct inet_diag_msg *m)
{
    memset(s, 0, sizeof *s);
    s->family = m->idiag_family;
    s->state = m->idiag_state;
    s->timer = m->idiag_timer;
    s->retrans = m->idiag_retrans;
    s->sport = ntohs(m->id.idiag_sport);
    s->dport = ntohs(m->id.idiag_dport);
    s->expires_ms = m->idiag_expires;
    s->rqueue = m->idiag_rqueue;
    s->wqueue = m->idiag_wqueue;
    s->uid = m->idiag_uid;
    s->inode = m->idiag_inode;
    size_t alen = m->idiag_family == AF_INET ? 4 : 16;
    memcpy(s->src, m->id.idiag_src, alen);
    memcpy(s->dst, m->id.idiag_dst, alen);
}

/* Finds INET_DIAG_INFO among the attributes after the message and copies
 * the fields closer uses. An older kernel's shorter tcp_info leaves the
 * newer fields 0; a malformed attribute list is ignored, not trusted. */
static bool find_activity(const struct nlmsghdr *h, struct tcp_activity *a)
{
    size_t off = NLMSG_LENGTH(sizeof(struct inet_diag_msg));
    off = NLMSG_ALIGN(off);
    while (off + sizeof(struct rtattr) <= h->nlmsg_len) {
        const struct rtattr *at = (const struct rtattr *)((const char *)h + off);
        if (at->rta_len < sizeof *at || at->rta_len > h->nlmsg_len - off)
            return false;
        if (at->rta_type == INET_DIAG_INFO) {
            struct tcp_info ti;
            size_t n = at->rta_len - RTA_LENGTH(0);
            memset(&ti, 0, sizeof ti);
            memcpy(&ti, RTA_DATA(at), n < sizeof ti ? n : sizeof ti);
            *a = (struct tcp_activity){
                .last_data_recv_ms = ti.tcpi_last_data_recv,
                .last_data_sent_ms = ti.tcpi_last_data_sent,
                .last_ack_recv_ms = ti.tcpi_last_ack_recv,
                .data_segs_in = ti.tcpi_data_segs_in,
                .data_segs_out = ti.tcpi_data_segs_out,
                .bytes_acked = ti.tcpi_bytes_acked,
                .bytes_received = ti.tcpi_bytes_received,
            };
            return true;
        }
        off += RTA_ALIGN(at->rta_len);
    }
    return false;
}

int diag_decode(const void *buf, size_t len, diag_sock_fn fn, void *arg, int *intr)
{
    const struct nlmsghdr *h = buf;
    int n = (int)len;
    /* NLMSG_OK spelled out with n signed: after the last message
     * NLMSG_NEXT may take n below zero (missing tail padding), which must
     * end the loop (and clang rejects the macro's mixed-sign compare). */
    for (; n >= (int)sizeof *h && h->nlmsg_len >= sizeof *h && h->nlmsg_len <= (unsigned)n;
         h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_flags & NLM_F_DUMP_INTR)
            *intr = 1;
        if (h->nlmsg_type == NLMSG_DONE)
            return 1;
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
                return -EBADMSG;
            /* The kernel sends a negative errno; any other value (a mutated
             * recording) is malformed, and callers negate it for strerror
             * (-INT_MIN overflows). */
            if (e->error < 0 && e->error >= -4095)
                return e->error;
            return e->error ? -EBADMSG : -EPROTO;
        }
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY && h->nlmsg_type != TCPDIAG_GETSOCK)
            continue;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
            return -EBADMSG;
        const struct inet_diag_msg *m = NLMSG_DATA(h);
        if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
            return -EBADMSG;
        struct tcp_sock s;
        struct tcp_activity act;
        fill_sock(&s, m);
        int rc = fn(&s, find_activity(h, &act) ? &act : NULL, arg);
        if (rc)
            return rc;
    }
    if (n > 0)
        return -EBADMSG; /* a truncated message */
    return 0;
}

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
