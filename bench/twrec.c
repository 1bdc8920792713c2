/* SPDX-License-Identifier: MIT */
/* twrec: writes a synthetic --record file of N TIME_WAIT (default 1,000,000):
 * one listener on 127.0.0.1:8080, 90% server-side TIME_WAIT on it from
 * 127.1.x.y, 10% client-side from 16 sources to 127.0.0.2:9090. For the
 * memory of doctor/states/exporter code at sizes twgen cannot reach on a
 * loaded machine (TIME_WAIT lasts 60 s). Not a timing anchor: no kernel.
 *   cc -D_GNU_SOURCE -Isrc -O2 -std=c11 -o build/bench/twrec bench/twrec.c build/libcloser.a
 *   build/bench/twrec FILE [N]; closer doctor --replay FILE */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "kernel/diagrec.h"
#include "kernel/sock.h"
struct one { struct nlmsghdr h; struct inet_diag_msg m; };
static void fill(struct one *d, int st, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint32_t exp)
{
    memset(d, 0, sizeof *d);
    d->h.nlmsg_len = sizeof *d; d->h.nlmsg_type = SOCK_DIAG_BY_FAMILY; d->h.nlmsg_flags = NLM_F_MULTI;
    d->m.idiag_family = AF_INET; d->m.idiag_state = (uint8_t)st;
    d->m.id.idiag_sport = htons(sp); d->m.id.idiag_dport = htons(dp);
    d->m.id.idiag_src[0] = htonl(src); d->m.id.idiag_dst[0] = htonl(dst);
    d->m.idiag_expires = exp; d->m.idiag_timer = st == TS_TIME_WAIT ? 3 : 0;
}
int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: twrec FILE [N]\n");
        return 2;
    }
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 1000000;
    FILE *f = fopen(argv[1], "wb");
    struct diagrec r = {0};
    if (!f || diagrec_begin(&r, f)) return 1;
    enum { PER = 10000 };
    struct one *b = malloc(PER * sizeof *b);
    size_t k = 0;
    fill(&b[k++], TS_LISTEN, 0x7f000001, 8080, 0, 0, 0);
    for (unsigned i = 0; i < n; i++) {
        if (i < n / 10 * 9) /* server side: peers 127.1.x.y:eph */
            fill(&b[k++], TS_TIME_WAIT, 0x7f000001, 8080, 0x7f010000 + i / 28000 + 1,
                 (uint16_t)(32768 + i % 28000), 60000 - (i * 37u) % 60000);
        else
            fill(&b[k++], TS_TIME_WAIT, 0x7f010000 + i % 16 + 1, (uint16_t)(32768 + i % 28000),
                 0x7f000002, 9090, 60000 - (i * 53u) % 60000);
        if (k == PER) { if (diagrec_chunk(&r, b, k * sizeof *b)) return 1; k = 0; }
    }
    struct nlmsghdr done = {.nlmsg_len = sizeof done + 4, .nlmsg_type = NLMSG_DONE, .nlmsg_flags = NLM_F_MULTI};
    char dbuf[sizeof done + 4] = {0};
    memcpy(dbuf, &done, sizeof done);
    if (k && diagrec_chunk(&r, b, k * sizeof *b)) return 1;
    if (diagrec_chunk(&r, dbuf, sizeof dbuf) || diagrec_end(&r)) return 1;
    return fclose(f) != 0;
}
