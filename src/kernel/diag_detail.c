/* SPDX-License-Identifier: MIT */
#include "kernel/diag_detail.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/vec.h"

#define DETAIL_RECV_CHUNK (64 << 10)

static void take_attr(const struct rtattr *at, struct sock_detail *d)
{
    size_t n = at->rta_len - RTA_LENGTH(0);
    if (at->rta_type == INET_DIAG_INFO) {
        memcpy(&d->info, RTA_DATA(at), n < sizeof d->info ? n : sizeof d->info);
        d->has_info = true;
    } else if (at->rta_type == INET_DIAG_CONG) {
        size_t k = n < sizeof d->cong - 1 ? n : sizeof d->cong - 1;
        memcpy(d->cong, RTA_DATA(at), k);
        d->cong[k] = 0;
    } else if (at->rta_type == INET_DIAG_SKMEMINFO) {
        memcpy(d->mem, RTA_DATA(at), n < sizeof d->mem ? n : sizeof d->mem);
        d->has_mem = true;
    }
}

bool diag_detail_parse(const void *msg, size_t len, struct sock_detail *d)
{
    const struct nlmsghdr *h = msg;
    if (len < sizeof *h || h->nlmsg_len > len || h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
        h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
        return false;
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
        return false;
    memset(d, 0, sizeof *d);
    d->family = m->idiag_family;
    d->state = m->idiag_state;
    d->sport = ntohs(m->id.idiag_sport);
    d->dport = ntohs(m->id.idiag_dport);
    size_t alen = d->family == AF_INET ? 4 : 16;
    memcpy(d->src, m->id.idiag_src, alen);
    memcpy(d->dst, m->id.idiag_dst, alen);
    size_t off = NLMSG_ALIGN(NLMSG_LENGTH(sizeof *m));
    while (off + sizeof(struct rtattr) <= h->nlmsg_len) {
        const struct rtattr *at = (const struct rtattr *)((const char *)h + off);
        if (at->rta_len < sizeof *at || at->rta_len > h->nlmsg_len - off)
            break; /* malformed: what came before stands */
        take_attr(at, d);
        off += RTA_ALIGN(at->rta_len);
    }
    return true;
}

static int request(int fd, int family, uint32_t states)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof req);
    req.nlh.nlmsg_len = sizeof req;
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = (uint8_t)family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = states;
    req.r.idiag_ext = 1u << (INET_DIAG_INFO - 1) | 1u << (INET_DIAG_CONG - 1) |
                      1u << (INET_DIAG_SKMEMINFO - 1);
    return send(fd, &req, sizeof req, 0) < 0 ? -errno : 0;
}

struct acc {
    struct sock_detail *v;
    size_t n, cap;
};

/* One recv's messages; 1 at NLMSG_DONE. */
static int take_chunk(const char *buf, size_t len, struct acc *a)
{
    const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
    int n = (int)len;
    for (; n >= (int)sizeof *h && h->nlmsg_len >= sizeof *h && h->nlmsg_len <= (unsigned)n;
         h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_DONE)
            return 1;
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            return h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error < 0 && e->error >= -4095
                       ? e->error : -EPROTO;
        }
        if (vec_reserve((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v, 64))
            return -ENOMEM;
        if (diag_detail_parse(h, h->nlmsg_len, &a->v[a->n]))
            a->n++;
    }
    return 0;
}

static int dump_family(int family, uint32_t states, struct acc *a)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -errno;
    int rc = request(fd, family, states);
    char *buf = rc ? NULL : malloc(DETAIL_RECV_CHUNK);
    if (!rc && !buf)
        rc = -ENOMEM;
    while (!rc) {
        ssize_t got = recv(fd, buf, DETAIL_RECV_CHUNK, 0);
        if (got < 0 && errno == EINTR)
            continue;
        rc = got < 0 ? -errno : got == 0 ? -ECONNRESET : take_chunk(buf, (size_t)got, a);
    }
    free(buf);
    close(fd);
    return rc == 1 ? 0 : rc;
}

static int diag_detail_cmp(const void *a, const void *b)
{
    const struct sock_detail *x = a, *y = b;
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    if (x->sport != y->sport)
        return x->sport < y->sport ? -1 : 1;
    if (x->dport != y->dport)
        return x->dport < y->dport ? -1 : 1;
    int c = memcmp(x->src, y->src, 16);
    return c ? c : memcmp(x->dst, y->dst, 16);
}

int diag_detail_dump(uint32_t states, struct sock_detail **out, size_t *n)
{
    struct acc a = {0};
    int rc = dump_family(AF_INET, states, &a);
    if (!rc)
        rc = dump_family(AF_INET6, states, &a);
    if (rc == -ENOENT || rc == -EAFNOSUPPORT) /* no IPv6 */
        rc = 0;
    if (rc) {
        free(a.v);
        return rc;
    }
    if (a.n)
        qsort(a.v, a.n, sizeof *a.v, diag_detail_cmp);
    *out = a.v;
    *n = a.n;
    return 0;
}

const struct sock_detail *diag_detail_find(const struct sock_detail *v, size_t n,
                                           const struct tcp_sock *t)
{
    struct sock_detail key = {.family = t->family, .sport = t->sport, .dport = t->dport};
    memcpy(key.src, t->src, 16);
    memcpy(key.dst, t->dst, 16);
    return n ? bsearch(&key, v, n, sizeof *v, diag_detail_cmp) : NULL;
}
