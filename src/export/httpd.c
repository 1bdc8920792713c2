/* The /metrics endpoint: accept, read a request head, answer from the
 * rendering cache, write without blocking, keep-alive or close. */
#include "export/httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192
#define ACCEPTS_PER_WAKEUP 32 /* so a flood of connects cannot starve the scrapes in progress */

struct conn {
    struct httpd *h;
    int fd;
    struct timer timer;
    struct conn *next, *prev;
    char in[HEAD_MAX];
    size_t inlen;
    char *out;
    size_t outlen, outoff;
    int close_after;
};

struct httpd {
    struct loop *loop;
    int listen_fd;
    struct httpd_opts opts;
    httpd_render_fn render;
    void *ctx;
    struct conn *conns;
    unsigned nconns;
    char *cache;
    size_t cache_len;
    uint64_t cache_at;
    int cache_valid;
    unsigned long long scrapes;
};

static const char index_html[] =
    "<!DOCTYPE html>\n<html><head><title>closer exporter</title></head><body>\n"
    "<h1>closer exporter</h1>\n<p>TCP connection life and death: sockets by state, port, destination "
    "and process; TIME_WAIT age; listen queues; doctor findings.</p>\n"
    "<p><a href=\"/metrics\">/metrics</a></p>\n</body></html>\n";

static int ieq(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && !strncasecmp(a, b, alen);
}

static int has_token(const char *v, size_t len, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= len; i++)
        if (!strncasecmp(v + i, tok, tl)) return 1;
    return 0;
}

long httpd_parse_head(const char *buf, size_t len, struct httpd_req *r)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) return len >= HEAD_MAX ? -1 : -2;
    const char *line_end = memmem(buf, (size_t)(end - buf) + 2, "\r\n", 2);
    const char *sp1 = memchr(buf, ' ', (size_t)(line_end - buf));
    if (!sp1 || sp1 == buf) return -1;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
    if (!sp2 || sp2 == sp1 + 1) return -1;
    size_t vlen = (size_t)(line_end - sp2 - 1);
    if (vlen != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1')) return -1;
    r->method = buf;
    r->method_len = (size_t)(sp1 - buf);
    r->path = sp1 + 1;
    r->path_len = (size_t)(sp2 - sp1 - 1);
    r->keep_alive = sp2[8] == '1';
    for (const char *p = line_end + 2; p < end + 2;) {
        const char *e = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (!colon) return -1;
        if (ieq(p, (size_t)(colon - p), "connection")) {
            size_t vl = (size_t)(e - colon - 1);
            if (has_token(colon + 1, vl, "close")) r->keep_alive = 0;
            else if (has_token(colon + 1, vl, "keep-alive")) r->keep_alive = 1;
        }
        p = e + 2;
    }
    return (long)(end - buf) + 4;
}

static void conn_close(struct conn *c)
{
    struct httpd *h = c->h;
    loop_timer_cancel(h->loop, &c->timer);
    loop_del(h->loop, c->fd);
    close(c->fd);
    if (c->prev) c->prev->next = c->next;
    else h->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    h->nconns--;
    free(c->out);
    free(c);
}

static void on_timeout(struct loop *l, struct timer *t)
{
    (void)l;
    conn_close((struct conn *)((char *)t - offsetof(struct conn, timer)));
}

/* The cached exposition, re-rendered when older than cache_ms. */
static int metrics_body(struct httpd *h, const char **body, size_t *len)
{
    uint64_t now = loop_now_ms(h->loop);
    if (!h->cache_valid || now - h->cache_at >= h->opts.cache_ms) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (!f) return -1;
        int rc = h->render(h->ctx, f);
        if (fclose(f) || rc) {
            free(buf);
            return -1;
        }
        free(h->cache);
        h->cache = buf;
        h->cache_len = n;
        h->cache_at = now;
        h->cache_valid = 1;
    }
    h->scrapes++;
    *body = h->cache;
    *len = h->cache_len;
    return 0;
}

static int respond(struct conn *c, int status, const char *reason, const char *type,
                   const char *body, size_t blen, int head_only, const char *extra)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: %s\r\n\r\n",
                     status, reason, type, blen, extra, c->close_after ? "close" : "keep-alive");
    size_t total = (size_t)n + (head_only ? 0 : blen);
    free(c->out);
    c->out = malloc(total);
    if (!c->out) return -1;
    memcpy(c->out, head, (size_t)n);
    if (!head_only) memcpy(c->out + n, body, blen);
    c->outlen = total;
    c->outoff = 0;
    return 0;
}

