/* SPDX-License-Identifier: MIT */
/* closer probe's run, from parsed options to the printed report: enter the
 * namespace, resolve the URL, then the HTTP/2-only probe (h2c, prior
 * knowledge) or the HTTP/1 probe with, over TLS, h2 offered by ALPN on
 * connections of its own beside it.
 * Error convention: 0 measured, 1 the first answer was an error status
 * (4xx/5xx: nothing more measured), or -1 with a message in err (usage
 * error or no HTTP exchange possible; nothing printed on out then). */
#ifndef CLOSER_CLIENT_PROBE_MAIN_H
#define CLOSER_CLIENT_PROBE_MAIN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "client/probe.h"

/* o: filled from the options; its target (o->t) is filled here from url.
 * netns: NULL, or the -N argument. */
int probe_main(struct probe_opts *o, const char *url, const char *netns, bool json, FILE *out, char *err,
               size_t errlen);

#endif
