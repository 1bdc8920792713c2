/* SPDX-License-Identifier: MIT */
/* One TCP socket as the kernel reports it (sock_diag or /proc/net/tcp).
 * Addresses are kept as 16 bytes; for AF_INET the first 4 hold the address. */
#ifndef CLOSER_KERNEL_SOCK_H
#define CLOSER_KERNEL_SOCK_H
#include <stdint.h>

/* Linux TCP states (include/net/tcp_states.h numbering). */
enum tcp_state {
    TS_ESTABLISHED = 1, TS_SYN_SENT, TS_SYN_RECV, TS_FIN_WAIT1, TS_FIN_WAIT2,
    TS_TIME_WAIT, TS_CLOSE, TS_CLOSE_WAIT, TS_LAST_ACK, TS_LISTEN, TS_CLOSING,
    TS_NEW_SYN_RECV, TS_MAX
};
#define TS_ALL_MASK (((1u << TS_MAX) - 1) & ~1u)

/* Timer kinds as in inet_diag idiag_timer and /proc/net/tcp "tr". */
enum tcp_timer { TT_OFF = 0, TT_RETRANS = 1, TT_KEEPALIVE = 2, TT_TIMEWAIT = 3, TT_PROBE = 4 };

struct tcp_sock {
    uint8_t family;     /* AF_INET or AF_INET6 */
    uint8_t state;      /* enum tcp_state */
    uint8_t timer;      /* enum tcp_timer */
    uint8_t retrans;
    uint16_t sport, dport; /* host byte order */
    uint32_t expires_ms;   /* timer remaining */
    uint32_t rqueue;       /* LISTEN: accept queue length */
    uint32_t wqueue;       /* LISTEN: backlog */
    uint32_t uid;
    /* 0: in an accept queue, orphaned, or a minisocket. 32 bits, as the
     * kernel's socket inodes are (get_next_ino(), inet_diag's idiag_inode):
     * 4 bytes less per socket is 4 MB at 1M TIME_WAIT. */
    uint32_t inode;
    uint8_t src[16], dst[16];
};

/* What tcp_info (sock_diag INET_DIAG_INFO) tells about a full socket's
 * activity: idle times in ms since the event (a CLOSE_WAIT's age is about
 * last_data_recv_ms: the FIN was the last thing received) and traffic
 * (data_segs_in ~ requests on a server connection). TIME_WAIT minisockets
 * and SYN_RECV requests have none. */
struct tcp_activity {
    uint32_t last_data_recv_ms, last_data_sent_ms, last_ack_recv_ms;
    uint32_t data_segs_in, data_segs_out;
    uint64_t bytes_acked, bytes_received;
};

/* The one spelling of a state that leaves closer, in text, JSON and metrics
 * alike: the kernel's enum names without TCP_ (TIME_WAIT, CLOSE_WAIT,
 * FIN_WAIT1, SYN_RECV, LAST_ACK, LISTEN, CLOSING, SYN_SENT), with ss's column
 * words for the two the kernel spells differently (ESTAB, UNCONN). Upper case
 * with '_' is what tcp_states.h, /proc/net/tcp's docs and the tracepoints print,
 * is one token for grep and shells, and is a stable Prometheus label value.
 * NULL for out of range. tcp_state_label is the same with "?" for out of range. */
const char *tcp_state_name(int state);
const char *tcp_state_label(int state);
/* Parses an ss state name (also accepts upper-case and '_'), or a group
 * ("all", "connected", "synchronized", "bucket", "big"); returns a bit mask
 * of (1 << state), 0 on error. */
uint32_t tcp_state_parse(const char *name);
const char *tcp_timer_name(int timer);
/* "1.2.3.4:80" or "[::1]:80"; buf needs 64 bytes. */
char *tcp_addr_format(char *buf, int family, const uint8_t addr[16], uint16_t port);
/* The address alone: "1.2.3.4" or "::1"; buf needs 64 bytes. */
char *tcp_ip_format(char *buf, int family, const uint8_t addr[16]);
struct json;
/* JSON endpoint fields: KEY "ip:port" (for reading), KEY_ip, KEY_port. */
void tcp_endpoint_json(struct json *j, const char *key, int family, const uint8_t addr[16],
                       uint16_t port);
/* The same three fields as null (no peer: a listener). */
void tcp_endpoint_json_null(struct json *j, const char *key);
int tcp_addr_is_any(int family, const uint8_t addr[16]);
/* v4-mapped IPv6 (::ffff:a.b.c.d) counts as the v4 address for grouping. */
int tcp_addr_is_loopback(int family, const uint8_t addr[16]);

#endif
