/* SPDX-License-Identifier: MIT */
/* What ss -i and ss -m print for each socket, asked for only when shown:
 * the whole tcp_info (INET_DIAG_INFO), the congestion control's name
 * (INET_DIAG_CONG) and the socket's memory (INET_DIAG_SKMEMINFO). A dump of
 * its own, so the snapshot's main dump stays as small as it is (1M
 * TIME_WAIT) when nobody asks.
 *
 * Error convention: 0, or negative errno. */
#ifndef CLOSER_KERNEL_DIAG_DETAIL_H
#define CLOSER_KERNEL_DIAG_DETAIL_H
#include <linux/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/sock.h"

#define DIAG_SKMEM_VARS 9 /* SK_MEMINFO_RMEM_ALLOC ... SK_MEMINFO_DROPS */

struct sock_detail {
    /* the key: the socket's addresses (as in struct tcp_sock) */
    uint8_t family;
    uint16_t sport, dport;
    uint8_t src[16], dst[16];
    uint8_t state;
    bool has_info, has_mem;
    struct tcp_info info;      /* an older kernel's shorter one: the rest 0 */
    char cong[16];             /* "cubic", "bbr"; "" when not told */
    uint32_t mem[DIAG_SKMEM_VARS];
};

/* Fills d from one SOCK_DIAG_BY_FAMILY message (len bytes); false when it
 * is not one or is malformed. */
bool diag_detail_parse(const void *msg, size_t len, struct sock_detail *d);
/* Every TCP socket in states (mask of 1 << tcp_state), both families, into
 * *out (malloc'd, sorted by family, ports, addresses); *n of them. */
int diag_detail_dump(uint32_t states, struct sock_detail **out, size_t *n);
/* The detail of t in a sorted array (NULL when the dump had none). */
const struct sock_detail *diag_detail_find(const struct sock_detail *v, size_t n,
                                           const struct tcp_sock *t);

#endif
