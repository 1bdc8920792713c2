/* SPDX-License-Identifier: MIT */
/* Netlink sock_diag decoding on hand-built kernel answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include "kernel/diag.h"
#include "kernel/diagrec.h"
#include "test.h"

static char buf[8192];
static size_t used;

static void add_msg(uint16_t type, uint16_t flags, const void *payload, size_t len)
{
    struct nlmsghdr *h = (struct nlmsghdr *)(buf + used);
    h->nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
    memcpy(NLMSG_DATA(h), payload, len);
    used += NLMSG_ALIGN(h->nlmsg_len);
}

static void add_sock(int family, int state, const char *src, int sport, const char *dst,
                     int dport, uint32_t inode, int timer, uint32_t expires)
{
    struct inet_diag_msg m = {.idiag_family = (uint8_t)family, .idiag_state = (uint8_t)state,
                              .idiag_timer = (uint8_t)timer, .idiag_expires = expires,
                              .idiag_inode = inode, .idiag_rqueue = 3, .idiag_wqueue = 4};
    m.id.idiag_sport = htons((uint16_t)sport);
    m.id.idiag_dport = htons((uint16_t)dport);
    inet_pton(family, src, m.id.idiag_src);
    inet_pton(family, dst, m.id.idiag_dst);
    add_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, &m, sizeof m);
}

static struct tcp_sock got[256];
static int ngot;
static struct tcp_activity acts[256];
static int has_act[256];
static int collect(const struct tcp_sock *s, const struct tcp_activity *act, void *arg)
{
    (void)arg;
    if (ngot < 256) {
        has_act[ngot] = act != NULL;
        if (act)
            acts[ngot] = *act;
        got[ngot++] = *s;
    }
    return 0;
}

static int decode(int *intr)
{
    ngot = 0;
    *intr = 0;
    return diag_decode(buf, used, collect, NULL, intr);
}

TEST(decodes_v4_and_v6_then_done)
{
    used = 0;
    add_sock(AF_INET, TS_TIME_WAIT, "10.0.0.1", 8080, "10.0.0.2", 40000, 0, TT_TIMEWAIT, 59000);
    add_sock(AF_INET6, TS_CLOSE_WAIT, "::1", 443, "::2", 50000, 1234, TT_OFF, 0);
    int done = 0;
    add_msg(NLMSG_DONE, NLM_F_MULTI, &done, sizeof done);
    int intr;
    CHECK_EQ_INT(decode(&intr), 1);
    CHECK_EQ_INT(ngot, 2);
    CHECK_EQ_INT(intr, 0);
    CHECK_EQ_INT(got[0].state, TS_TIME_WAIT);
    CHECK_EQ_INT(got[0].sport, 8080);
    CHECK_EQ_INT(got[0].dport, 40000);
    CHECK_EQ_INT(got[0].expires_ms, 59000);
    CHECK_EQ_INT(got[0].timer, TT_TIMEWAIT);
    char a[64];
    CHECK_EQ_STR(tcp_addr_format(a, got[0].family, got[0].src, got[0].sport), "10.0.0.1:8080");
    CHECK_EQ_STR(tcp_addr_format(a, got[1].family, got[1].dst, got[1].dport), "[::2]:50000");
    CHECK_EQ_INT(got[1].inode, 1234);
    CHECK_EQ_INT(got[1].rqueue, 3);
    CHECK_EQ_INT(got[1].wqueue, 4);
}

TEST(more_expected_without_done)
{
    used = 0;
    add_sock(AF_INET, TS_ESTABLISHED, "1.2.3.4", 1, "5.6.7.8", 2, 9, 0, 0);
    int intr;
    CHECK_EQ_INT(decode(&intr), 0);
    CHECK_EQ_INT(ngot, 1);
}

TEST(dump_interrupted_is_flagged)
{
    used = 0;
    struct inet_diag_msg m = {.idiag_family = AF_INET, .idiag_state = TS_LISTEN};
    add_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI | NLM_F_DUMP_INTR, &m, sizeof m);
    int intr;
    CHECK_EQ_INT(decode(&intr), 0);
    CHECK_EQ_INT(intr, 1);
}

TEST(kernel_error_is_returned)
{
    used = 0;
    struct nlmsgerr e = {.error = -EPERM};
    add_msg(NLMSG_ERROR, 0, &e, sizeof e);
    int intr;
    CHECK_EQ_INT(decode(&intr), -EPERM);
}

/* A mutated recording's error field: callers print strerror(-rc), so only
 * a real negative errno may come back (-INT_MIN overflowed; a positive
 * value read as success with the dump cut short). */
