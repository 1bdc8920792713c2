/* SPDX-License-Identifier: MIT */
/* closer serve's answers, as one handler on the engine: the status page
 * (nginx stub_status, text or JSON), a fixed answer (--return), or static
 * files under --root (GET/HEAD, MIME types, If-Modified-Since). */
#ifndef CLOSER_SERVER_SITE_H
#define CLOSER_SERVER_SITE_H
#include "server/engine.h"

struct srv_site {
    const struct srv_config *cfg;
    int root_fd; /* -1 without --root */
    size_t return_blen; /* strlen(cfg->return_body) */
    const struct srv_status_set *status; /* every worker's counters, for /status */
};

/* An srv_handler_fn; data is a struct srv_site. */
void srv_site_handle(void *data, const struct http_request *r, struct srv_reply *out);

#endif
