/* SPDX-License-Identifier: MIT */
#include "doctor/states_rows.h"
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static char *put_u(char *p, unsigned v)
{
    char d[10];
    int n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    while (n)
        *p++ = d[--n];
    return p;
}

/* v right-aligned in w columns (printf's %*u). */
static char *put_u_right(char *p, unsigned v, int w)
{
    char d[12];
    int n = (int)(put_u(d, v) - d);
    for (; w > n; w--)
        *p++ = ' ';
    memcpy(p, d, (size_t)n);
    return p + n;
}

static char *put_s(char *p, const char *s, size_t n, int w)
{
    memcpy(p, s, n);
    p += n;
    for (int pad = w - (int)n; pad > 0; pad--)
        *p++ = ' ';
    return p;
}

size_t states_addr(char *buf, int family, const uint8_t a[16], uint16_t port)
{
    if (family != AF_INET)
        return strlen(tcp_addr_format(buf, family, a, port));
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        p = put_u(p, a[i]);
        *p++ = i < 3 ? '.' : ':';
    }
    p = put_u(p, port);
    *p = 0;
    return (size_t)(p - buf);
}

/* "-" or "timewait,59.9s" (printf's %.1f of expires_ms / 1000). */
static size_t timer(char *b, const struct tcp_sock *t)
{
    if (t->timer == TT_OFF) {
        b[0] = '-';
        return 1;
    }
    /* A half tenth (x.x5 s) rounds as the double's binary value does:
     * leave those few to printf. */
    if (t->expires_ms % 100 == 50)
        return (size_t)snprintf(b, 48, "%s,%.1fs", tcp_timer_name(t->timer),
                                t->expires_ms / 1000.0);
    const char *name = tcp_timer_name(t->timer);
    size_t n = strlen(name);
    memcpy(b, name, n);
    char *p = b + n;
    *p++ = ',';
    unsigned tenths = (unsigned)(((unsigned long long)t->expires_ms + 50) / 100);
    p = put_u(p, tenths / 10);
    *p++ = '.';
    *p++ = (char)('0' + tenths % 10);
    *p++ = 's';
    return (size_t)(p - b);
}

size_t states_row_plain(char *b, const struct tcp_sock *t, int lw, int pw)
{
    char l[64], r[64], tm[48];
    const char *st = tcp_state_label(t->state);
    char *p = put_s(b, st, strlen(st), 11);
    *p++ = ' ';
    p = put_u_right(p, t->rqueue, 6);
    *p++ = ' ';
    p = put_u_right(p, t->wqueue, 6);
    *p++ = ' ';
    size_t ln = states_addr(l, t->family, t->src, t->sport), rn;
    if (t->state == TS_LISTEN) {
        rn = t->family == AF_INET ? 9 : 6;
        memcpy(r, t->family == AF_INET ? "0.0.0.0:*" : "[::]:*", rn + 1);
    } else {
        rn = states_addr(r, t->family, t->dst, t->dport);
    }
    p = put_s(p, l, ln, lw);
    *p++ = ' ';
    p = put_s(p, r, rn, pw);
    *p++ = ' ';
    p = put_s(p, tm, timer(tm, t), 16);
    *p++ = '\n';
    return (size_t)(p - b);
}