TEST(bogus_error_values_are_malformed)
{
    static const int bogus[] = {-2147483647 - 1, -4096, 5, 1};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        used = 0;
        struct nlmsgerr e = {.error = bogus[i]};
        add_msg(NLMSG_ERROR, 0, &e, sizeof e);
        int intr;
        CHECK_EQ_INT(decode(&intr), -EBADMSG);
    }
}

TEST(truncated_message_is_an_error)
{
    used = 0;
    add_sock(AF_INET, TS_ESTABLISHED, "1.2.3.4", 1, "5.6.7.8", 2, 9, 0, 0);
    used -= 8; /* cut the last bytes off */
    int intr;
    CHECK(decode(&intr) < 0);
}

TEST(short_payload_is_an_error)
{
    used = 0;
    char small[8] = {AF_INET};
    add_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, small, sizeof small);
    int intr;
    CHECK_EQ_INT(decode(&intr), -EBADMSG);
}

static int replay(const char *path, char *err)
{
    ngot = 0;
    return diagrec_replay(path, collect, NULL, err, 200);
}

/* A recording of one listener, as --record writes it; its size in *size. */
static void write_recording(const char *path, long *size)
{
    used = 0;
    add_sock(AF_INET, TS_LISTEN, "0.0.0.0", 80, "0.0.0.0", 0, 77, 0, 0);
    int done = 0;
    add_msg(NLMSG_DONE, NLM_F_MULTI, &done, sizeof done);
    struct diagrec r = {0};
    FILE *f = fopen(path, "wb");
    CHECK(f && diagrec_begin(&r, f) == 0 && diagrec_chunk(&r, buf, (uint32_t)used) == 0 &&
          diagrec_end(&r) == 0);
    *size = ftell(f);
    fclose(f);
}

TEST(replay_reads_a_recording)
{
    char path[] = "/tmp/closer-test-replay-XXXXXX", err[200];
    close(mkstemp(path));
    long size;
    write_recording(path, &size);
    CHECK_EQ_INT(replay(path, err), 0);
    CHECK_EQ_INT(ngot, 1);
    CHECK_EQ_INT(got[0].inode, 77);
    unlink(path);
    CHECK_EQ_INT(replay("/nonexistent/closer", err), -1);
    CHECK(strstr(err, "No such file") != NULL);
}

