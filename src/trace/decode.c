/* SPDX-License-Identifier: MIT */
#include "trace/decode.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static struct tp_slot slot(const struct tp_format *f, const char *name)
{
    const struct tp_field *fd = tp_field(f, name);
    return fd ? (struct tp_slot){fd->offset, fd->size} : (struct tp_slot){0, 0};
}

static int need(const struct tp_slot *s, const char *name, unsigned min, unsigned max,
                const struct tp_format *f, char *err, size_t errlen)
{
    if (s->size >= min && s->size <= max)
        return 0;
    snprintf(err, errlen, "tracepoint %s: field '%s' %s (size %u)", f->name, name,
             s->size ? "has an unexpected size" : "is missing", s->size);
    return -1;
}

int tev_layout(const struct tp_format *f, int kind, struct tp_layout *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    l->id = f->id;
    l->kind = kind;
    l->common_type = slot(f, "common_type");
    l->common_flags = slot(f, "common_flags");
    l->skaddr = slot(f, "skaddr");
    l->oldstate = slot(f, "oldstate");
    l->newstate = slot(f, "newstate");
    l->sport = slot(f, "sport");
    l->dport = slot(f, "dport");
    l->family = slot(f, "family");
    l->protocol = slot(f, "protocol");
    l->saddr = slot(f, "saddr");
    l->daddr = slot(f, "daddr");
    l->saddr_v6 = slot(f, "saddr_v6");
    l->daddr_v6 = slot(f, "daddr_v6");
    l->state = slot(f, "state");
    l->reason = slot(f, "reason");
    if (need(&l->common_type, "common_type", 2, 2, f, err, errlen) ||
        need(&l->skaddr, "skaddr", 4, 8, f, err, errlen))
        return -1;
    if (kind == TEV_STATE &&
        (need(&l->oldstate, "oldstate", 4, 4, f, err, errlen) ||
         need(&l->newstate, "newstate", 4, 4, f, err, errlen) ||
         need(&l->family, "family", 2, 2, f, err, errlen)))
        return -1;
    if (kind == TEV_SEND_RST) {
        /* Kernels before 6.10 stored the tuple as separate v4/v6 fields. */
        if (l->saddr.size != 28 && need(&l->saddr_v6, "saddr_v6", 16, 16, f, err, errlen))
            return -1;
    } else if (need(&l->sport, "sport", 2, 2, f, err, errlen) ||
               need(&l->dport, "dport", 2, 2, f, err, errlen) ||
               need(&l->saddr_v6, "saddr_v6", 16, 16, f, err, errlen) ||
               need(&l->daddr_v6, "daddr_v6", 16, 16, f, err, errlen)) {
        return -1;
    }
    return 0;
}

static uint64_t get(const uint8_t *raw, size_t len, const struct tp_slot *s)
{
    if (!s->size || s->offset + s->size > len)
        return 0;
    uint64_t v = 0;
    switch (s->size) {
    case 1: v = raw[s->offset]; break;
    case 2: { uint16_t x; memcpy(&x, raw + s->offset, 2); v = x; break; }
    case 4: { uint32_t x; memcpy(&x, raw + s->offset, 4); v = x; break; }
    case 8: memcpy(&v, raw + s->offset, 8); break;
    }
    return v;
}

static void copy_bytes(uint8_t *dst, unsigned n, const uint8_t *raw, size_t len, const struct tp_slot *s)
{
    memset(dst, 0, n);
    if (s->size >= n && s->offset + n <= len)
        memcpy(dst, raw + s->offset, n);
}

/* tcp_send_reset (6.10+): 28-byte sockaddr_in / sockaddr_in6 buffers. */
static void from_sockaddr(const uint8_t *sa, uint8_t *addr, uint16_t *port, uint8_t *family)
{
    uint16_t fam, nport;
    memcpy(&fam, sa, 2);
    memcpy(&nport, sa + 2, 2);
    *port = ntohs(nport);
    memset(addr, 0, 16);
    if (fam == AF_INET)
        memcpy(addr, sa + 4, 4);
    else if (fam == AF_INET6)
        memcpy(addr, sa + 8, 16);
    if (fam == AF_INET || fam == AF_INET6)
        *family = (uint8_t)fam;
}

int tev_decode(const struct tp_layout *l, const uint8_t *raw, size_t len, struct tev *ev)
{
    if (len < l->skaddr.offset + l->skaddr.size || get(raw, len, &l->common_type) != l->id)
        return -1;
    ev->kind = (uint8_t)l->kind;
    unsigned flags = (unsigned)get(raw, len, &l->common_flags);
    ev->in_irq = (flags & (TRACE_FLAG_HARDIRQ | TRACE_FLAG_SOFTIRQ | TRACE_FLAG_NMI)) != 0;
    ev->skaddr = get(raw, len, &l->skaddr);
    ev->oldstate = ev->newstate = 0;
    ev->reason = l->reason.size ? (int32_t)get(raw, len, &l->reason) : -1;
    ev->state = (int32_t)get(raw, len, &l->state);
    ev->family = (uint8_t)get(raw, len, &l->family);
    if (l->kind == TEV_SEND_RST && l->saddr.size == 28) {
        if (l->saddr.offset + 28 > len || l->daddr.offset + 28 > len)
            return -1;
        from_sockaddr(raw + l->saddr.offset, ev->laddr, &ev->lport, &ev->family);
        from_sockaddr(raw + l->daddr.offset, ev->raddr, &ev->rport, &ev->family);
        return 0;
    }
    if (l->kind == TEV_STATE) {
        ev->oldstate = (uint8_t)get(raw, len, &l->oldstate);
        ev->newstate = (uint8_t)get(raw, len, &l->newstate);
    }
    /* set_state and receive_reset store ports in host order (ntohs'd). */
    ev->lport = (uint16_t)get(raw, len, &l->sport);
    ev->rport = (uint16_t)get(raw, len, &l->dport);
    if (ev->family == AF_INET6) {
        copy_bytes(ev->laddr, 16, raw, len, &l->saddr_v6);
        copy_bytes(ev->raddr, 16, raw, len, &l->daddr_v6);
    } else {
        memset(ev->laddr, 0, 16);
        memset(ev->raddr, 0, 16);
        copy_bytes(ev->laddr, 4, raw, len, &l->saddr);
        copy_bytes(ev->raddr, 4, raw, len, &l->daddr);
    }
    return 0;
}
