/* SPDX-License-Identifier: MIT */
/* ss's filter language for `closer states`, so a filter copied from an ss
 * command line means the same thing here:
 *
 *   [state NAME | exclude NAME]... [LIST]
 *   LIST := COND | LIST and|&&|& COND | LIST or|'||'|'|' COND | LIST COND
 *   COND := not|! COND | ( LIST )
 *         | sport|dport [OP] PORT          OP: = == eq != ne neq < lt > gt <= le >= ge
 *         | src|dst [=|==|eq] HOST         HOST: ADDR[/PREFIX][:PORT], [V6][/PREFIX][:PORT],
 *                                                :PORT, *:PORT, *
 *
 * As iproute2's ssfilter.y: "and", "or" and juxtaposition (an "and") are
 * read left to right without precedence ("a or b and c" is "(a or b) and
 * c"); "not" takes the one condition after it. State words are read in
 * order (the first "exclude" starts from every state). Addresses match as
 * ss's two filters together (see ssfilter.c). PORT is a number or
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
 * words (0 when none were given: every state; words that leave no state
 * give ss's default table, as ss does); *expr the expression, NULL when
 * there is none. */
int ssf_parse(int argc, char **argv, uint32_t *states, struct ssf **expr, char *err,
              size_t errlen);
bool ssf_match(const struct ssf *expr, const struct tcp_sock *s);
void ssf_free(struct ssf *expr);

#endif