/* Rewrites the recording at path with its first n bytes, then extra. */
static void damage(const char *path, long n, const void *extra, size_t elen, long size)
{
    char *all = malloc((size_t)size);
    FILE *f = fopen(path, "rb");
    CHECK(f && fread(all, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    f = fopen(path, "wb");
    fwrite(all, 1, (size_t)n, f);
    fwrite(extra, 1, elen, f);
    fclose(f);
    free(all);
}

/* issue 24: a file of zeros was a valid empty recording and /dev/zero
 * never ended; every damaged form is refused, with the reason. */
TEST(replay_refuses_damaged_recordings)
{
    char path[] = "/tmp/closer-test-damaged-XXXXXX", err[200];
    close(mkstemp(path));
    long size;
    static const char zeros[4096];
    FILE *f = fopen(path, "wb");
    fwrite(zeros, 1, sizeof zeros, f);
    fclose(f);
    CHECK_EQ_INT(replay(path, err), -1);
    CHECK(strstr(err, "not a closer recording") != NULL);
    CHECK_EQ_INT(replay("/dev/zero", err), -1); /* ends: the header is 16 bytes */
    CHECK(strstr(err, "not a closer recording") != NULL);
    const struct { long keep; const char *extra; size_t elen; const char *why; } cases[] = {
        {10, "", 0, "truncated"},            /* inside the header */
        {30, "", 0, "truncated"},            /* inside the chunk */
        {-20, "", 0, "truncated"},           /* no trailer */
        {-8, "\0\0\0\0\0\0\0\0", 8, "trailer says"}, /* total wrong */
        {-16, "\0\0\0\0\0\0\0\0", 8, "truncated"}, /* checksum cut */
        {40, "\xfe\xfe", 2, "truncated"},        /* damaged in the middle, cut */
        {0, "x", 1, "after the trailer"},     /* appended junk (keep = size) */
        {16, "\xff\xff\xff\x7f", 4, "chunk of"}, /* a 2 GB chunk length */
        {20, "garbage-garbage-garbage!", 24, "truncated"},
        {8, "\x07\0\0\0\x10\0\0\0", 8, "version 7"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_recording(path, &size);
        long keep = cases[i].keep <= 0 ? size + cases[i].keep : cases[i].keep;
        damage(path, keep, cases[i].extra, cases[i].elen, size);
        err[0] = 0;
        CHECK_EQ_INT(replay(path, err), -1);
        if (!strstr(err, cases[i].why))
            fprintf(stderr, "case %zu: '%s' does not say '%s'\n", i, err, cases[i].why);
        CHECK(strstr(err, cases[i].why) != NULL);
    }
    unlink(path);
}

/* One byte flipped inside a netlink message that still decodes: only the
 * checksum can tell. */
TEST(replay_refuses_a_flipped_byte)
{
    char path[] = "/tmp/closer-test-flip-XXXXXX", err[200];
    close(mkstemp(path));
    long size;
    write_recording(path, &size);
    FILE *f = fopen(path, "r+b");
    fseek(f, 16 + 4 + 8, SEEK_SET); /* the first message's sequence number */
    fputc(0x5a, f);
    fclose(f);
    CHECK_EQ_INT(replay(path, err), -1);
    CHECK(strstr(err, "checksum") != NULL);
    unlink(path);
}

TEST(recording_write_errors_are_seen)
{
    FILE *f = fopen("/dev/full", "wb");
    CHECK(f != NULL);
    setvbuf(f, NULL, _IONBF, 0);
    used = 0;
    add_sock(AF_INET, TS_LISTEN, "0.0.0.0", 80, "0.0.0.0", 0, 77, 0, 0);
    struct diagrec r = {0};
    CHECK_EQ_INT(diagrec_begin(&r, f), -ENOSPC);
    CHECK_EQ_INT(diagrec_chunk(&r, buf, (uint32_t)used), -ENOSPC);
    CHECK_EQ_INT(diagrec_end(&r), -ENOSPC);
    fclose(f);
}

TEST(live_dump_sees_own_listener)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(fd, 7) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    ngot = 0;
    memset(got, 0, sizeof got);
    /* Filter to LISTEN only; our socket must be among them. */
    int intr = 0;
    int rc = diag_dump(AF_INET, 1u << TS_LISTEN, false, collect, NULL, NULL, &intr);
    close(fd);
    CHECK_EQ_INT(rc, 0);
    int found = 0;
    for (int i = 0; i < ngot; i++)
        if (got[i].sport == ntohs(a.sin_port) && got[i].wqueue == 7 && got[i].state == TS_LISTEN)
            found = 1;
    CHECK(found);
}

/* One AF_UNSPEC walk returns both families: a v4 and a v6 listener of our
 * own are both there, and (compared to per-family dumps) nothing else
 * differs in count. */
TEST(live_dump_both_families_in_one_walk)
{
    int f4 = socket(AF_INET, SOCK_STREAM, 0), f6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    CHECK(bind(f4, (struct sockaddr *)&a, sizeof a) == 0 && listen(f4, 5) == 0);
    int have6 = bind(f6, (struct sockaddr *)&a6, sizeof a6) == 0 && listen(f6, 6) == 0;
    socklen_t len = sizeof a;
    getsockname(f4, (struct sockaddr *)&a, &len);
    len = sizeof a6;
    getsockname(f6, (struct sockaddr *)&a6, &len);
    int intr = 0, seen4 = 0, seen6 = 0;
    ngot = 0;
    memset(got, 0, sizeof got);
    CHECK_EQ_INT(diag_dump(AF_UNSPEC, 1u << TS_LISTEN, false, collect, NULL, NULL, &intr), 0);
    int both = ngot;
    for (int i = 0; i < ngot; i++) {
        seen4 |= got[i].family == AF_INET && got[i].sport == ntohs(a.sin_port) && got[i].wqueue == 5;
        seen6 |= got[i].family == AF_INET6 && got[i].sport == ntohs(a6.sin6_port) && got[i].wqueue == 6;
    }
    ngot = 0;
    CHECK_EQ_INT(diag_dump(AF_INET, 1u << TS_LISTEN, false, collect, NULL, NULL, &intr), 0);
    CHECK_EQ_INT(diag_dump(AF_INET6, 1u << TS_LISTEN, false, collect, NULL, NULL, &intr), 0);
    int per_family = ngot;
    ngot = 0;
    CHECK_EQ_INT(diag_dump_tcp(1u << TS_LISTEN, false, collect, NULL, NULL, &intr), 0);
    close(f4), close(f6);
    CHECK(seen4);
    if (have6) /* a host without IPv6 on lo still checks v4 */
        CHECK(seen6);
    CHECK_EQ_INT(both, per_family);
    CHECK_EQ_INT(ngot, both);
}

/* Found by fuzz_diag: a message whose length is not a multiple of 4 at the
 * end of the buffer made the signed remainder negative, and an unsigned
 * cast turned that into "plenty left". */
TEST(unpadded_last_message_does_not_overrun)
{
    unsigned char in[18] = {0x12, 0, 0, 0, 0, 0x12};
    int intr = 0;
    ngot = 0;
    char *heap = malloc(sizeof in);
    memcpy(heap, in, sizeof in);
    int rc = diag_decode(heap, sizeof in, collect, NULL, &intr);
    free(heap);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(ngot, 0);
}

/* A message with tcp_info after other attributes: the fields land in the
 * activity record; a message without it gives NULL; a bad attribute length
 * is ignored, not read past. */
TEST(tcp_info_attribute_is_decoded)
{
    used = 0;
    /* Laid out by hand: attributes are 4-aligned, tcp_info's u64s are not
     * (a struct here would pad between the header and the payload). */
    unsigned char p[sizeof(struct inet_diag_msg) + 8 + RTA_LENGTH(sizeof(struct tcp_info))];
    memset(p, 0, sizeof p);
    struct inet_diag_msg m = {.idiag_family = AF_INET, .idiag_state = TS_CLOSE_WAIT, .idiag_inode = 5};
    memcpy(p, &m, sizeof m);
    struct rtattr a1 = {.rta_len = RTA_LENGTH(4), .rta_type = INET_DIAG_SHUTDOWN};
    struct rtattr a2 = {.rta_len = RTA_LENGTH(sizeof(struct tcp_info)), .rta_type = INET_DIAG_INFO};
    memcpy(p + sizeof m, &a1, sizeof a1);
    memcpy(p + sizeof m + 8, &a2, sizeof a2);
    struct tcp_info ti;
    memset(&ti, 0, sizeof ti);
    ti.tcpi_last_data_recv = 4200;
    ti.tcpi_last_data_sent = 4300;
    ti.tcpi_last_ack_recv = 4100;
    ti.tcpi_data_segs_in = 7;
    ti.tcpi_data_segs_out = 6;
    ti.tcpi_bytes_acked = 1234;
    ti.tcpi_bytes_received = 999;
    memcpy(p + sizeof m + 8 + RTA_LENGTH(0), &ti, sizeof ti);
    add_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, &p, sizeof p);
    add_sock(AF_INET, TS_TIME_WAIT, "1.2.3.4", 1, "5.6.7.8", 2, 0, TT_TIMEWAIT, 100);
    struct {
        struct inet_diag_msg m;
        struct rtattr a;
    } bad;
    memset(&bad, 0, sizeof bad);
    bad.m = (struct inet_diag_msg){.idiag_family = AF_INET, .idiag_state = TS_ESTABLISHED};
    bad.a = (struct rtattr){.rta_len = 200, .rta_type = INET_DIAG_INFO};
    add_msg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, &bad, sizeof bad);
    int intr;
    CHECK_EQ_INT(decode(&intr), 0);
    CHECK_EQ_INT(ngot, 3);
    CHECK(has_act[0]);
    CHECK_EQ_INT(acts[0].last_data_recv_ms, 4200);
    CHECK_EQ_INT(acts[0].last_data_sent_ms, 4300);
    CHECK_EQ_INT(acts[0].last_ack_recv_ms, 4100);
    CHECK_EQ_INT(acts[0].data_segs_in, 7);
    CHECK_EQ_INT(acts[0].data_segs_out, 6);
    CHECK_EQ_INT(acts[0].bytes_acked, 1234);
    CHECK_EQ_INT(acts[0].bytes_received, 999);
    CHECK(!has_act[1]);
    CHECK(!has_act[2]);
}

/* The kernel answers the INET_DIAG_INFO request for a real connection:
 * one request's bytes counted on both ends, none for the listener's
 * absence of data. */
TEST(live_dump_carries_tcp_info)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 4) == 0);
    socklen_t len = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &len);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    int srv = accept(l, NULL, NULL);
    CHECK(write(c, "hello", 5) == 5);
    char rd[8];
    CHECK(read(srv, rd, sizeof rd) == 5);
    int intr = 0;
    ngot = 0;
    CHECK_EQ_INT(diag_dump(AF_INET, 1u << TS_ESTABLISHED, true, collect, NULL, NULL, &intr), 0);
    int found = 0;
    for (int i = 0; i < ngot; i++)
        if (got[i].sport == ntohs(a.sin_port) && has_act[i]) {
            found = 1;
            CHECK_EQ_INT(acts[i].bytes_received, 5);
            CHECK_EQ_INT(acts[i].data_segs_in, 1);
            CHECK(acts[i].last_data_recv_ms < 60000);
        }
    close(srv), close(c), close(l);
    CHECK(found);
}