static int route(struct conn *c, const struct httpd_req *r)
{
    int get = ieq(r->method, r->method_len, "GET"), head = ieq(r->method, r->method_len, "HEAD");
    size_t plen = r->path_len;
    const char *q = memchr(r->path, '?', plen);
    if (q) plen = (size_t)(q - r->path);
    static const char text[] = "text/plain; charset=utf-8";
    if (!get && !head) {
        static const char msg[] = "only GET and HEAD\n";
        return respond(c, 405, "Method Not Allowed", text, msg, sizeof msg - 1, 0, "Allow: GET, HEAD\r\n");
    }
    if (plen == 8 && !memcmp(r->path, "/metrics", 8)) {
        const char *body;
        size_t len;
        if (metrics_body(c->h, &body, &len)) {
            static const char msg[] = "snapshot failed\n";
            return respond(c, 500, "Internal Server Error", text, msg, sizeof msg - 1, head, "");
        }
        return respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len, head, "");
    }
    if (plen == 1 && r->path[0] == '/')
        return respond(c, 200, "OK", "text/html; charset=utf-8", index_html, sizeof index_html - 1, head, "");
    static const char msg[] = "not found: try /metrics\n";
    return respond(c, 404, "Not Found", text, msg, sizeof msg - 1, head, "");
}

static void conn_flush(struct conn *c);

/* Parses one buffered request, if complete, and starts its response. */
static void conn_process(struct conn *c)
{
    struct httpd_req r;
    long n = httpd_parse_head(c->in, c->inlen, &r);
    if (n == -2) return;
    if (n < 0) {
        c->close_after = 1;
        static const char msg[] = "bad request\n";
        if (respond(c, 400, "Bad Request", "text/plain; charset=utf-8", msg, sizeof msg - 1, 0, "")) {
            conn_close(c);
            return;
        }
        c->inlen = 0;
    } else {
        c->close_after = !r.keep_alive;
        int rc = route(c, &r);
        memmove(c->in, c->in + n, c->inlen - (size_t)n);
        c->inlen -= (size_t)n;
        if (rc) {
            conn_close(c);
            return;
        }
    }
    conn_flush(c);
}

static void conn_flush(struct conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            loop_mod(c->h->loop, c->fd, LOOP_WRITE);
            return;
        }
        if (w <= 0) {
            conn_close(c);
            return;
        }
        c->outoff += (size_t)w;
        loop_timer_arm(c->h->loop, &c->timer, c->h->opts.timeout_ms);
    }
    free(c->out);
    c->out = NULL;
    c->outlen = c->outoff = 0;
    if (c->close_after) {
        conn_close(c);
        return;
    }
    loop_mod(c->h->loop, c->fd, LOOP_READ);
    loop_timer_arm(c->h->loop, &c->timer, c->h->opts.timeout_ms);
    if (c->inlen) conn_process(c); /* a pipelined request */
}

static void on_conn(struct loop *l, int fd, void *data, unsigned events)
{
    (void)l;
    struct conn *c = data;
    if (events & LOOP_ERROR) {
        conn_close(c);
        return;
    }
    if (c->out) {
        if (events & (LOOP_WRITE | LOOP_HUP)) conn_flush(c);
        return;
    }
    ssize_t r = recv(fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (r <= 0) {
        conn_close(c);
        return;
    }
    c->inlen += (size_t)r;
    loop_timer_arm(c->h->loop, &c->timer, c->h->opts.timeout_ms);
    conn_process(c);
}

static void on_accept(struct loop *l, int fd, void *data, unsigned events)
{
    (void)events;
    struct httpd *h = data;
    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) return;
        struct conn *c = h->nconns < h->opts.max_conns ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            close(cfd);
            continue;
        }
        c->h = h;
        c->fd = cfd;
        timer_init(&c->timer, on_timeout);
        if (loop_add(l, cfd, LOOP_READ, on_conn, c)) {
            close(cfd);
            free(c);
            continue;
        }
        c->next = h->conns;
        if (h->conns) h->conns->prev = c;
        h->conns = c;
        h->nconns++;
        loop_timer_arm(l, &c->timer, h->opts.timeout_ms);
    }
}

struct httpd *httpd_start(struct loop *l, int listen_fd, const struct httpd_opts *o,
                          httpd_render_fn render, void *ctx, char *err, size_t errlen)
{
    struct httpd *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->loop = l;
    h->listen_fd = listen_fd;
    h->opts = *o;
    h->render = render;
    h->ctx = ctx;
    fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
    int rc = loop_add(l, listen_fd, LOOP_READ, on_accept, h);
    if (rc) {
        snprintf(err, errlen, "loop_add: %s", strerror(-rc));
        free(h);
        return NULL;
    }
    return h;
}

void httpd_stop(struct httpd *h)
{
    while (h->conns) conn_close(h->conns);
    loop_del(h->loop, h->listen_fd);
    close(h->listen_fd);
    free(h->cache);
    free(h);
}

unsigned long long httpd_scrapes(const struct httpd *h) { return h->scrapes; }
