/* SPDX-License-Identifier: MIT */
/* The exporter's endpoint: a handler on the server's connection engine
 * (server/engine.h), so scrapes get the same parser, timeouts, body
 * handling, close path and accept pausing as closer serve. GET/HEAD of
 * /metrics (Prometheus text format 0.0.4) and / (a short HTML page), 405
 * for other methods, 404 for other paths. Keep-alive as HTTP/1.1 says
 * (Prometheus reuses its connection: the scraper, not closer, ends up
 * holding any TIME_WAIT).
 *
 * A connection gets timeout_ms for its whole request head (a deadline,
 * not re-armed per byte: a one-byte-per-second scraper is dropped), per
 * body read, per write and per keep-alive idle. At max_conns the oldest
 * connection that is idle or still sending its head is closed to make
 * room, so slow clients cannot lock out a scraper.
 *
 * The exposition is rendered at most once per cache_ms: scrapes arriving
 * together share one snapshot.
 *
 * Error convention: scrape_start returns NULL with a message in err. */
#ifndef CLOSER_EXPORT_SCRAPE_H
#define CLOSER_EXPORT_SCRAPE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"

/* Writes the exposition body to out; returns 0, or -1 (answered with 500). */
typedef int (*scrape_render_fn)(void *ctx, FILE *out);

struct scrape_opts {
    uint64_t cache_ms;    /* reuse a rendering this young */
    uint64_t timeout_ms;  /* request head deadline, body read, write, keep-alive idle */
    unsigned max_conns;   /* concurrent connections */
};

struct scrape;

/* listen_fd: a bound, listening socket (made non-blocking here; closed by
 * scrape_stop). */
struct scrape *scrape_start(struct loop *l, int listen_fd, const struct scrape_opts *o,
                            scrape_render_fn render, void *ctx, char *err, size_t errlen);
/* Closes every connection and the listening socket. */
void scrape_stop(struct scrape *s);
unsigned long long scrape_count(const struct scrape *s);

#endif
