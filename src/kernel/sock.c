/* SPDX-License-Identifier: MIT */
#include "kernel/sock.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util/json.h"

/* ss's words, accepted on input only (ss state FILTER, --state). */
static const char *const ss_words[TS_MAX] = {
    [TS_ESTABLISHED] = "established", [TS_SYN_SENT] = "syn-sent",
    [TS_SYN_RECV] = "syn-recv",       [TS_FIN_WAIT1] = "fin-wait-1",
    [TS_FIN_WAIT2] = "fin-wait-2",    [TS_TIME_WAIT] = "time-wait",
    [TS_CLOSE] = "unconnected",       [TS_CLOSE_WAIT] = "close-wait",
    [TS_LAST_ACK] = "last-ack",       [TS_LISTEN] = "listening",
    [TS_CLOSING] = "closing",         [TS_NEW_SYN_RECV] = "syn-recv",
};
static const char *const labels[TS_MAX] = {
    [TS_ESTABLISHED] = "ESTAB",      [TS_SYN_SENT] = "SYN_SENT",
    [TS_SYN_RECV] = "SYN_RECV",      [TS_FIN_WAIT1] = "FIN_WAIT1",
    [TS_FIN_WAIT2] = "FIN_WAIT2",    [TS_TIME_WAIT] = "TIME_WAIT",
    [TS_CLOSE] = "UNCONN",           [TS_CLOSE_WAIT] = "CLOSE_WAIT",
    [TS_LAST_ACK] = "LAST_ACK",      [TS_LISTEN] = "LISTEN",
    [TS_CLOSING] = "CLOSING",        [TS_NEW_SYN_RECV] = "SYN_RECV",
};

/* The one spelling closer writes (text, JSON, metrics): see sock.h. */
const char *tcp_state_name(int s) { return s > 0 && s < TS_MAX ? labels[s] : NULL; }
const char *tcp_state_label(int s) { return s > 0 && s < TS_MAX ? labels[s] : "?"; }

#define B(s) (1u << (s))
uint32_t tcp_state_parse(const char *in)
{
    char name[32];
    size_t n = strlen(in);
    if (n == 0 || n >= sizeof name)
        return 0;
    for (size_t i = 0; i <= n; i++)
        name[i] = in[i] == '_' ? '-' : (char)tolower((unsigned char)in[i]);
    static const struct { const char *name; uint32_t mask; } groups[] = {
        {"all", TS_ALL_MASK},
        {"connected", TS_ALL_MASK & ~(B(TS_LISTEN) | B(TS_CLOSE))},
        /* ss: every state but CLOSE, LISTEN and SYN-SENT (SYN-RECV is in) */
        {"synchronized", TS_ALL_MASK & ~(B(TS_LISTEN) | B(TS_CLOSE) | B(TS_SYN_SENT))},
        {"bucket", B(TS_SYN_RECV) | B(TS_NEW_SYN_RECV) | B(TS_TIME_WAIT)},
        {"big", TS_ALL_MASK & ~(B(TS_SYN_RECV) | B(TS_NEW_SYN_RECV) | B(TS_TIME_WAIT))},
        {"listen", B(TS_LISTEN)},
        {"estab", B(TS_ESTABLISHED)},
        {"syn-recv", B(TS_SYN_RECV) | B(TS_NEW_SYN_RECV)},
        {"syn-rcv", B(TS_SYN_RECV) | B(TS_NEW_SYN_RECV)},
        {"fin-wait1", B(TS_FIN_WAIT1)},
        {"fin-wait2", B(TS_FIN_WAIT2)},
        {"close", B(TS_CLOSE)},
        {"closed", B(TS_CLOSE)},
        {"unconn", B(TS_CLOSE)},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (!strcmp(name, groups[i].name))
            return groups[i].mask;
    for (int s = 1; s < TS_MAX; s++)
        if (s != TS_NEW_SYN_RECV && !strcmp(name, ss_words[s]))
            return B(s);
    return 0;
}

const char *tcp_timer_name(int t)
{
    static const char *const tn[] = {"off", "on", "keepalive", "timewait", "persist"};
    return t >= 0 && t <= 4 ? tn[t] : "unknown";
}

char *tcp_addr_format(char *buf, int family, const uint8_t addr[16], uint16_t port)
{
    char a[INET6_ADDRSTRLEN];
    if (family == AF_INET) {
        inet_ntop(AF_INET, addr, a, sizeof a);
        snprintf(buf, 64, "%s:%u", a, port);
    } else {
        inet_ntop(AF_INET6, addr, a, sizeof a);
        snprintf(buf, 64, "[%s]:%u", a, port);
    }
    return buf;
}

char *tcp_ip_format(char *buf, int family, const uint8_t addr[16])
{
    if (!inet_ntop(family == AF_INET ? AF_INET : AF_INET6, addr, buf, 64))
        snprintf(buf, 64, "?");
    return buf;
}

void tcp_endpoint_json(struct json *j, const char *key, int family, const uint8_t addr[16],
                       uint16_t port)
{
    char k[64], a[64];
    json_str(j, key, tcp_addr_format(a, family, addr, port));
    snprintf(k, sizeof k, "%s_ip", key);
    json_str(j, k, tcp_ip_format(a, family, addr));
    snprintf(k, sizeof k, "%s_port", key);
    json_uint(j, k, port);
}

void tcp_endpoint_json_null(struct json *j, const char *key)
{
    char k[64];
    json_null(j, key);
    snprintf(k, sizeof k, "%s_ip", key);
    json_null(j, k);
    snprintf(k, sizeof k, "%s_port", key);
    json_null(j, k);
}

int tcp_addr_is_any(int family, const uint8_t addr[16])
{
    static const uint8_t zero[16];
    return !memcmp(addr, zero, family == AF_INET ? 4 : 16);
}

int tcp_addr_is_loopback(int family, const uint8_t a[16])
{
    static const uint8_t v6lo[16] = {[15] = 1};
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (family == AF_INET)
        return a[0] == 127;
    if (!memcmp(a, v6lo, 16))
        return 1;
    return !memcmp(a, mapped, 12) && a[12] == 127;
}
