/* SPDX-License-Identifier: MIT */
/* states -i / -m: a sock_diag message with INFO, CONG and SKMEMINFO parsed
 * into a detail, and the detail written in ss's words and order. */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <string.h>

#include "doctor/states_detail.h"
#include "kernel/diag_detail.h"
#include "test.h"

static size_t put_attr(char *at, int type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)at;
    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    return RTA_ALIGN(a->rta_len);
}

/* One ESTAB 127.0.0.1:7000 -> 127.0.0.1:40000 message. */
static size_t message(char *buf, const struct tcp_info *ti, size_t tilen)
{
    memset(buf, 0, 4096);
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    struct inet_diag_msg *m = NLMSG_DATA(h);
    m->idiag_family = AF_INET;
    m->idiag_state = TS_ESTABLISHED;
    m->id.idiag_sport = htons(7000);
    m->id.idiag_dport = htons(40000);
    m->id.idiag_src[0] = m->id.idiag_dst[0] = htonl(0x7f000001);
    size_t off = NLMSG_ALIGN(NLMSG_LENGTH(sizeof *m));
    off += put_attr(buf + off, INET_DIAG_INFO, ti, tilen);
    off += put_attr(buf + off, INET_DIAG_CONG, "cubic", 6);
    uint32_t mem[DIAG_SKMEM_VARS] = {1832, 131072, 0, 2626560, 2264, 0, 0, 0, 0};
    off += put_attr(buf + off, INET_DIAG_SKMEMINFO, mem, sizeof mem);
    h->nlmsg_len = (uint32_t)off;
    return off;
}

static struct tcp_info sample(void)
{
    struct tcp_info ti;
    memset(&ti, 0, sizeof ti);
    ti.tcpi_options = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE;
    ti.tcpi_snd_wscale = 7;
    ti.tcpi_rcv_wscale = 7;
    ti.tcpi_rto = 204000;
    ti.tcpi_rtt = 24;
    ti.tcpi_rttvar = 12;
    ti.tcpi_snd_mss = 32768;
    ti.tcpi_pmtu = 65535;
    ti.tcpi_snd_cwnd = 10;
    ti.tcpi_snd_ssthresh = 0x7fffffff; /* infinite: ss leaves it out */
    ti.tcpi_bytes_received = 1000;
    ti.tcpi_segs_in = 3;
    ti.tcpi_last_data_recv = 8;
    ti.tcpi_reordering = 3;
    ti.tcpi_min_rtt = 17;
    return ti;
}

TEST(parse_info_cong_and_memory)
{
    char buf[4096];
    struct tcp_info ti = sample();
    size_t len = message(buf, &ti, sizeof ti);
    struct sock_detail d;
    CHECK(diag_detail_parse(buf, len, &d));
    CHECK_EQ_INT(d.sport, 7000);
    CHECK_EQ_INT(d.dport, 40000);
    CHECK(d.has_info && d.has_mem);
    CHECK_EQ_STR(d.cong, "cubic");
    CHECK_EQ_INT(d.mem[0], 1832);
    CHECK_EQ_INT(d.info.tcpi_snd_cwnd, 10);
}

/* An older kernel's shorter tcp_info: what it has is kept, the rest is 0. */
TEST(parse_short_tcp_info)
{
    char buf[4096];
    struct tcp_info ti = sample();
    size_t len = message(buf, &ti, 104); /* up to tcpi_total_retrans */
    struct sock_detail d;
    CHECK(diag_detail_parse(buf, len, &d));
    CHECK_EQ_INT(d.info.tcpi_snd_cwnd, 10);
    CHECK_EQ_INT(d.info.tcpi_bytes_received, 0);
    CHECK_EQ_STR(d.cong, "cubic");
}

TEST(text_as_ss)
{
    char buf[4096], text[1024];
    struct tcp_info ti = sample();
    struct sock_detail d;
    CHECK(diag_detail_parse(buf, message(buf, &ti, sizeof ti), &d));
    states_detail_text(text, sizeof text, &d, true, true, false);
    CHECK_EQ_STR(text, " skmem:(r1832,rb131072,t0,tb2626560,f2264,w0,o0,bl0,d0) cubic wscale:7,7"
                       " rto:204 rtt:0.024/0.012 mss:32768 pmtu:65535 cwnd:10 bytes_received:1000"
                       " segs_in:3 send 109226666667bps lastrcv:8 minrtt:0.017");
    states_detail_text(text, sizeof text, &d, true, false, true);
    CHECK(!strncmp(text, " ts sack cubic wscale:7,7 ", 26));
    states_detail_text(text, sizeof text, &d, false, true, false);
    CHECK_EQ_STR(text, " skmem:(r1832,rb131072,t0,tb2626560,f2264,w0,o0,bl0,d0)");
    CHECK_EQ_INT(states_detail_text(text, sizeof text, NULL, true, true, true), 0);
    CHECK_EQ_STR(text, "");
}

TEST(find_by_addresses)
{
    char buf[4096];
    struct tcp_info ti = sample();
    struct sock_detail v[2];
    CHECK(diag_detail_parse(buf, message(buf, &ti, sizeof ti), &v[0]));
    v[1] = v[0];
    v[1].sport = 7001;
    struct tcp_sock t = {.family = AF_INET, .sport = 7001, .dport = 40000};
    memcpy(t.src, v[0].src, 16);
    memcpy(t.dst, v[0].dst, 16);
    CHECK(diag_detail_find(v, 2, &t) == &v[1]);
    t.dport = 1;
    CHECK(diag_detail_find(v, 2, &t) == NULL);
}
