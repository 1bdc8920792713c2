/* SPDX-License-Identifier: MIT */
/* The plain `closer states` row (no -p, -e, -i, -m) formatted by hand into
 * a caller's buffer, as ss formats its rows: at a million sockets printf's
 * format parsing and inet_ntop were most of the listing's time. The text is
 * byte for byte what states_view.c's fprintf path prints. */
#ifndef CLOSER_DOCTOR_STATES_ROWS_H
#define CLOSER_DOCTOR_STATES_ROWS_H
#include <stddef.h>

#include "kernel/sock.h"

/* Longest row: state, queues, two addresses padded to their widths (each
 * at most 64), timer; STATES_ROW_MAX covers widths up to 64. */
#define STATES_ROW_MAX 256

/* "1.2.3.4:80" or "[::1]:80" into buf (64 bytes); returns its length. */
size_t states_addr(char *buf, int family, const uint8_t addr[16], uint16_t port);
/* One row with its newline into b (STATES_ROW_MAX bytes); returns its length. */
size_t states_row_plain(char *b, const struct tcp_sock *t, int lw, int pw);

#endif
