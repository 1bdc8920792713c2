/* SPDX-License-Identifier: MIT */
/* The pure readers the scenarios use (lab/judge.h): SYN timestamps and the
 * old duplicate in captured Ethernet frames and its checksum, slab prices
 * and TIME_WAIT counts in /proc text, a finding's count in closer doctor's
 * JSON, an nft counter. Recorded inputs from tests/data/lab/, frames
 * built byte by byte as Linux sends them. */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "lab/judge.h"
#include "lab_rec.h"
#include "test.h"

struct frame {
    unsigned char b[128];
    size_t len;
};

/* Ethernet + IPv4 + TCP from sport to 9300, flags, options, payload. */
static struct frame segment(uint16_t sport, uint8_t flags, const unsigned char *opt, size_t optlen,
                            const char *payload, size_t paylen)
{
    struct frame f;
    memset(&f, 0, sizeof f);
    unsigned char *b = f.b;
    b[12] = 0x08, b[13] = 0x00;
    unsigned char *ip = b + 14, *th = ip + 20;
    size_t tcplen = 20 + optlen + paylen;
    ip[0] = 0x45;
    ip[2] = (unsigned char)((20 + tcplen) >> 8), ip[3] = (unsigned char)(20 + tcplen);
    ip[8] = 64, ip[9] = 6;
    memcpy(ip + 12, (unsigned char[]){198, 18, 0, 1, 198, 18, 0, 2}, 8);
    th[0] = (unsigned char)(sport >> 8), th[1] = (unsigned char)sport;
    th[2] = 9300 >> 8, th[3] = 9300 & 0xff;
    th[12] = (unsigned char)(((20 + optlen) / 4) << 4);
    th[13] = flags;
    th[14] = 0xfa, th[15] = 0xf0;
    memcpy(th + 20, opt, optlen);
    memcpy(th + 20 + optlen, payload, paylen);
    f.len = 14 + 20 + tcplen;
    return f;
}

enum { FIN = 1, SYN = 2, PSH = 8, ACK = 16 };

/* MSS 1460, SACK permitted, timestamps (TSval 0x01020304), NOP, wscale 7:
 * a Linux SYN's options. */
static const unsigned char syn_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4,
                                           0, 0, 0, 0, 1, 3, 3, 7};

TEST(syn_timestamp_read_from_a_linux_syn)
{
    struct frame f = segment(41000, SYN, syn_opts, sizeof syn_opts, "", 0);
    CHECK_EQ_INT(lab_syn_tsval(f.b, f.len, 41000), 0x01020304);
}

TEST(syn_timestamp_only_from_a_bare_syn_of_that_port)
{
    struct frame f = segment(41000, SYN | ACK, syn_opts, sizeof syn_opts, "", 0);
    CHECK_EQ_INT(lab_syn_tsval(f.b, f.len, 41000), 0);      /* a SYN-ACK */
    f = segment(41000, SYN, syn_opts, sizeof syn_opts, "", 0);
    CHECK_EQ_INT(lab_syn_tsval(f.b, f.len, 41001), 0);      /* another port */
    CHECK_EQ_INT(lab_syn_tsval(f.b, f.len - 4, 41000), 0);  /* options cut short */
    CHECK_EQ_INT(lab_syn_tsval(f.b, 40, 41000), 0);         /* not even a header */
    f.b[12] = 0x86, f.b[13] = 0xdd;                          /* not IPv4 */
    CHECK_EQ_INT(lab_syn_tsval(f.b, f.len, 41000), 0);
    f = segment(41000, SYN, syn_opts, sizeof syn_opts, "", 0);
    f.b[14 + 9] = 17;                                        /* UDP */
    CHECK_EQ_INT(lab_syn_tsval(f.b, f.len, 41000), 0);
}

