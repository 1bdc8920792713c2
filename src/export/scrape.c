/* SPDX-License-Identifier: MIT */
/* /metrics as a handler on the server engine, with the rendering cache. */
#include "export/scrape.h"

#include <stdlib.h>
#include <string.h>

#include "server/engine.h"

struct scrape {
    struct srv_config cfg;
    struct srv_status status;
    atomic_long active;
    struct srv_ctx ctx;
    scrape_render_fn render;
    void *render_ctx;
    uint64_t cache_ms;
    char *cache;
    size_t cache_len;
    uint64_t cache_at;
    bool cache_valid;
    unsigned long long scrapes;
};

static const char index_html[] =
    "<!DOCTYPE html>\n<html><head><title>closer exporter</title></head><body>\n"
    "<h1>closer exporter</h1>\n<p>TCP connection life and death: sockets by state, port, destination "
    "and process; TIME_WAIT age; listen queues; doctor findings.</p>\n"
    "<p><a href=\"/metrics\">/metrics</a></p>\n</body></html>\n";
static const char text_type[] = "text/plain; charset=utf-8";

/* The cached exposition, re-rendered when older than cache_ms. */
static int metrics_body(struct scrape *s)
{
    uint64_t now = loop_now_ms(s->ctx.loop);
    if (!s->cache_valid || now - s->cache_at >= s->cache_ms) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (!f)
            return -1;
        int rc = s->render(s->render_ctx, f);
        if (fclose(f) || rc) {
            free(buf);
            return -1;
        }
        free(s->cache);
        s->cache = buf;
        s->cache_len = n;
        s->cache_at = now;
        s->cache_valid = true;
    }
    s->scrapes++;
    return 0;
}

static void answer(struct srv_reply *out, int status, const char *type, const char *body, size_t len)
{
    out->status = status;
    out->content_type = type;
    out->body = body;
    out->blen = len;
}

static void handle(void *data, const struct http_request *r, struct srv_reply *out)
{
    struct scrape *s = data;
    bool get = r->method.len == 3 && !memcmp(r->method.ptr, "GET", 3);
    bool head = r->method.len == 4 && !memcmp(r->method.ptr, "HEAD", 4);
    size_t plen = r->target.len;
    const char *q = memchr(r->target.ptr, '?', plen);
    if (q)
        plen = (size_t)(q - r->target.ptr);
    if (!get && !head) {
        static const char msg[] = "only GET and HEAD\n";
        answer(out, 405, text_type, msg, sizeof msg - 1);
        out->extra_header = "Allow: GET, HEAD";
        return;
    }
    if (plen == 8 && !memcmp(r->target.ptr, "/metrics", 8)) {
        if (metrics_body(s)) {
            static const char msg[] = "snapshot failed\n";
            answer(out, 500, text_type, msg, sizeof msg - 1);
            out->keep_open = false;
            return;
        }
        answer(out, 200, "text/plain; version=0.0.4; charset=utf-8", s->cache, s->cache_len);
        if (head || s->cache_len <= out->scratch_cap)
            return; /* the engine copies a small body at once */
        /* The cache may be replaced before this response is written: the
         * connection gets its own copy. */
        char *copy = malloc(s->cache_len);
        if (!copy) {
            static const char msg[] = "out of memory\n";
            answer(out, 500, text_type, msg, sizeof msg - 1);
            out->keep_open = false;
            return;
        }
        memcpy(copy, s->cache, s->cache_len);
        out->body = copy;
        out->body_owned = true;
        return;
    }
    if (plen == 1 && r->target.ptr[0] == '/') {
        answer(out, 200, "text/html; charset=utf-8", index_html, sizeof index_html - 1);
        return;
    }
    static const char msg[] = "not found: try /metrics\n";
    answer(out, 404, text_type, msg, sizeof msg - 1);
}

struct scrape *scrape_start(struct loop *l, int listen_fd, const struct scrape_opts *o,
                            scrape_render_fn render, void *ctx, char *err, size_t errlen)
{
    struct scrape *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv_config_defaults(&s->cfg);
    s->cfg.workers = 1;
    s->cfg.keepalive_timeout = s->cfg.client_header_timeout = o->timeout_ms;
    s->cfg.client_body_timeout = s->cfg.send_timeout = o->timeout_ms;
    s->cfg.max_connections = o->max_conns;
    s->render = render;
    s->render_ctx = ctx;
    s->cache_ms = o->cache_ms;
    srv_ctx_init(&s->ctx, l, &s->cfg, handle, s, &s->status, &s->active);
    s->ctx.reclaim_at_cap = true;
    int rc = srv_listen(&s->ctx, listen_fd);
    if (rc < 0) {
        snprintf(err, errlen, "cannot watch the listener: %s", strerror(-rc));
        free(s);
        return NULL;
    }
    return s;
}

void scrape_stop(struct scrape *s)
{
    srv_ctx_free(&s->ctx); /* connections, then the listener */
    free(s->cache);
    free(s);
}

unsigned long long scrape_count(const struct scrape *s) { return s->scrapes; }
