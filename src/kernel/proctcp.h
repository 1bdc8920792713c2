/* SPDX-License-Identifier: MIT */
/* The fallback when NETLINK_SOCK_DIAG is unavailable: /proc/net/tcp and
 * /proc/net/tcp6. Slower (text, whole table, no kernel-side filter) and
 * without some fields, but available everywhere.
 *
 * Error convention: 0 ok, negative errno; proctcp_parse_line returns 0 ok,
 * -1 for a line that is not a socket row (the header). */
#ifndef CLOSER_KERNEL_PROCTCP_H
#define CLOSER_KERNEL_PROCTCP_H
#include "kernel/diag.h"

int proctcp_parse_line(const char *line, int family, struct tcp_sock *out);
/* Reads path (e.g. "/proc/net/tcp6"); sockets whose state is not in states
 * are skipped. */
int proctcp_read(const char *path, int family, uint32_t states, diag_sock_fn fn, void *arg);

#endif