TEST(syn_without_timestamps_or_with_broken_options_gives_zero)
{
    const unsigned char no_ts[8] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
    struct frame f = segment(41000, SYN, no_ts, sizeof no_ts, "", 0);
    CHECK_EQ_INT(lab_syn_tsval(f.b, f.len, 41000), 0);
    /* an option of length 0 would loop forever: the walk stops there */
    const unsigned char zero_len[8] = {2, 0, 8, 10, 1, 2, 3, 4};
    f = segment(41000, SYN, zero_len, sizeof zero_len, "", 0);
    CHECK_EQ_INT(lab_syn_tsval(f.b, f.len, 41000), 0);
    /* end of options before the timestamp */
    const unsigned char eol[12] = {0, 0, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0};
    f = segment(41000, SYN, eol, sizeof eol, "", 0);
    CHECK_EQ_INT(lab_syn_tsval(f.b, f.len, 41000), 0);
}

TEST(old_duplicate_found_by_port_and_payload)
{
    struct frame f = segment(40100, PSH | ACK, NULL, 0, "OLD!", 4);
    CHECK(lab_frame_is_old(f.b, f.len, 40100));
    CHECK(!lab_frame_is_old(f.b, f.len, 40101));
    CHECK(!lab_frame_is_old(f.b, f.len - 1, 40100));
    f = segment(40100, PSH | ACK, NULL, 0, "NEW!", 4);
    CHECK(!lab_frame_is_old(f.b, f.len, 40100));
    f = segment(40100, PSH | ACK, syn_opts, 12, "OLD!", 4); /* options before the data */
    CHECK(lab_frame_is_old(f.b, f.len, 40100));
    f.b[14 + 9] = 17;
    CHECK(!lab_frame_is_old(f.b, f.len, 40100));
}

/* The checksum as RFC 1071 defines it, written out independently: the
 * one's complement sum of the pseudo header and the segment is 0xffff. */
