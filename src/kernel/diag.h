/* SPDX-License-Identifier: MIT */
/* TCP socket dump through NETLINK_SOCK_DIAG (inet_diag_req_v2), the same
 * interface ss uses. The state mask is applied in the kernel.
 *
 * Error convention: negative errno on failure, 0 on success. The callback
 * returns 0 to continue or a negative errno to stop (that value is returned). */
#ifndef CLOSER_KERNEL_DIAG_H
#define CLOSER_KERNEL_DIAG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kernel/sock.h"

/* act is the socket's tcp_info when the dump asked for it and the kernel
 * sent it (full sockets only), else NULL. */
typedef int (*diag_sock_fn)(const struct tcp_sock *s, const struct tcp_activity *act, void *arg);

/* Dumps TCP sockets of one family (AF_INET / AF_INET6, or AF_UNSPEC for
 * both in one kernel walk) whose state is in
 * states (bit mask of 1 << tcp_state). with_info asks for tcp_info
 * (INET_DIAG_INFO): the kernel attaches it to full sockets only, so a dump
 * of TIME_WAIT minisockets costs the same with or without it. If record is
 * non-NULL, every raw netlink datagram is appended to it as a chunk of a
 * recording (kernel/diagrec.h).
 * *intr is set when the kernel flagged the dump as interrupted (the table
 * changed under it: a socket may be missing or counted twice). */
struct diagrec;
int diag_dump(int family, uint32_t states, bool with_info, diag_sock_fn fn, void *arg,
              struct diagrec *record, int *intr);
/* Both families: one AF_UNSPEC walk, or one dump per family on a kernel
 * that refuses it. With record, the whole recording: header, chunks,
 * trailer (record->f is set by the caller; record->err keeps the first
 * write error). */
int diag_dump_tcp(uint32_t states, bool with_info, diag_sock_fn fn, void *arg,
                  struct diagrec *record, int *intr);

/* Decodes a buffer of netlink messages (one recv's worth). Returns 1 when
 * NLMSG_DONE was seen, 0 when more is expected, negative errno on an
 * NLMSG_ERROR or malformed data, or the callback's non-zero value. *intr is
 * set when the kernel flagged NLM_F_DUMP_INTR (the table changed during
 * the dump: counts may be off by the churn). */
int diag_decode(const void *buf, size_t len, diag_sock_fn fn, void *arg, int *intr);


#endif
