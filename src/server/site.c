/* SPDX-License-Identifier: MIT */
#include "server/site.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/files.h"
#include "server/response.h"

static bool is_status_path(const struct srv_config *cfg, struct slice t, const char *suffix)
{
    size_t n = strlen(cfg->status_path), s = strlen(suffix);
    return t.len == n + s && !memcmp(t.ptr, cfg->status_path, n) && !memcmp(t.ptr + n, suffix, s);
}

static void text(struct srv_reply *out, int status, const char *msg)
{
    out->status = status;
    out->content_type = "text/plain";
    out->body = msg;
    out->blen = strlen(msg);
}

void srv_site_handle(void *data, const struct http_request *r, struct srv_reply *out)
{
    const struct srv_site *site = data;
    const struct srv_config *cfg = site->cfg;
    if (cfg->access_log)
        printf("%.*s %.*s HTTP/1.%d\n", (int)r->method.len, r->method.ptr, (int)r->target.len,
               r->target.ptr, r->minor);
    if (cfg->status_path && (is_status_path(cfg, r->target, "") ||
                             is_status_path(cfg, r->target, ".json"))) {
        /* Rendered into this connection's own buffer: no other request
         * can overwrite it before it is sent. */
        int json = !is_status_path(cfg, r->target, "");
        out->status = 200;
        out->content_type = json ? "application/json" : "text/plain";
        out->body = out->scratch;
        out->blen = srv_status_render(site->status, out->scratch, out->scratch_cap, json);
        return;
    }
    if (cfg->return_code) {
        out->status = cfg->return_code;
        out->content_type = "text/plain";
        out->body = cfg->return_body;
        out->blen = site->return_blen;
        out->fixed = true; /* the configuration's bytes */
        return;
    }
    bool head = r->method.len == 4 && !memcmp(r->method.ptr, "HEAD", 4);
    if (!head && !(r->method.len == 3 && !memcmp(r->method.ptr, "GET", 3))) {
        text(out, 405, "405 Method Not Allowed\n");
        out->extra_header = "Allow: GET, HEAD";
        out->keep_open = false;
        return;
    }
    struct file_hit hit;
    int st = site->root_fd < 0 ? 404 : files_open(site->root_fd, r->target, &hit);
    if (st) {
        /* A 404/403 keeps the connection, as nginx does. */
        text(out, st, st == 403 ? "403 Forbidden\n" : st == 404 ? "404 Not Found\n"
                                                                : "400 Bad Request\n");
        return;
    }
    if (r->if_modified_since.len) {
        time_t since = resp_parse_http_date(r->if_modified_since.ptr, r->if_modified_since.len);
        if (since >= 0 && hit.mtime <= since) {
            close(hit.fd);
            out->status = 304; /* with Last-Modified, as nginx; no length, no type */
            out->last_modified = hit.mtime;
            return;
        }
    }
    out->status = 200;
    out->content_type = hit.mime;
    out->file_fd = hit.fd;
    out->file_size = hit.size;
    out->last_modified = hit.mtime;
}
