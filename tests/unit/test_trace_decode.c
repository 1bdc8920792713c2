/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "test.h"
#include "trace/decode.h"
#include "trace_samples.h"

static int layouts(struct tp_format f[3], struct tp_layout l[3])
{
    char err[256];
    const char *texts[3] = {fmt_set_state, fmt_send_reset, fmt_receive_reset};
    for (int k = 0; k < 3; k++)
        if (tp_format_parse(texts[k], strlen(texts[k]), &f[k], err, sizeof err) ||
            tev_layout(&f[k], k, &l[k], err, sizeof err))
            return -1;
    return 0;
}

static int decode(const struct tp_layout l[3], size_t i, struct tev *ev)
{
    uint8_t raw[256];
    size_t n = unhex(rec_samples[i].hex, raw, sizeof raw);
    for (int k = 0; k < 3; k++)
        if (tev_decode(&l[k], raw, n, ev) == 0)
            return k;
    return -1;
}

TEST(decodes_recorded_state_changes)
{
    struct tp_format f[3];
    struct tp_layout l[3];
    CHECK_EQ_INT(layouts(f, l), 0);
    struct tev ev;
    /* 1: the client's connect(): CLOSE -> SYN_SENT in process context */
    CHECK_EQ_INT(decode(l, 1, &ev), TEV_STATE);
    CHECK_EQ_INT(ev.oldstate, TS_CLOSE);
    CHECK_EQ_INT(ev.newstate, TS_SYN_SENT);
    CHECK_EQ_INT(ev.family, AF_INET);
    CHECK_EQ_INT(ev.rport, 7777);
    CHECK(!ev.in_irq);
    CHECK(ev.skaddr == 0xffff88810aabe5c0ull);
    uint8_t lo[4] = {127, 0, 0, 1};
    CHECK(memcmp(ev.raddr, lo, 4) == 0);
    /* 3: the listener's child, announced in softirq before its peer is set */
    CHECK_EQ_INT(decode(l, 3, &ev), TEV_STATE);
    CHECK_EQ_INT(ev.oldstate, TS_LISTEN);
    CHECK_EQ_INT(ev.newstate, TS_SYN_RECV);
    CHECK_EQ_INT(ev.lport, 7777);
    CHECK(ev.in_irq);
    /* 8: FIN_WAIT2 -> CLOSE run by ksoftirqd: a softirq, whatever the pid */
    CHECK_EQ_INT(decode(l, 8, &ev), TEV_STATE);
    CHECK_EQ_INT(ev.oldstate, TS_FIN_WAIT2);
    CHECK_EQ_INT(ev.newstate, TS_CLOSE);
    CHECK(ev.in_irq);
}

TEST(decodes_recorded_resets)
{
    struct tp_format f[3];
    struct tp_layout l[3];
    CHECK_EQ_INT(layouts(f, l), 0);
    struct tev ev;
    CHECK_EQ_INT(decode(l, 16, &ev), TEV_RECV_RST);
    CHECK(ev.skaddr == 0xffff88810aabae40ull);
    CHECK_EQ_INT(ev.rport, 7777);
    CHECK_EQ_INT(decode(l, 18, &ev), TEV_SEND_RST);
    CHECK(ev.skaddr == 0xffff88810aabe5c0ull);
    CHECK_EQ_INT(ev.reason, 14);
    CHECK_EQ_STR(tp_reason_name(&f[TEV_SEND_RST], ev.reason), "TCP_STATE");
    CHECK_EQ_INT(ev.state, TS_CLOSE);
    CHECK_EQ_INT(ev.family, AF_INET);
    CHECK_EQ_INT(ev.lport, 7777); /* saddr is the side that sends the RST */
    CHECK(!ev.in_irq);
}

TEST(rejects_short_or_foreign_records)
{
    struct tp_format f[3];
    struct tp_layout l[3];
    CHECK_EQ_INT(layouts(f, l), 0);
    uint8_t raw[256];
    size_t n = unhex(rec_samples[1].hex, raw, sizeof raw);
    struct tev ev;
    CHECK_EQ_INT(tev_decode(&l[TEV_SEND_RST], raw, n, &ev), -1); /* another event's id */
    for (size_t cut = 0; cut < 16; cut++)
        CHECK_EQ_INT(tev_decode(&l[TEV_STATE], raw, cut, &ev), -1);
    n = unhex(rec_samples[18].hex, raw, sizeof raw);
    CHECK_EQ_INT(tev_decode(&l[TEV_SEND_RST], raw, 60, &ev), -1); /* daddr cut */
}

TEST(layout_refuses_a_format_without_the_needed_fields)
{
    const char *text = "name: inet_sock_set_state\nID: 5\nformat:\n"
                       "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                       "\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n";
    struct tp_format f;
    struct tp_layout l;
    char err[256];
    CHECK_EQ_INT(tp_format_parse(text, strlen(text), &f, err, sizeof err), 0);
    CHECK_EQ_INT(tev_layout(&f, TEV_STATE, &l, err, sizeof err), -1);
    CHECK(strstr(err, "oldstate") != NULL);
}
