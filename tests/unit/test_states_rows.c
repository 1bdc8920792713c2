/* SPDX-License-Identifier: MIT */
/* The hand-formatted plain row is byte for byte printf's: every state,
 * both families, listeners, queues up to UINT32_MAX, timers on the tenth
 * and on the half tenth, widths from 20 to 64. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/states_rows.h"
#include "test.h"

/* What states_view.c's fprintf path prints for the same row. */
static int reference(char *b, size_t len, const struct tcp_sock *t, int lw, int pw)
{
    char l[64], p[64], tm[48];
    tcp_addr_format(l, t->family, t->src, t->sport);
    if (t->state == TS_LISTEN)
        snprintf(p, sizeof p, t->family == AF_INET ? "0.0.0.0:*" : "[::]:*");
    else
        tcp_addr_format(p, t->family, t->dst, t->dport);
    if (t->timer == TT_OFF)
        snprintf(tm, sizeof tm, "-");
    else
        snprintf(tm, sizeof tm, "%s,%.1fs", tcp_timer_name(t->timer), t->expires_ms / 1000.0);
    return snprintf(b, len, "%-11s %6u %6u %-*s %-*s %-16s%s%s\n", tcp_state_label(t->state),
                    t->rqueue, t->wqueue, lw, l, pw, p, tm, "", "");
}

TEST(plain_rows_match_printf)
{
    static const uint32_t expires[] = {0, 1, 49, 50, 51, 99, 100, 150, 250, 1250, 1050, 59999,
                                       60000, 123456789, 4294967295u};
    static const uint32_t queues[] = {0, 7, 999999, 4294967295u};
    unsigned rows = 0, bad = 0;
    for (int st = 1; st <= TS_NEW_SYN_RECV; st++)
        for (int fam = 0; fam < 2; fam++)
            for (size_t e = 0; e < sizeof expires / sizeof expires[0]; e++) {
                struct tcp_sock t = {.family = fam ? AF_INET6 : AF_INET, .state = (uint8_t)st,
                                     .timer = (uint8_t)(e % 5), .expires_ms = expires[e],
                                     .rqueue = queues[e % 4], .wqueue = queues[(e + 1) % 4],
                                     .sport = (uint16_t)(e * 4099), .dport = 65535};
                inet_pton(t.family, fam ? "2001:db8::1" : "127.1.2.255", t.src);
                inet_pton(t.family, fam ? "fe80::abcd:1" : "0.0.0.0", t.dst);
                for (int w = 20; w <= 64; w += 44) {
                    char a[STATES_ROW_MAX + 1], b[STATES_ROW_MAX + 64];
                    size_t n = states_row_plain(a, &t, w, w);
                    a[n] = 0;
                    reference(b, sizeof b, &t, w, w);
                    rows++;
                    if (strcmp(a, b)) {
                        bad++;
                        fprintf(stderr, "hand:   '%s'printf: '%s'", a, b);
                    }
                }
            }
    CHECK(rows > 500);
    CHECK_EQ_INT(bad, 0);
}
