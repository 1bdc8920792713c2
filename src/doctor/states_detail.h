/* SPDX-License-Identifier: MIT */
/* The text ss -m and ss -i print under a socket, from its sock_diag detail
 * (kernel/diag_detail.h). Pure. */
#ifndef CLOSER_DOCTOR_STATES_DETAIL_H
#define CLOSER_DOCTOR_STATES_DETAIL_H
#include <stdbool.h>
#include <stddef.h>

#include "kernel/diag_detail.h"

/* " skmem:(r0,rb131072,...)" (mem) then " cubic wscale:7,7 rto:204 ..."
 * (info), each item with its leading space as ss writes it; "" for no
 * detail (a TIME_WAIT minisocket has neither). options: the TCP options
 * first (" ts sack"), which ss prints only with -o or -e. Returns the
 * length. */
size_t states_detail_text(char *buf, size_t cap, const struct sock_detail *d, bool info, bool mem,
                          bool options);

#endif
