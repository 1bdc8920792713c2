/* SPDX-License-Identifier: MIT */
/* closer load's report: text like wrk's, or JSON with every count. */
#ifndef CLOSER_CLIENT_LOAD_REPORT_H
#define CLOSER_CLIENT_LOAD_REPORT_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client/load.h"
#include "client/target.h"

/* Counts this namespace's TIME_WAIT towards the target (client side) and on
 * it (server side, when the target is in this namespace) from closer's
 * socket table: totals, whoever made them; -1 each when unreadable. load
 * takes them before and after a run and reports the difference as the
 * run's own. all: every TIME_WAIT in the namespace. probe uses it too. */
/* Is (family, a, port) from the socket table the endpoint ss? An IPv4
 * address and its IPv4-mapped IPv6 form (::ffff:a.b.c.d, what a [::]
 * listener's sockets show) are the same endpoint. */
bool load_same_endpoint(int family, const uint8_t a[16], uint16_t port,
                        const struct sockaddr_storage *ss);
void load_count_time_wait(const struct target *t, long *towards, long *at, long *all);
void load_print_text(FILE *out, const struct load_opts *o, const struct load_result *r);
/* JSON contract: schemas/closer.load.schema.json. */
#define LOAD_JSON_SCHEMA "closer.load/1"
void load_print_json(FILE *out, const struct load_opts *o, const struct load_result *r);
/* The HTTP/2 part (load_h2_report.c): nothing (text) or null (JSON) for HTTP/1. */
struct json;
void load_h2_print_text(FILE *out, const struct load_opts *o, const struct load_result *r);
void load_h2_json(struct json *j, const struct load_opts *o, const struct load_result *r);

#endif
