/* The exporter's HTTP endpoint on the shared event loop: GET/HEAD of
 * /metrics (Prometheus text format 0.0.4) and / (a short HTML page), 405 for
 * other methods, 404 for other paths. Non-blocking sockets, one output
 * buffer and one timeout per connection, so a slow scraper holds only its
 * own connection. Keep-alive as HTTP/1.1 says (Prometheus reuses its
 * connection: the scraper, not closer, ends up holding any TIME_WAIT).
 *
 * The exposition is rendered at most once per cache_ms: scrapes arriving
 * together share one snapshot.
 *
 * Error convention: httpd_start returns 0, or -1 with a message in err. */
#ifndef CLOSER_EXPORT_HTTPD_H
#define CLOSER_EXPORT_HTTPD_H
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "loop/loop.h"

/* Writes the exposition body to out; returns 0, or -1 (answered with 500). */
typedef int (*httpd_render_fn)(void *ctx, FILE *out);

struct httpd_opts {
    uint64_t cache_ms;    /* reuse a rendering this young */
    uint64_t timeout_ms;  /* per connection: request read, response write, keep-alive idle */
    unsigned max_conns;   /* further connections are accepted and closed */
};

struct httpd;

/* listen_fd: a bound, listening socket (made non-blocking here). */
struct httpd *httpd_start(struct loop *l, int listen_fd, const struct httpd_opts *o,
                          httpd_render_fn render, void *ctx, char *err, size_t errlen);
/* Closes every connection and the listening socket. */
void httpd_stop(struct httpd *h);
unsigned long long httpd_scrapes(const struct httpd *h);

/* Request-line parsing (exposed for tests): from buf[0..len), finds the end of
 * the head; returns bytes of the head, -2 incomplete, -1 malformed. method
 * and path point into buf; keep_alive from version and Connection. */
struct httpd_req {
    const char *method; size_t method_len;
    const char *path;   size_t path_len;
    int keep_alive;
};
long httpd_parse_head(const char *buf, size_t len, struct httpd_req *r);

#endif