static bool checksum_ok(const struct frame *f)
{
    const unsigned char *ip = f->b + 14;
    size_t len = f->len - 14 - 20;
    uint32_t sum = 0;
    for (int i = 12; i < 20; i += 2)
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    sum += 6 + (uint32_t)len;
    for (size_t i = 0; i < len; i++)
        sum += i % 2 ? ip[20 + i] : (uint32_t)ip[20 + i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

TEST(checksum_of_a_captured_segment_recomputed)
{
    struct frame f = segment(40100, PSH | ACK, NULL, 0, "OLD!", 4);
    f.b[14 + 20 + 16] = 0x12, f.b[14 + 20 + 17] = 0x34; /* a partial (offloaded) checksum */
    CHECK(!checksum_ok(&f));
    lab_frame_tcp_checksum(f.b);
    CHECK(checksum_ok(&f));
    /* an odd length, and options */
    f = segment(40101, PSH | ACK, syn_opts, 12, "OLD!x", 5);
    lab_frame_tcp_checksum(f.b);
    CHECK(checksum_ok(&f));
    f.b[f.len - 1] ^= 1; /* one bit flipped in flight */
    CHECK(!checksum_ok(&f));
}

TEST(slab_prices_from_recorded_slabinfo)
{
    const char *text = rec_file(LAB_DATA "slabinfo", NULL);
    CHECK(text);
    struct lab_slab_price tw, full;
    CHECK_EQ_INT(lab_slab_price(text, "tw_sock_TCP", 4096, &tw), 0);
    CHECK_EQ_INT(tw.objsize, 256);
    CHECK_EQ_INT(tw.per_object, 256);  /* 16 per page */
    CHECK_EQ_INT(lab_slab_price(text, "TCP", 4096, &full), 0);
    CHECK_EQ_INT(full.objsize, 2368);  /* not TCPv6's 2496, listed first */
    CHECK_EQ_INT(full.per_object, 2520); /* 13 in 8 pages */
    /* the same figures the recorded tw-memory run priced with */
    const struct rec_scen *s = rec_find("tw-memory");
    CHECK(s);
    CHECK_EQ_INT(rec_num(s, "tw_sock_bytes"), tw.per_object);
    CHECK_EQ_INT(rec_num(s, "full_sock_bytes"), full.per_object);
}

TEST(slab_price_of_a_missing_or_broken_cache_fails)
{
    struct lab_slab_price p = {0};
    const char *text = rec_file(LAB_DATA "slabinfo", NULL);
    CHECK(text);
    CHECK_EQ_INT(lab_slab_price(text, "tw_sock", 4096, &p), -1); /* a prefix is no name */
    CHECK_EQ_INT(lab_slab_price(text, "UDP", 4096, &p), -1);
    CHECK_EQ_INT(lab_slab_price("TCP 1 2 3\n", "TCP", 4096, &p), -1);
    CHECK_EQ_INT(lab_slab_price("TCP 1 2 3 0 8\n", "TCP", 4096, &p), -1); /* 0 per slab */
    CHECK_EQ_INT(lab_slab_price("", "TCP", 4096, &p), -1);
    CHECK_EQ_INT(p.per_object, 0);
}

TEST(sockstat_time_wait_count)
{
    const char *text = rec_file(LAB_DATA "sockstat", NULL);
    CHECK(text);
    CHECK_EQ_INT(lab_sockstat_tw(text), 89);
    text = rec_file(LAB_DATA "sockstat_empty", NULL);
    CHECK(text);
    CHECK_EQ_INT(lab_sockstat_tw(text), 0);
    CHECK_EQ_INT(lab_sockstat_tw("sockets: used 3\nUDP: inuse 0 mem 0\n"), -1);
    CHECK_EQ_INT(lab_sockstat_tw("TCP: inuse 2 orphan 0\n"), -1);
}

TEST(finding_count_from_recorded_doctor_json)
{
    const char *json = rec_file(LAB_DATA "doctor_close_wait.json", NULL);
    CHECK(json);
    CHECK_EQ_INT(lab_finding_count(json, "close-wait-blocked-thread"), 5);
    /* a finding with count 0 is reported, with its count */
    CHECK_EQ_INT(lab_finding_count(json, "sysctl-tcp-fin-timeout"), 0);
    CHECK_EQ_INT(lab_finding_count(json, "close-wait-not-closed"), -1);
    CHECK_EQ_INT(lab_finding_count(json, "close-wait"), -1); /* the whole id, not a prefix */
}

TEST(finding_count_reads_only_its_own_finding)
{
    /* the next finding's count is not taken for a finding without one */
    CHECK_EQ_INT(lab_finding_count("[{\"id\":\"a\",\"title\":\"x\"},{\"id\":\"b\",\"count\":7}]",
                                   "a"), -1);
    CHECK_EQ_INT(lab_finding_count("[{\"id\":\"a\",\"title\":\"x\"},{\"id\":\"b\",\"count\":7}]",
                                   "b"), 7);
    /* a finding longer than the reader's window: cut, not overrun */
    static char big[4096];
    int n = snprintf(big, sizeof big, "{\"id\":\"a\",\"title\":\"");
    memset(big + n, 'x', 3000);
    snprintf(big + n + 3000, sizeof big - (size_t)n - 3000, "\",\"count\":3}");
    CHECK_EQ_INT(lab_finding_count(big, "a"), -1);
    /* no closing brace at all */
    CHECK_EQ_INT(lab_finding_count("{\"id\":\"a\",\"count\":4", "a"), 4);
}

TEST(nft_counter_packets)
{
    const char *listing =
        "table inet lab {\n\tchain out {\n\t\ttype filter hook output priority filter; "
        "policy accept;\n\t\ttcp dport 9000 tcp flags == ack counter packets 4 bytes 208 "
        "drop\n\t}\n}\n";
    CHECK_EQ_INT(lab_nft_packets(listing), 4);
    CHECK_EQ_INT(lab_nft_packets("table inet lab {\n}\n"), -1);
}
