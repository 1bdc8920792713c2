/* SPDX-License-Identifier: MIT */
/* Decoding of sock_diag datagrams into struct tcp_sock: what a live dump
 * (diag.c) and a replayed recording (diagrec.c) both call, apart from
 * either so that the two call one way (diag.c -> diagrec.c -> here). */
#include "kernel/diag.h"
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

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
