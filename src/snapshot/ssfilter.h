/* SPDX-License-Identifier: MIT */
/* ss's filter language for `closer states`, so a filter copied from an ss
 * command line means the same thing here:
 *
 *   [state NAME]... [exclude NAME]... [EXPR]
 *   EXPR := EXPR [and|&&|&] EXPR | EXPR or|'||'|'|' EXPR | not|! EXPR | ( EXPR )
 *         | sport|dport [OP] PORT          OP: = == eq != ne neq < lt > gt <= le >= ge
 *         | src|dst [=|==|eq] HOST         HOST: ADDR[/PREFIX][:PORT], [V6][/PREFIX][:PORT],
 *                                                :PORT, *:PORT, *
 *
 * Juxtaposed expressions are joined by "and", as in ss. PORT is a number or
 * a service name from /etc/services. The words may come split over several
 * argv entries or in one quoted string ("( dport = :443 )").
 *
 * Error convention: ssf_parse returns 0, or -1 with a message in err. */
#ifndef CLOSER_SNAPSHOT_SSFILTER_H
#define CLOSER_SNAPSHOT_SSFILTER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/sock.h"

struct ssf;

/* Parses words argv[0..argc). *states gets the mask from "state"/"exclude"
 * words (0 when none were given: every state); *expr the expression, NULL
 * when there is none. */
int ssf_parse(int argc, char **argv, uint32_t *states, struct ssf **expr, char *err,
              size_t errlen);
bool ssf_match(const struct ssf *expr, const struct tcp_sock *s);
void ssf_free(struct ssf *expr);

#endif
